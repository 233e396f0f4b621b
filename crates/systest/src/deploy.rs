//! `cargo xtask deploy-check`: the deployment of docs/deployment.md, run for real on loopback.
//! nginx (installed beforehand: `.ci/run` and the CI workflow do) runs `docs/deploy/nginx.conf`
//! with test ports and a certificate made on the fly, in front of two production-profile API
//! processes on one database (PostgreSQL when `ORDERDESK_TEST_POSTGRES_URL` is set, else one
//! SQLite file) after `orderdesk migrate` ran as its own step. Calls go over HTTPS through
//! nginx with the generated client; one process is stopped and the calls must still succeed.
//! `systemd-analyze verify` checks the units when it is there. Only 127.0.0.1 is contacted;
//! every wait is bounded.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::ensure;
use orderdesk_client::{Client, reqwest};

use crate::api::{self, block_on};
use crate::command::{COMMAND_LIMIT, run_bounded, wait_until};
use crate::nginx::{self, Nginx, Ports, Tls};
use crate::server::{Launch, READY_WITHIN, Ready, ServerProcess, free_port, migrate};
use crate::{Build, cargo, postgres};

const API_UNIT: &str = "docs/deploy/orderdesk.service";
const DISPATCH_UNIT: &str = "docs/deploy/orderdesk-dispatch.service";
/// Where the units expect the binary; the check points them at the debug build instead.
const INSTALLED_BINARY: &str = "/usr/local/bin/orderdesk";
/// The dev issuer's audience (`orderdesk token` mints for it).
const DEV_AUDIENCE: &str = "orderdesk-dev";
/// As the unit's TimeoutStopSec: the drain after SIGTERM must end by then.
const STOP_WITHIN: Duration = Duration::from_secs(45);

