//! CPU time and memory of processes, read from `/proc` (Linux).

use std::fs;

use anyhow::{bail, Context};

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`; 100 on every Linux
/// architecture this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// User + system CPU seconds `pid` has used so far (its own threads, not its children).
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat: has process {pid} exited?"))?;
    parse_cpu_ticks(&text).map(|ticks| ticks as f64 / TICKS_PER_SECOND)
}

/// User + system CPU seconds of the children `pid` has waited for (and of their own
/// waited-for descendants), so far: `cutime` + `cstime`. A child still running is not
/// in it yet.
pub fn children_cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat: has process {pid} exited?"))?;
    parse_ticks(&text, CHILDREN_TICKS).map(|ticks| ticks as f64 / TICKS_PER_SECOND)
}

/// Fields of utime and stime in a `/proc/<pid>/stat` line (1-based, as `proc(5)` counts).
const OWN_TICKS: [usize; 2] = [14, 15];
/// Fields of cutime and cstime.
const CHILDREN_TICKS: [usize; 2] = [16, 17];

/// utime + stime from a `/proc/<pid>/stat` line.
fn parse_cpu_ticks(stat: &str) -> anyhow::Result<u64> {
    parse_ticks(stat, OWN_TICKS)
}

/// The sum of the tick `fields` of a `/proc/<pid>/stat` line. The command name
/// (field 2) may hold spaces and parentheses, so fields are counted from the last `)`.
fn parse_ticks(stat: &str, fields_wanted: [usize; 2]) -> anyhow::Result<u64> {
    let Some(end) = stat.rfind(')') else {
        bail!("unexpected /proc stat line: {stat:?}");
    };
    // After ")": state (field 3), ..., utime (14), stime (15), cutime (16), cstime (17).
    let fields: Vec<&str> = stat[end + 1..].split_whitespace().collect();
    let field = |n: usize| -> anyhow::Result<u64> {
        fields
            .get(n.saturating_sub(3))
            .with_context(|| format!("stat line has no field {n}"))?
            .parse::<u64>()
            .with_context(|| format!("stat field {n} is not a number"))
    };
    fields_wanted
        .iter()
        .try_fold(0, |sum, n| Ok(sum + field(*n)?))
}

/// Peak resident set size of `pid` so far (`VmHWM`), in KiB.
pub fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    status_kib(&text, "VmHWM:")
}

fn status_kib(status: &str, key: &str) -> anyhow::Result<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("no {key} in /proc status"))
}

/// CPU seconds of several named processes, taken at the start of a measured window.
#[derive(Debug, Clone)]
pub struct CpuWindow {
    start: Vec<(String, u32, f64)>,
}

impl CpuWindow {
    /// Starts a window over `(name, pid)`.
    pub fn start(procs: &[(&str, u32)]) -> anyhow::Result<Self> {
        let start = procs
            .iter()
            .map(|(name, pid)| Ok(((*name).to_owned(), *pid, cpu_seconds(*pid)?)))
            .collect::<anyhow::Result<_>>()?;
        Ok(Self { start })
    }

    /// CPU seconds each process used since [`CpuWindow::start`], by name.
    pub fn used(&self) -> anyhow::Result<Vec<(String, f64)>> {
        self.start
            .iter()
            .map(|(name, pid, s)| Ok((name.clone(), cpu_seconds(*pid)? - s)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_counted_after_a_command_name_with_spaces_and_parens() {
        let line = "4625 (java (es) x) S 1 4625 4625 0 -1 4194560 1 0 0 0 250 75 0 0 20 0 80 0";
        assert_eq!(parse_cpu_ticks(line).unwrap(), 325);
        assert_eq!(parse_ticks(line, CHILDREN_TICKS).unwrap(), 0);
        let waited = "9 (w) S 1 9 9 0 -1 4194560 1 0 0 0 250 75 40 2 20 0 80 0";
        assert_eq!(parse_ticks(waited, CHILDREN_TICKS).unwrap(), 42);
    }

    #[test]
    fn a_truncated_stat_line_is_an_error_not_a_panic() {
        assert!(parse_cpu_ticks("12 (x) S 1 2").is_err());
        assert!(parse_cpu_ticks("garbage").is_err());
    }

    #[test]
    fn peak_rss_is_read_from_vmhwm() {
        let status = "Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t   5120 kB\nVmRSS:\t 4000 kB\n";
        assert_eq!(status_kib(status, "VmHWM:").unwrap(), 5120);
        assert!(status_kib(status, "VmSwap:").is_err());
    }

    #[test]
    fn this_process_has_cpu_time_and_a_peak_rss() {
        let me = std::process::id();
        assert!(cpu_seconds(me).unwrap() >= 0.0);
        assert!(children_cpu_seconds(me).unwrap() >= 0.0);
        assert!(peak_rss_kib(me).unwrap() > 0);
    }
}
