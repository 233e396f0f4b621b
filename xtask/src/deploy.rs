//! `cargo xtask deploy-check`: the deployment of docs/deployment.md, run for real on loopback.
//! nginx (installed from Debian packages when missing) runs `docs/deploy/nginx.conf` with test
//! ports and a certificate made on the fly, in front of two production-profile API processes
//! on one database (PostgreSQL when `ORDERDESK_TEST_POSTGRES_URL` is set, else one SQLite
//! file) after `orderdesk migrate` ran as its own step. Calls go over HTTPS through nginx;
//! one process is stopped and the calls must still succeed. `systemd-analyze verify` checks
//! the units when it is there. Only 127.0.0.1 is contacted; every wait is bounded.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::{Value, json};

use crate::support::{Build, Server, TempDatabase, free_port, http_client, server_binary};

const NGINX_CONF: &str = "docs/deploy/nginx.conf";
const API_UNIT: &str = "docs/deploy/orderdesk.service";
const DISPATCH_UNIT: &str = "docs/deploy/orderdesk-dispatch.service";
/// Where the units expect the binary; the check points them at the debug build instead.
const INSTALLED_BINARY: &str = "/usr/local/bin/orderdesk";
/// The dev issuer's audience (`orderdesk token` mints for it).
const DEV_AUDIENCE: &str = "orderdesk-dev";
const READY_WITHIN: Duration = Duration::from_secs(60);
const COMMAND_LIMIT: Duration = Duration::from_secs(60);
const INSTALL_LIMIT: Duration = Duration::from_secs(600);
/// As the unit's TimeoutStopSec: the drain after SIGTERM must end by then.
const STOP_WITHIN: Duration = Duration::from_secs(45);

pub fn run(root: &Path) -> anyhow::Result<()> {
    let nginx_path = nginx_binary()?;
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let dir = target.join("deploy-check");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("config"))?;
    let binary = server_binary(root, Build::Debug)?;

    verify_units(root, &binary, &dir)?;
    let tls = make_certificate(&dir)?;

    let database = match std::env::var("ORDERDESK_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => Some(TempDatabase::create(&admin_url, "deploy")?),
        _ => None,
    };
    let database_url = match &database {
        Some(database) => database.url(),
        None => format!("sqlite://{}", dir.join("orderdesk.db").display()),
    };
    println!("== deploy-check on {}", if database.is_some() { "PostgreSQL" } else { "SQLite" });

    let ports =
        Ports { issuer: free_port()?, api: [free_port()?, free_port()?], https: free_port()?, http: free_port()? };
    let setup = Setup { binary: &binary, dir: &dir, database_url: &database_url, ports: &ports };

    // The release step first, as in docs/deployment.md: the API processes do not migrate.
    let (status, output) = run_bounded(setup.api_command(0).arg("migrate"), "orderdesk migrate", COMMAND_LIMIT)?;
    ensure!(status.success(), "orderdesk migrate failed:\n{output}");
    println!("migrated with `orderdesk migrate`");

    let issuer = setup.start_issuer()?;
    let mut first = Some(setup.start_api(0)?);
    let second = setup.start_api(1)?;
    let token = setup.token()?;
    println!("issuer on 127.0.0.1:{}; API processes on 127.0.0.1:{} and :{}", ports.issuer, ports.api[0], ports.api[1]);

    let conf = render_nginx(root, &dir, &ports, &tls)?;
    let nginx = Nginx::start(&nginx_path, &dir, &conf)?;
    let client = https_client(&tls.ca)?;
    let base = format!("https://127.0.0.1:{}", ports.https);
    wait_until_ready(&client, &format!("{base}/readyz"), &dir.join("nginx-error.log"))?;
    println!("nginx serves https://127.0.0.1:{} (TLS) and redirects http://127.0.0.1:{}", ports.https, ports.http);

    check_edge(&client, &base, ports.http)?;
    check_tls(ports.https)?;
    println!("TLS: only forward-secret suites, no TLS 1.1, no nginx version in the Server header");
    let auth = format!("Bearer {token}");
    let before = exercise(&client, &base, &auth, 1)?;
    let served_by = upstreams_in_access_log(&dir)?;
    for port in ports.api {
        ensure!(
            served_by.iter().any(|a| a.ends_with(&format!(":{port}"))),
            "nginx never sent a request to 127.0.0.1:{port}; upstreams seen: {served_by:?}"
        );
    }
    println!("through nginx: customer and order created and read back; both processes served");

    if let Some(mut stopped) = first.take() {
        stop_gracefully(&mut stopped, &dir.join("api-1.log"))?;
    }
    println!("stopped the process on 127.0.0.1:{} (SIGTERM)", ports.api[0]);
    exercise(&client, &base, &auth, 2)?;
    let order = get_json(&client, &format!("{base}/api/v1/orders/{before}"), &auth)?;
    ensure!(order["id"] == before.as_str(), "the order from before the stop reads back as {order}");
    println!("with one process stopped: calls still succeed, earlier orders still there");

    // Stopped before their files go: `nginx -s quit` needs the pid file.
    drop((nginx, second, issuer));
    let _ = std::fs::remove_dir_all(&dir);
    println!("deploy-check passed");
    Ok(())
}

