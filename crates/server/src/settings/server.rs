//! `server.*`: where to listen, and the limits that keep slow or idle clients from holding
//! connections (and file descriptors) open.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::in_range;
use super::observability::list_or_commas;

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct ServerSettings {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// How long in-flight requests may take to finish after SIGTERM/Ctrl-C.
    pub shutdown_timeout_seconds: u64,
    /// Where the server keeps files of its own (the dev issuer's key).
    pub data_dir: PathBuf,
    /// A request's head (request line and headers) must arrive within this time of its first
    /// byte, or of the connection's opening.
    pub header_read_timeout_seconds: u64,
    /// A request's body must arrive within this time of its head (else 408).
    pub body_read_timeout_seconds: u64,
    /// An idle keep-alive connection is closed after this time without a new request.
    pub keep_alive_timeout_seconds: u64,
    /// Open connections at most. When all are open, the connection idle the longest is
    /// closed for a new one; without an idle one, new clients wait in the listen backlog.
    pub max_connections: usize,
    /// Open connections at most from one client address (an IPv6 client: its /64); more are
    /// closed as soon as they are accepted. `trusted_proxies` are exempt.
    pub max_connections_per_client: usize,
    /// Addresses (`127.0.0.1`) or CIDR ranges (`10.0.0.0/8`) of reverse proxies, whose
    /// connections carry many clients' requests: exempt from `max_connections_per_client`.
    #[serde(deserialize_with = "list_or_commas")]
    pub trusted_proxies: Vec<String>,
    /// Accept HTTP/2 without TLS (RFC 9113 section 3.3, "prior knowledge"). Off: such a
    /// connection gets a GOAWAY with HTTP_1_1_REQUIRED and is closed.
    pub http2_prior_knowledge: bool,
    /// Streams open at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS).
    pub http2_max_concurrent_streams: u32,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            shutdown_timeout_seconds: 30,
            data_dir: PathBuf::from("data"),
            header_read_timeout_seconds: 10,
            body_read_timeout_seconds: 30,
            keep_alive_timeout_seconds: 60,
            max_connections: 1024,
            max_connections_per_client: 64,
            trusted_proxies: Vec::new(),
            http2_prior_knowledge: false,
            http2_max_concurrent_streams: 100,
        }
    }
}

/// The connection limits, as the listener uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub body_read_timeout: Duration,
    pub keep_alive_timeout: Duration,
    pub max_connections: usize,
    /// Streams per HTTP/2 connection; `None`: HTTP/2 without TLS is refused.
    pub http2_max_streams: Option<u32>,
}

/// Who may hold how many connections, as the listener uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLimits {
    pub max_connections_per_client: usize,
    pub trusted_proxies: Vec<IpNet>,
}

impl ClientLimits {
    /// Whether `ip` (an IPv4-mapped IPv6 address counts as IPv4) is a trusted proxy's.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }
}

/// `127.0.0.1` or `10.0.0.0/8`, as `server.trusted_proxies` lists them.
fn parse_proxy(entry: &str) -> anyhow::Result<IpNet> {
    match (entry.parse::<IpNet>(), entry.parse::<IpAddr>()) {
        (Ok(net), _) => Ok(net.trunc()),
        (_, Ok(ip)) => Ok(IpNet::from(ip.to_canonical())),
        _ => bail!(
            "invalid configuration: server.trusted_proxies: {entry:?} is neither an IP address nor a CIDR range \
             (e.g. 127.0.0.1 or 10.0.0.0/8)"
        ),
    }
}

impl ServerSettings {
    /// # Errors
    /// A timeout or the connection limit is zero, `max_connections_per_client` is outside
    /// 1-1000000, `http2_max_concurrent_streams` outside 1-1000, or a trusted proxy is
    /// neither an address nor a CIDR range.
    pub fn validate(&self) -> anyhow::Result<()> {
        let timeouts = [
            ("server.header_read_timeout_seconds", self.header_read_timeout_seconds),
            ("server.body_read_timeout_seconds", self.body_read_timeout_seconds),
            ("server.keep_alive_timeout_seconds", self.keep_alive_timeout_seconds),
        ];
        for (key, value) in timeouts {
            if value == 0 {
                bail!("invalid configuration: {key} must be greater than 0");
            }
        }
        if self.max_connections == 0 {
            bail!("invalid configuration: server.max_connections must be greater than 0");
        }
        in_range("server.max_connections_per_client", self.max_connections_per_client, 1, 1_000_000)?;
        in_range("server.http2_max_concurrent_streams", self.http2_max_concurrent_streams, 1, 1_000)?;
        self.client_limits().map(|_| ())
    }

    /// # Errors
    /// A trusted proxy is neither an address nor a CIDR range.
    pub fn client_limits(&self) -> anyhow::Result<ClientLimits> {
        Ok(ClientLimits {
            max_connections_per_client: self.max_connections_per_client,
            trusted_proxies: self.trusted_proxies.iter().map(|entry| parse_proxy(entry)).collect::<Result<_, _>>()?,
        })
    }

    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_seconds),
            keep_alive_timeout: Duration::from_secs(self.keep_alive_timeout_seconds),
            max_connections: self.max_connections,
            http2_max_streams: self.http2_prior_knowledge.then_some(self.http2_max_concurrent_streams),
        }
    }

    /// Whether the listen address is reachable only from this machine.
    pub fn is_loopback(&self) -> bool {
        self.bind.ip().is_loopback()
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct HttpSettings {
    /// Request bodies over this many bytes get 413.
    pub max_body_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self { max_body_bytes: 64 * 1024 }
    }
}

impl HttpSettings {
    /// # Errors
    /// The body limit is zero.
    pub fn validate(&self) -> anyhow::Result<()> {
        if self.max_body_bytes == 0 {
            bail!("invalid configuration: http.max_body_bytes must be greater than 0");
        }
        Ok(())
    }
}
