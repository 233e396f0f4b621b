//! The bare reference of `cargo xtask bench` (docs/benchmarks.md, "The bare reference"): the
//! three hot paths of orderdesk's API with nothing around them, so that the bench can show what
//! orderdesk's layers cost on the same database, load and machine.
//!
//! ```text
//! reference --database-url URL --bind 127.0.0.1:PORT --token TOKEN --max-connections N \
//!           --cursor-secret-file DATA_DIR/cookie-secret
//! ```
//!
//! - `GET /api/v1/orders/{id}`, `GET /api/v1/orders?limit=N` (first page only) and
//!   `POST /api/v1/orders` (`{"customer_id","item","amount"}`, the default currency);
//! - `Authorization` must be exactly `Bearer TOKEN` (a string compare), else 401;
//! - the SQL is orderdesk's, statement for statement, in the same order and transactions,
//!   bound as prepared statements the way sqlx binds them for sea-orm ([`orders`]);
//! - the JSON is orderdesk's, byte for byte for the same row, with its `ETag` and `Location`;
//!   errors are bare status codes (the bench counts only successes).
//!
//! The pool is configured as orderdesk configures its own (`database.max_connections`,
//! `min_connections(0)`, a 5 s acquire timeout, sqlx's ping before each acquire), and the tokio
//! runtime has orderdesk's shape (`#[tokio::main]`: one worker per core).

mod orders;
mod poem_variants;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

/// What every handler shares.
struct App {
    pool: PgPool,
    /// The whole expected `Authorization` value: `Bearer <token>`.
    authorization: String,
    /// The key list cursors are signed with (derived as orderdesk derives it).
    cursor_key: [u8; 32],
}

type Shared = State<Arc<App>>;

/// The command line.
#[derive(Debug)]
struct Args {
    database_url: String,
    bind: SocketAddr,
    token: String,
    max_connections: u32,
    cursor_secret_file: PathBuf,
    /// `axum` (every route; the default), `poem` or `poem-openapi` (get by id only).
    framework: String,
}

const USAGE: &str = "usage: reference --database-url URL --bind 127.0.0.1:PORT --token TOKEN \
                     --max-connections N --cursor-secret-file PATH [--framework axum|poem|poem-openapi]";

