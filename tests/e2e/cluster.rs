//! End-to-end tests of clustered mode: several `rmq-connect distributed`
//! workers of one cluster, against a real Elasticsearch and a real Apache RocketMQ
//! (started by `distribution/bin/rmq-services`; run by `tests/run`). Plain `cargo test`
//! skips them: they are `#[ignore]`d and `tests/run` passes `--ignored`.
//!
//! Each test has its own cluster (unique `connectClusterId` and internal topics), indices,
//! topic and connector. The streaming tests read 6 indices matched by one pattern with
//! `max.tasks` 6 (one index per task), pre-loaded with 102,000 documents, while a writer
//! keeps indexing during the disruption; arrivals are counted by message key
//! (`<index>/<_id>`). Every wait is a poll with a deadline whose failure message says
//! what was expected and shows the end of every worker's log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_testkit::cluster::{
    parse_workers, stale_commits, tasks_of, unbalanced, ClusterConf, PositionRecord, StaleCommits,
    TaskRef, WorkerView,
};
use connect_testkit::es::Es;
use connect_testkit::topic::{Delivery, KeyCounter, TopicReader};
use connect_testkit::worker::WorkerProcess;
use connect_testkit::{eventually, unique_name};
use serde_json::{json, Value};

/// Indices (and tasks) of the streaming tests.
const INDICES: usize = 6;
/// Documents loaded into each index before the connector starts (6 × 17,000 = 102,000).
const PER_INDEX: u64 = 17_000;
/// `es.batch.size` of the connectors.
const BATCH: u64 = 500;
/// `maxInFlightBatches` of the workers (set explicitly in their conf).
const MAX_IN_FLIGHT: u64 = 4;
/// Deadline for every document to arrive (debug build on a small shared machine).
const ARRIVAL: Duration = Duration::from_secs(900);
/// Deadline for a cluster to settle after a start or a rejoin (not a guarantee of the
/// contract, only a bound on the wait).
const SETTLE: Duration = Duration::from_secs(90);
/// Documents per request of the writer that keeps indexing during the disruptions.
const WRITER_DOCS: u64 = 30;
/// Pause between two requests of the writer (about 300 documents a second: every task
/// has new documents at each poll, and a test of several minutes stays sane in size).
const WRITER_PAUSE: Duration = Duration::from_millis(100);
/// Lines of each worker's log shown in a failure message.
const LOG_LINES: usize = 40;

/// Worker conf lines of every test: offsets committed after every acknowledged batch, at
/// most [`MAX_IN_FLIGHT`] batches in flight per task, and a snapshot of the config and
/// offsets topics every few seconds (so every test runs while snapshots are written).
fn worker_conf() -> String {
    format!(
        "offsetCommitIntervalMs=0\nmaxInFlightBatches={MAX_IN_FLIGHT}\nsnapshotIntervalMs=3000\n"
    )
}

// ---------------------------------------------------------------------------------------
// A cluster of worker processes.

/// The workers of one test cluster (live or not), their conf and directory.
struct Cluster {
    conf: ClusterConf,
    root: std::path::PathBuf,
    /// Removes `root` at the end (absent when RMQ_TESTS_KEEP_DIRS is set).
    _guard: Option<tempfile::TempDir>,
    workers: Vec<WorkerProcess>,
    /// Whether each worker is meant to be live (not killed, stopped or frozen).
    live: Vec<bool>,
}

impl Cluster {
    /// Starts `n` distributed workers `w1`..`wn`, one after the other.
    async fn start(tag: &str, n: usize) -> Self {
        Self::start_with(ClusterConf::unique(tag), n).await
    }

    /// [`Cluster::start`] with the given cluster settings.
    async fn start_with(conf: ClusterConf, n: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        // RMQ_TESTS_KEEP_DIRS=1 keeps the workers' logs and stores for a look afterwards.
        let (root, guard) = if std::env::var_os("RMQ_TESTS_KEEP_DIRS").is_some() {
            let kept = dir.keep();
            println!("worker directories kept in {}", kept.display());
            (kept, None)
        } else {
            (dir.path().to_path_buf(), Some(dir))
        };
        let mut c = Cluster {
            conf,
            root,
            _guard: guard,
            workers: Vec::new(),
            live: Vec::new(),
        };
        for _ in 0..n {
            c.add_worker().await;
        }
        c
    }

    /// Starts one more worker `w<n+1>`; returns its index.
    async fn add_worker(&mut self) -> usize {
        let i = self.workers.len();
        let id = format!("w{}", i + 1);
        let w =
            WorkerProcess::start_distributed(&self.root.join(&id), &id, &self.conf, &worker_conf())
                .await
                .unwrap_or_else(|e| panic!("worker {id} did not start: {e:#}\n{}", self.logs()));
        self.workers.push(w);
        self.live.push(true);
        i
    }

    fn id(&self, i: usize) -> String {
        self.workers[i].worker_id().to_owned()
    }

    fn live_ids(&self) -> Vec<String> {
        (0..self.workers.len())
            .filter(|&i| self.live[i])
            .map(|i| self.id(i))
            .collect()
    }

    fn live_workers(&self) -> impl Iterator<Item = &WorkerProcess> {
        self.workers
            .iter()
            .zip(&self.live)
            .filter(|(_, live)| **live)
            .map(|(w, _)| w)
    }

    /// A live worker to ask.
    fn any_live(&self) -> &WorkerProcess {
        self.live_workers().next().expect("no live worker")
    }

    /// The end of every worker's log, for failure messages.
    fn logs(&self) -> String {
        let mut out = String::new();
        for (w, live) in self.workers.iter().zip(&self.live) {
            out.push_str(&format!(
                "\n--- worker {} ({}), end of its log ---\n{}\n",
                w.worker_id(),
                if *live { "live" } else { "down or frozen" },
                w.log_tail(LOG_LINES)
            ));
        }
        out
    }

    /// Unwraps `r`, or panics with the error and every worker's log.
    fn check<T>(&self, r: anyhow::Result<T>) -> T {
        r.unwrap_or_else(|e| panic!("{e:#}\n{}", self.logs()))
    }

