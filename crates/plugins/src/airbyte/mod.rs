//! The Airbyte protocol (<https://docs.airbyte.com/understanding-airbyte/airbyte-protocol>):
//! a source is a program with four commands, `spec`, `check --config`, `discover
//! --config` and `read --config --catalog [--state]`, each writing one JSON message per
//! line on stdout.

pub mod catalog;
pub mod config;
pub mod messages;
pub mod once;
pub mod read;
pub mod recent;
pub mod schema;
pub mod source;
pub mod stats;
pub mod task;
