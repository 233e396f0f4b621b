use clap::Parser;
use orderdesk_server::cli::{Cli, run};

/// mimalloc rather than glibc's malloc: cheaper per allocation on the request path (a get by id
/// took 245 µs of CPU against 300; docs/benchmarks.md, issue #18).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// How many tasks a tokio worker polls from its own queue before it looks at the shared one.
/// Tasks woken from outside the runtime (a SQLite connection's worker thread handing back a
/// statement's result) wait in the shared queue; under load tokio's default of 61 polls kept
/// a SQLite write transaction, and with it the write lock, waiting there between statements
/// (docs/benchmarks.md, "SQLite: one writer").
const GLOBAL_QUEUE_INTERVAL: u32 = 8;

fn main() -> std::process::ExitCode {
    orderdesk_server::allocator::purge_freed_memory_at_once();
    let cli = Cli::parse();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().global_queue_interval(GLOBAL_QUEUE_INTERVAL).build();
    let outcome = match runtime {
        Ok(runtime) => runtime.block_on(run(cli)),
        Err(error) => Err(error.into()),
    };
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("orderdesk: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
