//! The results: ratios and targets, a table on stdout, and `bench/results/<date>.json`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use crate::model::{Figure, BROKER, CLIENT, ELASTICSEARCH, RMQ_CONNECT};
use crate::tailing::TailFigure;

/// One of the project's benchmark targets, checked against this run's figures.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    /// The target, in words (for example `C ≥ 5 × Python`).
    pub target: String,
    /// The measured value.
    pub value: Option<f64>,
    /// The bound it is held to.
    pub bound: Option<f64>,
    /// Whether it is met (`None`: a figure is missing).
    pub met: Option<bool>,
}

/// Everything one `bench/run` measured.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When it ran (UTC, RFC 3339).
    pub date: String,
    /// The machine and versions it ran on.
    pub machine: Value,
    /// The settings of the run.
    pub settings: Value,
    /// A, B, C, D, F.
    pub figures: Vec<Figure>,
    /// E.
    pub tailing: Option<TailFigure>,
    /// Ratios between figures of this run.
    pub ratios: Vec<(String, Option<f64>)>,
    /// The targets.
    pub targets: Vec<Target>,
}

fn rate(figures: &[Figure], id: &str) -> Option<f64> {
    figures.iter().find(|f| f.id == id)?.docs_per_sec
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

fn at_least(target: &str, value: Option<f64>, bound: f64) -> Target {
    Target {
        target: target.to_owned(),
        value,
        bound: Some(bound),
        met: value.map(|v| v >= bound),
    }
}

fn at_most(target: &str, value: Option<f64>, bound: Option<f64>) -> Target {
    Target {
        target: target.to_owned(),
        value,
        bound,
        met: value.zip(bound).map(|(v, b)| v <= b),
    }
}

/// The produce ceiling B: the faster of RocketMQ's own tool and our producer path.
fn produce_ceiling(figures: &[Figure]) -> Option<f64> {
    match (rate(figures, "B-rocketmq"), rate(figures, "B-ours")) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The CPU seconds per million documents of `who` during figure `id`.
fn cpu(figures: &[Figure], id: &str, who: &str) -> Option<f64> {
    figures
        .iter()
        .find(|f| f.id == id)
        .and_then(|f| f.cpu_s_per_million.get(who).copied())
}

/// Ratios and targets from the figures (issue 15's for C-backfill; C-incremental keeps
/// the targets C had before the backfill existed).
pub fn evaluate(
    figures: &[Figure],
    tailing: Option<&TailFigure>,
) -> (Vec<(String, Option<f64>)>, Vec<Target>) {
    let c = rate(figures, "C-backfill");
    let ci = rate(figures, "C-incremental");
    let a_pit = rate(figures, "A-pit");
    let a_sorted = rate(figures, "A-sorted");
    let b = produce_ceiling(figures);
    let min = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a.min(b));
    let py = rate(figures, "D-python");
    let dump = rate(figures, "D-elasticdump");
    let c_fig = figures.iter().find(|f| f.id == "C-backfill");
    let rss = c_fig.and_then(|f| f.peak_rss_mib);
    let es_ratio = ratio(
        cpu(figures, "C-backfill", ELASTICSEARCH),
        cpu(figures, "A-pit", ELASTICSEARCH),
    );
    let plugin_ratio = ratio(rate(figures, "F-ours"), rate(figures, "F-plugin"));
    let ratios = vec![
        (
            "C-backfill / min(A-pit, B)".to_owned(),
            ratio(c, min(a_pit, b)),
        ),
        ("C-backfill / A-pit".to_owned(), ratio(c, a_pit)),
        ("C-backfill / B".to_owned(), ratio(c, b)),
        ("C-backfill / D-elasticdump".to_owned(), ratio(c, dump)),
        ("C-backfill / D-python".to_owned(), ratio(c, py)),
        (
            "C-incremental / min(A-sorted, B)".to_owned(),
            ratio(ci, min(a_sorted, b)),
        ),
        ("ES CPU: C-backfill / A-pit".to_owned(), es_ratio),
        ("F-ours / F-plugin".to_owned(), plugin_ratio),
    ];
    let targets = vec![
        at_least(
            "C-backfill >= 0.8 x min(A-pit, B)",
            ratio(c, min(a_pit, b)),
            0.8,
        ),
        at_least(
            "C-backfill >= 1.3 x elasticdump to /dev/null",
            ratio(c, dump),
            1.3,
        ),
        at_most(
            "Elasticsearch CPU per million in C-backfill <= 1.5 x A-pit's",
            es_ratio,
            Some(1.5),
        ),
        at_most(
            "rmq-connect <= 8 CPU s per million 1 KB documents (C-backfill)",
            cpu(figures, "C-backfill", RMQ_CONNECT),
            Some(8.0),
        ),
        at_least("C-backfill >= 5 x the Python peer", ratio(c, py), 5.0),
        at_least(
            "C-incremental >= 0.8 x min(A-sorted, B)",
            ratio(ci, min(a_sorted, b)),
            0.8,
        ),
        at_most(
            "rmq-connect peak RSS <= 100 MB",
            rss.map(|m| m * 1.048_576),
            Some(100.0),
        ),
        at_least(
            "F-ours >= 0.9 x F-plugin (faker read to /dev/null)",
            plugin_ratio,
            0.9,
        ),
        // Judged only when every document written was read back.
        at_most(
            "E: p99 <= refresh + poll interval + 1 s (ms)",
            tailing.filter(|t| t.complete).and_then(|t| t.p99_ms),
            tailing.map(|t| t.target_p99_ms),
        ),
    ];
    (ratios, targets)
}

fn num(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.digits$}"),
        _ => "-".to_owned(),
    }
}

