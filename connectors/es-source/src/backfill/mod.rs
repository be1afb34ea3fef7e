//! The backfill of an index without a committed position (`es.backfill.mode=pit`): the
//! documents already there are copied through a point in time in `_shard_doc` order,
//! then the index is read incrementally.
//!
//! 1. Plan: open a point in time; fix the snapshot bound S, the largest tracking value at
//!    or below now − `es.lag` (no bound for fields that are not time); count the
//!    documents below S; cut them at percentiles of the tracking field into ranges of
//!    about `es.backfill.range.docs` (one range for keyword and date_nanos fields).
//! 2. Read: each range through a point in time of its own (the first is the plan's,
//!    the next ones are opened as their range starts), in `_shard_doc` order with
//!    `search_after` (per PIT slice with `es.backfill.slices` > 1). Only the last record
//!    of a page carries an offset: at most one page plus what was not yet acknowledged
//!    is sent again after a crash, as in the incremental phase.
//! 3. Switch: the incremental phase starts at S, inclusive. Documents at S are read
//!    there only (the backfill reads below S), so the switch neither loses nor repeats
//!    them; documents above S written during the backfill arrive there too. Documents
//!    written during the backfill below S arrived later than `es.lag` allows, and are
//!    treated as the incremental phase treats such late arrivals, which it reads only
//!    while its position has not passed them: the backfill reads them only when written
//!    before their range started (its point in time did not exist yet).
//!
//! An expired point in time (the task was stopped longer than `es.backfill.keep.alive`)
//! is opened again and the range being read starts over: at most one range is sent twice.
//!
//! Modules: [`position`] (the state and its offset), [`state`] (the state in a task
//! run), [`bodies`] (the searches and their answers). The task drives them (`task::backfill`).

pub mod bodies;
pub mod position;
pub mod state;

pub use position::{Complete, Floor, Reading, SlicePos, Step, Stored};
pub use state::Backfill;