/// Runs the deploy check.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let nginx_path = nginx::binary()?;
    let dir = cargo::target_dir(root).join("deploy-check");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config"))?;
    let binary = cargo::server_binary(root, Build::Debug)?;

    verify_units(root, &binary, &dir)?;
    let tls = nginx::make_certificate(&dir)?;

    let database = postgres::admin_url().map(|url| postgres::TempDatabase::create(&url, "deploy")).transpose()?;
    let database_url = match &database {
        Some(database) => database.url(),
        None => format!("sqlite://{}", dir.join("orderdesk.db").display()),
    };
    println!("== deploy-check on {}", if database.is_some() { "PostgreSQL" } else { "SQLite" });

    let ports =
        Ports { issuer: free_port()?, api: [free_port()?, free_port()?], https: free_port()?, http: free_port()? };
    // Operator files, as /etc/orderdesk: none; the profiles' defaults apply.
    let base =
        |profile: &str| Launch::new(&binary, &dir, profile).env("ORDERDESK_CONFIG_DIR", dir.join("config").display());
    // Stands in for Auth0: a dev-profile process whose only job is issuing tokens and JWKS.
    let issuer = base("dev")
        .set("server.data_dir", dir.join("issuer").display())
        .set("database.url", format!("sqlite://{}", dir.join("issuer.db").display()))
        .set("sms.provider", "disabled")
        .bind(ports.issuer);
    // An API process as `orderdesk.service` runs it: production profile, no migrations, no dispatcher.
    let api_process = |index: usize| {
        base("production")
            .set("server.data_dir", dir.join(format!("api-{}", index + 1)).display())
            .set("server.trusted_proxies", "127.0.0.1")
            .set("database.url", &database_url)
            .set("database.migrate_on_start", "false")
            .set("database.max_connections", "4")
            .set("auth.issuer", format!("http://127.0.0.1:{}/", ports.issuer))
            .set("auth.audience", DEV_AUDIENCE)
            .set("sms.provider", "log")
            .set("sms.dispatcher", "false")
            .bind(ports.api[index])
    };

    // The release step first, as in docs/deployment.md: the API processes do not migrate.
    migrate(&api_process(0))?;
    println!("migrated with `orderdesk migrate`");

    let issuer = issuer.spawn("issuer", &[], Ready::Http(ports.issuer))?;
    let first = api_process(0).spawn("api-1", &[], Ready::Http(ports.api[0]))?;
    let second = api_process(1).spawn("api-2", &[], Ready::Http(ports.api[1]))?;
    let token = issuer.token("deploy-check")?;
    println!("issuer on 127.0.0.1:{}; API processes on 127.0.0.1:{} and :{}", ports.issuer, ports.api[0], ports.api[1]);

    let conf = nginx::render(root, &dir, &ports, &tls)?;
    let nginx = Nginx::start(&nginx_path, &dir, &conf)?;
    let base_url = format!("https://127.0.0.1:{}", ports.https);
    let log = dir.join("nginx-error.log");
    wait_until(READY_WITHIN, Duration::from_millis(100), format!("nginx is not ready; see {}", log.display()), || {
        Ok(block_on(api::is_ready_with(&https(&tls, None, None)?, &base_url)))
    })?;
    println!("nginx serves https://127.0.0.1:{} (TLS) and redirects http://127.0.0.1:{}", ports.https, ports.http);

    check_edge(&tls, &base_url, ports.http)?;
    nginx::check_tls(ports.https)?;
    println!("TLS: only forward-secret suites, no TLS 1.1, no nginx version in the Server header");
    let before = exercise(&tls, &base_url, &token, 1)?;
    let served_by = nginx::upstreams_in_access_log(&dir)?;
    for port in ports.api {
        ensure!(
            served_by.iter().any(|a| a.ends_with(&format!(":{port}"))),
            "nginx never sent a request to 127.0.0.1:{port}; upstreams seen: {served_by:?}"
        );
    }
    println!("through nginx: customer and order created and read back; both processes served");

    first.stop(STOP_WITHIN)?;
    println!("stopped the process on 127.0.0.1:{} (SIGTERM)", ports.api[0]);
    exercise(&tls, &base_url, &token, 2)?;
    let client = Client::new_with_client(&base_url, https(&tls, Some(&token), None)?);
    let order = block_on(client.get_order().id(before).send()).map_err(|e| anyhow::anyhow!("{e}"))?.into_inner();
    ensure!(order.id == before, "the order from before the stop reads back as {order:?}");
    println!("with one process stopped: calls still succeed, earlier orders still there");

    // Stopped before their files go: `nginx -s quit` needs the pid file.
    drop::<(Nginx, ServerProcess, ServerProcess)>((nginx, second, issuer));
    let _ = std::fs::remove_dir_all(&dir);
    println!("deploy-check passed");
    Ok(())
}

/// An HTTPS client trusting only the test CA, following no redirect, with `token` when given
/// and `x-request-id: <request_id>` on every request when given.
fn https(tls: &Tls, token: Option<&str>, request_id: Option<&str>) -> anyhow::Result<reqwest::Client> {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&tls.ca)?)?;
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(request_id) = request_id {
        headers.insert("x-request-id", request_id.parse()?);
    }
    let builder = api::http_builder(token.unwrap_or("none"))?.default_headers(headers);
    Ok(builder.tls_certs_only([ca]).redirect(reqwest::redirect::Policy::none()).build()?)
}

