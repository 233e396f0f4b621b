//! One `orderdesk` process as the checks run it: [`Launch`] says how (binary, directory,
//! profile, settings), [`ServerProcess`] is the running process (ready on `/readyz` or on its
//! log lines, with its token, stopped with SIGTERM or killed with SIGKILL, its log kept).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::api::{self, block_on};
use crate::command::{run_checked, wait_until};

/// How long a process may take to become ready.
pub const READY_WITHIN: Duration = Duration::from_secs(60);

/// A free port on 127.0.0.1 (free when asked; the server binds it soon after).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The environment variable of a setting: `sms.africastalking.base_url` is
/// `ORDERDESK_SMS__AFRICASTALKING__BASE_URL`.
pub fn variable(setting: &str) -> String {
    format!("ORDERDESK_{}", setting.replace('.', "__").to_ascii_uppercase())
}

/// How to start `orderdesk`: its binary, working directory, profile and settings (as
/// `ORDERDESK_*` variables). Nothing is inherited from `RUST_LOG`, `DATABASE_URL` or
/// `ORDERDESK_CONFIG_DIR` (built-in profiles only); logs are JSON at `warn`; data is under
/// `dir/data`. A later setting of the same name wins.
#[derive(Debug, Clone)]
pub struct Launch {
    binary: PathBuf,
    dir: PathBuf,
    /// Variables in order; `None` removes one.
    env: Vec<(String, Option<String>)>,
    /// A program the binary runs under (`valgrind --tool=callgrind`), with its arguments.
    wrapper: Vec<String>,
}

impl Launch {
    /// `binary` in `dir` with the profile `profile` (`dev`, `production`).
    pub fn new(binary: &Path, dir: &Path, profile: &str) -> Self {
        let env = ["RUST_LOG", "DATABASE_URL", "ORDERDESK_CONFIG_DIR"].map(|name| (name.to_owned(), None));
        Self { binary: binary.to_owned(), dir: dir.to_owned(), env: env.to_vec(), wrapper: Vec::new() }
            .env("ORDERDESK_PROFILE", profile)
            .set("server.data_dir", dir.join("data").display())
            .set("log.format", "json")
            .set("log.filter", "warn")
    }

    /// The dev profile on `database_url` with rate limiting off: what most checks run.
    pub fn dev(binary: &Path, dir: &Path, database_url: &str) -> Self {
        Self::new(binary, dir, "dev").set("database.url", database_url).set("rate_limit.enabled", "false")
    }

    /// What production runs with for the benchmarks: rate limiting on (with a limit no load
    /// here reaches), the JSON access log at `info`, metrics, SMS to the log, and loopback as a
    /// trusted proxy (as behind the documented nginx), so the load generator's connections
    /// from one address are not capped by `server.max_connections_per_client`.
    pub fn production_like(self) -> Self {
        self.set("server.trusted_proxies", "127.0.0.1")
            .set("rate_limit.enabled", "true")
            .set("rate_limit.requests_per_second", 1_000_000)
            .set("rate_limit.burst", 1_000_000)
            .set("log.format", "json")
            .set("log.filter", "info")
            .set("metrics.enabled", "true")
            .set("sms.provider", "log")
    }

    /// Sets the setting `name` (dotted, as in the settings file).
    pub fn set(self, name: &str, value: impl std::fmt::Display) -> Self {
        self.env(&variable(name), value)
    }

    /// Leaves the setting `name` at the profile's default.
    pub fn unset(mut self, name: &str) -> Self {
        self.env.push((variable(name), None));
        self
    }

    /// Sets the environment variable `name` itself (`MALLOC_ARENA_MAX`, `ORDERDESK_CONFIG_DIR`).
    pub fn env(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.env.push((name.to_owned(), Some(value.to_string())));
        self
    }

    /// Leaves the environment variable `name` out (`MALLOC_ARENA_MAX`).
    pub fn env_remove(mut self, name: &str) -> Self {
        self.env.push((name.to_owned(), None));
        self
    }

    /// Binds the HTTP listener to 127.0.0.1:`port`.
    pub fn bind(self, port: u16) -> Self {
        self.set("server.bind", format!("127.0.0.1:{port}"))
    }

    /// The value the setting `name` will have, if this launch sets it.
    pub fn get(&self, name: &str) -> Option<&str> {
        let variable = variable(name);
        self.env.iter().rev().find(|(n, _)| *n == variable).and_then(|(_, value)| value.as_deref())
    }

