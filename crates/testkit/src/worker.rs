//! A real `rmq-connect standalone` or `rmq-connect distributed` process driven over its
//! REST API.
//!
//! The binary is taken from `RMQ_CONNECT_BIN`, or `target/debug/rmq-connect` of this
//! workspace (`tests/run` builds it first).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

use crate::cluster::ClusterConf;
use crate::topic::TopicReader;

/// Longest a REST request may take: a frozen (SIGSTOPped) or hung worker makes the
/// request fail instead of blocking the test for ever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The `rmq-connect` binary to run.
pub fn binary() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("RMQ_CONNECT_BIN") {
        return Ok(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let bin = target.join("debug/rmq-connect");
    if !bin.exists() {
        bail!(
            "{} not found: build it with `cargo build -p rmq-connect` or set RMQ_CONNECT_BIN",
            bin.display()
        );
    }
    Ok(bin)
}

/// A free loopback port (released before returning; good enough for tests).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// The lines of a worker's log at level ERROR, as text logs (` ERROR `) and JSON logs
/// (`"level":"ERROR"`) write them.
pub fn error_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains(" ERROR ") || l.contains("\"level\":\"ERROR\""))
        .collect()
}

/// A worker process (standalone or distributed) with its own store, conf and log file.
pub struct WorkerProcess {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    http: reqwest::Client,
    launch: Launch,
}

/// What a worker was started with, kept so that [`WorkerProcess::restart`] can start it
/// again the same way.
struct Launch {
    worker_id: String,
    /// `standalone` or `distributed`.
    mode: &'static str,
    /// Connector files (standalone only).
    connector_files: Vec<PathBuf>,
    /// Conf lines written after the common ones.
    extra_conf: String,
    env: Vec<(String, String)>,
}

impl WorkerProcess {
    /// Starts a worker whose files live under `dir` (kept across restarts, so a
    /// restarted worker sees the same store), with the given connector files.
    pub async fn start(
        dir: &Path,
        worker_id: &str,
        connectors: &[(String, Value)],
    ) -> anyhow::Result<Self> {
        Self::start_with(dir, worker_id, connectors, "", &[]).await
    }

    /// Like [`WorkerProcess::start`], with extra worker conf lines, environment
    /// variables, and the REST token (if `extra_conf` sets one) used by every request.
    pub async fn start_with(
        dir: &Path,
        worker_id: &str,
        connectors: &[(String, Value)],
        extra_conf: &str,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut connector_files = Vec::new();
        for (name, config) in connectors {
            let path = dir.join(format!("{name}.json"));
            std::fs::write(&path, serde_json::to_vec_pretty(config)?)?;
            connector_files.push(path);
        }
        let launch = Launch {
            worker_id: worker_id.to_owned(),
            mode: "standalone",
            connector_files,
            extra_conf: extra_conf.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        Self::launch(dir, free_port()?, launch).await
    }

    /// Starts `rmq-connect distributed` as worker `worker_id` of `cluster`, its files
    /// under `dir` (conf, `store/`, `worker.log`), on a free port, with `extra_conf`
    /// lines after the cluster's. Returns once `GET /health` is 200 (the worker joined).
    pub async fn start_distributed(
        dir: &Path,
        worker_id: &str,
        cluster: &ClusterConf,
        extra_conf: &str,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let launch = Launch {
            worker_id: worker_id.to_owned(),
            mode: "distributed",
            connector_files: Vec::new(),
            extra_conf: format!("{}{extra_conf}", cluster.to_conf_lines()),
            env: Vec::new(),
        };
        Self::launch(dir, free_port()?, launch).await
    }

    /// Writes the conf, spawns the process (its output appended to `worker.log`) and
    /// waits until it is ready.
    async fn launch(dir: &Path, port: u16, launch: Launch) -> anyhow::Result<Self> {
        let token = launch
            .extra_conf
            .lines()
            .find_map(|l| l.trim().strip_prefix("rest.auth.token="))
            .map(str::trim);
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(t) = token {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                reqwest::header::HeaderValue::from_str(&format!("Bearer {t}"))?,
            );
        }
        let mut w = Self {
            child: None,
            dir: dir.to_path_buf(),
            port,
            http: reqwest::Client::builder()
                .default_headers(headers)
                .timeout(REQUEST_TIMEOUT)
                .build()?,
            launch,
        };
        w.spawn()?;
        w.wait_ready(Duration::from_secs(60)).await?;
        Ok(w)
    }

