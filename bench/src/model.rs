//! What one measured run yields, and the median figure over repeated runs.

use std::collections::BTreeMap;
use std::future::Future;

use serde::Serialize;

use crate::stats::median;

/// Process names used as keys of [`Run::cpu_seconds`].
pub const RMQ_CONNECT: &str = "rmq-connect";
/// Elasticsearch's JVM.
pub const ELASTICSEARCH: &str = "elasticsearch";
/// RocketMQ's broker JVM.
pub const BROKER: &str = "broker";
/// The measured client when it is not rmq-connect (the ceiling loop, a peer tool; for
/// stage F the plugin's processes).
pub const CLIENT: &str = "client";

/// One measured run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Documents (or messages, or plugin records) moved.
    pub docs: u64,
    /// Wall-clock seconds of the measured window.
    pub seconds: f64,
    /// `docs / seconds`.
    pub docs_per_sec: f64,
    /// CPU seconds used in the window, by process.
    pub cpu_seconds: BTreeMap<String, f64>,
    /// CPU seconds per million documents, by process.
    pub cpu_s_per_million: BTreeMap<String, f64>,
    /// Peak resident set size of rmq-connect (or the client), MiB.
    pub peak_rss_mib: Option<f64>,
    /// Anything the run wants said next to its figure.
    pub note: Option<String>,
}

impl Run {
    /// A run of `docs` in `seconds`, with the CPU seconds used by each process.
    pub fn new(docs: u64, seconds: f64, cpu_seconds: Vec<(String, f64)>) -> Self {
        let per_million = cpu_seconds
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    if docs == 0 {
                        f64::NAN
                    } else {
                        v * 1e6 / docs as f64
                    },
                )
            })
            .collect();
        Self {
            docs,
            seconds,
            docs_per_sec: if seconds > 0.0 {
                docs as f64 / seconds
            } else {
                f64::NAN
            },
            cpu_seconds: cpu_seconds.into_iter().collect(),
            cpu_s_per_million: per_million,
            peak_rss_mib: None,
            note: None,
        }
    }
}

/// A figure: the median over several runs after a warm-up run.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Short id (`A`, `B-rocketmq`, `B-ours`, `C`, `D-python`, `D-elasticdump`,
    /// `F-plugin`, `F-ours`).
    pub id: String,
    /// What was measured.
    pub label: String,
    /// The warm-up run (not counted).
    pub warmup: Option<Run>,
    /// The counted runs.
    pub runs: Vec<Run>,
    /// Median documents per second of the counted runs.
    pub docs_per_sec: Option<f64>,
    /// Median CPU seconds per million documents, by process.
    pub cpu_s_per_million: BTreeMap<String, f64>,
    /// Highest peak RSS of the counted runs (MiB).
    pub peak_rss_mib: Option<f64>,
    /// Why the figure is missing or how to read it.
    pub note: Option<String>,
}

impl Figure {
    /// The medians of `runs`.
    pub fn from_runs(id: &str, label: &str, warmup: Option<Run>, runs: Vec<Run>) -> Self {
        let rates: Vec<f64> = runs.iter().map(|r| r.docs_per_sec).collect();
        let mut cpu = BTreeMap::new();
        let names: Vec<String> = runs
            .iter()
            .flat_map(|r| r.cpu_s_per_million.keys().cloned())
            .collect();
        for name in names {
            let values: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.cpu_s_per_million.get(&name).copied())
                .collect();
            if let Some(m) = median(&values) {
                cpu.insert(name, m);
            }
        }
        let rss = runs.iter().filter_map(|r| r.peak_rss_mib).reduce(f64::max);
        let mut notes: Vec<String> = Vec::new();
        for n in runs.iter().filter_map(|r| r.note.clone()) {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
        let note = (!notes.is_empty()).then(|| notes.join(" | "));
        Self {
            id: id.to_owned(),
            label: label.to_owned(),
            warmup,
            docs_per_sec: median(&rates),
            cpu_s_per_million: cpu,
            peak_rss_mib: rss,
            runs,
            note,
        }
    }

    /// A figure that could not be measured, with the reason.
    pub fn missing(id: &str, label: &str, why: String) -> Self {
        Self {
            id: id.to_owned(),
            label: label.to_owned(),
            warmup: None,
            runs: Vec::new(),
            docs_per_sec: None,
            cpu_s_per_million: BTreeMap::new(),
            peak_rss_mib: None,
            note: Some(why),
        }
    }
}

/// The runs of one figure as they come in: a warm-up (when `warmup`) and `runs` counted
/// runs; the first failure ends it.
struct Series<'a> {
    id: &'a str,
    label: &'a str,
    warmup: bool,
    runs: usize,
    done: Vec<Run>,
    failed: Option<String>,
}

impl<'a> Series<'a> {
    fn new(id: &'a str, label: &'a str, warmup: bool, runs: usize) -> Self {
        Self {
            id,
            label,
            warmup,
            runs,
            done: Vec::new(),
            failed: None,
        }
    }

    /// Runs in all, the warm-up included.
    fn total(&self) -> usize {
        self.runs + usize::from(self.warmup)
    }

