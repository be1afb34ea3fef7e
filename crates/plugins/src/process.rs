//! A plugin's child process: spawned without a shell in a process group of its own,
//! stdin closed, stdout read line by line with a bounded line length, stderr logged and
//! its last lines kept for the error a failure shows; stopped by terminating the group
//! (SIGTERM, then SIGKILL after a grace period).

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, ChildStdout, Command};
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};

use crate::coalesce::{Coalesce, SHORT_READ};
use crate::error::PluginError;
use crate::guard::Guard;

/// How many stderr lines a failure shows.
const STDERR_TAIL: usize = 20;
/// How long, after the process exited, its last stderr lines may take to be read.
const STDERR_DRAIN: Duration = Duration::from_secs(2);
/// The longest stderr line kept (longer ones are cut).
const STDERR_LINE_MAX: usize = 64 * 1024;

/// How to start one plugin's process.
#[derive(Debug, Clone)]
pub struct PluginCommand {
    /// The plugin's name (for errors and logs).
    pub plugin: String,
    /// The program.
    pub program: PathBuf,
    /// The arguments before the protocol's own.
    pub args: Vec<String>,
    /// The environment added to the worker's.
    pub env: BTreeMap<String, String>,
    /// The working directory: the plugin's directory.
    pub dir: PathBuf,
}

/// A line of stdout, or why there is none.
#[derive(Debug)]
pub enum Line {
    /// One line, without its newline.
    Text(String),
    /// A line longer than the limit; nothing after it is trusted.
    TooLong {
        /// The limit, in bytes.
        max: usize,
    },
    /// Reading stdout failed (for example bytes that are not UTF-8).
    Unreadable(String),
}

/// A running plugin process.
pub struct Running {
    plugin: String,
    child: Child,
    pgid: Option<u32>,
    stdout: FramedRead<Coalesce<ChildStdout>, LinesCodec>,
    stderr: Arc<Mutex<VecDeque<String>>>,
    /// Reads stderr until the process closes it.
    stderr_reader: Option<tokio::task::JoinHandle<()>>,
    guard: Option<Arc<Guard>>,
    /// How many lines were read from stdout.
    pub lines_read: u64,
}

impl PluginCommand {
    /// Starts the process with the protocol's arguments `extra`, reading stdout lines
    /// of at most `max_line` bytes. `guard` (when given) terminates it if the worker dies.
    pub async fn spawn(
        &self,
        extra: &[String],
        max_line: usize,
        guard: Option<Arc<Guard>>,
        log_fields: LogFields,
    ) -> Result<Running, PluginError> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .args(extra)
            .envs(&self.env)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| PluginError::Spawn {
                plugin: self.plugin.clone(),
                program: self.program.display().to_string(),
                message: e.to_string(),
            })?;
        let pgid = child.id();
        if let (Some(g), Some(pgid)) = (&guard, pgid) {
            g.watch(pgid).await;
        }
        let stdout = child.stdout.take().ok_or_else(|| PluginError::Spawn {
            plugin: self.plugin.clone(),
            program: self.program.display().to_string(),
            message: "no stdout pipe".into(),
        })?;
        widen_pipe(&stdout, &self.plugin);
        let stderr_tail = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        let stderr_reader = child
            .stderr
            .take()
            .map(|stderr| tokio::spawn(read_stderr(stderr, stderr_tail.clone(), log_fields)));
        Ok(Running {
            plugin: self.plugin.clone(),
            child,
            pgid,
            stdout: FramedRead::with_capacity(
                Coalesce::new(stdout),
                LinesCodec::new_with_max_length(max_line),
                READ_BUFFER,
            ),
            stderr: stderr_tail,
            stderr_reader,
            guard,
            lines_read: 0,
        })
    }
}

/// The read buffer of the plugin's stdout: several reads' worth of [`SHORT_READ`], so a
/// full read is never taken for a short one.
const READ_BUFFER: usize = 4 * SHORT_READ;

/// The bytes the plugin's stdout pipe holds (Linux's default is 64 KiB, about 140 of
/// faker's records: a plugin blocked on a full pipe whenever the reader is a moment
/// late). 1 MiB is the most an unprivileged process may set by default
/// (`/proc/sys/fs/pipe-max-size`); it adds that much to what a sync holds in memory.
const PIPE_BYTES: i32 = 1024 * 1024;

/// Widens the stdout pipe to [`PIPE_BYTES`]; keeps the default when the system refuses.
fn widen_pipe(stdout: &tokio::process::ChildStdout, plugin: &str) {
    use std::os::fd::AsRawFd;
    let fd = stdout.as_raw_fd();
    if let Err(e) = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_BYTES)) {
        tracing::debug!(plugin, error = %e, "the plugin's stdout pipe keeps its default size");
    }
}

