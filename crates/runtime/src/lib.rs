//! connect-runtime: the rmq-connect worker.
//!
//! A herder ([`herder::Herder`]) manages connectors; each task runs in the runtime-owned
//! loop of [`task_loop`], which converts records, produces them into RocketMQ through a
//! [`sink::MessageSink`] and commits offsets to an [`store::OffsetStore`] only after
//! acknowledgement. [`rest`] exposes the herder over HTTP; [`standalone`] wires it all
//! together for the `standalone` command, [`distributed`] for the `distributed` command
//! (workers coordinated through RocketMQ, see [`cluster`]).

#![recursion_limit = "512"]

pub mod cluster;
pub mod connector_config;
pub mod dead_letter;
pub mod distributed;
pub mod error;
pub mod herder;
pub mod placeholders;
pub mod progress;
pub mod properties;
pub mod registry;
pub mod rest;
pub mod secrets;
pub mod sink;
pub mod standalone;
pub mod status;
pub mod store;
pub mod task_loop;
mod worker;
pub mod worker_config;

pub use error::{HerderError, RuntimeError};
pub use registry::{BrokenPlugin, PluginOrigin, PluginRegistry};
pub use worker_config::WorkerConfig;