    /// Writes `worker.conf` for the current port and spawns the process.
    fn spawn(&mut self) -> anyhow::Result<()> {
        let l = &self.launch;
        let conf = self.dir.join("worker.conf");
        std::fs::write(
            &conf,
            format!(
                "workerId={}\nhttpPort={}\nstorePathRootDir={}\nnamesrvAddr={}\n{}\n",
                l.worker_id,
                self.port,
                self.dir.join("store").display(),
                crate::namesrv_addr(),
                l.extra_conf
            ),
        )?;
        let mut args = vec![
            l.mode.to_owned(),
            "-c".to_owned(),
            conf.display().to_string(),
        ];
        args.extend(l.connector_files.iter().map(|p| p.display().to_string()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("worker.log"))?;
        let child = Command::new(binary()?)
            .args(&args)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .envs(l.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start rmq-connect")?;
        self.child = Some(child);
        Ok(())
    }

    /// Starts the worker again after it exited (SIGTERM, kill -9), with the same
    /// directory (store, log appended) and conf, on the same port if it is still free
    /// (a new free port otherwise, so [`WorkerProcess::url`] may change).
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        if self.is_running() {
            bail!("worker {} is still running", self.launch.worker_id);
        }
        self.child = None;
        if std::net::TcpListener::bind(("127.0.0.1", self.port)).is_err() {
            self.port = free_port()?;
        }
        self.spawn()?;
        self.wait_ready(Duration::from_secs(60)).await
    }

    /// The `workerId` it was started with.
    pub fn worker_id(&self) -> &str {
        &self.launch.worker_id
    }

    /// Its directory (conf, store, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The REST base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The worker's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("worker.log")).unwrap_or_default()
    }

    /// The lines of the worker's log at level ERROR (see [`error_lines`]).
    pub fn error_lines(&self) -> Vec<String> {
        error_lines(&self.log())
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// Reads `topic` from its start until `total` distinct keys arrived, or panics after
    /// `timeout` with the end of this worker's log; then keeps reading until nothing new
    /// came for 3 s, so late duplicates are counted too.
    pub async fn read_topic_drained(
        &self,
        topic: &str,
        total: usize,
        timeout: Duration,
    ) -> TopicReader {
        let mut reader = TopicReader::start(topic)
            .await
            .unwrap_or_else(|e| panic!("cannot read topic {topic}: {e}"));
        reader
            .read_distinct(total, timeout)
            .await
            .unwrap_or_else(|e| panic!("{e}\nworker log (end):\n{}", self.log_tail(80)));
        reader
            .drain(Duration::from_secs(3))
            .await
            .unwrap_or_else(|e| panic!("reading topic {topic}: {e}"));
        reader
    }

    /// The last `lines` lines of the worker's log (for failure messages: the end of the
    /// log is where the reason is).
    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        let skipped = all.len().saturating_sub(lines);
        let mut out = if skipped > 0 {
            format!("[{skipped} earlier lines]\n")
        } else {
            String::new()
        };
        out.push_str(&all[skipped..].join("\n"));
        out
    }

