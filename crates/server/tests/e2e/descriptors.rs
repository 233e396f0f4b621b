//! Out of file descriptors, the server waits for one to free up instead of spinning on
//! `accept`, and serves again once slow clients have timed out.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::process::ServerProcess;

/// The process's user + system CPU time so far, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at state, field 3.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// `GET /healthz` on a new connection; the status line and the rest, or "" after 2 s.
async fn healthz(address: std::net::SocketAddr) -> String {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await.ok()?;
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: orderdesk\r\nConnection: close\r\n\r\n").await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        Some(String::from_utf8_lossy(&answer).into_owned())
    };
    tokio::time::timeout(Duration::from_secs(2), exchange).await.ok().flatten().unwrap_or_default()
}

#[tokio::test]
async fn out_of_descriptors_the_server_neither_spins_nor_stops_serving() {
    if cfg!(not(target_os = "linux")) || std::process::Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("note: descriptor-exhaustion test skipped: needs Linux and prlimit");
        return;
    }
    // Arrange: 96 descriptors, of which the runtime, database and listener use some. (All
    // clients come from one address: the per-client cap is lifted, or it would close them.)
    let env = [
        ("ORDERDESK_SERVER__HEADER_READ_TIMEOUT_SECONDS", "2"),
        ("ORDERDESK_SERVER__MAX_CONNECTIONS_PER_CLIENT", "1024"),
    ];
    let server = ServerProcess::start(&env, Some(96));
    let address = server.address().await;
    let mut idle = Vec::new();
    for _ in 0..150 {
        idle.push(TcpStream::connect(address).await.unwrap());
    }

    // Act: the server has run out of descriptors; see what it does for a second.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = cpu_ticks(server.pid()).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let spent = cpu_ticks(server.pid()).unwrap() - before;

    // Assert: no busy loop (one spinning core would be ~100 ticks), and once the idle
    // connections time out /healthz is answered again.
    assert!(spent < 30, "the server used {spent} ticks of CPU in one second while out of descriptors");
    let log = server.log();
    assert!(log.contains("backing off"), "{log}");
    let started = Instant::now();
    let mut answered = false;
    for _ in 0..20 {
        if healthz(address).await.starts_with("HTTP/1.1 200") {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(answered, "no answer {:?} after running out of descriptors", started.elapsed());
    drop(idle);
}