/// The table printed at the end of a run.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "\n{:<15} {:>10} | {:>11} {:>8} {:>8} {:>8} | {:>8}\n",
        "", "", "CPU s per", "million", "documents", "", ""
    ));
    out.push_str(&format!(
        "{:<15} {:>10} | {:>11} {:>8} {:>8} {:>8} | {:>8}\n",
        "figure", "docs/s", RMQ_CONNECT, CLIENT, "ES", BROKER, "RSS MiB"
    ));
    out.push_str(&format!("{}\n", "-".repeat(80)));
    for f in &report.figures {
        let cpu = |k: &str| num(f.cpu_s_per_million.get(k).copied(), 1);
        out.push_str(&format!(
            "{:<15} {:>10} | {:>11} {:>8} {:>8} {:>8} | {:>8}   {}\n",
            f.id,
            num(f.docs_per_sec, 0),
            cpu(RMQ_CONNECT),
            cpu(CLIENT),
            cpu(ELASTICSEARCH),
            cpu(BROKER),
            num(f.peak_rss_mib, 0),
            f.label
        ));
        if let Some(note) = &f.note {
            out.push_str(&format!("{:<15} note: {note}\n", ""));
        }
    }
    if let Some(t) = &report.tailing {
        out.push_str(&format!(
            "\nE tailing lag (median of runs): p50 {} ms, p99 {} ms, max {} ms (target p99 <= {} ms){}\n",
            num(t.p50_ms, 0),
            num(t.p99_ms, 0),
            num(t.max_ms, 0),
            t.target_p99_ms,
            t.note.as_deref().map(|n| format!("; {n}")).unwrap_or_default()
        ));
    }
    out.push_str("\nratios:\n");
    for (name, v) in &report.ratios {
        out.push_str(&format!("  {name:<22} {}\n", num(*v, 2)));
    }
    out.push_str("\ntargets:\n");
    for t in &report.targets {
        let verdict = match t.met {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "not measured",
        };
        out.push_str(&format!(
            "  {:<52} {:>9} (bound {}) {verdict}\n",
            t.target,
            num(t.value, 2),
            num(t.bound, 1)
        ));
    }
    out
}

