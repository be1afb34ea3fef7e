//! The worker's lease on its tasks: it may produce and commit only while its last
//! acknowledged heartbeat is recent enough that no other worker can have declared it
//! dead yet.
//!
//! Others declare a worker dead once its last heartbeat is a session timeout old (by the
//! broker's store times). The lease runs out earlier, `session − 2 × heartbeat interval`
//! after the heartbeat was **sent** (its store time is later still), so a worker that
//! was frozen (SIGSTOP) or cut off stops producing before anyone takes its tasks over.
//!
//! Expiry is final for the tasks started under the lease: it bumps the lease's **epoch**,
//! and a task run checks the epoch it started in. A later heartbeat renews the lease for
//! new task runs only, which the worker starts after reading the new assignment and
//! fencing again — never the old runs that woke up with it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug)]
struct State {
    /// When the last acknowledged heartbeat was sent.
    last_ack: Option<Instant>,
    /// Bumped at every expiry.
    epoch: u64,
}

/// The lease; shared by the heartbeat loop and every task run of the worker.
#[derive(Debug)]
pub struct Lease {
    length: Duration,
    state: Mutex<State>,
}

impl Lease {
    /// A lease lasting `length` after each acknowledged heartbeat; not held until the
    /// first one.
    pub fn new(length: Duration) -> Self {
        Self {
            length,
            state: Mutex::new(State {
                last_ack: None,
                epoch: 0,
            }),
        }
    }

    /// The lease for a session timeout and heartbeat interval.
    pub fn for_session(session: Duration, heartbeat: Duration) -> Self {
        let length = session.saturating_sub(heartbeat * 2).max(heartbeat);
        Self::new(length)
    }

    /// How long a lease lasts.
    pub fn length(&self) -> Duration {
        self.length
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere; the state stays usable.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Ends the lease if it ran out by `now`; returns the current epoch, or `None`
    /// when the lease is not held.
    fn settle(&self, state: &mut State, now: Instant) -> Option<u64> {
        let held = state
            .last_ack
            .is_some_and(|t| now.saturating_duration_since(t) < self.length);
        if held {
            return Some(state.epoch);
        }
        if state.last_ack.is_some() {
            state.last_ack = None;
            state.epoch += 1;
        }
        None
    }

    /// The epoch a task run may start in now, or `None` when the lease is not held.
    pub fn current(&self, now: Instant) -> Option<u64> {
        let mut s = self.lock();
        self.settle(&mut s, now)
    }

    /// Whether a task run started in `epoch` may still produce and commit.
    pub fn valid(&self, epoch: u64, now: Instant) -> bool {
        let mut s = self.lock();
        self.settle(&mut s, now) == Some(epoch)
    }

    /// A heartbeat sent at `sent` was acknowledged. A lease that ran out before is
    /// ended first (its epoch is over), then held again from `sent`.
    pub fn renew(&self, sent: Instant, now: Instant) {
        let mut s = self.lock();
        self.settle(&mut s, now);
        if now.saturating_duration_since(sent) < self.length {
            s.last_ack = Some(s.last_ack.map_or(sent, |t| t.max(sent)));
        }
    }

    /// Gives the lease up (a clean stop): every task run's epoch is over.
    pub fn release(&self) {
        let mut s = self.lock();
        if s.last_ack.take().is_some() {
            s.epoch += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEN: Duration = Duration::from_secs(8);

    #[test]
    fn no_lease_before_the_first_acknowledged_heartbeat() {
        let lease = Lease::new(LEN);
        assert_eq!(lease.current(Instant::now()), None);
    }

    #[test]
    fn a_renewed_lease_stays_valid_for_its_runs() {
        let lease = Lease::new(LEN);
        let t0 = Instant::now();
        lease.renew(t0, t0);
        let epoch = lease.current(t0).unwrap();
        lease.renew(t0 + Duration::from_secs(5), t0 + Duration::from_secs(5));
        assert!(lease.valid(epoch, t0 + Duration::from_secs(12)));
    }

    #[test]
    fn runs_of_an_expired_lease_stay_invalid_after_a_later_heartbeat() {
        let lease = Lease::new(LEN);
        let t0 = Instant::now();
        lease.renew(t0, t0);
        let epoch = lease.current(t0).unwrap();
        // Frozen for 15 s; the first thing that runs on waking is the next heartbeat.
        let wake = t0 + Duration::from_secs(15);
        lease.renew(wake, wake + Duration::from_millis(5));
        assert!(!lease.valid(epoch, wake + Duration::from_millis(6)));
        // New runs may start in the new epoch.
        let next = lease.current(wake + Duration::from_millis(6)).unwrap();
        assert_ne!(next, epoch);
    }

    #[test]
    fn a_heartbeat_acknowledged_too_late_does_not_renew() {
        let lease = Lease::new(LEN);
        let t0 = Instant::now();
        // Sent, then frozen before the acknowledgement was seen.
        lease.renew(t0, t0 + Duration::from_secs(9));
        assert_eq!(lease.current(t0 + Duration::from_secs(9)), None);
    }

    #[test]
    fn release_ends_every_run() {
        let lease = Lease::new(LEN);
        let t0 = Instant::now();
        lease.renew(t0, t0);
        let epoch = lease.current(t0).unwrap();
        lease.release();
        assert!(!lease.valid(epoch, t0));
    }

    #[test]
    fn the_lease_ends_two_heartbeats_before_the_session_timeout() {
        let lease = Lease::for_session(Duration::from_secs(10), Duration::from_secs(1));
        assert_eq!(lease.length(), Duration::from_secs(8));
    }
}
