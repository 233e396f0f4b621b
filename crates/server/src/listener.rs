//! The TCP side of serving: how many connections may be open, how long a client may take to
//! send a request head or body or to start its next request, and what happens when the
//! process runs out of file descriptors. Poem's server has none of these limits.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use poem::http::header;
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Body, Endpoint, Request};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use crate::settings::ConnectionLimits;

/// Wraps an acceptor: at most `max_connections` open at once (the rest wait in the listen
/// backlog), read deadlines on every connection, and a pause instead of a busy loop when
/// `accept` fails for lack of descriptors or memory.
pub struct GuardedAcceptor<A> {
    inner: A,
    limits: ConnectionLimits,
    slots: Arc<Semaphore>,
    failures: u32,
}

impl<A> GuardedAcceptor<A> {
    pub fn new(inner: A, limits: ConnectionLimits) -> Self {
        Self { inner, limits, slots: Arc::new(Semaphore::new(limits.max_connections)), failures: 0 }
    }
}

impl<A: Acceptor> Acceptor for GuardedAcceptor<A> {
    type Io = GuardedStream<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let slot = self.slots.clone().acquire_owned().await.map_err(io::Error::other)?;
        loop {
            match self.inner.accept().await {
                Ok((io, local, remote, scheme)) => {
                    self.failures = 0;
                    return Ok((GuardedStream::new(io, self.limits, slot), local, remote, scheme));
                }
                Err(error) => {
                    if let Some(pause) = accept_backoff(&error, self.failures) {
                        if self.failures == 0 {
                            tracing::warn!(%error, "cannot accept connections; backing off");
                        }
                        self.failures = self.failures.saturating_add(1);
                        tokio::time::sleep(pause).await;
                    }
                }
            }
        }
    }
}

/// How long to wait before the next `accept` after `error`, the `failures`-th in a row.
/// A connection that died in the backlog is no reason to wait; anything else (EMFILE,
/// ENFILE, ENOBUFS, ENOMEM) repeats at once until something is freed, so retrying at once
/// would spin a core.
pub fn accept_backoff(error: &io::Error, failures: u32) -> Option<Duration> {
    use io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted, WouldBlock};
    match error.kind() {
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock => None,
        _ => Some(Duration::from_millis(10u64 << failures.min(7)).min(Duration::from_secs(1))),
    }
}

/// Where a connection is in its request/response cycle, which decides its read deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request head: it must be complete `header_read_timeout` after it began.
    Head,
    /// The head is in; the body's deadline is the endpoint's ([`body_deadline`]) and the
    /// handler may take its time.
    InFlight,
    /// A response went out; the next request must begin within `keep_alive_timeout`. (A
    /// request pipelined behind the previous one is already read, so its handling runs
    /// under this deadline; clients rarely pipeline.)
    Idle,
    /// HTTP/2 (prior knowledge): many streams at once, so only inactivity is limited.
    Multiplexed,
}

/// A connection with deadlines on waiting for the client. When one passes, reads and writes
/// fail with `TimedOut` and hyper closes the connection.
pub struct GuardedStream<S> {
    inner: S,
    limits: ConnectionLimits,
    phase: Phase,
    /// Whether the head has a byte other than CR or LF yet: blank lines before a request
    /// line are skipped by the parser, so they must not end the head's deadline either.
    head_started: bool,
    /// Consecutive line feeds seen in the head (carriage returns ignored); two end it.
    newlines: u8,
    first_read: bool,
    deadline: Option<Pin<Box<Sleep>>>,
    _slot: OwnedSemaphorePermit,
}

impl<S> GuardedStream<S> {
    fn new(inner: S, limits: ConnectionLimits, slot: OwnedSemaphorePermit) -> Self {
        let mut stream = Self {
            inner,
            limits,
            phase: Phase::Head,
            head_started: false,
            newlines: 0,
            first_read: true,
            deadline: None,
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

    fn on_read(&mut self, bytes: &[u8]) {
        if std::mem::take(&mut self.first_read) && bytes.starts_with(b"PRI * HTTP/2") {
            self.phase = Phase::Multiplexed;
        }
        match self.phase {
            Phase::Multiplexed => self.set_deadline(Some(self.limits.keep_alive_timeout)),
            Phase::InFlight => {}
            Phase::Idle => {
                self.phase = Phase::Head;
                self.head_started = false;
                self.newlines = 0;
                self.set_deadline(Some(self.limits.header_read_timeout));
                self.scan_head(bytes);
            }
            Phase::Head => self.scan_head(bytes),
        }
    }

    fn scan_head(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            match byte {
                b'\n' if self.head_started => self.newlines += 1,
                b'\n' | b'\r' => {}
                _ => {
                    self.head_started = true;
                    self.newlines = 0;
                }
            }
            if self.newlines == 2 {
                self.phase = Phase::InFlight;
                self.set_deadline(None);
                return;
            }
        }
    }

    fn on_write(&mut self, bytes: &[u8]) {
        // An interim response (100 Continue) is not the end of the exchange.
        if self.phase == Phase::InFlight && bytes.starts_with(b"HTTP/1.1 1") {
            return;
        }
        if self.phase != Phase::Multiplexed {
            self.phase = Phase::Idle;
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
}

impl<S: AsyncRead + Unpin> AsyncRead for GuardedStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
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

/// Gives every request body `timeout` to arrive, counted from when its head was read; a body
/// still incomplete then fails with `TimedOut` (answered 408 by the API's body limit).
pub fn body_deadline<E: Endpoint>(endpoint: E, timeout: Duration) -> impl Endpoint<Output = E::Output> {
    poem::EndpointExt::before(endpoint, move |mut req: Request| async move {
        let has_body = req.header(header::TRANSFER_ENCODING).is_some()
            || req.header(header::CONTENT_LENGTH).is_some_and(|len| len.trim() != "0");
        if has_body {
            let body = req.take_body().into_async_read();
            let deadline = Box::pin(tokio::time::sleep(timeout));
            req.set_body(Body::from_async_read(DeadlineRead { inner: Box::pin(body), deadline }));
        }
        Ok(req)
    })
}

struct DeadlineRead<R> {
    inner: Pin<Box<R>>,
    deadline: Pin<Box<Sleep>>,
}

impl<R: AsyncRead> AsyncRead for DeadlineRead<R> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.inner.as_mut().poll_read(cx, buf) {
            Poll::Pending if this.deadline.as_mut().poll(cx).is_ready() => {
                Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "request body timed out")))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    async fn guarded(
        header_read_timeout: Duration,
    ) -> (tokio::io::DuplexStream, GuardedStream<tokio::io::DuplexStream>) {
        let (client, server) = tokio::io::duplex(1024);
        let limits = ConnectionLimits {
            header_read_timeout,
            body_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(10),
            max_connections: 1,
        };
        let slot = Arc::new(Semaphore::new(1)).acquire_owned().await.unwrap();
        (client, GuardedStream::new(server, limits, slot))
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

    #[test]
    fn out_of_descriptors_backs_off_and_grows_to_a_second() {
        let emfile = io::Error::from_raw_os_error(24);
        let enfile = io::Error::from_raw_os_error(23);
        assert_eq!(accept_backoff(&emfile, 0), Some(Duration::from_millis(10)));
        assert_eq!(accept_backoff(&enfile, 3), Some(Duration::from_millis(80)));
        assert_eq!(accept_backoff(&emfile, 50), Some(Duration::from_secs(1)));
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(accept_backoff(&aborted, 0), None, "one lost connection is no reason to wait");
    }
}
