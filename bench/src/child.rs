//! Running an external tool and measuring it: wall time, CPU time of the tool and of
//! everything it started, and the one-line JSON summary it prints last.

use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use nix::sys::resource::{getrusage, UsageWho};
use serde_json::Value;

/// What a measured tool run yields.
pub struct ToolRun {
    /// Wall-clock seconds from spawn to exit.
    pub seconds: f64,
    /// User + system CPU seconds of the tool and its waited-for descendants.
    pub cpu_seconds: f64,
    /// The last line of its standard output that parses as a JSON object.
    pub summary: Value,
}

fn children_cpu() -> anyhow::Result<f64> {
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).context("getrusage")?;
    let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    Ok(secs(u.user_time()) + secs(u.system_time()))
}

/// Runs `cmd` to completion (blocking; call it from `spawn_blocking`). Its stderr goes
/// to ours; a non-zero exit or a missing JSON summary line is an error.
pub fn run_tool(mut cmd: Command) -> anyhow::Result<ToolRun> {
    let what = format!("{cmd:?}");
    let before = children_cpu()?;
    let started = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu_seconds = children_cpu()? - before;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("{what} failed ({}); its output:\n{stdout}", out.status);
    }
    let summary = last_json_line(&stdout)
        .with_context(|| format!("{what} printed no JSON summary line; its output:\n{stdout}"))?;
    Ok(ToolRun {
        seconds,
        cpu_seconds,
        summary,
    })
}

/// The last line of `text` that is a JSON object.
fn last_json_line(text: &str) -> Option<Value> {
    text.lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<Value>(l.trim()).ok())
        .find(Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_is_the_last_json_object_line() {
        let out = "starting\n{\"docs\": 1}\nnoise\n{\"docs\": 2, \"seconds\": 1.5}\n42\n";
        assert_eq!(last_json_line(out).unwrap()["docs"], 2);
        assert!(last_json_line("no json here\n[1,2]\n").is_none());
    }

    #[test]
    fn a_tool_run_measures_time_cpu_and_summary() {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo '{\"docs\": 7}'",
        ]);
        let run = run_tool(cmd).unwrap();
        assert_eq!(run.summary["docs"], 7);
        assert!(run.seconds > 0.0);
        assert!(run.cpu_seconds >= 0.0);
    }

    #[test]
    fn a_failing_tool_is_an_error_with_its_output() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo partial; exit 3"]);
        let err = run_tool(cmd).err().unwrap().to_string();
        assert!(err.contains("partial"), "{err}");
    }
}
