//! Processes a test started, found again by a marker in their environment, and signals
//! to a whole process group (what a terminal's Ctrl-C does).
//!
//! A script's children may leave its process group or session (`setsid`, `timeout`),
//! but they all inherit its environment: a variable with a value unique to one test
//! finds every process of that test that is still running. Linux only (`/proc`).

use std::path::Path;

use anyhow::Context;
use nix::sys::signal::{kill, killpg};
use nix::unistd::Pid;

pub use nix::sys::signal::Signal;

/// A running process: its id and command line (arguments joined by spaces).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    /// Process id.
    pub pid: u32,
    /// Command line.
    pub cmdline: String,
}

/// The processes whose environment holds `name=value` (processes whose environment
/// cannot be read, those of other users, are skipped).
pub fn with_env(name: &str, value: &str) -> Vec<ProcessInfo> {
    let wanted = format!("{name}={value}");
    processes(|pid| {
        read_nul_separated(&Path::new("/proc").join(pid.to_string()).join("environ"))
            .is_some_and(|vars| vars.contains(&wanted))
    })
}

/// The processes whose command line (arguments joined by spaces) holds `needle`.
pub fn with_cmdline(needle: &str) -> Vec<ProcessInfo> {
    let mut found = processes(|_| true);
    found.retain(|p| p.cmdline.contains(needle));
    found
}

/// The processes whose pid passes `keep`, by pid.
fn processes(keep: impl Fn(u32) -> bool) -> Vec<ProcessInfo> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<ProcessInfo> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| keep(*pid))
        .map(|pid| ProcessInfo {
            pid,
            cmdline: read_nul_separated(&Path::new("/proc").join(pid.to_string()).join("cmdline"))
                .map(|args| args.join(" "))
                .unwrap_or_default(),
        })
        .collect();
    found.sort_by_key(|p| p.pid);
    found
}

fn read_nul_separated(path: &Path) -> Option<Vec<String>> {
    let bytes = std::fs::read(path).ok()?;
    Some(
        bytes
            .split(|b| *b == 0)
            .filter(|s| !s.is_empty())
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect(),
    )
}

/// Sends `signal` to the process `pid`.
pub fn signal(pid: u32, signal: Signal) -> anyhow::Result<()> {
    let pid = i32::try_from(pid).context("process id out of range")?;
    kill(Pid::from_raw(pid), signal).with_context(|| format!("cannot send {signal} to {pid}"))
}

/// Sends `signal` to every process of the process group `pgid`.
pub fn signal_group(pgid: u32, signal: Signal) -> anyhow::Result<()> {
    let pgid = i32::try_from(pgid).context("process group id out of range")?;
    killpg(Pid::from_raw(pgid), signal)
        .with_context(|| format!("cannot send {signal} to process group {pgid}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::CommandExt;
    use std::process::Command;

    #[test]
    fn a_child_is_found_by_its_environment_until_its_group_is_signalled() {
        let marker = crate::unique_name("marker");
        let mut child = Command::new("sleep")
            .arg("30")
            .env("TESTKIT_MARKER", &marker)
            .process_group(0)
            .spawn()
            .unwrap();
        // On a loaded machine the child's environment may not be readable in /proc
        // the instant spawn returns: look again until a deadline.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let found = loop {
            let found = with_env("TESTKIT_MARKER", &marker);
            if !found.is_empty() || std::time::Instant::now() > deadline {
                break found;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].pid, child.id());
        assert_eq!(found[0].cmdline, "sleep 30");
        assert!(with_env("TESTKIT_MARKER", "another").is_empty());

        signal_group(child.id(), Signal::SIGTERM).unwrap();
        child.wait().unwrap();
        assert!(with_env("TESTKIT_MARKER", &marker).is_empty());
    }
}