    /// Awaits step `i` (`run`), printing it, unless an earlier step failed.
    async fn step(&mut self, i: usize, run: impl Future<Output = anyhow::Result<Run>>) {
        if self.failed.is_some() {
            return;
        }
        let (id, label) = (self.id, self.label);
        let what = if self.warmup && i == 0 {
            "warm-up".to_owned()
        } else {
            format!("run {}/{}", i + 1 - usize::from(self.warmup), self.runs)
        };
        println!("{id}: {label}: {what} ...");
        match run.await {
            Ok(run) => {
                println!(
                    "{id}: {what}: {} docs in {:.1} s = {:.0}/s; CPU s per million: {}{}",
                    run.docs,
                    run.seconds,
                    run.docs_per_sec,
                    run.cpu_s_per_million
                        .iter()
                        .map(|(k, v)| format!("{k} {v:.1}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    run.peak_rss_mib
                        .map(|m| format!("; peak RSS {m:.0} MiB"))
                        .unwrap_or_default()
                );
                self.done.push(run);
            }
            Err(e) => {
                println!("{id}: {what} failed: {e:#}");
                self.failed = Some(format!("{what} failed: {e:#}"));
            }
        }
    }

    /// The figure: missing with the failure, else the medians of the counted runs.
    fn finish(mut self) -> Figure {
        if let Some(why) = self.failed {
            return Figure::missing(self.id, self.label, why);
        }
        let warm = if self.warmup && !self.done.is_empty() {
            Some(self.done.remove(0))
        } else {
            None
        };
        Figure::from_runs(self.id, self.label, warm, self.done)
    }
}

/// Runs `once` for a warm-up (when `warmup`) and then `runs` counted times, printing
/// each run; a failed run makes the whole figure missing, with the error as its note.
pub async fn measure<F, Fut>(
    id: &str,
    label: &str,
    warmup: bool,
    runs: usize,
    mut once: F,
) -> Figure
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Run>>,
{
    let mut series = Series::new(id, label, warmup, runs);
    for i in 0..series.total() {
        series.step(i, once(i)).await;
        if series.failed.is_some() {
            break;
        }
    }
    series.finish()
}

/// Like [`measure`] for two figures compared with each other (`(id, label)` each), their
/// runs alternating (a, b, a, b, ...), so that a change of the machine's load between
/// runs weighs on both alike. A failure ends only its own figure.
pub async fn measure_alternating<FA, FutA, FB, FutB>(
    a: (&str, &str),
    b: (&str, &str),
    warmup: bool,
    runs: usize,
    mut once_a: FA,
    mut once_b: FB,
) -> (Figure, Figure)
where
    FA: FnMut(usize) -> FutA,
    FutA: Future<Output = anyhow::Result<Run>>,
    FB: FnMut(usize) -> FutB,
    FutB: Future<Output = anyhow::Result<Run>>,
{
    let mut sa = Series::new(a.0, a.1, warmup, runs);
    let mut sb = Series::new(b.0, b.1, warmup, runs);
    for i in 0..sa.total() {
        sa.step(i, once_a(i)).await;
        sb.step(i, once_b(i)).await;
    }
    (sa.finish(), sb.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(docs: u64, seconds: f64, cpu: f64) -> Run {
        Run::new(docs, seconds, vec![(RMQ_CONNECT.into(), cpu)])
    }

    #[test]
    fn a_run_derives_rate_and_cpu_per_million() {
        let r = run(200_000, 4.0, 3.0);
        assert_eq!(r.docs_per_sec, 50_000.0);
        assert_eq!(r.cpu_s_per_million[RMQ_CONNECT], 15.0);
    }

    #[test]
    fn a_figure_takes_medians_of_the_counted_runs_only() {
        let f = Figure::from_runs(
            "C",
            "x",
            Some(run(100, 100.0, 1.0)),
            vec![run(100, 1.0, 1.0), run(100, 2.0, 2.0), run(100, 4.0, 3.0)],
        );
        assert_eq!(f.docs_per_sec, Some(50.0));
        assert_eq!(f.cpu_s_per_million[RMQ_CONNECT], 20_000.0);
    }

    #[tokio::test]
    async fn measure_runs_a_warmup_plus_the_counted_runs_and_reports_a_failure() {
        let mut calls = 0;
        let f = measure("A", "x", true, 3, |_| {
            calls += 1;
            async { Ok(run(10, 1.0, 0.5)) }
        })
        .await;
        assert_eq!(calls, 4);
        assert_eq!(f.runs.len(), 3);
        assert!(f.warmup.is_some());

        let f = measure("A", "x", false, 3, |i| async move {
            if i == 1 {
                anyhow::bail!("boom")
            }
            Ok(run(10, 1.0, 0.5))
        })
        .await;
        assert!(f.docs_per_sec.is_none());
        assert!(f.note.unwrap().contains("boom"));
    }

    #[tokio::test]
    async fn alternating_figures_interleave_their_runs_and_fail_alone() {
        let order = std::sync::Mutex::new(String::new());
        let (a, b) = measure_alternating(
            ("A", "x"),
            ("B", "y"),
            true,
            2,
            |_| {
                order.lock().unwrap().push('a');
                async { Ok(run(10, 1.0, 0.5)) }
            },
            |i| {
                order.lock().unwrap().push('b');
                async move {
                    if i == 1 {
                        anyhow::bail!("boom")
                    }
                    Ok(run(10, 2.0, 0.5))
                }
            },
        )
        .await;
        // b's closure is still called after its failure, but its run is not awaited.
        assert_eq!(*order.lock().unwrap(), "ababab");
        assert_eq!(a.runs.len(), 2);
        assert!(a.warmup.is_some());
        assert_eq!(a.docs_per_sec, Some(10.0));
        assert!(b.docs_per_sec.is_none());
        assert!(b.note.unwrap().contains("run 1/2 failed: boom"));
    }
}
