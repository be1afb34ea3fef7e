//! Sending batches: [`InFlight`] bounds the batches sent and not yet acknowledged and
//! hands each send, in the order the batches were cut, to the committer as a
//! [`Pending`]; [`send_with_retry`] sends one batch, retrying retriable failures with
//! back-off (for ever, or until `errors.retry.timeout`).
//!
//! Each send runs in its own tokio task so that several batches are in flight at once;
//! only a stop that outlasts its deadline (the hard stop) makes them give up, with the
//! error [`ABANDONED`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use connect_api::{SourceOffset, SourcePartition};
use connect_rocketmq::OutMessage;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::backoff::{doubled, sleep_or_cancel};
use super::batch::Batch;
use super::run::{Redactor, TaskRun};
use super::settings::LoopSettings;
use crate::connector_config::SendMode;
use crate::sink::{MessageSink, SendError};
use crate::status::StatusCell;

/// The error of a send given up because a stop outlasted its deadline: its records are
/// not committed and will be read again, but the task did not fail.
pub(super) const ABANDONED: &str = "abandoned at shutdown";

/// A batch handed to the committer: the send under way and the offsets it would commit.
pub(super) struct Pending {
    pub(super) send: JoinHandle<Result<Duration, SendError>>,
    pub(super) offsets: Vec<(SourcePartition, SourceOffset)>,
    pub(super) records: u64,
    /// With `send.mode=sync` the in-flight permit travels with the batch to the
    /// committer, which releases it only after the batch's offsets are committed: the
    /// next batch is not sent before, so a crash re-sends at most one batch.
    pub(super) commit_permit: Option<OwnedSemaphorePermit>,
}

/// The sending side of one run.
pub(super) struct InFlight {
    permits: Arc<Semaphore>,
    pending_tx: mpsc::Sender<Pending>,
    /// Sends in flight are aborted only if a graceful stop outlasts its deadline.
    hard_stop: CancellationToken,
    sync: bool,
}

impl InFlight {
    /// At most `max_batches` batches in flight; the receiver is the committer's.
    pub(super) fn new(max_batches: usize, sync: bool) -> (Self, mpsc::Receiver<Pending>) {
        let (pending_tx, pending_rx) = mpsc::channel(max_batches);
        let in_flight = Self {
            permits: Arc::new(Semaphore::new(max_batches)),
            pending_tx,
            hard_stop: CancellationToken::new(),
            sync,
        };
        (in_flight, pending_rx)
    }

    /// Sends `batch` once fewer than the maximum are in flight and hands it to the
    /// committer; `false` when the run is ending (`cancel` fired while waiting, or the
    /// committer stopped after a failure) and the batch was not sent.
    pub(super) async fn dispatch(
        &self,
        batch: Batch,
        run: &TaskRun,
        settings: &LoopSettings,
        cancel: &CancellationToken,
    ) -> bool {
        let permit = tokio::select! {
            _ = cancel.cancelled() => return false,
            p = self.permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return false,
            },
        };
        let records = batch.messages.len() as u64;
        run.status.update(|s| s.records_in_flight += records);
        let (send_permit, commit_permit) = if self.sync {
            (None, Some(permit))
        } else {
            (Some(permit), None)
        };
        let send = tokio::spawn(send_with_retry(
            SendJob {
                sink: run.sink.clone(),
                messages: batch.messages,
                oneway: run.delivery.send_mode == SendMode::Oneway,
                retry_timeout: run.delivery.retry_timeout,
                redact: run.redact.clone(),
            },
            send_permit,
            settings.clone(),
            self.hard_stop.clone(),
            run.status.clone(),
        ));
        let pending = Pending {
            send,
            offsets: batch.offsets,
            records,
            commit_permit,
        };
        if let Err(mpsc::error::SendError(p)) = self.pending_tx.send(pending).await {
            // The committer stopped (after a failure): this batch is not tracked.
            p.send.abort();
            run.status
                .update(|s| s.records_in_flight = s.records_in_flight.saturating_sub(p.records));
            return false;
        }
        true
    }

    /// No more batches: the committer ends once it has taken in those in flight. The
    /// returned token makes the sends still in flight give up.
    pub(super) fn close(self) -> CancellationToken {
        self.hard_stop
    }
}

/// One batch to send.
struct SendJob {
    sink: Arc<dyn MessageSink>,
    messages: Vec<OutMessage>,
    oneway: bool,
    retry_timeout: Option<Duration>,
    redact: Redactor,
}

/// Sends a batch, retrying retriable failures with back-off (for ever, or until
/// `errors.retry.timeout`); returns the time from the first send to the acknowledgement.
async fn send_with_retry(
    job: SendJob,
    _permit: Option<OwnedSemaphorePermit>,
    settings: LoopSettings,
    hard_stop: CancellationToken,
    status: StatusCell,
) -> Result<Duration, SendError> {
    let SendJob {
        sink,
        messages,
        oneway,
        retry_timeout,
        redact,
    } = job;
    let started = Instant::now();
    if messages.is_empty() {
        return Ok(Duration::ZERO);
    }
    let mut backoff = settings.backoff_initial;
    loop {
        let res = tokio::select! {
            _ = hard_stop.cancelled() => return Err(SendError { retriable: true, message: ABANDONED.into() }),
            r = async {
                if oneway { sink.send_oneway(&messages).await } else { sink.send_batch(&messages).await }
            } => r,
        };
        match res {
            Ok(()) => return Ok(started.elapsed()),
            Err(e) if e.retriable && retry_timeout.is_some_and(|t| started.elapsed() > t) => {
                return Err(SendError {
                    retriable: false,
                    message: format!(
                        "gave up after retrying for {:?} (errors.retry.timeout): {}",
                        started.elapsed(),
                        redact(&e.message)
                    ),
                });
            }
            Err(e) if e.retriable => {
                let text = redact(&e.message);
                tracing::warn!(error = %text, records = messages.len(), "send failed, retrying the batch");
                status.update(|s| s.trace = Some(format!("retrying send: {text}")));
                if !sleep_or_cancel(backoff, &hard_stop).await {
                    return Err(SendError {
                        retriable: true,
                        message: ABANDONED.into(),
                    });
                }
                backoff = doubled(backoff, settings.backoff_max);
            }
            Err(e) => return Err(e),
        }
    }
}
