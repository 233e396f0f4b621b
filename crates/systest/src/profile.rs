//! `cargo xtask profile [--requests 300]`: instructions per request by layer, counted by
//! valgrind's callgrind (the same count for the same binary and inputs, whatever else the
//! machine is doing). The release server runs under callgrind on a throwaway PostgreSQL
//! database (SQLite without one) with production settings: rate limiting on with a limit
//! above the load, JSON access log at `info`, metrics, trace context, SMS to the log. Each
//! scenario sends `requests` requests one after another on one keep-alive connection after
//! a warm-up; every function's own instructions (inlined callees included, called functions
//! not) are summed per layer ([`layer_of`]) and divided by the requests. The SMS and webhook
//! dispatchers are off (`sms.dispatcher`, `webhooks.dispatcher = false`): under valgrind time
//! runs some fifty times slower, so their polling would be counted as request work. On
//! PostgreSQL the bare reference ([`crate::bench`]) is then profiled the same way on the same
//! database, each scenario's column beside orderdesk's. Writes the table to
//! target/systest/profile.md and keeps the callgrind files under target/systest/profile/.

mod layers;

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail, ensure};

use crate::api::{self, block_on};
use crate::cargo;
use crate::command::wait_until;
use crate::server::{Launch, Ready, free_port};
use crate::{Build, figures, postgres};

pub use layers::{LAYERS, layer_of};

/// What `cargo xtask profile` was asked for.
#[derive(Debug, Clone)]
pub struct Options {
    /// Requests per scenario, after the warm-up.
    pub requests: u32,
    /// Profile this server binary instead of building the release one (an earlier build,
    /// for a before/after table).
    pub binary: Option<PathBuf>,
}

/// One HTTP request of a scenario.
#[derive(Debug, Clone)]
struct Call {
    method: &'static str,
    path: String,
    body: Option<String>,
}

/// A scenario: its name and its `n`th request.
struct Scenario {
    name: &'static str,
    call: Box<dyn Fn(usize) -> Call>,
}

/// Instructions per layer of one scenario, per request.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    pub per_layer: BTreeMap<&'static str, f64>,
    pub total: f64,
    /// The costliest functions the layer table calls "other", for a closer look.
    pub unassigned: Vec<(String, f64)>,
}