    async fn wait_ready(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!(
                        "rmq-connect exited during start-up ({status}); log:\n{}",
                        self.log_tail(200)
                    );
                }
            }
            if let Ok(r) = self.http.get(format!("{}/health", self.url())).send().await {
                if r.status().is_success() {
                    return Ok(());
                }
            }
            if Instant::now() >= deadline {
                bail!(
                    "rmq-connect not ready after {timeout:?}; log:\n{}",
                    self.log_tail(200)
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `GET path` → (status, JSON body).
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .get(format!("{}{path}", self.url()))
            .send()
            .await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// `method path` with a raw body → (status, JSON body).
    pub async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, Value)> {
        self.send_raw_typed(method, path, "application/json", body)
            .await
    }

    /// `method path` with a raw body of `content_type` → (status, JSON body).
    pub async fn send_raw_typed(
        &self,
        method: reqwest::Method,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .request(method, format!("{}{path}", self.url()))
            .header("content-type", content_type)
            .body(body.to_vec())
            .send()
            .await?;
        let status = r.status().as_u16();
        Ok((status, r.json().await.unwrap_or(Value::Null)))
    }

    /// A task's status field, summed over the connector's tasks.
    pub async fn task_sum(&self, connector: &str, field: &str) -> anyhow::Result<u64> {
        let (code, status) = self.get(&format!("/connectors/{connector}/status")).await?;
        if code != 200 {
            bail!("status of {connector}: HTTP {code}: {status}");
        }
        let tasks = status["tasks"].as_array().cloned().unwrap_or_default();
        Ok(tasks.iter().filter_map(|t| t[field].as_u64()).sum())
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn signal(&self, sig: Signal) -> anyhow::Result<()> {
        let pid = self.pid().context("worker already exited")?;
        kill(Pid::from_raw(pid as i32), sig)?;
        Ok(())
    }

    /// Sends SIGTERM and waits for the exit.
    pub async fn terminate(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        self.signal(Signal::SIGTERM)?;
        self.wait_exit(timeout).await
    }

    /// Sends SIGSTOP: the process freezes (no heartbeat, no I/O) until [`Self::thaw`].
    pub fn freeze(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGSTOP)
    }

    /// Sends SIGCONT to a frozen process.
    pub fn thaw(&self) -> anyhow::Result<()> {
        self.signal(Signal::SIGCONT)
    }

    /// Sends SIGKILL and waits for the exit.
    pub async fn kill9(&mut self) -> anyhow::Result<ExitStatus> {
        self.signal(Signal::SIGKILL)?;
        self.wait_exit(Duration::from_secs(10)).await
    }

    async fn wait_exit(&mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut().context("worker already exited")?;
        loop {
            if let Some(status) = child.try_wait()? {
                self.child = None;
                return Ok(status);
            }
            if Instant::now() >= deadline {
                bail!("rmq-connect did not exit within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        keep_log(&self.dir.join("worker.log"), &self.launch.worker_id);
    }
}

/// With `RMQ_TESTS_KEEP_LOGS=<dir>`, a worker's whole log is copied there when its
/// [`WorkerProcess`] is dropped (`<workerId>-<unix millis>.log`), for failures that the
/// log tail in a panic message does not explain. Best effort: a failed copy is ignored.
fn keep_log(log: &Path, worker_id: &str) {
    let Some(dir) = std::env::var_os("RMQ_TESTS_KEEP_LOGS") else {
        return;
    };
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    let dir = PathBuf::from(dir);
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::copy(log, dir.join(format!("{worker_id}-{millis}.log")));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lines_are_found_in_text_and_json_logs_and_nothing_else() {
        let log = "\
2026-01-01T00:00:00Z  INFO rmq_connect: stopped
2026-01-01T00:00:00Z ERROR client: Pull error for MessageQueue { topic: \"t\" }
2026-01-01T00:00:00Z  WARN client: an ERROR-free warning
{\"timestamp\":\"x\",\"level\":\"ERROR\",\"fields\":{\"message\":\"boom\"}}
{\"timestamp\":\"x\",\"level\":\"INFO\",\"fields\":{\"message\":\"fine\"}}
";
        let found = error_lines(log);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].contains("Pull error"));
        assert!(found[1].contains("boom"));
    }
}