    /// SIGKILLs worker `i`.
    async fn kill9(&mut self, i: usize) {
        self.live[i] = false;
        let r = self.workers[i].kill9().await;
        self.check(r);
    }

    /// SIGTERMs worker `i` and checks that it exits cleanly within 60 s.
    async fn terminate(&mut self, i: usize) {
        self.live[i] = false;
        let r = self.workers[i].terminate(Duration::from_secs(60)).await;
        let exit = self.check(r);
        assert!(
            exit.success(),
            "worker {} exited with {exit} after SIGTERM\n{}",
            self.id(i),
            self.logs()
        );
    }

    /// Restarts worker `i` (same directory and conf) and waits for its `/health`.
    async fn restart(&mut self, i: usize) {
        let r = self.workers[i].restart().await;
        self.check(r);
        self.live[i] = true;
    }

    /// Creates `connector` through worker `via` (`POST /connectors {name, config}`).
    async fn create(&self, via: usize, connector: &str, config: &Value) {
        let body = json!({"name": connector, "config": config}).to_string();
        let r = self.workers[via]
            .send_raw(reqwest::Method::POST, "/connectors", body.as_bytes())
            .await;
        let (code, body) = self.check(r);
        assert_eq!(
            code,
            201,
            "POST /connectors on {}: {body}\n{}",
            self.id(via),
            self.logs()
        );
    }

    /// Waits until every live worker's `GET /workers` lists exactly the live workers with
    /// one leader and `connector`'s tasks `0..tasks` balanced over them, and the
    /// connector's status shows each task RUNNING on the worker `GET /workers` gives it.
    /// Returns the assignment and how long it took.
    async fn wait_balanced(
        &self,
        connector: &str,
        tasks: u64,
        timeout: Duration,
    ) -> (Vec<WorkerView>, Duration) {
        let started = Instant::now();
        let expected = task_refs(connector, tasks);
        let live = self.live_ids();
        let live: Vec<&str> = live.iter().map(String::as_str).collect();
        let what = format!(
            "{tasks} tasks of {connector} balanced over the live workers {live:?} and RUNNING \
             there, as seen by every live worker's GET /workers"
        );
        let r = eventually(timeout, &what, || async {
            let mut first: Option<Vec<WorkerView>> = None;
            for w in self.live_workers() {
                let views = workers_view(w).await?;
                if let Some(why) = unbalanced(&views, &live, &expected) {
                    anyhow::bail!("{} says: {why}", w.worker_id());
                }
                first.get_or_insert(views);
            }
            let views = first.unwrap_or_default();
            let status = connector_status(self.any_live(), connector).await?;
            for t in &expected {
                let owner = views
                    .iter()
                    .find(|v| v.tasks.contains(t))
                    .map(|v| v.worker_id.clone())
                    .unwrap_or_default();
                let (state, worker) = task_state(&status, t.task);
                if state != "RUNNING" || worker != owner {
                    anyhow::bail!(
                        "task {} is {state} on {worker:?}, assigned to {owner}: {status}",
                        t.task
                    );
                }
            }
            Ok(Some(views))
        })
        .await;
        (self.check(r), started.elapsed())
    }

    /// Waits until each task of `moved` is RUNNING on a worker of `survivors` (as the
    /// status seen by a survivor says); returns the time since `since`.
    async fn wait_moved(
        &self,
        connector: &str,
        moved: &[TaskRef],
        survivors: &[String],
        since: Instant,
        timeout: Duration,
    ) -> Duration {
        let via = self
            .live_workers()
            .find(|w| survivors.iter().any(|s| s == w.worker_id()))
            .expect("a live survivor");
        let what = format!("tasks {moved:?} RUNNING on one of {survivors:?}");
        let r = eventually(timeout, &what, || async {
            let status = connector_status(via, connector).await?;
            for t in moved {
                let (state, worker) = task_state(&status, t.task);
                if state != "RUNNING" || !survivors.contains(&worker) {
                    anyhow::bail!("task {} is {state} on {worker:?}", t.task);
                }
            }
            Ok(Some(since.elapsed()))
        })
        .await;
        self.check(r)
    }

    /// Waits until `check` succeeds on every live worker (its error says what it saw).
    async fn wait_everywhere<'a, F, Fut>(&'a self, what: &str, timeout: Duration, check: F)
    where
        F: Fn(&'a WorkerProcess) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>> + 'a,
    {
        let r = eventually(timeout, what, || async {
            for w in self.live_workers() {
                check(w)
                    .await
                    .map_err(|e| e.context(format!("on {}", w.worker_id())))?;
            }
            Ok(Some(()))
        })
        .await;
        self.check(r);
    }
}

/// Tasks `0..n` of `connector`.
fn task_refs(connector: &str, n: u64) -> Vec<TaskRef> {
    (0..n)
        .map(|task| TaskRef {
            connector: connector.to_owned(),
            task,
        })
        .collect()
}

/// `GET /workers` of `w`, parsed.
async fn workers_view(w: &WorkerProcess) -> anyhow::Result<Vec<WorkerView>> {
    let (code, body) = w.get("/workers").await?;
    anyhow::ensure!(
        code == 200,
        "GET /workers on {}: HTTP {code}: {body}",
        w.worker_id()
    );
    parse_workers(&body)
}

/// `GET /connectors/{connector}/status` of `w` (must be 200).
async fn connector_status(w: &WorkerProcess, connector: &str) -> anyhow::Result<Value> {
    let (code, status) = w.get(&format!("/connectors/{connector}/status")).await?;
    anyhow::ensure!(
        code == 200,
        "GET /connectors/{connector}/status on {}: HTTP {code}: {status}",
        w.worker_id()
    );
    Ok(status)
}

