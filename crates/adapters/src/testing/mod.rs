//! Test support for this and other crates' tests (feature `test-support`): throwaway
//! databases, a fake Auth0 tenant and metrics that keep their counts.

pub mod africastalking;
pub mod auth0;
pub mod database;
pub mod recording;

pub use database::{Backend, POSTGRES_URL_VAR, TestDatabase, backends, on_each_backend, with_database};
pub use recording::RecordingMetrics;