/// Runs the profile and writes its table.
pub fn run(root: &Path, options: &Options) -> anyhow::Result<()> {
    ensure!(options.requests > 0, "--requests must be at least 1");
    require("valgrind")?;
    let binary = match &options.binary {
        Some(binary) => binary.clone(),
        None => cargo::server_binary(root, Build::Release)?,
    };
    let target = cargo::target_dir(root);
    let out = target.join("systest").join("profile");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    let scratch = std::env::temp_dir().join(format!("orderdesk-profile-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let admin = postgres::admin_url();
    let database = admin.as_deref().map(|url| postgres::TempDatabase::create(url, "profile")).transpose()?;
    let (db_name, url) = match &database {
        // Loopback: no TLS, as the bare reference connects (and as `cargo xtask bench` runs).
        Some(database) => ("PostgreSQL", postgres::without_tls(&database.url())),
        None => ("SQLite", format!("sqlite://{}", scratch.join("orderdesk.db").display())),
    };
    let result = profile_both(root, &binary, &scratch, &url, &out, options, database.is_some());
    let _ = std::fs::remove_dir_all(&scratch);
    let profiles = result?;
    let table = markdown(db_name, options, &profiles);
    println!("\n{table}");
    figures::write(&target, "profile", &table).map(drop)
}

/// orderdesk's scenarios under callgrind, then (on PostgreSQL) the bare reference's on the same
/// database, each scenario's figures side by side.
fn profile_both(
    root: &Path,
    binary: &Path,
    dir: &Path,
    url: &str,
    out: &Path,
    options: &Options,
    postgres: bool,
) -> anyhow::Result<Vec<(String, Profile)>> {
    let (launch, token, scenarios, orderdesk) = profile_orderdesk(binary, dir, url, out, options)?;
    if !postgres {
        return Ok(orderdesk.into_iter().map(|(name, p)| (name.to_owned(), p)).collect());
    }
    let reference = crate::bench::reference::build(root)?;
    let port = free_port()?;
    let (args, _) = crate::bench::reference::arguments(&launch, url, &token, port)?;
    let mut command = Command::new("valgrind");
    command.args(callgrind(out, "reference")).arg(&reference).args(args);
    let bare = measure(
        spawn(command, &dir.join("callgrind-reference.log"))?,
        port,
        &token,
        &scenarios,
        out,
        options.requests,
    )?;
    Ok(orderdesk
        .into_iter()
        .zip(bare)
        .flat_map(|((name, mine), (_, theirs))| [(name.to_owned(), mine), (format!("{name}, bare"), theirs)])
        .collect())
}

/// What profiling orderdesk leaves for the reference: the launch, its token and the scenarios.
type Profiled = (Launch, String, Vec<Scenario>, Vec<(&'static str, Profile)>);

/// orderdesk's scenarios under callgrind, after seeding the database without it.
fn profile_orderdesk(binary: &Path, dir: &Path, url: &str, out: &Path, options: &Options) -> anyhow::Result<Profiled> {
    let port = free_port()?;
    let launch = production_like(Launch::dev(binary, dir, url)).bind(port);
    let server = launch.spawn("seed", &[], Ready::Http(port))?;
    let token = server.token("profile")?;
    let client = api::client(&server.base_url(), &token)?;
    let customer = block_on(api::create_customer(&client, "PROFILE-1", "+254711000001"))?.id;
    let mut orders = Vec::new();
    for i in 0..50 {
        let answer = block_on(api::create_order(&client, customer, &format!("Seed {i}"), "99.90", None))?;
        orders.push(api::id_of(&api::created(answer)?));
    }
    drop(server);
    let scenarios = scenarios(orders, customer.to_string());
    let arguments = callgrind(out, "orderdesk");
    let wrapper: Vec<&str> = ["valgrind"].into_iter().chain(arguments.iter().map(String::as_str)).collect();
    let command = launch.clone().under(&wrapper).command(&[]);
    let profiles =
        measure(spawn(command, &dir.join("callgrind.log"))?, port, &token, &scenarios, out, options.requests)?;
    Ok((launch, token, scenarios, profiles))
}

/// valgrind's arguments: callgrind, counting only once switched on, its files `out/<name>.<pid>`.
fn callgrind(out: &Path, name: &str) -> [String; 3] {
    let file = format!("--callgrind-out-file={}", out.join(format!("{name}.%p")).display());
    ["--tool=callgrind".to_owned(), "--instr-atstart=no".to_owned(), file]
}

/// Starts `command` (valgrind and its program) with its output to `log`.
fn spawn(mut command: Command, log: &Path) -> anyhow::Result<Guard> {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log)?)
        .spawn()
        .context("cannot start valgrind")?;
    Ok(Guard(child))
}

/// Production's settings without the background dispatchers.
fn production_like(launch: Launch) -> Launch {
    launch.production_like().set("sms.dispatcher", "false").set("webhooks.dispatcher", "false")
}

fn scenarios(orders: Vec<String>, customer: String) -> Vec<Scenario> {
    vec![
        Scenario {
            name: "get order by id",
            call: Box::new(move |n| Call {
                method: "GET",
                path: format!("/api/v1/orders/{}", orders[n % orders.len()]),
                body: None,
            }),
        },
        Scenario {
            name: "list 50 orders",
            call: Box::new(|_| Call { method: "GET", path: "/api/v1/orders?limit=50".into(), body: None }),
        },
        Scenario {
            name: "create order",
            call: Box::new(move |n| Call {
                method: "POST",
                path: "/api/v1/orders".into(),
                body: Some(format!(r#"{{"customer_id":"{customer}","item":"Profile item {n}","amount":"250.50"}}"#)),
            }),
        },
    ]
}

/// Kills the process under valgrind when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Per scenario: warm up, dump (discarded), send `requests`, dump, and read that dump.
fn measure(
    mut server: Guard,
    port: u16,
    token: &str,
    scenarios: &[Scenario],
    out: &Path,
    requests: u32,
) -> anyhow::Result<Vec<(&'static str, Profile)>> {
    let pid = server.0.id().to_string();
    wait_until(
        Duration::from_secs(180),
        Duration::from_millis(200),
        "the server under valgrind did not listen",
        || {
            if let Some(status) = server.0.try_wait()? {
                bail!("valgrind exited with {status}");
            }
            Ok(TcpStream::connect(("127.0.0.1", port)).is_ok())
        },
    )?;
    callgrind_control(&["-i", "on", &pid])?;
    let base = format!("http://127.0.0.1:{port}");
    let http = api::http_builder(token)?.timeout(Duration::from_secs(120)).build()?;
    let mut profiles = Vec::new();
    for scenario in scenarios {
        send(&http, &base, scenario, 0..20)?;
        dump(&pid, out)?;
        let n = usize::try_from(requests)?;
        send(&http, &base, scenario, 20..20 + n)?;
        let file = dump(&pid, out)?;
        let profile = read_profile(&file, f64::from(requests))?;
        println!("{:<16} {:>10.0} instructions/request", scenario.name, profile.total);
        profiles.push((scenario.name, profile));
    }
    drop(server);
    Ok(profiles)
}

/// Sends the scenario's requests `range` one after another; each must succeed.
fn send(
    http: &orderdesk_client::reqwest::Client,
    base: &str,
    scenario: &Scenario,
    range: std::ops::Range<usize>,
) -> anyhow::Result<()> {
    block_on(async {
        for n in range {
            let call = (scenario.call)(n);
            let url = format!("{base}{}", call.path);
            let request = match call.body {
                Some(body) => http.post(&url).header("content-type", "application/json").body(body),
                None => http.get(&url),
            };
            let response = request.send().await.with_context(|| format!("{} {}", call.method, call.path))?;
            let status = response.status();
            let body = response.text().await?;
            ensure!(status.is_success(), "{} {} answered {status}: {body}", call.method, call.path);
        }
        Ok(())
    })
}

/// Asks callgrind to write its counts so far (and start again from zero); returns the new file.
fn dump(pid: &str, out: &Path) -> anyhow::Result<PathBuf> {
    let before = files(out)?;
    callgrind_control(&["-d", pid])?;
    let mut new = Vec::new();
    wait_until(Duration::from_secs(60), Duration::from_millis(100), "callgrind wrote no dump", || {
        new = files(out)?.into_iter().filter(|f| !before.contains(f)).collect();
        Ok(!new.is_empty())
    })?;
    // Written whole before callgrind_control returns; the name tells it from earlier ones.
    new.pop().context("no dump")
}

fn files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect::<Result<_, _>>()?;
    files.sort();
    Ok(files)
}

fn callgrind_control(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("callgrind_control").args(args).output().context("cannot run callgrind_control")?;
    ensure!(output.status.success(), "callgrind_control {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    Ok(())
}

/// Each function's own instructions from `callgrind_annotate`, summed per layer.
fn read_profile(file: &Path, requests: f64) -> anyhow::Result<Profile> {
    let output = Command::new("callgrind_annotate")
        .args(["--threshold=100", "--auto=no", "--show-percs=no", "--inclusive=no"])
        .arg(file)
        .output()
        .context("cannot run callgrind_annotate")?;
    ensure!(output.status.success(), "callgrind_annotate: {}", String::from_utf8_lossy(&output.stderr));
    let functions = parse_annotate(&String::from_utf8_lossy(&output.stdout));
    ensure!(!functions.is_empty(), "callgrind_annotate listed no function for {}", file.display());
    Ok(summarise(&functions, requests))
}

/// (instructions, function, object) for each line of `callgrind_annotate` output that has them.
fn parse_annotate(text: &str) -> Vec<(u64, String, String)> {
    text.lines()
        .filter_map(|line| {
            let (count, rest) = line.trim_start().split_once(' ')?;
            let count: u64 = count.replace(',', "").parse().ok()?;
            let rest = rest.trim();
            let (location, object) = match rest.rsplit_once(" [") {
                Some((location, object)) => (location, object.trim_end_matches(']')),
                None => (rest, ""),
            };
            let (_, function) = location.split_once(':')?;
            Some((count, function.to_owned(), object.to_owned()))
        })
        .collect()
}

/// A thread's entry frames: callgrind gives a thread started while instrumentation was off
/// (SQLite's connection workers) its whole cost as their own, counted again in its functions.
const THREAD_ENTRIES: [&str; 4] = ["clone", "start_thread", "::thread_start", "call_once{{vtable.shim}}"];

fn summarise(functions: &[(u64, String, String)], requests: f64) -> Profile {
    let mut profile = Profile::default();
    let mut other: BTreeMap<&str, u64> = BTreeMap::new();
    let entries = |f: &str| THREAD_ENTRIES.iter().any(|e| f == *e || (e.starts_with(':') && f.ends_with(e)));
    let counts: BTreeMap<u64, usize> =
        functions.iter().filter(|(_, f, _)| entries(f)).fold(BTreeMap::new(), |mut n, (c, _, _)| {
            *n.entry(*c).or_default() += 1;
            n
        });
    // The same count on every entry frame of a thread is that thread's total, not their own.
    let inflated = |count: &u64, function: &str| entries(function) && counts.get(count).is_some_and(|n| *n >= 3);
    for (count, function, object) in functions.iter().filter(|(c, f, _)| !inflated(c, f)) {
        let layer = layer_of(function, object);
        *profile.per_layer.entry(layer).or_default() += *count as f64 / requests;
        profile.total += *count as f64 / requests;
        if layer == layers::OTHER {
            *other.entry(function).or_default() += count;
        }
    }
    let mut other: Vec<(String, f64)> = other.into_iter().map(|(f, c)| (f.to_owned(), c as f64 / requests)).collect();
    other.sort_by(|a, b| b.1.total_cmp(&a.1));
    other.truncate(15);
    profile.unassigned = other;
    profile
}

fn markdown(db: &str, options: &Options, profiles: &[(String, Profile)]) -> String {
    let mut out = format!(
        "Run: `cargo xtask profile --requests {}{}` on {db}: instructions per request (callgrind, own \
         instructions of each function summed by layer; release build, production settings).\n\n",
        options.requests,
        options.binary.as_ref().map_or_else(String::new, |b| format!(" --binary {}", b.display())),
    );
    let header: Vec<String> =
        std::iter::once("Layer".to_owned()).chain(profiles.iter().map(|(name, _)| name.clone())).collect();
    out.push_str(&format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len())));
    for layer in LAYERS.iter().map(|(name, _)| *name).chain([layers::LIBC, layers::OTHER]) {
        let cells: Vec<String> = profiles
            .iter()
            .map(|(_, p)| p.per_layer.get(layer).map_or_else(|| "0".to_owned(), |n| format!("{n:.0}")))
            .collect();
        out.push_str(&format!("| {layer} | {} |\n", cells.join(" | ")));
    }
    let totals: Vec<String> = profiles.iter().map(|(_, p)| format!("**{:.0}**", p.total)).collect();
    out.push_str(&format!("| **total** | {} |\n", totals.join(" | ")));
    for (name, profile) in profiles {
        out.push_str(&format!("\nCostliest functions left in \"other\" ({name}):\n\n"));
        for (function, count) in profile.unassigned.iter().take(8) {
            out.push_str(&format!("- {count:.0} `{function}`\n"));
        }
    }
    out
}

fn require(tool: &str) -> anyhow::Result<()> {
    let runs = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    ensure!(runs, "{tool} is not installed: install it (`apt-get install {tool}`) and run again");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotate_lines_are_read() {
        let text = "--------\nIr\n--------\n12,345 (100.0%)  PROGRAM TOTALS\n\n\
                    1,000  ???:malloc [/usr/lib/x86_64-linux-gnu/libc.so.6]\n\
                    250  ???:poem::route::Route::call [/tmp/orderdesk]\n";
        let functions = parse_annotate(text);
        assert_eq!(
            functions,
            [
                (1000, "malloc".to_owned(), "/usr/lib/x86_64-linux-gnu/libc.so.6".to_owned()),
                (250, "poem::route::Route::call".to_owned(), "/tmp/orderdesk".to_owned()),
            ]
        );
    }

    #[test]
    fn a_threads_entry_frames_carrying_its_total_are_not_counted_twice() {
        let functions = [
            (500, "clone".to_owned(), "libc.so.6".to_owned()),
            (500, "start_thread".to_owned(), "libc.so.6".to_owned()),
            (500, "<std::sys::thread::unix::Thread>::new::thread_start".to_owned(), "x".to_owned()),
            (500, "sqlite3VdbeExec".to_owned(), "x".to_owned()),
            (7, "core::ops::function::FnOnce::call_once{{vtable.shim}}".to_owned(), "x".to_owned()),
        ];
        assert_eq!(summarise(&functions, 1.0).total, 507.0);
    }

    #[test]
    fn layers_are_summed_per_request() {
        let functions = [
            (1000, "malloc".to_owned(), "libc.so.6".to_owned()),
            (500, "serde_json::ser::format_escaped_str".to_owned(), "x".to_owned()),
            (100, "mystery".to_owned(), "x".to_owned()),
        ];
        let profile = summarise(&functions, 10.0);
        assert_eq!(profile.total, 160.0);
        assert_eq!(profile.per_layer[layer_of("malloc", "libc.so.6")], 100.0);
        assert_eq!(profile.unassigned, [("mystery".to_owned(), 10.0)]);
    }
}
