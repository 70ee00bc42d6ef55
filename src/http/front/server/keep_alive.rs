//! How long a connection may wait for a request head. hyper (1.12) starts its header-read timer
//! whenever it waits for a head: at accept, and again after every response on a kept-alive
//! connection. That single deadline cannot tell an idle kept-alive connection (normal for a
//! browser) from a client trickling a head (Slowloris), so this timer, which hyper asks for every
//! such deadline, gives each wait its own, as Go's and nginx's servers do:
//!
//! - the first request's head must arrive within the header-read timeout from accept;
//! - a kept-alive connection may stay silent for the keep-alive timeout, and once the first byte
//!   of its next request arrives, the head must be complete within the header-read timeout.

use hyper::rt::{Sleep, Timer};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What one connection has done so far, shared by its socket wrapper, timer and service.
#[derive(Default)]
pub(super) struct Activity {
    /// Reads that returned bytes.
    reads: AtomicU64,
    /// Request heads handed to the service.
    requests: AtomicU64,
}

impl Activity {
    pub(super) fn note_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }
}

/// The socket, counting reads that return bytes.
pub(super) struct Watched<T> {
    io: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    pub(super) fn new(io: T, activity: Arc<Activity>) -> Self {
        Watched { io, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.reads.fetch_add(1, Ordering::Relaxed);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The per-connection timer hyper asks for its header-read deadlines.
pub(super) struct ConnTimer {
    activity: Arc<Activity>,
    header_read: Option<Duration>,
    keep_alive: Option<Duration>,
}

impl ConnTimer {
    pub(super) fn new(activity: Arc<Activity>, header_read: Option<Duration>, keep_alive: Option<Duration>) -> Self {
        ConnTimer { activity, header_read, keep_alive }
    }
}

impl Timer for ConnTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Sleep>> {
        Box::pin(HeadWait::fixed(Some(duration)))
    }

    /// hyper's deadline is "now + the header-read timeout"; the wait's real bounds depend on
    /// whether a request was already served on this connection.
    fn sleep_until(&self, _deadline: Instant) -> Pin<Box<dyn Sleep>> {
        if self.activity.requests.load(Ordering::Relaxed) == 0 {
            return Box::pin(HeadWait::fixed(self.header_read));
        }
        Box::pin(HeadWait::kept_alive(self.activity.clone(), self.keep_alive, self.header_read))
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn Sleep>>, new_deadline: Instant) {
        *sleep = self.sleep_until(new_deadline);
    }
}

/// One wait for a request head. On a kept-alive connection it first runs the keep-alive
/// deadline and, as soon as a byte has been read, switches to the header-read one.
pub(super) struct HeadWait {
    /// While idle on a kept-alive connection: the activity and its read count at the start.
    idle: Option<(Arc<Activity>, u64)>,
    header_read: Option<Duration>,
    /// `None`: no bound on this phase.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl HeadWait {
    fn fixed(limit: Option<Duration>) -> Self {
        HeadWait { idle: None, header_read: None, timer: limit.map(|d| Box::pin(tokio::time::sleep(d))) }
    }

    fn kept_alive(activity: Arc<Activity>, keep_alive: Option<Duration>, header_read: Option<Duration>) -> Self {
        let reads = activity.reads();
        HeadWait { idle: Some((activity, reads)), header_read, ..Self::fixed(keep_alive) }
    }
}

impl Future for HeadWait {
    type Output = ();

    /// hyper polls this each time a read leaves the head incomplete, so the first byte of a
    /// request is noticed here, within one poll of its arrival.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let started = self.idle.as_ref().is_some_and(|(activity, at_start)| activity.reads() != *at_start);
        if started {
            self.idle = None;
            self.timer = self.header_read.map(|d| Box::pin(tokio::time::sleep(d)));
        }
        match self.timer.as_mut() {
            Some(t) => t.as_mut().poll(cx),
            None => Poll::Pending,
        }
    }
}

impl Sleep for HeadWait {}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::advance;

    fn fired(w: &mut Pin<Box<dyn Sleep>>) -> bool {
        w.as_mut().poll(&mut Context::from_waker(std::task::Waker::noop())).is_ready()
    }

    fn timer(header: u64, keep_alive: u64) -> (ConnTimer, Arc<Activity>) {
        let activity = Arc::new(Activity::default());
        let secs = |n| Some(Duration::from_secs(n)).filter(|_| n > 0);
        (ConnTimer::new(activity.clone(), secs(header), secs(keep_alive)), activity)
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_head_must_arrive_within_the_header_read_timeout() {
        let (t, _) = timer(2, 60);
        let mut wait = t.sleep_until(Instant::now());
        advance(Duration::from_millis(1_900)).await;
        assert!(!fired(&mut wait));
        advance(Duration::from_millis(200)).await;
        assert!(fired(&mut wait));
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_alive_connection_may_idle_for_the_keep_alive_timeout() {
        let (t, activity) = timer(2, 5);
        activity.note_request();
        let mut wait = t.sleep_until(Instant::now());
        advance(Duration::from_secs(4)).await;
        assert!(!fired(&mut wait), "idle past the header-read timeout is fine");
        advance(Duration::from_millis(1_100)).await;
        assert!(fired(&mut wait), "but not past the keep-alive timeout");
    }

    #[tokio::test(start_paused = true)]
    async fn once_the_next_request_starts_its_head_gets_the_header_read_timeout() {
        let (t, activity) = timer(2, 60);
        activity.note_request();
        let mut wait = t.sleep_until(Instant::now());
        advance(Duration::from_secs(10)).await;
        activity.reads.fetch_add(1, Ordering::Relaxed);
        assert!(!fired(&mut wait), "the first byte starts the header-read timer");
        advance(Duration::from_millis(1_900)).await;
        assert!(!fired(&mut wait));
        advance(Duration::from_millis(200)).await;
        assert!(fired(&mut wait), "a trickled head is cut 2 s after its first byte");
    }

    #[tokio::test(start_paused = true)]
    async fn zero_turns_a_bound_off() {
        let (t, activity) = timer(0, 0);
        let mut first = t.sleep_until(Instant::now());
        activity.note_request();
        let mut later = t.sleep_until(Instant::now());
        advance(Duration::from_secs(3_600)).await;
        assert!(!fired(&mut first) && !fired(&mut later));
    }
}