    /// The working directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs the binary under `wrapper` (its program first, then its arguments), e.g.
    /// `["valgrind", "--tool=callgrind"]`; commands such as [`Self::token`] run under it too.
    pub fn under(mut self, wrapper: &[&str]) -> Self {
        self.wrapper = wrapper.iter().map(|part| (*part).to_owned()).collect();
        self
    }

    /// `orderdesk <args>` with this environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = match self.wrapper.split_first() {
            Some((program, wrapper_args)) => {
                let mut command = Command::new(program);
                command.args(wrapper_args).arg(&self.binary);
                command
            }
            None => Command::new(&self.binary),
        };
        command.current_dir(&self.dir).args(args);
        for (name, value) in &self.env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        command
    }

    /// Runs `orderdesk <args>` to completion (within a minute) and returns its output.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        run_checked(&mut self.command(args), &format!("orderdesk {}", args.join(" ")))
    }

    /// A dev-issuer access token for `subject`, valid for an hour (`orderdesk token`): the
    /// issuer's key is under this launch's data directory, so mint it with the same settings.
    pub fn token(&self, subject: &str) -> anyhow::Result<String> {
        let output = self.run(&["token", "--expires-in", "3600", "--subject", subject])?;
        output.lines().last().map(str::to_owned).context("orderdesk token printed nothing")
    }

    /// Starts `orderdesk <args>` (`serve` when empty), logging to `dir/<name>.log`, and waits
    /// until it is ready as `ready` says.
    pub fn spawn(&self, name: &str, args: &[&str], ready: Ready) -> anyhow::Result<ServerProcess> {
        let log = self.dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let started = Instant::now();
        let child = self
            .command(args)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        let port = match &ready {
            Ready::Http(port) => Some(*port),
            Ready::LogLines(_) => None,
        };
        let launch = match port {
            Some(port) => self.clone().bind(port),
            None => self.clone(),
        };
        let mut process = ServerProcess { child, name: name.to_owned(), log, launch, port, ready_after: None };
        process.wait_ready(&ready)?;
        process.ready_after = Some(started.elapsed());
        Ok(process)
    }

    /// Starts `orderdesk serve` on a free port and waits for `/readyz`.
    pub fn serve(self, name: &str) -> anyhow::Result<ServerProcess> {
        let port = free_port()?;
        self.bind(port).spawn(name, &[], Ready::Http(port))
    }
}

/// When a started process counts as ready.
#[derive(Debug, Clone)]
pub enum Ready {
    /// `GET http://127.0.0.1:<port>/readyz` answers 200.
    Http(u16),
    /// Its log holds every one of these lines (a process without HTTP: `orderdesk dispatch`).
    LogLines(&'static [&'static str]),
}

/// A running `orderdesk` process; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    child: Child,
    name: String,
    log: PathBuf,
    launch: Launch,
    port: Option<u16>,
    ready_after: Option<Duration>,
}

