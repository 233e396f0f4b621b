//! The open connections: how many each client holds, which have been idle since when, and a
//! way to ask the one idle the longest to close when the server is full.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use tokio::sync::Notify;

/// How often refused connections of one client are logged at most.
pub const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// Clients whose refusals are remembered (for [`REFUSAL_LOG_INTERVAL`]) before old ones are
/// forgotten.
const REMEMBERED_REFUSERS: usize = 1024;

/// Every open connection of one listener.
pub struct Registry {
    state: Mutex<State>,
    /// Wakes the acceptor when a connection went idle or refused to close: someone to close.
    changed: Notify,
    epoch: Instant,
}

impl Default for Registry {
    fn default() -> Self {
        Self { state: Mutex::default(), changed: Notify::new(), epoch: Instant::now() }
    }
}

#[derive(Default)]
struct State {
    next_id: u64,
    connections: HashMap<u64, Entry>,
    per_client: HashMap<IpAddr, usize>,
    refusals: HashMap<IpAddr, Refusals>,
}

struct Entry {
    /// `None` for a connection that does not count against a client (a trusted proxy's).
    client: Option<IpAddr>,
    shared: Arc<Shared>,
}

struct Refusals {
    logged_at: Instant,
    since_logged: u64,
}

/// What a connection and the acceptor both see.
#[derive(Default)]
pub struct Shared {
    /// Nanoseconds since the registry's epoch, plus 1, at which the connection went idle;
    /// 0 while it is not idle.
    idle_since: AtomicU64,
    /// Asked to close: the connection closes at its next read if it is still idle.
    close: AtomicBool,
    waker: AtomicWaker,
}

impl Shared {
    /// Whether the connection was asked to close.
    pub fn close_requested(&self) -> bool {
        self.close.load(Ordering::Acquire)
    }

    pub fn register(&self, waker: &Waker) {
        self.waker.register(waker);
    }
}

/// A connection's place in the registry; dropping it removes the connection.
pub struct Registration {
    registry: Arc<Registry>,
    id: u64,
    shared: Arc<Shared>,
}

impl Registration {
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The connection waits for its client's next request from now on.
    pub fn idle(&self) {
        let ticks = self.registry.ticks();
        self.shared.idle_since.store(ticks, Ordering::Release);
        self.registry.changed.notify_one();
    }

    /// The connection is reading or answering a request.
    pub fn busy(&self) {
        self.shared.idle_since.store(0, Ordering::Release);
    }

