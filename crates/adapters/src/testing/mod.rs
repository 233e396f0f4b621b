//! Test support for this and other crates' tests (feature `test-support`): throwaway
//! databases and a fake Auth0 tenant.

pub mod africastalking;
pub mod auth0;
pub mod database;

pub use database::{Backend, POSTGRES_URL_VAR, TestDatabase, backends, on_each_backend, with_database};
