//! Times in milliseconds, as the internal records and the view count them.

use std::time::Duration;

/// The wall clock in milliseconds since the Unix epoch.
pub(super) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default()
}

/// `d` in milliseconds, or `otherwise` when it does not fit.
pub(super) fn millis(d: Duration, otherwise: i64) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(otherwise)
}
