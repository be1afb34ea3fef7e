//! Running an external tool and measuring it: wall time, CPU time of the tool and of
//! everything it started, and the one-line JSON summary it prints last.

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use nix::sys::resource::{getrusage, UsageWho};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
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

/// Wall time and CPU time of a process that ran to its end.
pub struct Measured {
    /// How it ended.
    pub status: ExitStatus,
    /// Wall-clock seconds from spawn to exit.
    pub seconds: f64,
    /// User + system CPU seconds of the process and its waited-for descendants.
    pub cpu_seconds: f64,
}

/// Spawns `cmd` (its stdio as the caller set it) in a process group of its own and
/// waits for its end (blocking; call it from `spawn_blocking`), killing the group after
/// `limit`. Its CPU time is what `getrusage(RUSAGE_CHILDREN)` gained meanwhile, so no
/// other child of this process may end during the run.
pub fn spawn_measured(cmd: &mut Command, limit: Duration) -> anyhow::Result<Measured> {
    let what = format!("{cmd:?}");
    let before = children_cpu()?;
    let started = Instant::now();
    let mut child = cmd
        // Its own process group, so a timeout can stop what it started too.
        .process_group(0)
        .spawn()
        .with_context(|| format!("cannot run {what}"))?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > limit {
            let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
            let _ = killpg(group, Signal::SIGKILL);
            let _ = child.wait();
            bail!("{what} did not finish within {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    Ok(Measured {
        status,
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: children_cpu()? - before,
    })
}

/// Runs `cmd` to completion (blocking; call it from `spawn_blocking`), killing it and
/// everything it started after `limit`. Its stderr goes to ours; a non-zero exit, a
/// timeout or a missing JSON summary line is an error.
pub fn run_tool(mut cmd: Command, limit: Duration) -> anyhow::Result<ToolRun> {
    let what = format!("{cmd:?}");
    let out_file = tempfile::tempfile().context("temporary file for the tool's output")?;
    cmd.stdin(Stdio::null())
        .stdout(out_file.try_clone()?)
        .stderr(Stdio::inherit());
    let run = spawn_measured(&mut cmd, limit)?;
    let mut stdout = String::new();
    let mut f = out_file;
    f.seek(SeekFrom::Start(0))?;
    f.read_to_string(&mut stdout)
        .context("reading the tool's output")?;
    if !run.status.success() {
        bail!("{what} failed ({}); its output:\n{stdout}", run.status);
    }
    let summary = last_json_line(&stdout)
        .with_context(|| format!("{what} printed no JSON summary line; its output:\n{stdout}"))?;
    Ok(ToolRun {
        seconds: run.seconds,
        cpu_seconds: run.cpu_seconds,
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
        let run = run_tool(cmd, Duration::from_secs(60)).unwrap();
        assert_eq!(run.summary["docs"], 7);
        assert!(run.seconds > 0.0);
        assert!(run.cpu_seconds >= 0.0);
    }

    #[test]
    fn a_failing_tool_is_an_error_with_its_output() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo partial; exit 3"]);
        let err = run_tool(cmd, Duration::from_secs(60))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("partial"), "{err}");
    }

    #[test]
    fn a_tool_past_its_limit_is_killed_with_what_it_started() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30 & sleep 30; echo '{}'"]);
        let started = Instant::now();
        let err = run_tool(cmd, Duration::from_millis(300))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("did not finish"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(20));
    }
}