struct Ports {
    issuer: u16,
    api: [u16; 2],
    https: u16,
    http: u16,
}

struct Setup<'a> {
    binary: &'a Path,
    dir: &'a Path,
    database_url: &'a str,
    ports: &'a Ports,
}

impl Setup<'_> {
    fn command(&self) -> Command {
        let mut command = Command::new(self.binary);
        command
            .current_dir(self.dir)
            .env_remove("RUST_LOG")
            .env_remove("DATABASE_URL")
            // Operator files, as /etc/orderdesk: none; the profiles' defaults apply.
            .env("ORDERDESK_CONFIG_DIR", self.dir.join("config"))
            .env("ORDERDESK_LOG__FORMAT", "json")
            .env("ORDERDESK_LOG__FILTER", "warn");
        command
    }

    /// Stands in for Auth0: a dev-profile process whose only job is issuing tokens and JWKS.
    fn start_issuer(&self) -> anyhow::Result<Server> {
        let mut command = self.command();
        command
            .env("ORDERDESK_PROFILE", "dev")
            .env("ORDERDESK_SERVER__BIND", format!("127.0.0.1:{}", self.ports.issuer))
            .env("ORDERDESK_SERVER__DATA_DIR", self.dir.join("issuer"))
            .env("ORDERDESK_DATABASE__URL", format!("sqlite://{}", self.dir.join("issuer.db").display()))
            .env("ORDERDESK_SMS__PROVIDER", "disabled");
        start(command, self.ports.issuer, &self.dir.join("issuer.log"))
    }

    /// An API process as `orderdesk.service` runs it: production profile, no migrations, no dispatcher.
    fn api_command(&self, index: usize) -> Command {
        let mut command = self.command();
        command
            .env("ORDERDESK_PROFILE", "production")
            .env("ORDERDESK_SERVER__BIND", format!("127.0.0.1:{}", self.ports.api[index]))
            .env("ORDERDESK_SERVER__DATA_DIR", self.dir.join(format!("api-{}", index + 1)))
            .env("ORDERDESK_SERVER__TRUSTED_PROXIES", "127.0.0.1")
            .env("ORDERDESK_DATABASE__URL", self.database_url)
            .env("ORDERDESK_DATABASE__MIGRATE_ON_START", "false")
            .env("ORDERDESK_DATABASE__MAX_CONNECTIONS", "4")
            .env("ORDERDESK_AUTH__ISSUER", format!("http://127.0.0.1:{}/", self.ports.issuer))
            .env("ORDERDESK_AUTH__AUDIENCE", DEV_AUDIENCE)
            .env("ORDERDESK_SMS__PROVIDER", "log")
            .env("ORDERDESK_SMS__DISPATCHER", "false");
        command
    }

    fn start_api(&self, index: usize) -> anyhow::Result<Server> {
        start(self.api_command(index), self.ports.api[index], &self.dir.join(format!("api-{}.log", index + 1)))
    }

    fn token(&self) -> anyhow::Result<String> {
        let mut command = self.command();
        command
            .env("ORDERDESK_PROFILE", "dev")
            .env("ORDERDESK_SERVER__BIND", format!("127.0.0.1:{}", self.ports.issuer))
            .env("ORDERDESK_SERVER__DATA_DIR", self.dir.join("issuer"))
            .args(["token", "--expires-in", "900", "--subject", "deploy-check"]);
        let (status, output) = run_bounded(&mut command, "orderdesk token", COMMAND_LIMIT)?;
        ensure!(status.success(), "orderdesk token failed:\n{output}");
        output.lines().last().map(str::to_owned).context("orderdesk token printed nothing")
    }
}

