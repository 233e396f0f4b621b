//! One connection: its read deadlines, whether it may speak HTTP/2 without TLS, and closing it
//! when the acceptor needs its slot while it is idle.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::registry::Registration;
use crate::settings::ConnectionLimits;

/// The client connection preface of HTTP/2 (RFC 9113 section 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What a server says to an HTTP/2 client it will not serve over this connection: its own
/// preface, an empty SETTINGS frame, then GOAWAY with last stream 0 and HTTP_1_1_REQUIRED
/// (0xd) (RFC 9113 sections 3.4, 6.5, 6.8 and 7).
const REFUSE_HTTP2: [u8; 26] = [
    0, 0, 0, 0x4, 0, 0, 0, 0, 0, // SETTINGS: length 0, type 4, no flags, stream 0
    0, 0, 8, 0x7, 0, 0, 0, 0, 0, // GOAWAY: length 8, type 7, no flags, stream 0
    0, 0, 0, 0, 0, 0, 0, 0xd, // last stream id 0, error code HTTP_1_1_REQUIRED
];

/// Where a connection is in its request/response cycle, which decides its read deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request head: it must be complete `header_read_timeout` after it began.
    Head,
    /// The head is in; the body's deadline is the endpoint's (`orderdesk_api::deadline::body_deadline`) and
    /// the handler may take its time.
    InFlight,
    /// A response went out; the next request must begin within `keep_alive_timeout`. (A
    /// request pipelined behind the previous one is already read, so its handling runs
    /// under this deadline; clients rarely pipeline.) Only an idle connection is closed to
    /// make room for another.
    Idle,
    /// HTTP/2 (prior knowledge): many streams at once, so only inactivity is limited.
    Multiplexed,
}

/// A connection with deadlines on waiting for the client. When one passes, reads and writes
/// fail with `TimedOut` and hyper closes the connection. Asked to close while idle, it reads
/// end of file, and hyper closes it.
pub struct GuardedStream<S> {
    inner: S,
    limits: ConnectionLimits,
    phase: Phase,
    /// Whether the head has a byte other than CR or LF yet: blank lines before a request
    /// line are skipped by the parser, so they must not end the head's deadline either.
    head_started: bool,
    /// Consecutive line feeds seen in the head (carriage returns ignored); two end it.
    newlines: u8,
    /// Bytes of the connection's beginning that match the HTTP/2 preface; `None` once decided.
    preface_matched: Option<usize>,
    deadline: Option<Pin<Box<Sleep>>>,
    registration: Registration,
    _slot: OwnedSemaphorePermit,
}

impl<S> GuardedStream<S> {
    pub(super) fn new(
        inner: S,
        limits: ConnectionLimits,
        slot: OwnedSemaphorePermit,
        registration: Registration,
    ) -> Self {
        let mut stream = Self {
            inner,
            limits,
            phase: Phase::Head,
            head_started: false,
            newlines: 0,
            preface_matched: Some(0),
            deadline: None,
            registration,
            _slot: slot,
        };
        stream.set_deadline(Some(limits.header_read_timeout));
        stream
    }

    fn set_deadline(&mut self, after: Option<Duration>) {
        match (after, self.deadline.as_mut()) {
            (None, _) => self.deadline = None,
            (Some(after), Some(sleep)) => sleep.as_mut().reset(Instant::now() + after),
            (Some(after), None) => self.deadline = Some(Box::pin(tokio::time::sleep(after))),
        }
    }

    /// Follows the connection's first bytes; whether they are now the whole HTTP/2 preface.
    fn is_http2_preface(&mut self, bytes: &[u8]) -> bool {
        let Some(matched) = self.preface_matched else { return false };
        let expected = &PREFACE[matched..];
        let n = bytes.len().min(expected.len());
        if bytes[..n] != expected[..n] {
            self.preface_matched = None;
            return false;
        }
        self.preface_matched = Some(matched + n).filter(|&m| m < PREFACE.len());
        self.preface_matched.is_none()
    }

    fn on_read(&mut self, bytes: &[u8]) {
        match self.phase {
            Phase::Multiplexed => self.set_deadline(Some(self.limits.keep_alive_timeout)),
            Phase::InFlight => {}
            Phase::Idle if bytes.is_empty() => {}
            Phase::Idle => {
                self.phase = Phase::Head;
                self.registration.busy();
                self.head_started = false;
                self.newlines = 0;
                self.set_deadline(Some(self.limits.header_read_timeout));
                self.scan_head(bytes);
            }
            Phase::Head => self.scan_head(bytes),
        }
    }

