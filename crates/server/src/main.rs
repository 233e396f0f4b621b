use clap::Parser;
use orderdesk_server::cli::{Cli, run};

/// mimalloc rather than glibc's malloc: cheaper per allocation on the request path (a get by id
/// took 245 µs of CPU against 300; docs/benchmarks.md, issue #18).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("orderdesk: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
