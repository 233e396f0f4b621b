//! The system checks of orderdesk, run against the real `orderdesk` binary on 127.0.0.1:
//! `cargo xtask <check>` calls one of the `run` functions below. What they share lives here
//! once: the binary ([`cargo`]), a server process ([`server`]), the fake Africa's Talking
//! ([`fake`]), throwaway PostgreSQL databases ([`postgres`]), typed API calls through
//! `orderdesk-client` ([`api`]), bounded commands ([`command`]) and where figures go
//! ([`figures`]).

pub mod api;
pub mod bench;
pub mod cargo;
pub mod clients;
pub mod command;
pub mod crash;
pub mod deploy;
pub mod export_memory;
pub mod fake;
pub mod figures;
pub mod fuzz;
pub mod load;
mod nginx;
pub mod postgres;
mod postman;
pub mod profile;
pub mod scale;
pub mod server;

pub use cargo::Build;
