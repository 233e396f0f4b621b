//! The TCP side of serving: how many connections may be open, and how many from one client;
//! which one makes room for a new client when all are open; how long a client may take to send
//! a request head or body or to start its next request; whether HTTP/2 without TLS is spoken;
//! and what happens when the process runs out of file descriptors. Poem's server has none of
//! these limits.

mod registry;
mod stream;

use std::io;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::settings::{ClientLimits, ConnectionLimits};
use registry::{Registry, client_of};
pub use stream::GuardedStream;

/// Wraps an acceptor: at most `max_connections` open at once, at most
/// `max_connections_per_client` of them from one client, read deadlines on every connection,
/// and a pause instead of a busy loop when `accept` fails for lack of descriptors or memory.
/// When all slots are taken, a new connection is accepted and the connection idle the longest
/// is closed for it; with none idle, it waits for a slot (and further clients wait in the
/// listen backlog).
pub struct GuardedAcceptor<A> {
    inner: A,
    limits: ConnectionLimits,
    clients: ClientLimits,
    slots: Arc<Semaphore>,
    registry: Arc<Registry>,
    failures: u32,
}

impl<A> GuardedAcceptor<A> {
    pub fn new(inner: A, limits: ConnectionLimits, clients: ClientLimits) -> Self {
        Self {
            inner,
            limits,
            clients,
            slots: Arc::new(Semaphore::new(limits.max_connections)),
            registry: Arc::new(Registry::default()),
            failures: 0,
        }
    }

    /// Whom a connection from `peer` counts against, or `Err(client)` when that client
    /// already holds `max_connections_per_client`.
    fn client(&self, peer: &RemoteAddr) -> Result<Option<IpAddr>, IpAddr> {
        let Some(ip) = peer.as_socket_addr().map(|addr| addr.ip()) else { return Ok(None) };
        if self.clients.is_trusted(ip) {
            return Ok(None);
        }
        let client = client_of(ip);
        if self.registry.count(client) >= self.clients.max_connections_per_client {
            return Err(client);
        }
        Ok(Some(client))
    }

    fn log_refusal(&self, client: IpAddr) {
        if let Some(refused) = self.registry.note_refusal(client, std::time::Instant::now()) {
            tracing::warn!(
                %client,
                refused,
                limit = self.clients.max_connections_per_client,
                "connections over server.max_connections_per_client closed (logged once a minute per client)"
            );
        }
    }
}

impl<A: Acceptor> Acceptor for GuardedAcceptor<A> {
    type Io = GuardedStream<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            let (io, local, remote, scheme) = self.accept_inner().await?;
            let client = match self.client(&remote) {
                Ok(client) => client,
                Err(client) => {
                    drop(io);
                    self.log_refusal(client);
                    continue;
                }
            };
            let slot = free_slot(self.slots.clone(), self.registry.clone()).await?;
            let registration = self.registry.register(client);
            return Ok((GuardedStream::new(io, self.limits, slot, registration), local, remote, scheme));
        }
    }
}

/// A free slot, or the slot of an idle connection asked to close for it. (A free function: the
/// acceptor need not be `Sync`.)
async fn free_slot(slots: Arc<Semaphore>, registry: Arc<Registry>) -> io::Result<OwnedSemaphorePermit> {
    loop {
        if let Ok(slot) = slots.clone().try_acquire_owned() {
            return Ok(slot);
        }
        registry.close_longest_idle();
        tokio::select! {
            slot = slots.clone().acquire_owned() => return slot.map_err(io::Error::other),
            () = registry.changed() => {}
        }
    }
}

impl<A: Acceptor> GuardedAcceptor<A> {
    async fn accept_inner(&mut self) -> io::Result<(A::Io, LocalAddr, RemoteAddr, Scheme)> {
        loop {
            match self.inner.accept().await {
                Ok(accepted) => {
                    self.failures = 0;
                    return Ok(accepted);
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

#[cfg(test)]
mod tests {
    use super::*;

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
