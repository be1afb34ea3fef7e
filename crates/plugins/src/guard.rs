//! The guard: plugin processes never outlive their worker, also after `kill -9` of it.
//!
//! Linux's `PR_SET_PDEATHSIG` would need `unsafe` code between fork and exec (the
//! workspace forbids it) and fires when the forking *thread* ends, which in a tokio
//! runtime is any time; it would also not reach a plugin's own children. Instead, each
//! worker runs one small guard process (`sh`, in its own process group, deaf to the
//! terminal's signals). The worker tells it over the guard's stdin which process groups
//! it started (`+ <pgid>`) and which ended (`- <pgid>`). When the worker dies, however it
//! dies, the kernel closes that pipe; the guard reads end-of-file, sends SIGTERM to
//! every group still listed, and SIGKILL a grace period later.

use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::process::{Child, ChildStdin, Command};

/// The guard's program: reads `+ pgid` / `- pgid` lines until end-of-file, then
/// terminates the groups still listed. `$1` is the grace in seconds.
const SCRIPT: &str = r#"trap '' INT TERM HUP QUIT
groups=" "
while read -r op pgid; do
  case "$op" in
    +) groups="$groups$pgid " ;;
    -) groups=$(printf '%s' "$groups" | sed "s/ $pgid / /") ;;
  esac
done
[ -z "${groups# }" ] && exit 0
for g in $groups; do kill -s TERM -- "-$g" 2>/dev/null; done
sleep "$1"
for g in $groups; do kill -s KILL -- "-$g" 2>/dev/null; done
"#;

/// The worker's end of the guard.
#[derive(Debug)]
pub struct Guard {
    /// The guard process; kept so it is not reaped early (it ends by itself).
    _child: Child,
    stdin: tokio::sync::Mutex<ChildStdin>,
    broken: Mutex<bool>,
}

impl Guard {
    /// Starts the guard; `grace` is the time between SIGTERM and SIGKILL when the
    /// worker is gone.
    pub fn start(grace: Duration) -> std::io::Result<Self> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("rmq-connect-plugin-guard")
            .arg(grace.as_secs().max(1).to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(false)
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| std::io::Error::other("the guard has no stdin"))?;
        Ok(Self {
            _child: child,
            stdin: tokio::sync::Mutex::new(stdin),
            broken: Mutex::new(false),
        })
    }

    /// Lists a process group the guard terminates if the worker dies.
    pub async fn watch(&self, pgid: u32) {
        self.send(format!("+ {pgid}\n")).await;
    }

    /// Takes an ended process group off the list (its id may be reused).
    pub async fn forget(&self, pgid: u32) {
        self.send(format!("- {pgid}\n")).await;
    }

    async fn send(&self, line: String) {
        let mut stdin = self.stdin.lock().await;
        if let Err(e) = stdin.write_all(line.as_bytes()).await {
            let mut broken = self.broken.lock().unwrap_or_else(|p| p.into_inner());
            if !*broken {
                *broken = true;
                tracing::error!(error = %e, "the plugin guard is gone: plugin processes may outlive this worker if it is killed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alive(pid: u32) -> bool {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .unwrap_or_default()
                .contains(") Z ")
    }

    #[tokio::test]
    async fn the_groups_listed_are_terminated_when_the_worker_side_of_the_pipe_closes() {
        let guard = Guard::start(Duration::from_secs(1)).unwrap_or_else(|e| panic!("{e}"));
        let mut listed = Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut forgotten = Command::new("sleep")
            .arg("60")
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let (a, b) = (
            listed.id().unwrap_or_default(),
            forgotten.id().unwrap_or_default(),
        );
        guard.watch(a).await;
        guard.watch(b).await;
        guard.forget(b).await;
        // What a killed worker does: its end of the pipe closes.
        drop(guard);
        let ended = tokio::time::timeout(Duration::from_secs(10), listed.wait()).await;
        assert!(ended.is_ok(), "the listed group was terminated");
        assert!(alive(b), "a forgotten group is left alone");
        let _ = forgotten.kill().await;
    }
}
