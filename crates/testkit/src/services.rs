//! Control of the real services for failure tests, through `distribution/bin/rmq-services`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context};

fn script() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../distribution/bin/rmq-services")
}

fn run(args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(script())
        .args(args)
        .output()
        .with_context(|| format!("cannot run rmq-services {args:?}"))?;
    if !out.status.success() {
        bail!(
            "rmq-services {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// Kills the RocketMQ broker with SIGKILL (`kill = true`) or stops it cleanly.
pub fn stop_broker(kill: bool) -> anyhow::Result<()> {
    if kill {
        run(&["stop", "broker", "--kill"])
    } else {
        run(&["stop", "broker"])
    }
}

/// Starts whatever is not running and waits until every service is healthy.
pub fn start_all() -> anyhow::Result<()> {
    run(&["start"])
}

/// The resident memory of a process in KiB (Linux `/proc`).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS line")
}