/// What nginx itself must do: redirect plain HTTP, keep /metrics private, refuse large bodies.
fn check_edge(tls: &Tls, base: &str, http_port: u16) -> anyhow::Result<()> {
    let client = https(tls, None, None)?;
    block_on(async {
        let response = client.get(format!("http://127.0.0.1:{http_port}/api/v1/orders")).send().await?;
        ensure!(
            response.status() == reqwest::StatusCode::MOVED_PERMANENTLY,
            "plain HTTP answered {}",
            response.status()
        );
        let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
        ensure!(location.starts_with("https://"), "plain HTTP redirects to {location:?}");

        let response = client.get(format!("{base}/metrics")).send().await?;
        ensure!(
            response.status() == reqwest::StatusCode::NOT_FOUND,
            "/metrics through nginx answered {}",
            response.status()
        );
        let server = response.headers().get("server").and_then(|v| v.to_str().ok()).unwrap_or_default();
        ensure!(server == "nginx", "the Server header names a version: {server:?} (server_tokens off)");

        let big = "x".repeat(70_000);
        let response = client.post(format!("{base}/api/v1/customers")).body(big).send().await?;
        ensure!(
            response.status() == reqwest::StatusCode::PAYLOAD_TOO_LARGE,
            "a 70 kB body answered {}",
            response.status()
        );
        Ok(())
    })
}

/// Creates a customer and an order (its `x-request-id` echoed), then reads the order back
/// several times (nginx spreads the reads over the processes). Returns the order's id.
fn exercise(tls: &Tls, base: &str, token: &str, round: u32) -> anyhow::Result<uuid::Uuid> {
    let request_id = format!("deploy-check-{round}");
    let client = Client::new_with_client(base, https(tls, Some(token), None)?);
    let customer = block_on(api::create_customer(&client, &format!("DEPLOY-{round}"), "0712 345 678"))?;
    let tagged = Client::new_with_client(base, https(tls, Some(token), Some(&request_id))?);
    let created = block_on(
        tagged.create_order().body_map(|b| b.customer_id(customer.id).item("Maize flour 2kg").amount("250.50")).send(),
    )
    .map_err(|e| anyhow::anyhow!("creating an order: {e}"))?;
    ensure!(created.status().as_u16() == 201, "creating an order answered {}", created.status());
    let echoed = created.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    ensure!(echoed.as_deref() == Some(request_id.as_str()), "x-request-id came back as {echoed:?}");
    let id = created.into_inner().id;
    for _ in 0..4 {
        let read = block_on(client.get_order().id(id).send()).map_err(|e| anyhow::anyhow!("{e}"))?.into_inner();
        ensure!(read.id == id && read.amount == "250.50", "the order reads back as {read:?}");
    }
    Ok(id)
}

/// `systemd-analyze verify` on both units, pointed at the debug binary (it checks that
/// ExecStart is executable); the API unit as the template instance `orderdesk@8081`. Any
/// warning fails, since systemd ignores a misspelt setting with only a warning.
fn verify_units(root: &Path, binary: &Path, dir: &Path) -> anyhow::Result<()> {
    let units = dir.join("units");
    std::fs::create_dir_all(&units)?;
    for (source, name) in [(API_UNIT, "orderdesk@.service"), (DISPATCH_UNIT, "orderdesk-dispatch.service")] {
        let text = std::fs::read_to_string(root.join(source))?;
        ensure!(text.contains(INSTALLED_BINARY), "{source} no longer runs {INSTALLED_BINARY}");
        std::fs::write(units.join(name), text.replace(INSTALLED_BINARY, &binary.display().to_string()))?;
    }
    let mut command = Command::new("systemd-analyze");
    command
        .args(["verify", "--man=no"])
        .arg(units.join("orderdesk@8081.service"))
        .arg(units.join("orderdesk-dispatch.service"));
    match run_bounded(&mut command, "systemd-analyze verify", COMMAND_LIMIT) {
        Err(error)
            if error
                .root_cause()
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
        {
            println!("note: systemd-analyze is not installed; the systemd units were not verified");
            Ok(())
        }
        Err(error) => Err(error),
        Ok((status, output)) => {
            ensure!(status.success() && output.trim().is_empty(), "systemd-analyze verify found problems:\n{output}");
            println!("systemd-analyze verify: {API_UNIT} (as orderdesk@8081) and {DISPATCH_UNIT} are valid");
            Ok(())
        }
    }
}