impl ServerProcess {
    fn wait_ready(&mut self, ready: &Ready) -> anyhow::Result<()> {
        let failed = format!("{} did not become ready; see {}", self.name, self.log.display());
        wait_until(READY_WITHIN, Duration::from_millis(20), &failed, || {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited with {status} before it was ready; see {}", self.name, self.log.display());
            }
            Ok(match ready {
                Ready::Http(port) => block_on(api::is_ready(&format!("http://127.0.0.1:{port}"))),
                Ready::LogLines(lines) => {
                    let log = self.log();
                    lines.iter().all(|line| log.contains(line))
                }
            })
        })
    }

    /// `http://127.0.0.1:<port>` of its HTTP listener.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.launch.get("server.bind").unwrap_or("127.0.0.1:8080"))
    }

    /// Kills it (SIGKILL); [`Killed::restart`] starts it again.
    pub fn kill(self) -> Killed {
        let (launch, port) = (self.launch.clone(), self.port);
        drop(self);
        Killed { launch, port }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How long it took from spawn to ready.
    pub fn ready_after(&self) -> Duration {
        self.ready_after.unwrap_or_default()
    }

    /// How it was started (with its port).
    pub fn launch(&self) -> &Launch {
        &self.launch
    }

    /// A token from its dev issuer ([`Launch::token`]).
    pub fn token(&self, subject: &str) -> anyhow::Result<String> {
        self.launch.token(subject)
    }

    /// A typed API client for it, with a token for `subject`.
    pub fn client(&self, subject: &str) -> anyhow::Result<orderdesk_client::Client> {
        api::client(&self.base_url(), &self.token(subject)?)
    }

    /// What it has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Where it logs.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// SIGTERM, as systemd stops a unit; it must exit successfully within `within`.
    pub fn stop(mut self, within: Duration) -> anyhow::Result<()> {
        run_checked(Command::new("kill").args(["-TERM", &self.pid().to_string()]), "kill -TERM")?;
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                ensure!(status.success(), "{} exited with {status} on SIGTERM; see {}", self.name, self.log.display());
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("{} did not stop within {within:?} of SIGTERM", self.name)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process killed with [`ServerProcess::kill`].
pub struct Killed {
    launch: Launch,
    port: Option<u16>,
}

impl Killed {
    /// Starts it again as `name` with the same settings and port, so clients and their tokens
    /// stay valid.
    pub fn restart(&self, name: &str) -> anyhow::Result<ServerProcess> {
        match self.port {
            Some(port) => self.launch.spawn(name, &[], Ready::Http(port)),
            None => bail!("{name}: only a process with an HTTP listener is restarted"),
        }
    }
}

/// Runs `orderdesk migrate` as its own step (the processes then start with
/// `database.migrate_on_start = false`).
pub fn migrate(launch: &Launch) -> anyhow::Result<()> {
    launch.run(&["migrate"]).map(drop)
}

/// A scratch directory for one check's run, kept when the run fails (its logs are there).
pub struct Scratch(pub PathBuf);

impl Scratch {
    /// `$TMPDIR/orderdesk-<check>-<pid>`, created empty.
    pub fn new(check: &str) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("orderdesk-{check}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self(dir))
    }

    /// A subdirectory, created.
    pub fn sub(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.0.join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Removes the directory when `result` is a success; says where the logs are otherwise.
    pub fn finish<T>(self, result: anyhow::Result<T>) -> anyhow::Result<T> {
        match &result {
            Ok(_) => {
                let _ = std::fs::remove_dir_all(&self.0);
            }
            Err(_) => eprintln!("logs kept in {}", self.0.display()),
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_become_orderdesk_variables() {
        assert_eq!(variable("sms.africastalking.base_url"), "ORDERDESK_SMS__AFRICASTALKING__BASE_URL");
        assert_eq!(variable("server.bind"), "ORDERDESK_SERVER__BIND");
    }

    #[test]
    fn a_later_setting_wins_and_unset_removes() {
        let launch = Launch::dev(Path::new("/bin/orderdesk"), Path::new("/tmp/x"), "sqlite://x.db")
            .set("log.filter", "info")
            .bind(9000);
        assert_eq!(launch.get("log.filter"), Some("info"));
        assert_eq!(launch.get("server.bind"), Some("127.0.0.1:9000"));
        assert_eq!(launch.get("server.data_dir"), Some("/tmp/x/data"));
        let command = launch.clone().unset("log.filter").command(&["token"]);
        let envs: Vec<_> = command.get_envs().collect();
        let last = |name: &str| envs.iter().rev().find(|(n, _)| *n == name).map(|(_, v)| *v);
        assert_eq!(last("ORDERDESK_LOG__FILTER"), Some(None));
        assert_eq!(last("ORDERDESK_PROFILE"), Some(Some(std::ffi::OsStr::new("dev"))));
        assert_eq!(last("RUST_LOG"), Some(None));
        assert_eq!(command.get_args().collect::<Vec<_>>(), ["token"]);
    }

    #[test]
    fn a_process_that_exits_is_not_ready_and_its_log_is_named() {
        let dir = Scratch::new("server-test").unwrap();
        let launch = Launch::new(Path::new("/bin/sh"), &dir.0, "dev");
        let error = launch.spawn("sh", &["-c", "echo started; exit 3"], Ready::LogLines(&["never"])).err().unwrap();
        assert!(error.to_string().contains("exited with"), "{error}");
        let ready = launch.spawn("sh2", &["-c", "echo listening; sleep 30"], Ready::LogLines(&["listening"])).unwrap();
        assert!(ready.log().contains("listening"));
        drop(ready);
        dir.finish(Ok(())).unwrap();
    }

    #[test]
    fn a_port_is_free_and_the_base_url_follows_the_bind() {
        let port = free_port().unwrap();
        assert!(TcpListener::bind(("127.0.0.1", port)).is_ok());
    }
}