/// Writes the report to `dir/<date>.json` (a `-N` suffix when that exists) and returns
/// the path.
pub fn write(report: &Report, dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let day = report.date.get(..10).unwrap_or("undated");
    let mut path = dir.join(format!("{day}.json"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{day}-{n}.json"));
        n += 1;
    }
    std::fs::write(&path, serde_json::to_vec_pretty(report)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Run;

    fn fig(id: &str, rate: f64) -> Figure {
        let mut r = Run::new(
            1_000_000,
            1_000_000.0 / rate,
            vec![(RMQ_CONNECT.into(), 5.0), (ELASTICSEARCH.into(), 4.0)],
        );
        r.peak_rss_mib = Some(40.0);
        Figure::from_runs(id, id, None, vec![r])
    }

    #[test]
    fn the_ceiling_is_the_slower_of_reading_and_the_faster_producer() {
        let figures = vec![
            fig("A-pit", 40_000.0),
            fig("A-sorted", 30_000.0),
            fig("B-rocketmq", 30_000.0),
            fig("B-ours", 50_000.0),
            fig("C-backfill", 36_000.0),
            fig("C-incremental", 20_000.0),
            fig("D-python", 6_000.0),
        ];
        let (ratios, targets) = evaluate(&figures, None);
        assert_eq!(ratios[0].1, Some(0.9));
        let met = |name: &str| {
            targets
                .iter()
                .find(|t| t.target.starts_with(name))
                .unwrap()
                .met
        };
        assert_eq!(met("C-backfill >= 0.8"), Some(true));
        assert_eq!(met("C-backfill >= 1.3"), None, "elasticdump missing");
        assert_eq!(met("Elasticsearch CPU"), Some(true), "4 against 4");
        assert_eq!(met("rmq-connect <= 8"), Some(true));
        assert_eq!(met("C-backfill >= 5"), Some(true));
        assert_eq!(met("C-incremental"), Some(false), "20,000 against 30,000");
        assert_eq!(met("rmq-connect peak RSS"), Some(true));
        assert_eq!(met("F-ours"), None, "F missing");
    }

    #[test]
    fn the_plugin_target_compares_f_ours_with_the_plugins_own_ceiling() {
        let (ratios, targets) =
            evaluate(&[fig("F-plugin", 10_000.0), fig("F-ours", 9_500.0)], None);
        let r = ratios
            .iter()
            .find(|(n, _)| n == "F-ours / F-plugin")
            .unwrap();
        assert!((r.1.unwrap() - 0.95).abs() < 1e-9);
        let t = targets
            .iter()
            .find(|t| t.target.starts_with("F-ours"))
            .unwrap();
        assert_eq!(t.met, Some(true));
        let (_, targets) = evaluate(&[fig("F-plugin", 10_000.0), fig("F-ours", 8_000.0)], None);
        let t = targets
            .iter()
            .find(|t| t.target.starts_with("F-ours"))
            .unwrap();
        assert_eq!(t.met, Some(false));
    }

    #[test]
    fn the_table_shows_missing_figures_and_verdicts() {
        let figures = vec![
            fig("C-backfill", 10_000.0),
            Figure::missing("A-pit", "ES", "down".into()),
        ];
        let (ratios, targets) = evaluate(&figures, None);
        let report = Report {
            date: "2026-11-21T20:00:00Z".into(),
            machine: Value::Null,
            settings: Value::Null,
            figures,
            tailing: None,
            ratios,
            targets,
        };
        let t = table(&report);
        assert!(t.contains("note: down"), "{t}");
        assert!(t.contains("not measured"), "{t}");
        let dir = tempfile::tempdir().unwrap();
        let first = write(&report, dir.path()).unwrap();
        let second = write(&report, dir.path()).unwrap();
        assert!(first.ends_with("2026-11-21.json"));
        assert!(second.ends_with("2026-11-21-2.json"));
    }
}
