//! What a task knows about its syncs: records per stream, the plugin's estimates and
//! stream statuses, count mismatches, the error it traced; shown in status and
//! `/metrics`.

use std::collections::{BTreeMap, HashMap, VecDeque};

use connect_api::{OffsetReader, SourceOffset, SourcePartition};

use super::messages::Trace;

/// The most states kept waiting for their commit (older ones are forgotten: their
/// records then count as committed with a later state).
const PENDING_MAX: usize = 10_000;

/// Airbyte's log levels, most severe first.
pub const LEVELS: &[&str] = &["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"];

/// One stream's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamStats {
    /// Records read in the current (or last) sync.
    pub records: u64,
    /// Records since the stream's last state (for the plugin's `recordCount`).
    pub since_state: u64,
    /// Records read since the task started.
    pub read_total: u64,
    /// Of those, records covered by a state the runtime committed (so acknowledged by
    /// RocketMQ).
    pub committed: u64,
    /// The plugin's estimate of this sync's records.
    pub estimate: Option<u64>,
    /// The plugin's word on the stream: STARTED, RUNNING, COMPLETE, INCOMPLETE.
    pub status: Option<String>,
}

/// The figures of a task's syncs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncStats {
    /// By stream.
    pub streams: BTreeMap<String, StreamStats>,
    /// Records since the last global state.
    pub since_global_state: u64,
    /// Lines that were no protocol message, or messages of unknown types.
    pub other_lines: u64,
    /// States whose `recordCount` differed from the records seen.
    pub count_mismatches: u64,
    /// The last such mismatch, in words.
    pub last_mismatch: Option<String>,
    /// The error the plugin traced (`TRACE` of type `ERROR`).
    pub error: Option<String>,
    /// States handed on and not yet seen committed, oldest first.
    pending: VecDeque<PendingState>,
}

/// A state handed on: where it commits, and the records of each stream it covers
/// (`read_total` when it was read).
#[derive(Debug, Clone, PartialEq)]
struct PendingState {
    partition: SourcePartition,
    offset: SourceOffset,
    covers: Vec<(String, u64)>,
}

impl SyncStats {
    /// Counts a record of `stream`.
    pub fn record(&mut self, stream: &str) {
        let s = self.streams.entry(stream.to_owned()).or_default();
        s.records += 1;
        s.read_total += 1;
        s.since_state += 1;
        self.since_global_state += 1;
    }

    /// A state of `stream` (`None`: global or legacy) that says it covers `counted`
    /// records: compared with the records seen since the previous one.
    pub fn state(&mut self, stream: Option<&str>, counted: Option<f64>, plugin: &str) {
        let seen = match stream {
            Some(name) => {
                let s = self.streams.entry(name.to_owned()).or_default();
                std::mem::take(&mut s.since_state)
            }
            None => {
                for s in self.streams.values_mut() {
                    s.since_state = 0;
                }
                std::mem::take(&mut self.since_global_state)
            }
        };
        if let Some(counted) = counted {
            if (counted - seen as f64).abs() > 0.5 {
                let what = format!(
                    "the plugin's state for {} counts {counted} records, {seen} were read",
                    stream.unwrap_or("all streams")
                );
                tracing::warn!(plugin, "{what}");
                self.count_mismatches += 1;
                self.last_mismatch = Some(what);
            }
        }
    }

    /// A state handed on to the runtime, to commit at `partition` with `offset`: once
    /// it is seen committed, the records it covers count as committed.
    pub fn handed_on(
        &mut self,
        stream: Option<&str>,
        partition: &SourcePartition,
        offset: &SourceOffset,
    ) {
        let covers = match stream {
            Some(name) => vec![(
                name.to_owned(),
                self.streams.get(name).map_or(0, |s| s.read_total),
            )],
            None => self
                .streams
                .iter()
                .map(|(n, s)| (n.clone(), s.read_total))
                .collect(),
        };
        if self.pending.len() >= PENDING_MAX {
            self.pending.pop_front();
        }
        self.pending.push_back(PendingState {
            partition: partition.clone(),
            offset: offset.clone(),
            covers,
        });
    }

