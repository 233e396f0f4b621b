//! The request body's deadline: a client that sends a head and then trickles (or never sends)
//! its body holds a connection and a task only for `server.body_read_timeout_seconds`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use poem::http::header;
use poem::{Body, Request};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::time::Sleep;

/// Gives the request's body `timeout` to arrive, counted from when its head was read; a body
/// still incomplete then fails with `TimedOut` (answered 408 by the API's body limit).
/// Bodiless requests are left alone.
pub fn limit_body_time(req: &mut Request, timeout: Duration) {
    let has_body = req.header(header::TRANSFER_ENCODING).is_some()
        || req.header(header::CONTENT_LENGTH).is_some_and(|len| len.trim() != "0");
    if has_body {
        let body = req.take_body().into_async_read();
        let deadline = Box::pin(tokio::time::sleep(timeout));
        req.set_body(Body::from_async_read(DeadlineRead { inner: Box::pin(body), deadline }));
    }
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
