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
/// The measured client when it is not rmq-connect (the ceiling loop, a peer tool).
pub const CLIENT: &str = "client";

/// One measured run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    /// Documents (or messages) moved.
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
    /// Short id (`A`, `B-rocketmq`, `B-ours`, `C`, `D-python`, `D-elasticdump`).
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
    let mut all = Vec::new();
    let total = runs + usize::from(warmup);
    for i in 0..total {
        let what = if warmup && i == 0 {
            "warm-up".to_owned()
        } else {
            format!("run {}/{runs}", i + 1 - usize::from(warmup))
        };
        println!("{id}: {label}: {what} ...");
        match once(i).await {
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
                all.push(run);
            }
            Err(e) => {
                println!("{id}: {what} failed: {e:#}");
                return Figure::missing(id, label, format!("{what} failed: {e:#}"));
            }
        }
    }
    let warm = if warmup && !all.is_empty() {
        Some(all.remove(0))
    } else {
        None
    };
    Figure::from_runs(id, label, warm, all)
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
}
