//! es-source: the Elasticsearch source connector of rmq-connect.
//!
//! Copies what an index holds when it is first read through a point in time
//! ([`backfill`]), then reads its documents in ascending order of a tracking field
//! (`es.tracking.field`), page by page with `search_after` or a `gte` boundary, and keeps
//! reading as new documents arrive. Each index is one source partition
//! (`{"index": "<name>"}`); its offset says where to resume, so documents sharing a
//! tracking value are neither lost nor repeated across pages or restarts (see
//! [`cursor`]). Records are keyed `<index>/<_id>` and carry `_source` byte for byte.
//!
//! The binary registers [`EsSourceConnector`]; the runtime drives its tasks.
//!
//! Modules: [`backfill`] (the first copy of an index through a point in time),
//! [`config`] (keys and parsing), [`connector`] (validation, task split),
//! [`task`] (the poll loop), [`mapping`] (the tracking field's mapping per index),
//! [`query`] (search bodies), [`cursor`] (positions and offsets), [`tracking`]
//! (supported field types and their values), [`measure`] and
//! [`progress`] (per-index figures, problems and back-off), [`client`] (Elasticsearch
//! calls), [`error`] (error kinds), [`resolve`] (names, aliases, patterns and data
//! streams to concrete indices), [`message`] (hit to record).

pub mod backfill;
pub mod client;
pub mod config;
pub mod connector;
pub mod cursor;
pub mod error;
pub mod mapping;
pub mod measure;
pub mod message;
pub mod progress;
pub mod query;
pub mod resolve;
pub mod task;
pub mod tracking;

pub use config::{EsSourceConfig, Password};
pub use connector::EsSourceConnector;
pub use error::EsError;
pub use task::{EsSourceTask, IndexPartition};
