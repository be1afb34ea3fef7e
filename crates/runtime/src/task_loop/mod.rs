//! The source task loop: poll → convert → produce (batched, bounded in flight) → track
//! acknowledgements → commit offsets.
//!
//! Guarantee (at-least-once): a partition's committed offset only ever moves to the
//! offset of a record that RocketMQ acknowledged together with every earlier record of
//! that partition. Batches are acknowledged in the order they were sent (the committer
//! awaits them in order), so an acknowledged batch behind a failing one is never
//! committed past it. After a crash, duplicates are bounded by what was in flight plus
//! what was acknowledged but not yet committed (one commit interval; by default every
//! acknowledged batch is committed at once).
//!
//! Memory is bounded: at most `max_in_flight_batches` batches of at most
//! `max_batch_bytes` are held besides the records of the current poll.
//!
//! One job per module, in the order a record meets them:
//! - `supervise.rs`: [`spawn`], the [`TaskHandle`], restarts with back-off, and the life
//!   of one task instance (placeholders, `start`, `stop`);
//! - `poll.rs`: the poll loop of a started instance (pause, poll retries, progress, the
//!   drain at stop);
//! - `batch.rs`: how the records of a poll become batches of messages;
//! - `send.rs`: the batches in flight and the send of one batch with retries;
//! - `commit.rs`: the commit of the acknowledged prefix;
//! - `run.rs` and `settings.rs`: what a run is given; `backoff.rs`: waiting between
//!   retries.

mod backoff;
mod batch;
mod commit;
mod poll;
mod run;
mod send;
mod settings;
mod supervise;

pub use run::{no_redaction, Redactor, TaskFactory, TaskRun};
pub use settings::{
    LoopSettings, RestartPolicy, DEFAULT_MAX_BATCH_BYTES, DEFAULT_MAX_BATCH_MESSAGES,
    DEFAULT_MAX_IN_FLIGHT_BATCHES,
};
pub use supervise::{spawn, TaskHandle};

#[cfg(test)]
mod tests;