    /// A close was asked for while the connection was not idle: it stays, and the acceptor
    /// looks for another one.
    pub fn decline_close(&self) {
        self.shared.close.store(false, Ordering::Release);
        self.registry.changed.notify_one();
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut state = self.registry.lock();
        if let Some(Entry { client: Some(client), .. }) = state.connections.remove(&self.id)
            && let Some(count) = state.per_client.get_mut(&client)
        {
            *count -= 1;
            if *count == 0 {
                state.per_client.remove(&client);
            }
        }
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent under a panic (each change is one map operation).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn ticks(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Completes when a connection went idle or refused to close since the last call.
    pub async fn changed(&self) {
        self.changed.notified().await;
    }

    /// Open connections counted against `client`.
    pub fn count(&self, client: IpAddr) -> usize {
        self.lock().per_client.get(&client).copied().unwrap_or(0)
    }

    /// Adds a connection, counted against `client` unless `None`.
    pub fn register(self: &Arc<Self>, client: Option<IpAddr>) -> Registration {
        let shared = Arc::new(Shared::default());
        let mut state = self.lock();
        let id = state.next_id;
        state.next_id += 1;
        state.connections.insert(id, Entry { client, shared: shared.clone() });
        if let Some(client) = client {
            *state.per_client.entry(client).or_default() += 1;
        }
        Registration { registry: self.clone(), id, shared }
    }

    /// Asks the connection idle the longest to close, unless one asked before has not closed
    /// (or declined) yet. Whether a connection was asked now.
    pub fn close_longest_idle(&self) -> bool {
        let state = self.lock();
        let entries = state.connections.values().map(|entry| &entry.shared);
        let pending = entries.clone().any(|shared| shared.close_requested());
        let victim = entries
            .map(|shared| (shared.idle_since.load(Ordering::Acquire), shared))
            .filter(|(since, _)| *since != 0)
            .min_by_key(|(since, _)| *since);
        match victim {
            Some((_, shared)) if !pending => {
                shared.close.store(true, Ordering::Release);
                shared.waker.wake();
                true
            }
            _ => false,
        }
    }

    /// Notes a refused connection of `client` at `now`; `Some(refused since the last log
    /// line)` when one is due (the first, then once per [`REFUSAL_LOG_INTERVAL`]).
    pub fn note_refusal(&self, client: IpAddr, now: Instant) -> Option<u64> {
        let mut state = self.lock();
        if state.refusals.len() >= REMEMBERED_REFUSERS {
            state.refusals.retain(|_, r| now.duration_since(r.logged_at) < REFUSAL_LOG_INTERVAL);
        }
        match state.refusals.get_mut(&client) {
            Some(r) if now.duration_since(r.logged_at) < REFUSAL_LOG_INTERVAL => {
                r.since_logged += 1;
                None
            }
            Some(r) => {
                let refused = std::mem::take(&mut r.since_logged) + 1;
                r.logged_at = now;
                Some(refused)
            }
            None => {
                state.refusals.insert(client, Refusals { logged_at: now, since_logged: 0 });
                Some(1)
            }
        }
    }
}

/// Whom a connection from `ip` counts against: the address, an IPv6 one by its /64 (which one
/// host usually holds whole); an IPv4-mapped IPv6 address as the IPv4 address.
pub fn client_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_connection_idle_the_longest_is_asked_to_close_and_a_busy_one_never() {
        let registry = Arc::new(Registry::default());
        let busy = registry.register(Some(ip("10.0.0.1")));
        let newer = registry.register(Some(ip("10.0.0.2")));
        let older = registry.register(Some(ip("10.0.0.3")));
        assert!(!registry.close_longest_idle(), "no idle connection: nothing to close");
        older.idle();
        std::thread::sleep(Duration::from_millis(2));
        newer.idle();
        busy.idle();
        busy.busy();
        assert!(registry.close_longest_idle());
        assert!(older.shared().close_requested());
        assert!(!newer.shared().close_requested() && !busy.shared().close_requested());
    }

    #[test]
    fn one_close_at_a_time_and_the_next_after_a_close_or_a_refusal() {
        let registry = Arc::new(Registry::default());
        let first = registry.register(None);
        let second = registry.register(None);
        let third = registry.register(None);
        for connection in [&first, &second, &third] {
            connection.idle();
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(registry.close_longest_idle());
        assert!(!registry.close_longest_idle(), "the first has not closed yet");
        assert!(!second.shared().close_requested());
        drop(first);
        assert!(registry.close_longest_idle());
        assert!(second.shared().close_requested());
        // The second got a request just then: it stays, and the third is next.
        second.busy();
        second.decline_close();
        assert!(registry.close_longest_idle());
        assert!(third.shared().close_requested() && !second.shared().close_requested());
    }

    #[test]
    fn connections_count_per_client_until_they_close() {
        let registry = Arc::new(Registry::default());
        let a = registry.register(Some(ip("10.0.0.1")));
        let b = registry.register(Some(ip("10.0.0.1")));
        let _proxy = registry.register(None);
        assert_eq!(registry.count(ip("10.0.0.1")), 2);
        drop(a);
        assert_eq!(registry.count(ip("10.0.0.1")), 1);
        drop(b);
        assert_eq!(registry.count(ip("10.0.0.1")), 0);
    }

    #[test]
    fn an_ipv6_client_is_its_64_and_a_mapped_ipv4_address_is_ipv4() {
        assert_eq!(client_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(client_of(ip("::ffff:192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(client_of(ip("192.0.2.7")), ip("192.0.2.7"));
    }

    #[test]
    fn refusals_are_logged_once_per_client_and_interval_with_the_count() {
        let registry = Registry::default();
        let start = Instant::now();
        let (a, b) = (ip("10.0.0.1"), ip("10.0.0.2"));
        assert_eq!(registry.note_refusal(a, start), Some(1));
        for _ in 0..5 {
            assert_eq!(registry.note_refusal(a, start + Duration::from_secs(1)), None);
        }
        assert_eq!(registry.note_refusal(b, start + Duration::from_secs(1)), Some(1), "another client");
        assert_eq!(registry.note_refusal(a, start + REFUSAL_LOG_INTERVAL), Some(6));
        assert_eq!(registry.note_refusal(a, start + REFUSAL_LOG_INTERVAL), None);
    }
}
