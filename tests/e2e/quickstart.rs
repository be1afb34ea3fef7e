//! End-to-end tests of `distribution/bin/quickstart` against the real services (started
//! by `distribution/bin/rmq-services`; run by `tests/run`); plain `cargo test` skips them
//! (`#[ignore]`). Each run uses this build's binary (`RMQ_CONNECT_BIN`, no release
//! build), a free REST port and a directory of its own.
//!
//! Started as a background job of a non-interactive shell (as a script or a CI step
//! would start it), the quickstart ends once its `QUICKSTART_SECONDS` are up; a Ctrl-C
//! (SIGINT to its process group) ends its running count. Either way it prints the
//! connector's status as the CLI's table and leaves no process behind: every process it
//! started carries its `QUICKSTART_DIR` in its environment, even one that left its
//! process group, so none may still run once it exited.
//!
//! Both tests use the quickstart's fixed index `rmq-connect-demo` and topic `es_demo`:
//! they take turns.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use connect_testkit::process::{signal, signal_group, with_env, ProcessInfo, Signal};
use connect_testkit::worker::{binary, free_port};
use tokio::sync::Mutex;

/// The quickstart's running count, in seconds, in the timed test.
const COUNT_SECONDS: u64 = 15;
/// Deadline for the quickstart to exit once its count is over (or was interrupted):
/// one message read, the status printed, the worker stopped.
const EXIT_AFTER_COUNT: Duration = Duration::from_secs(120);
/// Deadline for the quickstart to reach its running count (services already up, a
/// small index, the topic deleted, the worker started).
const SETUP: Duration = Duration::from_secs(180);

/// One quickstart at a time: they share the demo index, topic and connector name.
static TURN: Mutex<()> = Mutex::const_new(());

/// A quickstart run: the shell that started it, in a process group of its own, and its
/// directory (the worker's files, and `out.log` with everything the quickstart printed).
struct Run {
    child: Option<Child>,
    dir: tempfile::TempDir,
}

impl Run {
    /// Starts `bash -c <script>` in the repository root, in a process group of its own,
    /// with the quickstart's settings in its environment and its output in `out.log`.
    fn start(script: &str, count_seconds: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = std::fs::File::create(dir.path().join("out.log")).unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let child = Command::new("bash")
            .args(["-c", script])
            .current_dir(root)
            .env("QUICKSTART_SECONDS", count_seconds.to_string())
            .env("QUICKSTART_DOCS", "300")
            .env("QUICKSTART_DIR", Self::work(dir.path()))
            .env("QUICKSTART_PORT", free_port().unwrap().to_string())
            .env("RMQ_CONNECT_BIN", binary().unwrap())
            .env_remove("RMQ_CONNECT_URL")
            .env_remove("RMQ_CONNECT_TOKEN")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start bash");
        Self {
            child: Some(child),
            dir,
        }
    }

    fn work(dir: &Path) -> PathBuf {
        dir.join("work")
    }

    /// Everything the quickstart printed so far (the running count's `\r` as newlines).
    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("out.log"))
            .unwrap_or_default()
            .replace('\r', "\n")
    }

    /// What a failure message shows: the end of the output and of the worker's log.
    fn report(&self) -> String {
        let out = self.output();
        let log = std::fs::read_to_string(Self::work(self.dir.path()).join("worker.log"))
            .unwrap_or_default();
        format!(
            "--- end of the quickstart's output ---\n{}\n--- end of the worker's log ---\n{}",
            tail(&out, 60),
            tail(&log, 30)
        )
    }

    fn pgid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("still started")
    }

    /// Polls the output until it holds `text` after `after`, failing after `timeout`.
    async fn wait_output(&mut self, after: &str, text: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let out = self.output();
            if out
                .split_once(after)
                .is_some_and(|(_, rest)| rest.contains(text))
            {
                return;
            }
            let exited = self.child.as_mut().unwrap().try_wait().unwrap();
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "no {text:?} after {after:?} in the output (exit: {exited:?}, after {timeout:?})\n{}",
                self.report()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Polls for the exit, failing (after stopping everything) past `timeout`.
    async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                return status;
            }
            if Instant::now() >= deadline {
                let report = self.report();
                self.kill_all();
                panic!("the quickstart did not exit within {timeout:?}\n{report}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Its processes still running.
    fn left_behind(&self) -> Vec<ProcessInfo> {
        let work = Self::work(self.dir.path());
        with_env("QUICKSTART_DIR", &work.display().to_string())
    }

    /// SIGKILLs its process group and every process it left behind.
    fn kill_all(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = signal_group(child.id(), Signal::SIGKILL);
            let _ = child.wait();
        }
        for p in self.left_behind() {
            let _ = signal(p.pid, Signal::SIGKILL);
        }
    }

    /// Checks that the run succeeded, printed the CLI's status table (not raw JSON) and
    /// left no process behind.
    async fn check_finished(&self, status: ExitStatus) {
        let out = self.output();
        assert!(status.success(), "exit {status}\n{}", self.report());
        assert!(
            out.contains("connector  es-demo") && status_table_header(&out),
            "no status table in the output\n{}",
            self.report()
        );
        assert!(
            !out.contains("{\"name\":\"es-demo\""),
            "the status is printed as raw JSON\n{}",
            self.report()
        );
        // The quickstart waits for every child it stops; give the kernel a moment to
        // reap a process already gone.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut left = self.left_behind();
        while !left.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            left = self.left_behind();
        }
        assert!(
            left.is_empty(),
            "processes left behind: {left:#?}\n{}",
            self.report()
        );
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Whether `out` holds the header row of `rmq-connect status`'s task table.
fn status_table_header(out: &str) -> bool {
    out.lines().any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.starts_with(&["ID", "STATE", "WORKER", "POLLED", "SENT"])
    })
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn started_in_the_background_of_a_script_it_stops_on_time_and_leaves_no_process() {
    let _turn = TURN.lock().await;
    // A non-interactive shell starts the job with SIGINT ignored.
    let mut run = Run::start("distribution/bin/quickstart & wait $!", COUNT_SECONDS);
    run.wait_output("==> Documents arriving", "es_demo: ", SETUP)
        .await;
    let count_started = Instant::now();
    let status = run.wait_exit(EXIT_AFTER_COUNT).await;
    let took = count_started.elapsed();
    assert!(
        took >= Duration::from_secs(COUNT_SECONDS - 2),
        "the count ended after {took:?}, before its {COUNT_SECONDS}s\n{}",
        run.report()
    );
    run.check_finished(status).await;
}

#[tokio::test]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn ctrl_c_during_the_running_count_ends_it_and_leaves_no_process() {
    let _turn = TURN.lock().await;
    // The quickstart leads its process group, as a command typed at a terminal does; a
    // terminal's Ctrl-C is a SIGINT to that whole group. No time limit: only the Ctrl-C
    // ends the count.
    let mut run = Run::start("exec distribution/bin/quickstart", 0);
    run.wait_output("==> Documents arriving", "es_demo: ", SETUP)
        .await;
    signal_group(run.pgid(), Signal::SIGINT).unwrap();
    let status = run.wait_exit(EXIT_AFTER_COUNT).await;
    run.check_finished(status).await;
}