/// State and worker of task `id` in a status body ("MISSING" if it is not listed).
fn task_state(status: &Value, id: u64) -> (String, String) {
    status["tasks"]
        .as_array()
        .and_then(|tasks| tasks.iter().find(|t| t["id"].as_u64() == Some(id)))
        .map(|t| {
            (
                t["state"].as_str().unwrap_or("?").to_owned(),
                t["worker_id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .unwrap_or_else(|| ("MISSING".to_owned(), String::new()))
}

// ---------------------------------------------------------------------------------------
// Documents: indices matched by one pattern, a pre-load and a writer.

/// The indices `<prefix>-0`.. of one test, their documents' keys and the target topic.
struct Data {
    es: Es,
    prefix: String,
    indices: Vec<String>,
    topic: String,
    /// `<index>/<_id>` of every document indexed so far.
    keys: HashSet<String>,
    /// The next `seq` (also the tracking value `ts`: increasing over all indices).
    next_seq: u64,
}

/// A small document: `seq` (tiebreaker), `ts` (tracking field, = seq) and some text.
fn small_doc(seq: u64) -> Value {
    json!({"seq": seq, "ts": seq, "text": format!("document {seq:010} of a cluster test")})
}

impl Data {
    /// Creates `indices` indices and loads `per_index` documents into each (in parallel).
    async fn load(tag: &str, indices: usize, per_index: u64) -> Self {
        let es = Es::from_env();
        let prefix = unique_name(&format!("e2e-{tag}")).to_lowercase();
        let mut d = Data {
            es,
            indices: (0..indices).map(|i| format!("{prefix}-{i}")).collect(),
            prefix,
            topic: unique_name(&format!("e2e_{tag}")),
            keys: HashSet::new(),
            next_seq: 0,
        };
        let mapping =
            json!({"seq": {"type": "long"}, "ts": {"type": "long"}, "text": {"type": "text"}});
        let mut loads = Vec::new();
        for index in &d.indices {
            d.es.create_index(index, mapping.clone()).await.unwrap();
            let docs: Vec<(String, Value)> = (d.next_seq..d.next_seq + per_index)
                .map(|seq| (format!("d{seq}"), small_doc(seq)))
                .collect();
            d.next_seq += per_index;
            d.keys
                .extend(docs.iter().map(|(id, _)| format!("{index}/{id}")));
            let (es, index) = (d.es.clone(), index.clone());
            loads.push(tokio::spawn(async move {
                es.bulk_index(&index, &docs).await?;
                es.refresh(&index).await
            }));
        }
        for l in loads {
            l.await.unwrap().unwrap();
        }
        d
    }

    /// The es-source config reading every index of the pattern with one task per index.
    fn connector_config(&self) -> Value {
        json!({
            "connector.class": "es-source",
            "max.tasks": self.indices.len().to_string(),
            "connect.topicname": self.topic,
            "es.hosts": connect_testkit::es_url(),
            "es.index": format!("{}-*", self.prefix),
            "es.tracking.field": "ts",
            "es.tiebreaker.field": "seq",
            "es.batch.size": BATCH.to_string(),
            "es.poll.interval.ms": "200",
        })
    }

    /// Starts a writer that keeps indexing ([`WRITER_DOCS`] documents at a time into each
    /// index in turn, pausing [`WRITER_PAUSE`] between requests) until stopped.
    fn start_writer(&mut self) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let (es, indices, first) = (self.es.clone(), self.indices.clone(), self.next_seq);
        // The writer's seq range: far above anything loaded before.
        self.next_seq += 100_000_000;
        let handle = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut keys = Vec::new();
                let mut seq = first;
                let mut round = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let index = &indices[round % indices.len()];
                    round += 1;
                    let docs: Vec<(String, Value)> = (seq..seq + WRITER_DOCS)
                        .map(|s| (format!("d{s}"), small_doc(s)))
                        .collect();
                    seq += WRITER_DOCS;
                    es.bulk_index(index, &docs).await?;
                    keys.extend(docs.iter().map(|(id, _)| format!("{index}/{id}")));
                    tokio::time::sleep(WRITER_PAUSE).await;
                }
                Ok::<_, anyhow::Error>(keys)
            }
        });
        Writer {
            stop,
            handle: Some(handle),
        }
    }

    /// Indexes `n` more documents into the first index and makes them searchable;
    /// returns their keys (not added to `keys`).
    async fn index_more(&mut self, n: u64) -> Vec<String> {
        let index = self.indices[0].clone();
        let docs: Vec<(String, Value)> = (self.next_seq..self.next_seq + n)
            .map(|s| (format!("d{s}"), small_doc(s)))
            .collect();
        self.next_seq += n;
        self.es.bulk_index(&index, &docs).await.unwrap();
        self.es.refresh(&index).await.unwrap();
        docs.iter().map(|(id, _)| format!("{index}/{id}")).collect()
    }
}

impl Drop for Data {
    /// Deletes the indices, also when the test panicked (on a thread of its own: drop
    /// cannot await, and may run inside the test's runtime).
    fn drop(&mut self) {
        let (es, indices) = (self.es.clone(), std::mem::take(&mut self.indices));
        let deleted = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                for index in &indices {
                    es.delete_index(index).await?;
                }
                Ok::<_, anyhow::Error>(())
            })
        })
        .join();
        if !matches!(deleted, Ok(Ok(()))) {
            eprintln!("could not delete the test indices {:?}", self.prefix);
        }
    }
}

/// A background writer (see [`Data::start_writer`]).
struct Writer {
    stop: Arc<AtomicBool>,
    handle: Option<tokio::task::JoinHandle<anyhow::Result<Vec<String>>>>,
}

impl Writer {
    /// Stops it; returns the keys of every document it indexed.
    async fn stop(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        let handle = self.handle.take().expect("a running writer");
        handle.await.unwrap().unwrap()
    }
}

impl Drop for Writer {
    /// A test that panicked leaves no writer behind (it would re-create deleted indices).
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Steps shared by the streaming tests.

/// A running streaming test: 3 workers, 102,000 documents in 6 indices, the connector
/// created through w1 and balanced, arrivals counted, a writer running.
struct Stream {
    // Dropped in this order when a test panics: writer, then workers, then indices.
    writer: Option<Writer>,
    cluster: Cluster,
    counter: KeyCounter,
    data: Data,
    connector: String,
}

impl Stream {
    async fn start(tag: &str, workers: usize) -> Self {
        Self::start_with(tag, workers, json!({})).await
    }