/// Reads `--name value` pairs; every option is required, none may repeat.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Args, String> {
    let mut pairs = std::collections::HashMap::new();
    let mut args = args.into_iter();
    while let Some(name) = args.next() {
        let value = args.next().ok_or_else(|| format!("{name} needs a value"))?;
        if pairs.insert(name.clone(), value).is_some() {
            return Err(format!("{name} given twice"));
        }
    }
    let mut take = |name: &str| pairs.remove(name).ok_or_else(|| format!("{name} is missing"));
    let parsed = Args {
        database_url: take("--database-url")?,
        bind: take("--bind")?.parse().map_err(|e| format!("--bind: {e}"))?,
        token: take("--token")?,
        max_connections: take("--max-connections")?.parse().map_err(|e| format!("--max-connections: {e}"))?,
        cursor_secret_file: take("--cursor-secret-file")?.into(),
        framework: pairs.remove("--framework").unwrap_or_else(|| "axum".into()),
    };
    match pairs.keys().next() {
        Some(unknown) => Err(format!("unknown option {unknown}")),
        None if parsed.max_connections == 0 => Err("--max-connections must be at least 1".into()),
        None if !["axum", "poem", "poem-openapi"].contains(&parsed.framework.as_str()) => {
            Err(format!("--framework: {} is not axum, poem or poem-openapi", parsed.framework))
        }
        None => Ok(parsed),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("reference: {error}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match serve(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("reference: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Connects the pool, binds, and serves until killed.
async fn serve(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::fs::read(&args.cursor_secret_file)
        .map_err(|e| format!("cannot read {}: {e}", args.cursor_secret_file.display()))?;
    // As orderdesk's `db::connect` through sea-orm's `ConnectOptions` (whose
    // `test_before_acquire` is on, as it is here by default).
    let pool = PgPoolOptions::new()
        .max_connections(args.max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(5))
        .connect(&args.database_url)
        .await?;
    let app = Arc::new(App {
        pool,
        authorization: format!("Bearer {}", args.token),
        cursor_key: orders::cursor_key(&secret),
    });
    match args.framework.as_str() {
        "poem" => return Ok(poem_variants::serve_poem(app, args.bind).await?),
        "poem-openapi" => return Ok(poem_variants::serve_poem_openapi(app, args.bind).await?),
        _ => {}
    }
    let router = Router::new()
        .route("/api/v1/orders", get(list_orders).post(create_order))
        .route("/api/v1/orders/{id}", get(get_order))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(args.bind).await?;
    axum::serve(listener, router).await?;
    Ok(())
}

/// A handler's failure: a bare status code (a database error is also printed).
#[derive(Debug)]
struct Failure(StatusCode);

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        eprintln!("reference: database: {error}");
        Self(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

/// 401 unless `Authorization` is exactly `Bearer <token>`.
fn authorize(app: &App, headers: &HeaderMap) -> Result<(), Failure> {
    match headers.get(header::AUTHORIZATION) {
        Some(value) if value.as_bytes() == app.authorization.as_bytes() => Ok(()),
        _ => Err(Failure(StatusCode::UNAUTHORIZED)),
    }
}

/// `body` as orderdesk sends JSON, with `headers`.
fn json(status: StatusCode, headers: &[(header::HeaderName, String)], body: Vec<u8>) -> Result<Response, Failure> {
    let mut response = (status, body).into_response();
    let map = response.headers_mut();
    map.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    for (name, value) in headers {
        let value = HeaderValue::from_str(value).map_err(|_| Failure(StatusCode::INTERNAL_SERVER_ERROR))?;
        map.insert(name.clone(), value);
    }
    Ok(response)
}

/// Serialises `value`; failing is a 500 (it cannot fail for these types).
fn to_json(value: &impl serde::Serialize) -> Result<Vec<u8>, Failure> {
    serde_json::to_vec(value).map_err(|_| Failure(StatusCode::INTERNAL_SERVER_ERROR))
}

/// `GET /api/v1/orders/{id}`: the order with its version as `ETag`.
async fn get_order(State(app): Shared, headers: HeaderMap, Path(id): Path<Uuid>) -> Result<Response, Failure> {
    authorize(&app, &headers)?;
    let order = orders::find(&app.pool, id).await?.ok_or(Failure(StatusCode::NOT_FOUND))?;
    let etag = orders::etag(&order);
    json(StatusCode::OK, &[(header::ETAG, etag)], to_json(&order.body())?)
}

/// The list's query: `limit` only (the bench reads the first page).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    limit: Option<u64>,
}

/// `GET /api/v1/orders?limit=N`: the newest N orders (1-200, 50 by default).
async fn list_orders(
    State(app): Shared,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> Result<Response, Failure> {
    authorize(&app, &headers)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(Failure(StatusCode::UNPROCESSABLE_ENTITY));
    }
    let page = orders::list(&app.pool, limit, &app.cursor_key).await?;
    json(StatusCode::OK, &[], to_json(&page)?)
}

/// `POST /api/v1/orders`: 201 with `Location`, `ETag` and the order.
async fn create_order(State(app): Shared, headers: HeaderMap, body: Bytes) -> Result<Response, Failure> {
    authorize(&app, &headers)?;
    let new: orders::NewOrder = serde_json::from_slice(&body).map_err(|_| Failure(StatusCode::BAD_REQUEST))?;
    let draft = new.validate().ok_or(Failure(StatusCode::UNPROCESSABLE_ENTITY))?;
    // orderdesk records the token's subject; the bench's token is for `bench`.
    let order = orders::create(&app.pool, draft, "bench").await?.ok_or(Failure(StatusCode::UNPROCESSABLE_ENTITY))?;
    let location = format!("/api/v1/orders/{}", order.id);
    let headers = [(header::LOCATION, location), (header::ETAG, orders::etag(&order))];
    json(StatusCode::CREATED, &headers, to_json(&order.body())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Result<Args, String> {
        parse_args(text.split_whitespace().map(str::to_owned))
    }

    #[test]
    fn every_option_is_required_once() {
        let full = "--database-url postgres://h/db --bind 127.0.0.1:8080 --token t --max-connections 8 \
                    --cursor-secret-file /d/cookie-secret";
        let parsed = args(full).expect("valid");
        assert_eq!((parsed.max_connections, parsed.token.as_str()), (8, "t"));
        assert!(args("--bind 127.0.0.1:1").is_err());
        assert!(args(&format!("{full} --token u")).is_err());
        assert!(args(&format!("{full} --other x")).is_err());
        assert!(args(&full.replace("--max-connections 8", "--max-connections 0")).is_err());
        assert_eq!(parsed.framework, "axum");
        assert_eq!(args(&format!("{full} --framework poem")).expect("valid").framework, "poem");
        assert!(args(&format!("{full} --framework actix")).is_err());
    }
}