    /// Follows the request head to its blank line. Only the line ends are looked at one by
    /// one (found with `memchr`): a head with a bearer token is over a kilobyte, every byte of
    /// which a per-byte loop would touch.
    fn scan_head(&mut self, bytes: &[u8]) {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', bytes) {
            self.note_text(&bytes[start..end]);
            if self.head_started {
                self.newlines += 1;
            }
            if self.newlines == 2 {
                self.phase = Phase::InFlight;
                self.set_deadline(None);
                return;
            }
            start = end + 1;
        }
        self.note_text(&bytes[start..]);
    }

    /// Bytes between line ends: anything but `\r` starts the head and a new line.
    fn note_text(&mut self, text: &[u8]) {
        if text.iter().any(|&b| b != b'\r') {
            self.head_started = true;
            self.newlines = 0;
        }
    }

    fn on_write(&mut self, bytes: &[u8]) {
        // An interim response (100 Continue) is not the end of the exchange.
        if self.phase == Phase::InFlight && bytes.starts_with(b"HTTP/1.1 1") {
            return;
        }
        if !matches!(self.phase, Phase::Multiplexed | Phase::Idle) {
            self.phase = Phase::Idle;
            self.registration.idle();
        }
        self.set_deadline(Some(self.limits.keep_alive_timeout));
    }

    /// Registers the task for the deadline. Hyper reads only when woken, and an idle
    /// connection's read interest was registered before the response went out, so a deadline
    /// set by a write must wake the task itself.
    fn arm(&mut self, cx: &mut Context<'_>) {
        if let Some(sleep) = self.deadline.as_mut() {
            let _ = sleep.as_mut().poll(cx);
        }
    }

    /// After the inner stream returned `Pending`: has the deadline passed?
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready())
    }

    fn timed_out(&self) -> io::Error {
        let what = match self.phase {
            Phase::Head => "request head",
            _ => "next request",
        };
        io::Error::new(io::ErrorKind::TimedOut, format!("client too slow: no {what} in time"))
    }

    /// Whether to close now: asked to, and idle. Asked while busy, the request is declined.
    fn closing(&mut self, cx: &mut Context<'_>) -> bool {
        let shared = self.registration.shared();
        shared.register(cx.waker());
        if !shared.close_requested() {
            return false;
        }
        if self.phase == Phase::Idle {
            tracing::debug!("closing an idle keep-alive connection to make room for a new one");
            return true;
        }
        self.registration.decline_close();
        false
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> GuardedStream<S> {
    /// Tells an HTTP/2 client that this server wants HTTP/1.1 (best effort: what the socket
    /// takes at once), after reading what it sent already so that closing sends FIN, not RST.
    fn refuse_http2(&mut self, cx: &mut Context<'_>) -> io::Error {
        let mut scratch = [0u8; 4096];
        for _ in 0..16 {
            let mut rest = ReadBuf::new(&mut scratch);
            match Pin::new(&mut self.inner).poll_read(cx, &mut rest) {
                Poll::Ready(Ok(())) if !rest.filled().is_empty() => {}
                _ => break,
            }
        }
        let _ = Pin::new(&mut self.inner).poll_write(cx, &REFUSE_HTTP2);
        let _ = Pin::new(&mut self.inner).poll_flush(cx);
        tracing::debug!("HTTP/2 without TLS refused (server.http2_prior_knowledge is off)");
        io::Error::new(io::ErrorKind::ConnectionRefused, "HTTP/2 without TLS is off")
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for GuardedStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.closing(cx) {
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if this.is_http2_preface(&buf.filled()[before..]) {
                    if this.limits.http2_max_streams.is_none() {
                        return Poll::Ready(Err(this.refuse_http2(cx)));
                    }
                    this.phase = Phase::Multiplexed;
                }
                this.on_read(&buf.filled()[before..]);
                this.arm(cx);
                Poll::Ready(Ok(()))
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(this.timed_out())),
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for GuardedStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Ready(Ok(written)) => {
                this.on_write(&buf[..written]);
                this.arm(cx);
                Poll::Ready(Ok(written))
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(this.timed_out())),
            other => other,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(written)) => {
                let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &b[..]);
                this.on_write(&first[..written.min(first.len())]);
                this.arm(cx);
                Poll::Ready(Ok(written))
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(this.timed_out())),
            other => other,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_flush(cx) {
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(this.timed_out())),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::Semaphore;

    use super::super::registry::Registry;
    use super::*;

    async fn guarded_with(
        header_read_timeout: Duration,
        http2_max_streams: Option<u32>,
    ) -> (tokio::io::DuplexStream, GuardedStream<tokio::io::DuplexStream>, Arc<Registry>) {
        let (client, server) = tokio::io::duplex(1024);
        let limits = ConnectionLimits {
            header_read_timeout,
            body_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(10),
            max_connections: 1,
            http2_max_streams,
        };
        let slot = Arc::new(Semaphore::new(1)).acquire_owned().await.unwrap();
        let registry = Arc::new(Registry::default());
        let registration = registry.register(None);
        (client, GuardedStream::new(server, limits, slot, registration), registry)
    }

    async fn guarded(
        header_read_timeout: Duration,
    ) -> (tokio::io::DuplexStream, GuardedStream<tokio::io::DuplexStream>) {
        let (client, server, _) = guarded_with(header_read_timeout, None).await;
        (client, server)
    }

    #[tokio::test]
    async fn blank_lines_do_not_end_the_head_deadline() {
        let (mut client, mut server) = guarded(Duration::from_millis(50)).await;
        client.write_all(b"\r\n\r\n\r\n").await.unwrap();
        let mut buffer = [0u8; 64];
        assert_eq!(server.read(&mut buffer).await.unwrap(), 6);
        let next = tokio::time::timeout(Duration::from_secs(2), server.read(&mut buffer)).await.unwrap();
        assert_eq!(next.unwrap_err().kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn a_complete_head_lifts_the_deadline_while_the_request_is_handled() {
        let (mut client, mut server) = guarded(Duration::from_millis(50)).await;
        client.write_all(b"GET /healthz HTTP/1.1\nHost: x\n\n").await.unwrap();
        let mut buffer = [0u8; 64];
        assert!(server.read(&mut buffer).await.unwrap() > 0);
        let next = tokio::time::timeout(Duration::from_millis(200), server.read(&mut buffer)).await;
        assert!(next.is_err(), "still waiting, not timed out: {next:?}");
    }

    #[tokio::test]
    async fn asked_to_close_an_idle_connection_reads_end_of_file_and_a_busy_one_stays() {
        let (mut client, mut server, registry) = guarded_with(Duration::from_secs(10), None).await;
        let mut buffer = [0u8; 64];
        client.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
        assert!(server.read(&mut buffer).await.unwrap() > 0);
        // In flight: not idle, so nothing is asked to close.
        assert!(!registry.close_longest_idle());
        server.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.unwrap();
        // Idle: the waiting read ends at once when the acceptor needs the slot.
        let read = tokio::spawn(async move {
            let mut buffer = [0u8; 64];
            let n = server.read(&mut buffer).await;
            n.map(|n| (n, server))
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(registry.close_longest_idle());
        let (n, _server) = tokio::time::timeout(Duration::from_secs(2), read).await.unwrap().unwrap().unwrap();
        assert_eq!(n, 0, "end of file");
    }

    #[tokio::test]
    async fn http2_without_tls_is_refused_with_goaway_unless_allowed() {
        let (mut client, mut server, _) = guarded_with(Duration::from_secs(10), None).await;
        // The preface in two pieces, as a slow client may send it.
        client.write_all(&PREFACE[..10]).await.unwrap();
        let mut buffer = [0u8; 64];
        assert_eq!(server.read(&mut buffer).await.unwrap(), 10);
        client.write_all(&PREFACE[10..]).await.unwrap();
        assert_eq!(server.read(&mut buffer).await.unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
        let mut answer = [0u8; 26];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer, REFUSE_HTTP2);

        let (mut client, mut server, _) = guarded_with(Duration::from_secs(10), Some(100)).await;
        client.write_all(PREFACE).await.unwrap();
        assert_eq!(server.read(&mut buffer).await.unwrap(), PREFACE.len());
        assert_eq!(server.phase, Phase::Multiplexed);
    }
}
