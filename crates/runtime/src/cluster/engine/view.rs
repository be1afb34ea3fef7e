//! What every worker knows of the cluster: the state built from the four internal logs,
//! record by record, in log order. The engine's tail loops apply what they read here;
//! the herder reads it through [`super::Engine::view`].

use std::collections::BTreeMap;

use connect_api::{SourceOffset, SourcePartition};

use crate::cluster::cache::Checkpoint;
use crate::cluster::configs::{ConfigRecord, ConfigState, Outcome};
use crate::cluster::log::LogPos;
use crate::cluster::members::{ClusterRecord, Members};
use crate::cluster::positions::{Effect, Fences, PositionRecord, PositionsSnapshot};
use crate::cluster::snapshot::{self, Assembler, SnapshotRefs, Start, StartedFrom};
use crate::cluster::statuses::{StatusRecord, Statuses};
use crate::cluster::ClusterError;

/// Outcomes of this many recent connector records are kept.
const OUTCOMES_KEPT: usize = 1024;

/// What every worker knows of the cluster, built from the internal logs.
#[derive(Debug)]
pub struct View {
    /// Connectors, task configs, restarts.
    pub configs: ConfigState,
    /// Outcome of each connector record, by request id (for the REST call that wrote it).
    pub outcomes: BTreeMap<String, (i64, Outcome)>,
    /// Members, leader, assignment.
    pub members: Members,
    /// Who may commit for each task.
    pub fences: Fences,
    /// Committed offsets: connector → partition → offset.
    pub offsets: BTreeMap<String, BTreeMap<SourcePartition, SourceOffset>>,
    /// Everything of the offsets log before this offset is applied.
    pub positions_next: i64,
    /// Commits refused because their writer had lost the task (for logs and tests).
    pub fenced_commits: u64,
    /// Latest status report of each worker.
    pub statuses: Statuses,
    /// The newest complete snapshots of the config and offsets logs.
    pub snapshots: SnapshotRefs,
    /// Offset of the last config record that was not a snapshot part.
    config_last_change: i64,
    /// Offset of the last offsets record that was not a snapshot part.
    positions_last_change: i64,
    config_parts: Assembler,
    position_parts: Assembler,
    /// The config state misses records the broker removed (no snapshot was found): it
    /// must not be written as a snapshot.
    config_incomplete: bool,
    /// The same for the offsets state.
    positions_incomplete: bool,
}

/// A snapshot's text and the offset it is as of, when one is due.
pub(super) type DueSnapshot = Option<Result<(i64, String), ClusterError>>;

impl View {
    /// The view of a worker that starts reading the config and offsets logs from these
    /// states; `snapshots` are the newest ones the live workers' heartbeats named.
    pub(super) fn starting(
        configs: Start<ConfigState>,
        positions: Start<PositionsSnapshot>,
        mut snapshots: SnapshotRefs,
        session_ms: i64,
    ) -> Self {
        let mut offsets: BTreeMap<String, BTreeMap<SourcePartition, SourceOffset>> =
            BTreeMap::new();
        for (c, p, o) in positions.state.offsets {
            offsets.entry(c).or_default().insert(p, o);
        }
        for (known, how) in [
            (&mut snapshots.config, configs.how),
            (&mut snapshots.positions, positions.how),
        ] {
            if let StartedFrom::Snapshot(r) = how {
                known.get_or_insert(r);
            }
        }
        Self {
            configs: configs.state,
            outcomes: BTreeMap::new(),
            members: Members::new(session_ms),
            fences: positions.state.fences,
            offsets,
            positions_next: positions.from,
            fenced_commits: 0,
            statuses: Statuses::default(),
            snapshots,
            config_last_change: configs.from - 1,
            positions_last_change: positions.from - 1,
            config_parts: Assembler::default(),
            position_parts: Assembler::default(),
            config_incomplete: matches!(configs.how, StartedFrom::Incomplete { .. }),
            positions_incomplete: matches!(positions.how, StartedFrom::Incomplete { .. }),
        }
    }

