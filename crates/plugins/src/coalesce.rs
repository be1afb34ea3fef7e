//! A reader that lets a plugin's output pile up in the pipe instead of waking for each
//! line.
//!
//! Airbyte sources usually run unbuffered (`PYTHONUNBUFFERED=1`, so that a slow source's
//! messages are not held back): each message is one `write`. A reader that keeps up is
//! woken for nearly every one, which costs both processes a context switch per record;
//! on two cores that took a sixth of faker's speed (bench stage F). [`Coalesce`] pauses
//! briefly after a short read, so the next read takes everything written meanwhile.
//! Output that comes in large pieces (the reader is behind, or the plugin buffers) is
//! read without pauses; a pause adds at most its length to a message's latency.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::Sleep;

/// A read shorter than this counts as short.
pub const SHORT_READ: usize = 16 * 1024;
/// How long the reader waits after a short read.
pub const PAUSE: Duration = Duration::from_millis(1);

/// Wraps `inner`; after a read of fewer than `short` bytes that did not fill the buffer
/// it was given, the next read waits `pause`.
#[derive(Debug)]
pub struct Coalesce<R> {
    inner: R,
    short: usize,
    pause: Duration,
    after_short: bool,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl<R> Coalesce<R> {
    /// `inner` with [`SHORT_READ`] and [`PAUSE`].
    pub fn new(inner: R) -> Self {
        Self::with(inner, SHORT_READ, PAUSE)
    }

    /// `inner` with the given threshold and pause.
    pub fn with(inner: R, short: usize, pause: Duration) -> Self {
        Self {
            inner,
            short,
            pause,
            after_short: false,
            sleep: None,
        }
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Coalesce<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.after_short {
            let pause = this.pause;
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(pause)));
            ready!(sleep.as_mut().poll(cx));
            this.sleep = None;
            this.after_short = false;
        }
        let before = buf.filled().len();
        let offered = buf.remaining();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let n = buf.filled().len() - before;
        // Short: the pipe held less than asked for (not just a small buffer).
        this.after_short = n > 0 && n < this.short && n < offered;
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn after_a_short_read_the_next_read_waits_and_takes_what_piled_up() {
        let (mut w, r) = tokio::io::duplex(1 << 20);
        let mut r = Coalesce::with(r, 1024, Duration::from_millis(50));
        let mut buf = vec![0u8; 64 * 1024];
        w.write_all(b"one\n").await.unwrap();
        assert_eq!(r.read(&mut buf).await.unwrap(), 4);
        let writer = tokio::spawn(async move {
            for _ in 0..10 {
                w.write_all(b"more\n").await.unwrap();
            }
            w
        });
        let started = Instant::now();
        let n = r.read(&mut buf).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(45));
        assert_eq!(n, 50, "the ten writes in one read");
        drop(writer.await.unwrap());
        assert_eq!(r.read(&mut buf).await.unwrap(), 0, "end of file");
    }

    #[tokio::test]
    async fn a_read_that_fills_a_small_buffer_is_not_short() {
        let (mut w, r) = tokio::io::duplex(1 << 20);
        let mut r = Coalesce::with(r, 1024, Duration::from_secs(60));
        w.write_all(&[b'x'; 300]).await.unwrap();
        let mut buf = vec![0u8; 100];
        for _ in 0..3 {
            assert_eq!(r.read(&mut buf).await.unwrap(), 100);
        }
    }

    #[tokio::test]
    async fn large_reads_do_not_wait() {
        let (mut w, r) = tokio::io::duplex(1 << 20);
        let mut r = Coalesce::with(r, 1024, Duration::from_secs(60));
        w.write_all(&[b'x'; 4096]).await.unwrap();
        let mut buf = vec![0u8; 2048];
        assert_eq!(r.read(&mut buf).await.unwrap(), 2048);
        assert_eq!(r.read(&mut buf).await.unwrap(), 2048);
    }
}
