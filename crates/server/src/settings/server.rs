//! `server.*`: where to listen, and the limits that keep slow or idle clients from holding
//! connections (and file descriptors) open.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use serde::{Deserialize, Serialize};

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
    /// Open connections at most; further clients wait in the listen backlog.
    pub max_connections: usize,
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
}

impl ServerSettings {
    /// # Errors
    /// A timeout or the connection limit is zero.
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
        Ok(())
    }

    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_seconds),
            keep_alive_timeout: Duration::from_secs(self.keep_alive_timeout_seconds),
            max_connections: self.max_connections,
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