/// The fields stderr lines are logged with.
#[derive(Debug, Clone, Default)]
pub struct LogFields {
    /// The plugin.
    pub plugin: String,
    /// The connector, if the process runs for one.
    pub connector: String,
    /// The task, if the process runs for one.
    pub task: Option<u32>,
}

async fn read_stderr(
    stderr: tokio::process::ChildStderr,
    tail: Arc<Mutex<VecDeque<String>>>,
    fields: LogFields,
) {
    let mut lines = FramedRead::new(stderr, LinesCodec::new_with_max_length(STDERR_LINE_MAX));
    while let Some(line) = lines.next().await {
        let line = match line {
            Ok(l) => l,
            Err(LinesCodecError::MaxLineLengthExceeded) => {
                "(a stderr line too long to show)".into()
            }
            Err(LinesCodecError::Io(_)) => break,
        };
        tracing::info!(
            plugin = %fields.plugin,
            connector = %fields.connector,
            task = ?fields.task,
            "plugin stderr: {line}"
        );
        let mut t = tail.lock().unwrap_or_else(|p| p.into_inner());
        if t.len() == STDERR_TAIL {
            t.pop_front();
        }
        t.push_back(line);
    }
}

impl Running {
    /// The next line of stdout; `None` at end of file.
    pub async fn next_line(&mut self) -> Option<Line> {
        let line = match self.stdout.next().await? {
            Ok(l) => Line::Text(l),
            Err(LinesCodecError::MaxLineLengthExceeded) => Line::TooLong {
                max: self.stdout.decoder().max_length(),
            },
            Err(LinesCodecError::Io(e)) => Line::Unreadable(e.to_string()),
        };
        self.lines_read += 1;
        Some(line)
    }

    /// The last lines the process wrote to stderr.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Waits for the process to exit (after its stdout ended), and for its last stderr
    /// lines to be read (so a failure can show them).
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        let status = self.child.wait().await;
        if let Some(reader) = self.stderr_reader.take() {
            // A child of the plugin may hold stderr open; do not wait for it long.
            let _ = tokio::time::timeout(STDERR_DRAIN, reader).await;
        }
        self.forget().await;
        status
    }

    /// Terminates the whole process group: SIGTERM, then SIGKILL once `grace` passed;
    /// returns when the process has exited.
    pub async fn terminate(&mut self, grace: Duration) {
        if let Ok(Some(_)) = self.child.try_wait() {
            self.signal_group(Signal::SIGKILL);
            self.forget().await;
            return;
        }
        self.signal_group(Signal::SIGTERM);
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                plugin = %self.plugin,
                grace_ms = grace.as_millis() as u64,
                "the plugin did not exit after SIGTERM; sending SIGKILL"
            );
            self.signal_group(Signal::SIGKILL);
            let _ = self.child.wait().await;
        }
        // Whatever the plugin left behind in its group goes too.
        self.signal_group(Signal::SIGKILL);
        self.forget().await;
    }

    fn signal_group(&self, signal: Signal) {
        if let Some(pgid) = self.pgid.and_then(|p| i32::try_from(p).ok()) {
            let _ = killpg(Pid::from_raw(pgid), signal);
        }
    }

    async fn forget(&mut self) {
        if let (Some(g), Some(pgid)) = (self.guard.take(), self.pgid) {
            g.forget(pgid).await;
        }
    }

    /// The process's id (also its process group's).
    pub fn pid(&self) -> Option<u32> {
        self.pgid
    }
}

/// The resident memory of process `pid` (0: none), from `/proc/<pid>/status`.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    if pid == 0 {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

/// A short description of how a process ended, for errors.
pub fn describe_exit(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(sig)) => format!(
            "was killed by signal {sig}{}",
            Signal::try_from(sig)
                .map(|s| format!(" ({})", s.as_str()))
                .unwrap_or_default()
        ),
        (None, None) => "ended".into(),
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;

    use super::*;

    #[tokio::test]
    async fn the_plugins_stdout_pipe_is_widened_to_1_mib() {
        let cmd = PluginCommand {
            plugin: "sleeper".into(),
            program: PathBuf::from("sleep"),
            args: vec![],
            env: BTreeMap::new(),
            dir: std::env::temp_dir(),
        };
        let mut running = cmd
            .spawn(&["5".into()], 1024, None, LogFields::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let fd = running.stdout.get_ref().get_ref().as_raw_fd();
        let size = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETPIPE_SZ);
        running.terminate(Duration::from_secs(1)).await;
        // Where the system caps pipes lower, the default stays; here it is 1 MiB.
        let cap = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .unwrap_or(0);
        if cap >= PIPE_BYTES {
            assert_eq!(size, Ok(PIPE_BYTES));
        }
    }
}