fn start(mut command: Command, port: u16, log: &Path) -> anyhow::Result<Server> {
    let file = File::create(log)?;
    let child = command.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file).spawn()?;
    let server = Server { child };
    wait_until_ready(&http_client()?, &format!("http://127.0.0.1:{port}/readyz"), log)?;
    Ok(server)
}

fn wait_until_ready(client: &Client, url: &str, log: &Path) -> anyhow::Result<()> {
    let deadline = Instant::now() + READY_WITHIN;
    while Instant::now() < deadline {
        if client.get(url).send().is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{url} did not answer 200 within {READY_WITHIN:?}; see {}", log.display())
}

/// SIGTERM, as systemd stops a unit, then the graceful drain must end within `STOP_WITHIN`.
fn stop_gracefully(server: &mut Server, log: &Path) -> anyhow::Result<()> {
    let pid = server.child.id().to_string();
    let (status, output) = run_bounded(Command::new("kill").args(["-TERM", &pid]), "kill -TERM", COMMAND_LIMIT)?;
    ensure!(status.success(), "kill -TERM {pid} failed: {output}");
    let deadline = Instant::now() + STOP_WITHIN;
    while Instant::now() < deadline {
        if let Some(status) = server.child.try_wait()? {
            ensure!(status.success(), "the API process exited with {status} on SIGTERM; see {}", log.display());
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("the API process did not stop within {STOP_WITHIN:?} of SIGTERM")
}

/// What nginx itself must do: redirect plain HTTP, keep /metrics private, refuse large bodies.
fn check_edge(client: &Client, base: &str, http_port: u16) -> anyhow::Result<()> {
    let plain = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .no_proxy()
        .build()?;
    let response = plain.get(format!("http://127.0.0.1:{http_port}/api/v1/orders")).send()?;
    ensure!(response.status() == StatusCode::MOVED_PERMANENTLY, "plain HTTP answered {}", response.status());
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default();
    ensure!(location.starts_with("https://"), "plain HTTP redirects to {location:?}");

    let response = client.get(format!("{base}/metrics")).send()?;
    ensure!(response.status() == StatusCode::NOT_FOUND, "/metrics through nginx answered {}", response.status());
    let server = response.headers().get("server").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    ensure!(server == "nginx", "the Server header names a version: {server:?} (server_tokens off)");

    let big = "x".repeat(70_000);
    let response = client.post(format!("{base}/api/v1/customers")).body(big).send()?;
    ensure!(response.status() == StatusCode::PAYLOAD_TOO_LARGE, "a 70 kB body answered {}", response.status());
    Ok(())
}

/// The TLS edge offers no suite without forward secrecy (static RSA key exchange, anonymous or
/// null suites) and no protocol before TLS 1.2: each handshake below must fail. TLS 1.3 suites
/// are all forward-secret. The server certificate is RSA, so static-RSA suites could be offered
/// if the cipher list allowed them.
fn check_tls(port: u16) -> anyhow::Result<()> {
    let attempts: [(&str, &[&str]); 3] = [
        ("TLS 1.2 without forward secrecy", &["-tls1_2", "-cipher", "kRSA:aNULL:eNULL:kPSK:kSRP:@SECLEVEL=0"]),
        ("TLS 1.1", &["-tls1_1", "-cipher", "ALL:@SECLEVEL=0"]),
        ("a forward-secret TLS 1.2 suite", &["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"]),
    ];
    for (what, args) in attempts {
        let connect = format!("127.0.0.1:{port}");
        let mut command = Command::new("openssl");
        command.args(["s_client", "-connect", &connect, "-servername", "localhost"]).args(args);
        let (status, output) = run_bounded(&mut command, "openssl s_client", COMMAND_LIMIT)?;
        let negotiated = status.success() && output.contains("Cipher is") && !output.contains("Cipher is (NONE)");
        let should_work = what.starts_with("a forward-secret");
        ensure!(negotiated == should_work, "{what}: negotiated={negotiated}, expected {should_work}:\n{output}");
    }
    Ok(())
}

/// Creates a customer and an order, then reads the order back several times (nginx spreads
/// the reads over the processes). Returns the order's id.
fn exercise(client: &Client, base: &str, auth: &str, round: u32) -> anyhow::Result<String> {
    let customer = json!({"name": format!("Deploy Check {round}"), "code": format!("DEPLOY-{round}"),
        "phone": "0712 345 678"});
    let response =
        client.post(format!("{base}/api/v1/customers")).header("authorization", auth).json(&customer).send()?;
    let customer = created(response, "customer")?;
    let request_id = format!("deploy-check-{round}");
    let order = json!({"customer_id": customer["id"], "item": "Maize flour 2kg", "amount": "250.50"});
    let response = client
        .post(format!("{base}/api/v1/orders"))
        .header("authorization", auth)
        .header("x-request-id", &request_id)
        .json(&order)
        .send()?;
    let echoed = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    ensure!(echoed.as_deref() == Some(request_id.as_str()), "x-request-id came back as {echoed:?}");
    let order = created(response, "order")?;
    let id = order["id"].as_str().context("the order has no id")?.to_owned();
    for _ in 0..4 {
        let read = get_json(client, &format!("{base}/api/v1/orders/{id}"), auth)?;
        ensure!(read["id"] == id.as_str() && read["amount"] == "250.50", "the order reads back as {read}");
    }
    Ok(id)
}

fn created(response: reqwest::blocking::Response, what: &str) -> anyhow::Result<Value> {
    let status = response.status();
    let body = response.text()?;
    ensure!(status == StatusCode::CREATED, "creating a {what} answered {status}: {body}");
    Ok(serde_json::from_str(&body)?)
}

fn get_json(client: &Client, url: &str, auth: &str) -> anyhow::Result<Value> {
    let response = client.get(url).header("authorization", auth).send()?;
    let status = response.status();
    let body = response.text()?;
    ensure!(status == StatusCode::OK, "GET {url} answered {status}: {body}");
    Ok(serde_json::from_str(&body)?)
}

/// `$upstream_addr` of every request in the documented log format (the field before `request_id=`).
fn upstreams_in_access_log(dir: &Path) -> anyhow::Result<Vec<String>> {
    let log = std::fs::read_to_string(dir.join("orderdesk.access.log")).context("nginx wrote no access log")?;
    let mut seen: Vec<String> = log
        .lines()
        .filter_map(|line| line.split(" request_id=").next()?.rsplit(' ').next().map(str::to_owned))
        .filter(|addr| addr.starts_with("127.0.0.1:"))
        .collect();
    seen.sort();
    seen.dedup();
    Ok(seen)
}

struct Tls {
    ca: PathBuf,
    certificate: PathBuf,
    key: PathBuf,
}

/// A throwaway CA and a certificate for 127.0.0.1 signed by it (rustls refuses a CA
/// certificate used as the server's own).
fn make_certificate(dir: &Path) -> anyhow::Result<Tls> {
    let tls = dir.join("tls");
    std::fs::create_dir_all(&tls)?;
    let path = |name: &str| tls.join(name).display().to_string();
    std::fs::write(
        tls.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )?;
    let steps: [Vec<String>; 3] = [
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"]
            .into_iter()
            .map(str::to_owned)
            .chain(["-subj".into(), "/CN=orderdesk deploy-check CA".into(), "-keyout".into(), path("ca.key")])
            .chain(["-out".into(), path("ca.pem")])
            .collect(),
        // RSA, so a cipher list that allowed static-RSA key exchange would offer it (check_tls).
        ["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1"]
            .into_iter()
            .map(str::to_owned)
            .chain(["-keyout".into(), path("server.key"), "-out".into(), path("server.csr")])
            .collect(),
        ["x509", "-req", "-days", "2", "-in"]
            .into_iter()
            .map(str::to_owned)
            .chain([path("server.csr"), "-CA".into(), path("ca.pem"), "-CAkey".into(), path("ca.key")])
            .chain(["-CAcreateserial".into(), "-extfile".into(), path("server.ext"), "-out".into(), path("server.pem")])
            .collect(),
    ];
    for args in steps {
        let (status, output) = run_bounded(Command::new("openssl").args(&args), "openssl", COMMAND_LIMIT)
            .context("the openssl command line tool is needed for the certificate (apt-get install openssl)")?;
        ensure!(status.success(), "openssl {} failed:\n{output}", args.join(" "));
    }
    Ok(Tls { ca: tls.join("ca.pem"), certificate: tls.join("server.pem"), key: tls.join("server.key") })
}

fn https_client(ca: &Path) -> anyhow::Result<Client> {
    let ca = reqwest::Certificate::from_pem(&std::fs::read(ca)?)?;
    Ok(Client::builder().tls_certs_only([ca]).timeout(Duration::from_secs(15)).no_proxy().build()?)
}

/// The documented file with the test's ports and paths; each replaced text must be in it, so
/// the documentation cannot drift away from what is checked.
fn render_nginx(root: &Path, dir: &Path, ports: &Ports, tls: &Tls) -> anyhow::Result<PathBuf> {
    let documented = std::fs::read_to_string(root.join(NGINX_CONF))?;
    let replacements = [
        ("listen 443 ssl", format!("listen 127.0.0.1:{} ssl", ports.https)),
        ("listen 80;", format!("listen 127.0.0.1:{};", ports.http)),
        ("/etc/letsencrypt/live/api.example.com/fullchain.pem", tls.certificate.display().to_string()),
        ("/etc/letsencrypt/live/api.example.com/privkey.pem", tls.key.display().to_string()),
        ("/var/log/nginx/orderdesk.access.log", dir.join("orderdesk.access.log").display().to_string()),
        ("server 127.0.0.1:8081 ", format!("server 127.0.0.1:{} ", ports.api[0])),
        ("server 127.0.0.1:8082 ", format!("server 127.0.0.1:{} ", ports.api[1])),
    ];
    let mut rendered = documented.clone();
    for (from, to) in &replacements {
        ensure!(documented.contains(from), "{NGINX_CONF} no longer contains {from:?}; update xtask/src/deploy.rs");
        rendered = rendered.replace(from, to);
    }
    // IPv6 may be missing on the test machine; the IPv4 listeners carry the check.
    let rendered: String = rendered
        .lines()
        .filter(|line| !line.trim_start().starts_with("listen [::]"))
        .map(|l| format!("{l}\n"))
        .collect();
    let site = dir.join("orderdesk.conf");
    std::fs::write(&site, rendered)?;

    let temp = dir.join("nginx-temp");
    std::fs::create_dir_all(&temp)?;
    // As root nginx would hand its workers to `nobody`, who cannot read target/.
    let is_root = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self")?) == 0;
    let d = |name: &str| dir.join(name).display().to_string();
    let t = |name: &str| temp.join(name).display().to_string();
    let main = format!(
        "{user}worker_processes 1;\nworker_shutdown_timeout 5s;\npid {pid};\nerror_log {error} info;\ndaemon off;\n\
         events {{ worker_connections 256; }}\n\
         http {{\n    default_type application/octet-stream;\n    access_log {access};\n\
         \x20   client_body_temp_path {body};\n    proxy_temp_path {proxy};\n    fastcgi_temp_path {fastcgi};\n\
         \x20   uwsgi_temp_path {uwsgi};\n    scgi_temp_path {scgi};\n    include {site};\n}}\n",
        user = if is_root { "user root;\n" } else { "" },
        pid = d("nginx.pid"),
        error = d("nginx-error.log"),
        access = d("nginx-access.log"),
        body = t("body"),
        proxy = t("proxy"),
        fastcgi = t("fastcgi"),
        uwsgi = t("uwsgi"),
        scgi = t("scgi"),
        site = site.display(),
    );
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, main)?;
    Ok(conf)
}

/// nginx in the foreground as this user, with its own prefix, pid and logs; stopped on drop.
struct Nginx {
    binary: PathBuf,
    args: Vec<String>,
    child: Child,
}

impl Nginx {
    fn start(binary: &Path, dir: &Path, conf: &Path) -> anyhow::Result<Self> {
        let args: Vec<String> = vec![
            "-p".into(),
            dir.display().to_string(),
            "-e".into(),
            dir.join("nginx-error.log").display().to_string(),
            "-c".into(),
            conf.display().to_string(),
        ];
        let (status, output) = run_bounded(Command::new(binary).arg("-t").args(&args), "nginx -t", COMMAND_LIMIT)?;
        ensure!(status.success(), "nginx refuses the rendered {NGINX_CONF}:\n{output}");
        let log = File::create(dir.join("nginx-stderr.log"))?;
        let child = Command::new(binary)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start nginx")?;
        Ok(Self { binary: binary.to_owned(), args, child })
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // Graceful, then fast; SIGKILL on the master alone would leave its workers running.
        for signal in ["quit", "stop"] {
            let _ = run_bounded(
                Command::new(&self.binary).args(&self.args).args(["-s", signal]),
                "nginx -s",
                COMMAND_LIMIT,
            );
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            eprintln!("nginx did not stop on `nginx -s {signal}`");
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// nginx on the PATH or in /usr/sbin (not on a normal user's PATH); installed when missing.
fn nginx_binary() -> anyhow::Result<PathBuf> {
    let find = || {
        std::env::var_os("PATH")
            .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .chain([PathBuf::from("/usr/sbin")])
            .map(|dir| dir.join("nginx"))
            .find(|candidate| candidate.is_file())
    };
    if let Some(found) = find() {
        return Ok(found);
    }
    println!("nginx is missing; installing it: apt-get install -y nginx");
    let daemon_pid = Path::new("/run/nginx.pid");
    let was_running = daemon_pid.exists();
    let install = || {
        run_bounded(
            Command::new("apt-get").args(["install", "-y", "-qq", "nginx"]).env("DEBIAN_FRONTEND", "noninteractive"),
            "apt-get install nginx",
            INSTALL_LIMIT,
        )
    };
    let mut attempt = install();
    if !attempt.as_ref().is_ok_and(|(status, _)| status.success()) {
        // A fresh machine may have no package lists yet.
        let _ = run_bounded(Command::new("apt-get").args(["update", "-qq"]), "apt-get update", INSTALL_LIMIT);
        attempt = install();
    }
    let output = match attempt {
        Ok((status, output)) if status.success() => output,
        Ok((_, output)) => output,
        Err(error) => error.to_string(),
    };
    let Some(found) = find() else {
        bail!(
            "nginx is not installed and `apt-get install -y nginx` did not install it (it needs root and Debian \
             packages); install nginx and run `cargo xtask deploy-check` again:\n{output}"
        );
    };
    // The package starts the system's nginx on port 80 where it can; that one is not ours to keep.
    if !was_running && daemon_pid.exists() {
        let _ = run_bounded(Command::new(&found).args(["-s", "quit"]), "nginx -s quit", COMMAND_LIMIT);
    }
    Ok(found)
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

/// Runs a command with its output captured (stdout and stderr together), killed after `limit`.
fn run_bounded(command: &mut Command, what: &str, limit: Duration) -> anyhow::Result<(ExitStatus, String)> {
    let log = tempfile_path(what);
    let file = File::create(&log)?;
    let mut child = command.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file).spawn()?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_file(&log);
            bail!("{what} took longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    Ok((status, output))
}

fn tempfile_path(what: &str) -> PathBuf {
    let name: String = what.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    std::env::temp_dir().join(format!("orderdesk-deploy-check-{}-{name}.log", std::process::id()))
}
