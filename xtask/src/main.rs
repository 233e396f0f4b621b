//! `cargo xtask <command>`: developer commands. The system checks live in `orderdesk-systest`;
//! each command here parses its arguments (clap) and calls library code.

mod tasks;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use orderdesk_systest::{Build, bench, clients, crash, deploy, export_memory, fuzz, profile, scale};

/// Developer commands for orderdesk. The system checks write their figures under
/// target/systest/; copy them into docs/ when you mean to.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build and run the server with dev settings (`orderdesk serve`, ORDERDESK_PROFILE=dev) on
    /// http://127.0.0.1:8080.
    Dev,
    /// Run .ci/run, exactly what CI runs (needs PostgreSQL; installs missing system packages).
    Ci,
    /// The dev database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Line coverage of the workspace (cargo-llvm-cov, installed when missing); HTML under
    /// target/llvm-cov/html, summary printed.
    Coverage,
    /// Write docs/openapi.json from the code.
    Openapi {
        /// Fail if docs/openapi.json differs from the code instead.
        #[arg(long)]
        check: bool,
    },
    /// Check the dependency rule between the workspace crates.
    Deps,
    /// Check the domain crate as others embed it: run its examples, build its docs with missing
    /// docs denied, and package it.
    Domain,
    /// Print a dev access token (`orderdesk token`; e.g. `-- --permissions read:orders`).
    Token {
        /// Passed to `orderdesk token`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// The release server under wrk load, and the database's own limit (pgbench / a direct
    /// SQLite loop); table to target/systest/bench.md. Needs wrk (and pgbench for PostgreSQL).
    Bench(BenchArgs),
    /// Instructions per request by layer (valgrind's callgrind) for get by id, list 50 and
    /// create order on the release server with production settings; table to
    /// target/systest/profile.md, callgrind files under target/systest/profile/. Needs valgrind.
    Profile {
        /// Requests per scenario after the warm-up.
        #[arg(long, default_value_t = 300)]
        requests: u32,
        /// Profile this server binary instead of building the release one.
        #[arg(long)]
        binary: Option<PathBuf>,
    },
    /// Kill the server (SIGKILL) under concurrent order creation, restart it, check no order or
    /// SMS is lost or doubled (SQLite, and PostgreSQL with ORDERDESK_TEST_POSTGRES_URL); figures
    /// to target/systest/crash-test.md.
    CrashTest(BuildArgs),
    /// Two API processes and `orderdesk dispatch` on one PostgreSQL (ORDERDESK_TEST_POSTGRES_URL;
    /// skipped without it): LISTEN/NOTIFY wake-up, SIGKILL of an API process and a dispatcher
    /// under load, nothing lost or doubled; figures to target/systest/scale-test.md.
    ScaleTest(BuildArgs),
    /// nginx with TLS (docs/deploy/nginx.conf) in front of two orderdesk processes; HTTPS calls
    /// survive stopping one; systemd units verified. Needs nginx and openssl installed.
    DeployCheck,
    /// Regenerate the Rust and TypeScript clients and run their life cycles, then the Postman
    /// collection (docs/postman) with newman, on one real server.
    Clients,
    /// Seed 100,000 orders (SQLite; PostgreSQL too with ORDERDESK_TEST_POSTGRES_URL), stream their
    /// CSV export while sampling the server's VmRSS; fails unless memory stays flat; figures to
    /// target/systest/export-memory.md.
    ExportMemory(BuildArgs),
    /// schemathesis (pinned, in a venv under target/) against the debug server: no 5xx, no answer
    /// the document contradicts, no forbidden request accepted; figures to
    /// target/systest/fuzz-api.md.
    FuzzApi,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Delete the dev database and migrate it again: a SQLite file is deleted after you confirm
    /// (or with --yes); PostgreSQL needs --yes and then drops and recreates the schema `public`.
    Reset {
        /// Do not ask.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, clap::Args)]
struct BuildArgs {
    /// Run the optimised build instead of the test suite's debug build.
    #[arg(long)]
    release: bool,
}

impl BuildArgs {
    fn build(&self) -> Build {
        if self.release { Build::Release } else { Build::Debug }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Database {
    Sqlite,
    Postgres,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// Only this database (default: both when PostgreSQL is reachable, else SQLite).
    #[arg(long, value_enum)]
    db: Option<Database>,
    /// How long each scenario runs (e.g. 10s).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// wrk connections, one run of every scenario each (e.g. 32,64; at least 2).
    #[arg(long, value_delimiter = ',', default_value = "32")]
    connections: Vec<u32>,
    /// Also run the criterion benchmark of token verification.
    #[arg(long)]
    criterion: bool,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    bench::parse_duration(text).map_err(|e| e.to_string())
}

fn main() -> anyhow::Result<()> {
    let root = workspace_root();
    let root = root.as_path();
    match Cli::parse().command {
        Command::Dev => tasks::dev(root),
        Command::Ci => tasks::ci(root),
        Command::Db { command: DbCommand::Reset { yes } } => tasks::reset_database(root, yes),
        Command::Coverage => tasks::coverage(root),
        Command::Openapi { check: false } => tasks::write_openapi(root),
        Command::Openapi { check: true } => tasks::check_openapi(root),
        Command::Deps => tasks::check_dependency_rule(root),
        Command::Domain => tasks::check_domain_crate(root),
        Command::Token { args } => tasks::run_server_command(root, "token", &args),
        Command::Bench(args) => bench::run(root, &bench_options(args)),
        Command::Profile { requests, binary } => profile::run(root, &profile::Options { requests, binary }),
        Command::CrashTest(args) => crash::run(root, args.build()),
        Command::ScaleTest(args) => scale::run(root, args.build()),
        Command::DeployCheck => deploy::run(root),
        Command::Clients => clients::run(root),
        Command::ExportMemory(args) => export_memory::run(root, args.build()),
        Command::FuzzApi => fuzz::run(root),
    }
}

fn bench_options(args: BenchArgs) -> bench::Options {
    let db = args.db.map(|db| match db {
        Database::Sqlite => bench::Db::Sqlite,
        Database::Postgres => bench::Db::Postgres,
    });
    bench::Options { db, duration: args.duration, connections: args.connections, criterion: args.criterion }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_well_formed_and_every_command_has_help() {
        Cli::command().debug_assert();
        for command in Cli::command().get_subcommands() {
            assert!(command.get_about().is_some(), "no help for {}", command.get_name());
        }
    }

    #[test]
    fn commands_parse() {
        let cli =
            Cli::try_parse_from(["xtask", "bench", "--db", "postgres", "--duration", "3s", "--connections", "32,64"]);
        let Command::Bench(args) = cli.unwrap().command else { panic!("not bench") };
        let options = bench_options(args);
        assert_eq!((options.duration, options.connections), (Duration::from_secs(3), vec![32, 64]));
        assert!(matches!(options.db, Some(bench::Db::Postgres)));
        let cli = Cli::try_parse_from(["xtask", "crash-test", "--release"]).unwrap();
        assert!(matches!(cli.command, Command::CrashTest(BuildArgs { release: true })));
        let cli = Cli::try_parse_from(["xtask", "token", "--permissions", "read:orders"]).unwrap();
        assert!(matches!(cli.command, Command::Token { args } if args == ["--permissions", "read:orders"]));
        assert!(Cli::try_parse_from(["xtask", "db", "reset", "--yes"]).is_ok());
        assert!(Cli::try_parse_from(["xtask", "bench", "--db", "mysql"]).is_err());
        assert!(Cli::try_parse_from(["xtask", "nope"]).is_err());
    }
}
