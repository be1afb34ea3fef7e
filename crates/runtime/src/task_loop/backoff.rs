//! Waiting between retries, shared by the restart of failed tasks, the retries of
//! `start` and `poll`, and the retries of sends: a sleep that a cancellation cuts short,
//! and the doubling of a back-off up to its bound.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Sleeps for `d`; `false` when `cancel` fired first.
pub(super) async fn sleep_or_cancel(d: Duration, cancel: &CancellationToken) -> bool {
    tokio::select! {
        _ = cancel.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
    }
}

/// The back-off after `cur`: twice as long, at most `max`.
pub(super) fn doubled(cur: Duration, max: Duration) -> Duration {
    (cur * 2).min(max)
}
