//! What a task knows about its syncs: records per stream, the plugin's estimates and
//! stream statuses, count mismatches, the error it traced; shown in status and
//! `/metrics`.

use std::collections::BTreeMap;

use super::messages::Trace;

/// Airbyte's log levels, most severe first.
pub const LEVELS: &[&str] = &["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"];

/// One stream's figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamStats {
    /// Records read in the current (or last) sync.
    pub records: u64,
    /// Records since the stream's last state (for the plugin's `recordCount`).
    pub since_state: u64,
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
}

impl SyncStats {
    /// Counts a record of `stream`.
    pub fn record(&mut self, stream: &str) {
        let s = self.streams.entry(stream.to_owned()).or_default();
        s.records += 1;
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
    use super::*;

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