    /// [`Stream::start`] with `extra` keys added to the connector config.
    async fn start_with(tag: &str, workers: usize, extra: Value) -> Self {
        let mut data = Data::load(tag, INDICES, PER_INDEX).await;
        let cluster = Cluster::start(tag, workers).await;
        let connector = unique_name(&format!("c-{tag}"));
        let counter = KeyCounter::start(&data.topic).await.unwrap();
        let mut config = data.connector_config();
        if let (Some(c), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
            c.extend(extra.clone());
        }
        cluster.create(0, &connector, &config).await;
        cluster
            .wait_balanced(&connector, INDICES as u64, SETTLE)
            .await;
        let writer = Some(data.start_writer());
        let s = Stream {
            cluster,
            data,
            connector,
            counter,
            writer,
        };
        // Mid-stream: a share of the pre-load arrived, tasks are reading.
        s.wait_arrived(10_000).await;
        s
    }

    /// Waits until `n` more distinct keys arrived than now.
    async fn wait_arrived(&self, n: usize) {
        let target = self.counter.distinct() + n;
        let what = format!("{target} distinct keys in {}", self.data.topic);
        let r = eventually(ARRIVAL, &what, || async {
            Ok((self.counter.distinct() >= target).then_some(()))
        })
        .await;
        self.cluster.check(r);
    }

    /// Stops the writer, waits until every document indexed arrived at least once and
    /// nothing more arrives for 5 s; returns the delivery and the counts by key.
    async fn finish(&mut self) -> (Delivery, HashMap<String, u32>) {
        if let Some(w) = self.writer.take() {
            let written = w.stop().await;
            self.data.keys.extend(written);
        }
        let r = self.counter.wait_for(&self.data.keys, ARRIVAL).await;
        self.cluster.check(r);
        let r = self
            .counter
            .drain(Duration::from_secs(5), Duration::from_secs(300))
            .await;
        self.cluster.check(r);
        let counts = self.counter.counts();
        let d = Delivery::of(&self.data.keys, &counts);
        assert!(
            d.missing.is_empty(),
            "documents lost: {} (e.g. {:?})\n{}",
            d.missing.len(),
            &d.missing[..d.missing.len().min(10)],
            self.cluster.logs()
        );
        assert!(
            d.unexpected.is_empty(),
            "keys that are no document of this test: {:?}",
            &d.unexpected[..d.unexpected.len().min(10)]
        );
        println!(
            "{} documents arrived, {} duplicates (per index: {:?})",
            self.data.keys.len(),
            d.duplicates,
            d.duplicates_by_prefix(&counts)
        );
        (d, counts)
    }

    /// [`Stream::finish`], and asserts that no document arrived twice (`what` says
    /// around what, for the failure message).
    async fn finish_without_duplicates(&mut self, what: &str) {
        let (d, counts) = self.finish().await;
        let examples: Vec<(&String, u32)> = d
            .duplicated_keys
            .iter()
            .take(10)
            .map(|k| (k, counts[k]))
            .collect();
        assert_eq!(
            d.duplicates,
            0,
            "{what}: {} keys, e.g. {examples:?}\n{}",
            d.duplicated_keys.len(),
            self.cluster.logs()
        );
    }