    /// After the runtime committed offsets: the newest handed-on state whose offset is
    /// now its partition's committed one commits every state before it too (batches are
    /// committed in the order they were sent), and the records they cover.
    pub fn committed(&mut self, offsets: &dyn OffsetReader) {
        let mut seen: HashMap<&SourcePartition, Option<SourceOffset>> = HashMap::new();
        let mut newest = None;
        for (i, p) in self.pending.iter().enumerate() {
            let stored = seen
                .entry(&p.partition)
                .or_insert_with(|| offsets.offset(&p.partition).ok().flatten());
            if stored.as_ref() == Some(&p.offset) {
                newest = Some(i);
            }
        }
        let Some(newest) = newest else { return };
        for p in self.pending.drain(..=newest) {
            for (name, n) in p.covers {
                let s = self.streams.entry(name).or_default();
                s.committed = s.committed.max(n);
            }
        }
    }

    /// A `TRACE` message.
    pub fn trace(&mut self, t: Trace, plugin: &str) {
        match t.ty.as_str() {
            "ERROR" => {
                if let Some(e) = t.error {
                    let mut what = e.message;
                    if let Some(kind) = e.failure_type {
                        what.push_str(&format!(" ({kind})"));
                    }
                    if let Some(s) = e.stream_descriptor {
                        what = format!("stream {}: {what}", s.name);
                    }
                    tracing::error!(plugin, "the plugin reports an error: {what}");
                    self.error.get_or_insert(format!("plugin {plugin}: {what}"));
                }
            }
            "ESTIMATE" => {
                if let Some(e) = t.estimate {
                    if e.ty == "STREAM" {
                        self.streams.entry(e.name).or_default().estimate = e.row_estimate;
                    }
                }
            }
            "STREAM_STATUS" => {
                if let Some(s) = t.stream_status {
                    self.streams
                        .entry(s.stream_descriptor.name)
                        .or_default()
                        .status = Some(s.status);
                }
            }
            _ => {}
        }
    }

    /// A new sync starts: its counts start at zero.
    pub fn new_sync(&mut self) {
        for s in self.streams.values_mut() {
            s.records = 0;
            s.since_state = 0;
            s.estimate = None;
            s.status = None;
        }
        self.since_global_state = 0;
        self.error = None;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use connect_api::ConnectError;
    use serde_json::{json, Map, Value};

    use super::*;

    /// The runtime's committed offsets.
    #[derive(Default)]
    struct Stored(Mutex<HashMap<SourcePartition, SourceOffset>>);

    impl OffsetReader for Stored {
        fn offset(&self, p: &SourcePartition) -> Result<Option<SourceOffset>, ConnectError> {
            Ok(self
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(p)
                .cloned())
        }
    }

    fn partition(stream: &str) -> SourcePartition {
        let mut m = Map::new();
        m.insert("stream".into(), stream.into());
        m.into()
    }

    fn offset(cursor: u64) -> SourceOffset {
        match json!({ "state": { "cursor": cursor } }) {
            Value::Object(m) => m.into(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn records_count_as_committed_once_a_state_after_them_is_committed() {
        let mut s = SyncStats::default();
        let stored = Stored::default();
        for cursor in [2, 4] {
            s.record("users");
            s.record("users");
            s.handed_on(Some("users"), &partition("users"), &offset(cursor));
        }
        s.record("orders");
        s.handed_on(Some("orders"), &partition("orders"), &offset(1));
        s.record("users");
        s.committed(&stored);
        assert_eq!(s.streams["users"].committed, 0);

        // The second users state is committed: the first is too (batches commit in
        // order), and with them 4 users records; orders' state is not yet.
        stored
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(partition("users"), offset(4));
        s.committed(&stored);
        assert_eq!(s.streams["users"].committed, 4);
        assert_eq!(s.streams["orders"].committed, 0);
        assert_eq!(s.pending.len(), 1);

        stored
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(partition("orders"), offset(1));
        s.committed(&stored);
        assert_eq!(s.streams["orders"].committed, 1);
        assert_eq!(s.streams["users"].read_total, 5);
        assert!(s.pending.is_empty());
    }

    #[test]
    fn a_state_whose_count_differs_from_the_records_read_is_a_mismatch() {
        let mut s = SyncStats::default();
        for _ in 0..3 {
            s.record("users");
        }
        s.state(Some("users"), Some(3.0), "faker");
        assert_eq!(s.count_mismatches, 0);
        s.record("users");
        s.state(Some("users"), Some(2.0), "faker");
        assert_eq!(s.count_mismatches, 1);
        assert_eq!(
            s.last_mismatch.as_deref(),
            Some("the plugin's state for users counts 2 records, 1 were read")
        );
        assert_eq!(s.streams["users"].records, 4);
    }
}