    /// Applies a record of the config log.
    pub(super) fn apply_config(&mut self, pos: LogPos, record: ConfigRecord) {
        if let ConfigRecord::Snapshot(part) = &record {
            if let Some((r, _)) = self.config_parts.feed(pos, part) {
                // Read from the log: it replaces whatever a heartbeat said.
                self.snapshots.config = Some(r);
            }
        } else {
            self.config_last_change = pos.offset;
        }
        let outcome = self.configs.apply(pos.offset, &record);
        if let ConfigRecord::Connector { request, .. } = &record {
            self.outcomes.insert(request.clone(), (pos.offset, outcome));
            // Keep the outcomes of recent requests only.
            while self.outcomes.len() > OUTCOMES_KEPT {
                let oldest = self
                    .outcomes
                    .iter()
                    .min_by_key(|(_, (o, _))| *o)
                    .map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => self.outcomes.remove(&k),
                    None => break,
                };
            }
        }
    }

    /// Applies a record of the offsets log.
    pub(super) fn apply_position(&mut self, pos: LogPos, record: PositionRecord) {
        self.positions_next = self.positions_next.max(pos.offset + 1);
        let connector = match &record {
            PositionRecord::Fence { connector, .. }
            | PositionRecord::Commit { connector, .. }
            | PositionRecord::Alter { connector, .. }
            | PositionRecord::Reset { connector } => connector.clone(),
            PositionRecord::Snapshot(part) => {
                if let Some((r, _)) = self.position_parts.feed(pos, part) {
                    self.snapshots.positions = Some(r);
                }
                return;
            }
        };
        self.positions_last_change = pos.offset;
        match self.fences.apply(&record) {
            Effect::None => {}
            Effect::Change(changes) => {
                let offsets = self.offsets.entry(connector).or_default();
                for (p, o) in changes {
                    match o {
                        Some(o) => offsets.insert(p, o),
                        None => offsets.remove(&p),
                    };
                }
            }
            Effect::Reset => {
                self.offsets.remove(&connector);
            }
            Effect::Fenced { writer, current } => {
                self.fenced_commits += 1;
                tracing::info!(
                    connector = %connector,
                    writer = %writer.worker,
                    generation = writer.generation,
                    owner = ?current.map(|o| o.worker),
                    "ignored an offset commit from a worker that no longer owns the task"
                );
            }
        }
    }

    /// Applies a record of the status log.
    pub(super) fn apply_status(&mut self, _pos: LogPos, record: StatusRecord) {
        self.statuses.apply(record);
    }

    /// Applies a record of the membership log.
    pub(super) fn apply_cluster(&mut self, pos: LogPos, record: ClusterRecord) {
        self.members.apply(&record, pos.store_ms);
    }

    /// The texts of the config and offsets snapshots that are due at `now_ms` (see
    /// [`snapshot::due`]); a state that misses records the broker removed is never due.
    pub(super) fn due_snapshots(
        &self,
        now_ms: i64,
        interval: std::time::Duration,
    ) -> (DueSnapshot, DueSnapshot) {
        let config = (!self.config_incomplete
            && snapshot::due(
                self.snapshots.config,
                self.config_last_change,
                self.configs.next_offset(),
                now_ms,
                interval,
            ))
        .then(|| {
            serde_json::to_string(&self.configs)
                .map(|text| (self.configs.next_offset(), text))
                .map_err(ClusterError::Encode)
        });
        let positions = (!self.positions_incomplete
            && snapshot::due(
                self.snapshots.positions,
                self.positions_last_change,
                self.positions_next,
                now_ms,
                interval,
            ))
        .then(|| {
            let offsets = self
                .offsets
                .iter()
                .flat_map(|(c, m)| m.iter().map(move |(p, o)| (c.as_str(), p, o)));
            PositionsSnapshot::text(&self.fences, offsets).map(|text| (self.positions_next, text))
        });
        (config, positions)
    }

    /// The configs and offsets read so far, as one consistent copy.
    pub(super) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            config_next: self.configs.next_offset(),
            configs: self.configs.clone(),
            positions_next: self.positions_next,
            fences: self.fences.clone(),
            offsets: self
                .offsets
                .iter()
                .flat_map(|(c, m)| {
                    m.iter()
                        .map(move |(p, o)| (c.clone(), p.clone(), o.clone()))
                })
                .collect(),
        }
    }
}