    async fn cleanup(self) {
        self.counter.stop().await;
        drop(self.data);
    }
}

/// A TCP proxy on 127.0.0.1 to the real Elasticsearch that, once told to
/// [`HangingProxy::hang`], accepts new connections and never answers on them: a network
/// fault between a worker and Elasticsearch.
struct HangingProxy {
    port: u16,
    hanging: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl HangingProxy {
    async fn start() -> Self {
        let upstream = connect_testkit::es_url()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hanging = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let hanging = hanging.clone();
            async move {
                let mut held = Vec::new();
                while let Ok((mut conn, _)) = listener.accept().await {
                    if hanging.load(Ordering::SeqCst) {
                        held.push(conn);
                        continue;
                    }
                    let upstream = upstream.clone();
                    tokio::spawn(async move {
                        if let Ok(mut es) = tokio::net::TcpStream::connect(&upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut conn, &mut es).await;
                        }
                    });
                }
            }
        });
        HangingProxy {
            port,
            hanging,
            task,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// From now on, new connections get no answer.
    fn hang(&self) {
        self.hanging.store(true, Ordering::SeqCst);
    }
}

impl Drop for HangingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The failover bound of the contract: `sessionTimeoutMs` + 5 s.
fn failover_bound(conf: &ClusterConf) -> Duration {
    Duration::from_millis(conf.session_timeout_ms) + Duration::from_secs(5)
}

/// A worker killed with SIGKILL: its tasks, the survivors, and when.
struct Killed {
    moved: Vec<TaskRef>,
    survivors: Vec<String>,
    at: Instant,
}

/// Kills worker `victim` with SIGKILL (its tasks per `views`).
async fn kill(s: &mut Stream, victim: usize, views: &[WorkerView]) -> Killed {
    let victim_id = s.cluster.id(victim);
    let moved = tasks_of(views, &victim_id).to_vec();
    assert!(
        !moved.is_empty(),
        "{victim_id} runs no task before the kill: {views:?}"
    );
    let survivors: Vec<String> = s
        .cluster
        .live_ids()
        .into_iter()
        .filter(|id| *id != victim_id)
        .collect();
    let at = Instant::now();
    s.cluster.kill9(victim).await;
    Killed {
        moved,
        survivors,
        at,
    }
}

/// Waits until the killed worker's tasks are RUNNING on the survivors; returns the time
/// from the kill to that.
async fn wait_failover(s: &Stream, k: &Killed) -> Duration {
    let bound = failover_bound(&s.cluster.conf);
    s.cluster
        .wait_moved(
            &s.connector,
            &k.moved,
            &k.survivors,
            k.at,
            bound + Duration::from_secs(60),
        )
        .await
}

/// Kills worker `victim` with SIGKILL; waits until its tasks (per `views`) are RUNNING on
/// the survivors; returns the moved tasks and the time from the kill to that.
async fn kill_and_measure(
    s: &mut Stream,
    victim: usize,
    views: &[WorkerView],
) -> (Vec<TaskRef>, Duration) {
    let k = kill(s, victim, views).await;
    let took = wait_failover(s, &k).await;
    (k.moved, took)
}

// ---------------------------------------------------------------------------------------
// The tests.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn kill_9_of_the_leader_moves_its_tasks_to_survivors_within_session_timeout_plus_5s_losing_nothing(
) {
    let mut s = Stream::start("ckill", 3).await;
    let (views, _) = s
        .cluster
        .wait_balanced(&s.connector, INDICES as u64, SETTLE)
        .await;
    let leader = views.iter().find(|v| v.leader).unwrap().worker_id.clone();
    let victim = (0..3).find(|&i| s.cluster.id(i) == leader).unwrap();
    let before = s.counter.distinct();
    // Right after the kill, while the survivors have no leader yet, a second connector
    // is created that reaches Elasticsearch through a proxy which then stops answering:
    // the new leader's split of it hangs, and must not hold up the failover.
    let proxy = HangingProxy::start().await;
    let mut hung = s.data.connector_config();
    hung["es.hosts"] = json!(proxy.url());
    hung["es.request.timeout.ms"] = json!("600000");
    let hung_name = unique_name("c-hung");
    let killed = kill(&mut s, victim, &views).await;
    let via = (0..3).find(|&i| i != victim).unwrap();
    s.cluster.create(via, &hung_name, &hung).await;
    proxy.hang();
    let took = wait_failover(&s, &killed).await;
    let (moved, bound) = (killed.moved, failover_bound(&s.cluster.conf));
    // The premise: the split of the second connector is still hanging.
    let (code, body) = s.cluster.workers[via]
        .get(&format!("/connectors/{hung_name}"))
        .await
        .unwrap();
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["tasks"],
        json!([]),
        "its split should still hang: {body}"
    );
    println!(
        "kill -9 of the leader {leader} after {before} documents: its {} tasks RUNNING on the \
         survivors after {took:?} (bound {bound:?})",
        moved.len()
    );
    assert!(
        took <= bound,
        "tasks {moved:?} of the killed {leader} took {took:?} to run on the survivors, over \
         sessionTimeoutMs + 5 s = {bound:?}\n{}",
        s.cluster.logs()
    );
    // The killed worker stays down; the two survivors share the six tasks.
    s.cluster
        .wait_balanced(&s.connector, INDICES as u64, SETTLE)
        .await;
    s.wait_arrived(5_000).await;
    let (d, _) = s.finish().await;
    let max_duplicates = moved.len() as u64 * MAX_IN_FLIGHT * BATCH;
    assert!(
        d.duplicates <= max_duplicates,
        "{} duplicates, more than maxInFlightBatches × es.batch.size per moved task = \
         {MAX_IN_FLIGHT} × {BATCH} × {} = {max_duplicates} (e.g. {:?})",
        d.duplicates,
        moved.len(),
        &d.duplicated_keys[..d.duplicated_keys.len().min(10)]
    );
    s.cleanup().await;
    drop(proxy);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn failover_after_each_of_five_kill_9s_is_within_session_timeout_plus_5s_and_loses_nothing() {
    let mut s = Stream::start("cfive", 3).await;
    let bound = failover_bound(&s.cluster.conf);
    let mut figures = Vec::new();
    let mut max_duplicates = 0;
    for round in 0..5 {
        let (views, _) = s
            .cluster
            .wait_balanced(&s.connector, INDICES as u64, SETTLE)
            .await;
        // Each worker in turn (the leader among them at least once).
        let victim = round % 3;
        let victim_id = s.cluster.id(victim);
        let (moved, took) = kill_and_measure(&mut s, victim, &views).await;
        println!(
            "kill -9 {}/5 of {victim_id}{}: {} tasks RUNNING on the survivors after {took:?}",
            round + 1,
            if views.iter().any(|v| v.leader && v.worker_id == victim_id) {
                " (leader)"
            } else {
                ""
            },
            moved.len()
        );
        figures.push(took);
        max_duplicates += moved.len() as u64 * MAX_IN_FLIGHT * BATCH;
        s.cluster.restart(victim).await;
        s.wait_arrived(2_000).await;
    }
    let mut sorted = figures.clone();
    sorted.sort();
    let median = sorted[2];
    println!("failover after kill -9: {figures:?}, median {median:?} (bound {bound:?})");
    let over: Vec<&Duration> = figures.iter().filter(|f| **f > bound).collect();
    assert!(
        over.is_empty(),
        "failovers over sessionTimeoutMs + 5 s = {bound:?}: {over:?} of {figures:?}"
    );
    s.cluster
        .wait_balanced(&s.connector, INDICES as u64, SETTLE)
        .await;
    let (d, _) = s.finish().await;
    // Duplicates only from the kills: the restarts hand tasks over cleanly.
    assert!(
        d.duplicates <= max_duplicates,
        "{} duplicates, more than maxInFlightBatches × es.batch.size per moved task summed \
         over the five kills = {max_duplicates} (e.g. {:?})",
        d.duplicates,
        &d.duplicated_keys[..d.duplicated_keys.len().min(10)]
    );
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn three_rounds_of_rolling_sigterm_restarts_lose_no_document_and_duplicate_none() {
    let mut s = Stream::start("croll", 3).await;
    let bound = failover_bound(&s.cluster.conf);
    for round in 1..=3 {
        for i in 0..3 {
            let id = s.cluster.id(i);
            s.cluster.terminate(i).await;
            // Its tasks move to the other two (so each restart really hands tasks over
            // twice: off the stopping worker and back onto it).
            let survivors = s.cluster.live_ids();
            let all = task_refs(&s.connector, INDICES as u64);
            let took = s
                .cluster
                .wait_moved(
                    &s.connector,
                    &all,
                    &survivors,
                    Instant::now(),
                    bound + Duration::from_secs(30),
                )
                .await;
            s.cluster.restart(i).await;
            let (_, balanced) = s
                .cluster
                .wait_balanced(&s.connector, INDICES as u64, SETTLE)
                .await;
            println!(
                "round {round}: SIGTERM of {id}: tasks on the others after {took:?}; \
                 back and balanced {balanced:?} after its restart"
            );
            s.wait_arrived(1_000).await;
        }
    }
    s.finish_without_duplicates("documents duplicated by clean SIGTERM restarts")
        .await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn a_worker_whose_disk_is_lost_comes_back_from_the_topics_snapshots_losing_and_duplicating_nothing(
) {
    // A padded config makes the config topic's snapshot bigger than one record holds
    // (512 KiB), so it is written and read back in parts.
    let padding = "p".repeat(100_000);
    let mut s = Stream::start_with("cdisk", 3, json!({ "x.test.padding": padding })).await;
    let bound = failover_bound(&s.cluster.conf);
    s.cluster
        .wait_balanced(&s.connector, INDICES as u64, SETTLE)
        .await;
    s.wait_arrived(1_000).await;
    // The leader has written snapshots of both topics (every 3 s while they change).
    let snapshot_of = |topic: &str, parts: &str| {
        let needle = format!("wrote a snapshot of an internal topic topic={topic} ");
        s.cluster.live_workers().any(|w| {
            w.log()
                .lines()
                .any(|l| l.contains(&needle) && l.contains(parts))
        })
    };
    let what = "snapshots of both topics, the config topic's in 2 parts";
    let r = eventually(Duration::from_secs(60), what, || async {
        Ok((snapshot_of(&s.cluster.conf.config_topic, "parts=2")
            && snapshot_of(&s.cluster.conf.position_topic, "parts="))
        .then_some(()))
    })
    .await;
    s.cluster.check(r);
    // Stop w2 cleanly, then lose its whole store: it comes back with nothing local.
    s.cluster.terminate(1).await;
    let store = s.cluster.workers[1].dir().join("store");
    assert!(store.exists(), "{} should exist", store.display());
    std::fs::remove_dir_all(&store).unwrap();
    let survivors = s.cluster.live_ids();
    let all = task_refs(&s.connector, INDICES as u64);
    s.cluster
        .wait_moved(
            &s.connector,
            &all,
            &survivors,
            Instant::now(),
            bound + Duration::from_secs(30),
        )
        .await;
    s.cluster.restart(1).await;
    let (_, balanced) = s
        .cluster
        .wait_balanced(&s.connector, INDICES as u64, SETTLE)
        .await;
    println!("w2 with an empty store: back and balanced {balanced:?} after its restart");
    // It started from the newest snapshots, not from the topics' first records.
    let log = s.cluster.workers[1].log();
    let start = log
        .lines()
        .rfind(|l| l.contains("reading the cluster's configs and offsets"))
        .unwrap_or_default();
    assert!(
        start.contains("configs_from=Snapshot") && start.contains("offsets_from=Snapshot"),
        "w2 should have started from snapshots: {start:?}\n{}",
        s.cluster.logs()
    );
    println!("w2's start: {start}");
    // Its connector, tasks and offsets came from the topics: it answers for them.
    let (code, body) = s.cluster.workers[1]
        .get(&format!("/connectors/{}/offsets", s.connector))
        .await
        .unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(
        body["offsets"].as_array().is_some_and(|o| !o.is_empty()),
        "a fresh worker must know the committed offsets: {body}"
    );
    s.wait_arrived(1_000).await;
    s.finish_without_duplicates("documents duplicated around a clean stop and a fresh start")
        .await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn a_worker_frozen_past_the_session_timeout_loses_its_tasks_commits_nothing_for_them_and_rejoins(
) {
    let mut s = Stream::start("cstop", 3).await;
    let (views, _) = s
        .cluster
        .wait_balanced(&s.connector, INDICES as u64, SETTLE)
        .await;
    // A worker that is not the leader (the leader dies in the kill tests).
    let victim = (0..3)
        .find(|&i| {
            views
                .iter()
                .any(|v| !v.leader && v.worker_id == s.cluster.id(i))
        })
        .unwrap();
    let victim_id = s.cluster.id(victim);
    let moved = tasks_of(&views, &victim_id).to_vec();
    assert!(!moved.is_empty(), "{victim_id} runs no task: {views:?}");

    // The positions topic up to the victim's fences of its tasks: everything read so far
    // was written before the freeze.
    let mut positions = TopicReader::start(&s.cluster.conf.position_topic)
        .await
        .unwrap();
    let fenced_by = |r: &TopicReader, worker: &str, from: usize, task: &TaskRef| {
        r.messages[from..].iter().any(|m| {
            PositionRecord::parse(&m.body).is_some_and(|p| {
                p.kind == "fence" && p.task == *task && p.owner["worker"] == worker
            })
        })
    };
    let r = positions
        .read_until(
            Duration::from_secs(60),
            &format!("fences of {victim_id} for {moved:?} in the positions topic"),
            |r| moved.iter().all(|t| fenced_by(r, &victim_id, 0, t)),
        )
        .await;
    s.cluster.check(r);
    let before_freeze = positions.messages.len();

    s.cluster.workers[victim].freeze().unwrap();
    s.cluster.live[victim] = false;
    let frozen_at = Instant::now();
    let survivors = s.cluster.live_ids();
    let bound = failover_bound(&s.cluster.conf);
    let took = s
        .cluster
        .wait_moved(
            &s.connector,
            &moved,
            &survivors,
            frozen_at,
            bound + Duration::from_secs(60),
        )
        .await;
    println!("SIGSTOP of {victim_id}: its tasks {moved:?} RUNNING on {survivors:?} after {took:?}");
    // The survivors no longer list it, and share the tasks.
    s.cluster
        .wait_balanced(&s.connector, INDICES as u64, SETTLE)
        .await;
    // The new owners' fences are in the topic before the frozen worker wakes up.
    let r = positions
        .read_until(
            Duration::from_secs(60),
            &format!("fences of {moved:?} by the survivors {survivors:?}"),
            |r| {
                moved
                    .iter()
                    .all(|t| survivors.iter().any(|w| fenced_by(r, w, before_freeze, t)))
            },
        )
        .await;
    s.cluster.check(r);

    s.cluster.workers[victim].thaw().unwrap();
    s.cluster.live[victim] = true;
    let (_, rejoined) = s
        .cluster
        .wait_balanced(&s.connector, INDICES as u64, SETTLE)
        .await;
    println!("{victim_id} after SIGCONT: listed and balanced again after {rejoined:?}");
    s.wait_arrived(5_000).await;
    s.finish().await;

    let r = positions
        .drain_within(Duration::from_secs(5), Duration::from_secs(120))
        .await;
    s.cluster.check(r);
    let cluster_id = s.cluster.conf.cluster_id.clone();
    let foreign: Vec<String> = positions
        .messages
        .iter()
        .filter_map(|m| serde_json::from_slice::<Value>(&m.body).ok())
        .filter(|v| v["cluster"] != cluster_id.as_str())
        .take(3)
        .map(|v| v.to_string())
        .collect();
    assert!(
        foreign.is_empty(),
        "positions records without \"cluster\": {cluster_id:?}: {foreign:?}"
    );
    let records: Vec<&[u8]> = positions
        .messages
        .iter()
        .map(|m| m.body.as_slice())
        .collect();
    let StaleCommits { zombies, unfenced } =
        stale_commits(&records, before_freeze, &victim_id, &moved);
    assert!(
        unfenced.is_empty(),
        "no fence by a new owner after the freeze for {unfenced:?}"
    );
    assert!(
        zombies.is_empty(),
        "the frozen {victim_id} committed for tasks it had lost, after the new owner's fence:\n{}\n{}",
        zombies.join("\n"),
        s.cluster.logs()
    );
    positions.shutdown().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn a_fourth_worker_joining_gets_a_balanced_share_within_30s_and_nothing_is_lost() {
    let mut s = Stream::start("cjoin", 3).await;
    let started = Instant::now();
    let fourth = s.cluster.add_worker().await;
    let fourth_id = s.cluster.id(fourth);
    let (views, _) = s
        .cluster
        .wait_balanced(&s.connector, INDICES as u64, Duration::from_secs(90))
        .await;
    let took = started.elapsed();
    println!(
        "{fourth_id} joined: balanced after {took:?} (from its start), its tasks {:?}",
        tasks_of(&views, &fourth_id)
    );
    assert!(
        took <= Duration::from_secs(30),
        "balanced only {took:?} after the fourth worker started, over 30 s\n{}",
        s.cluster.logs()
    );
    s.wait_arrived(5_000).await;
    s.finish().await;
    s.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn a_whole_cluster_stopped_longer_than_its_membership_window_restarts_and_resumes_without_loss(
) {
    // A short session (3 s, heartbeats every 0.5 s): a starting worker reads the last 9 s
    // of membership records, so after 12 s down the last assignment is out of its sight
    // while the fences in the offsets topic still carry its generation.
    let conf = ClusterConf {
        session_timeout_ms: 3_000,
        heartbeat_interval_ms: 500,
        ..ClusterConf::unique("cfull")
    };
    let mut data = Data::load("cfull", 3, 2_000).await;
    let mut cluster = Cluster::start_with(conf, 3).await;
    let connector = unique_name("c-cfull");
    let counter = KeyCounter::start(&data.topic).await.unwrap();
    cluster
        .create(0, &connector, &data.connector_config())
        .await;
    cluster.wait_balanced(&connector, 3, SETTLE).await;
    let r = counter.wait_for(&data.keys, ARRIVAL).await;
    cluster.check(r);
    for i in 0..3 {
        cluster.terminate(i).await;
    }
    let down = Instant::now();
    // New documents while the whole cluster is down.
    let more = data.index_more(500).await;
    data.keys.extend(more);
    let window = Duration::from_millis(3 * cluster.conf.session_timeout_ms);
    tokio::time::sleep((window + Duration::from_secs(3)).saturating_sub(down.elapsed())).await;
    for i in 0..3 {
        cluster.restart(i).await;
    }
    let (_, took) = cluster.wait_balanced(&connector, 3, SETTLE).await;
    println!(
        "whole cluster restarted after {:?} down: balanced and RUNNING {took:?} after the restarts",
        down.elapsed()
    );
    let r = counter.wait_for(&data.keys, ARRIVAL).await;
    cluster.check(r);
    let r = counter
        .drain(Duration::from_secs(5), Duration::from_secs(120))
        .await;
    cluster.check(r);
    let counts = counter.counts();
    let d = Delivery::of(&data.keys, &counts);
    assert!(
        d.missing.is_empty(),
        "documents lost: {:?}",
        &d.missing[..d.missing.len().min(10)]
    );
    assert_eq!(
        d.duplicates,
        0,
        "documents duplicated across clean stops: {:?}\n{}",
        &d.duplicated_keys[..d.duplicated_keys.len().min(10)],
        cluster.logs()
    );
    counter.stop().await;
    drop(cluster);
    drop(data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn a_connector_created_on_one_worker_runs_pauses_through_a_second_and_is_deleted_through_a_third(
) {
    let mut data = Data::load("ccrud", 3, 1_000).await;
    let cluster = Cluster::start("ccrud", 3).await;
    let connector = unique_name("c-ccrud");
    let counter = KeyCounter::start(&data.topic).await.unwrap();
    let config = data.connector_config();
    let status_path = format!("/connectors/{connector}/status");

    // Created on A: visible on every worker, runs, its documents arrive.
    cluster.create(0, &connector, &config).await;
    cluster
        .wait_everywhere(
            &format!("GET /connectors/{connector} = 200 with its config on every worker"),
            Duration::from_secs(30),
            |w| {
                let connector = connector.clone();
                let index = config["es.index"].clone();
                async move {
                    let (code, body) = w.get(&format!("/connectors/{connector}")).await?;
                    let (_, list) = w.get("/connectors").await?;
                    let listed = list
                        .as_array()
                        .is_some_and(|l| l.iter().any(|n| n == connector.as_str()));
                    anyhow::ensure!(
                        code == 200 && body["config"]["es.index"] == index && listed,
                        "GET /connectors/{connector}: HTTP {code} {body}; GET /connectors: {list}"
                    );
                    Ok(())
                }
            },
        )
        .await;
    let (views, _) = cluster.wait_balanced(&connector, 3, SETTLE).await;
    for id in cluster.live_ids() {
        assert_eq!(tasks_of(&views, &id).len(), 1, "one task each: {views:?}");
    }
    let r = counter.wait_for(&data.keys, ARRIVAL).await;
    cluster.check(r);
    cluster
        .wait_everywhere(
            "connector and its 3 tasks RUNNING in the status of every worker",
            Duration::from_secs(30),
            |w| {
                let path = status_path.clone();
                async move {
                    let (code, st) = w.get(&path).await?;
                    let tasks = st["tasks"].as_array().cloned().unwrap_or_default();
                    anyhow::ensure!(
                        code == 200
                            && st["connector"]["state"] == "RUNNING"
                            && tasks.len() == 3
                            && tasks.iter().all(|t| t["state"] == "RUNNING"),
                        "status: HTTP {code} {st}"
                    );
                    Ok(())
                }
            },
        )
        .await;

    // Paused through B: every task PAUSED, as every worker says; nothing more is read.
    let (code, body) = cluster.workers[1]
        .send_raw(
            reqwest::Method::PUT,
            &format!("/connectors/{connector}/pause"),
            b"",
        )
        .await
        .unwrap();
    assert_eq!(code, 202, "PUT pause on w2: {body}");
    cluster
        .wait_everywhere(
            "connector and its 3 tasks PAUSED in the status of every worker",
            Duration::from_secs(30),
            |w| {
                let path = status_path.clone();
                async move {
                    let (code, st) = w.get(&path).await?;
                    let tasks = st["tasks"].as_array().cloned().unwrap_or_default();
                    anyhow::ensure!(
                        code == 200
                            && st["connector"]["state"] == "PAUSED"
                            && tasks.len() == 3
                            && tasks.iter().all(|t| t["state"] == "PAUSED"),
                        "status: HTTP {code} {st}"
                    );
                    Ok(())
                }
            },
        )
        .await;
    let during_pause = data.index_more(300).await;
    let r = counter
        .drain(Duration::from_secs(5), Duration::from_secs(60))
        .await;
    cluster.check(r);
    let counts = counter.counts();
    let read_while_paused = during_pause
        .iter()
        .filter(|k| counts.contains_key(*k))
        .count();
    assert_eq!(
        read_while_paused,
        0,
        "documents indexed while the connector is PAUSED were sent\n{}",
        cluster.logs()
    );

    // Deleted through C: gone from every worker.
    let (code, body) = cluster.workers[2]
        .send_raw(
            reqwest::Method::DELETE,
            &format!("/connectors/{connector}"),
            b"",
        )
        .await
        .unwrap();
    assert_eq!(code, 204, "DELETE on w3: {body}");
    cluster
        .wait_everywhere(
            &format!("{connector} gone (404, not listed, no task in GET /workers) on every worker"),
            Duration::from_secs(30),
            |w| {
                let connector = connector.clone();
                async move {
                    let (code, _) = w.get(&format!("/connectors/{connector}")).await?;
                    let (status_code, _) =
                        w.get(&format!("/connectors/{connector}/status")).await?;
                    let (_, list) = w.get("/connectors").await?;
                    let listed = list
                        .as_array()
                        .is_none_or(|l| l.iter().any(|n| n == connector.as_str()));
                    let views = workers_view(w).await?;
                    let assigned = views
                        .iter()
                        .any(|v| v.tasks.iter().any(|t| t.connector == connector));
                    anyhow::ensure!(
                        code == 404 && status_code == 404 && !listed && !assigned,
                        "GET /connectors/{connector}: HTTP {code}, its status: HTTP \
                         {status_code}, GET /connectors: {list}, its tasks in GET /workers: \
                         {assigned}"
                    );
                    Ok(())
                }
            },
        )
        .await;
    counter.stop().await;
    drop(data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn get_workers_of_a_standalone_worker_lists_that_one_worker() {
    let dir = tempfile::tempdir().unwrap();
    let w = WorkerProcess::start(dir.path(), "e2e-alone", &[])
        .await
        .unwrap();
    let views = workers_view(&w)
        .await
        .unwrap_or_else(|e| panic!("{e:#}\nworker log (end):\n{}", w.log_tail(LOG_LINES)));
    assert_eq!(views.len(), 1, "{views:?}");
    assert_eq!(views[0].worker_id, "e2e-alone", "{views:?}");
    assert_eq!(views[0].url, w.url(), "{views:?}");
    assert!(views[0].tasks.is_empty(), "{views:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs real Elasticsearch and RocketMQ: run tests/run"]
async fn get_cluster_info_on_every_worker_lists_the_live_workers_and_drops_a_killed_one() {
    let mut cluster = Cluster::start("cinfo", 3).await;
    // All three, then the two left after a kill -9 (waiting up to the failover bound
    // plus 30 s: the contract gives this listing no bound of its own).
    for round in 0..2 {
        if round == 1 {
            cluster.kill9(2).await;
        }
        let mut ids = cluster.live_ids();
        ids.sort();
        let what = format!(
            "GET /getClusterInfo = {{\"mode\":\"distributed\",\"workers\":[{{\"worker_id\",..}}]}} \
             listing the live worker ids {ids:?}"
        );
        let bound = failover_bound(&cluster.conf) + Duration::from_secs(30);
        cluster
            .wait_everywhere(&what, bound, |w| {
                let ids = ids.clone();
                async move {
                    let (code, body) = w.get("/getClusterInfo").await?;
                    let listed: Option<Vec<String>> = body["workers"].as_array().map(|ws| {
                        let mut l: Vec<String> = ws
                            .iter()
                            .filter_map(|w| w["worker_id"].as_str().map(str::to_owned))
                            .collect();
                        l.sort();
                        l
                    });
                    anyhow::ensure!(
                        code == 200
                            && body["mode"] == "distributed"
                            && listed.as_ref() == Some(&ids),
                        "HTTP {code}: {body}"
                    );
                    Ok(())
                }
            })
            .await;
    }
}
