//! nginx for the deploy check: the documented `docs/deploy/nginx.conf` rendered with test ports
//! and a certificate made on the fly, run in the foreground as this user. nginx itself is
//! installed by `.ci/run` and the CI workflow, never here.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

use crate::command::{COMMAND_LIMIT, run_bounded, run_checked};

pub const NGINX_CONF: &str = "docs/deploy/nginx.conf";

/// The ports of the deployment under test.
pub struct Ports {
    pub issuer: u16,
    pub api: [u16; 2],
    pub https: u16,
    pub http: u16,
}

/// nginx on the PATH or in /usr/sbin (not on a normal user's PATH).
pub fn binary() -> anyhow::Result<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
        .context("nginx is not installed: install it (`apt-get install nginx`, as .ci/run does) and run again")
}

/// The test CA and the server's certificate and key.
pub struct Tls {
    pub ca: PathBuf,
    pub certificate: PathBuf,
    pub key: PathBuf,
}

/// A throwaway CA and a certificate for 127.0.0.1 signed by it (rustls refuses a CA
/// certificate used as the server's own).
pub fn make_certificate(dir: &Path) -> anyhow::Result<Tls> {
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
        run_checked(Command::new("openssl").args(&args), "openssl")
            .context("the openssl command line tool makes the certificate (apt-get install openssl)")?;
    }
    Ok(Tls { ca: tls.join("ca.pem"), certificate: tls.join("server.pem"), key: tls.join("server.key") })
}

/// The documented file with the test's ports and paths; each replaced text must be in it, so
/// the documentation cannot drift away from what is checked.
pub fn render(root: &Path, dir: &Path, ports: &Ports, tls: &Tls) -> anyhow::Result<PathBuf> {
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
        ensure!(
            documented.contains(from),
            "{NGINX_CONF} no longer contains {from:?}; update crates/systest/src/nginx.rs"
        );
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
pub struct Nginx {
    binary: PathBuf,
    args: Vec<String>,
    child: Child,
}

impl Nginx {
    pub fn start(binary: &Path, dir: &Path, conf: &Path) -> anyhow::Result<Self> {
        let args: Vec<String> = vec![
            "-p".into(),
            dir.display().to_string(),
            "-e".into(),
            dir.join("nginx-error.log").display().to_string(),
            "-c".into(),
            conf.display().to_string(),
        ];
        run_checked(Command::new(binary).arg("-t").args(&args), "nginx -t")
            .with_context(|| format!("nginx refuses the rendered {NGINX_CONF}"))?;
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

/// The TLS edge offers no suite without forward secrecy (static RSA key exchange, anonymous or
/// null suites) and no protocol before TLS 1.2: each handshake below must fail. TLS 1.3 suites
/// are all forward-secret. The server certificate is RSA, so static-RSA suites could be offered
/// if the cipher list allowed them.
pub fn check_tls(port: u16) -> anyhow::Result<()> {
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

/// `$upstream_addr` of every request in the documented log format (the field before `request_id=`).
pub fn upstreams_in_access_log(dir: &Path) -> anyhow::Result<Vec<String>> {
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
