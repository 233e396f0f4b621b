//! `--framework poem` and `--framework poem-openapi`: get order by id alone, on the design
//! card's HTTP stack with nothing of orderdesk's around it, so the bench can tell what the
//! framework costs from what orderdesk's layers cost (docs/benchmarks.md, "Seventh pass").
//! Same statement, same JSON bytes and `ETag`, same string compare of the bearer header as
//! the axum handler; the list and the create are served by the axum variant only.

use std::net::SocketAddr;
use std::sync::Arc;

use poem::http::StatusCode;
use poem::listener::TcpListener;
use poem::web::{Data, Path};
use poem::{EndpointExt, Request, Response, Route, Server, handler};
use uuid::Uuid;

use crate::{App, orders};

/// The order's JSON bytes and `ETag` as the axum handler writes them, or the status code that
/// refuses it.
async fn order_json(app: &App, authorization: Option<&[u8]>, id: Uuid) -> Result<(Vec<u8>, String), StatusCode> {
    if authorization != Some(app.authorization.as_bytes()) {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let order = match orders::find(&app.pool, id).await {
        Ok(Some(order)) => order,
        Ok(None) => return Err(StatusCode::NOT_FOUND),
        Err(error) => {
            eprintln!("reference: database: {error}");
            return Err(StatusCode::INTERNAL_SERVER_ERROR);
        }
    };
    let body = serde_json::to_vec(&order.body()).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok((body, orders::etag(&order)))
}

#[handler]
async fn get_order(req: &Request, Path(id): Path<Uuid>, app: Data<&Arc<App>>) -> Response {
    match order_json(&app, req.headers().get("authorization").map(|v| v.as_bytes()), id).await {
        Ok((body, etag)) => {
            Response::builder().content_type("application/json; charset=utf-8").header("etag", etag).body(body)
        }
        Err(status) => status.into(),
    }
}

/// Serves get by id on poem's `Route`.
pub async fn serve_poem(app: Arc<App>, bind: SocketAddr) -> std::io::Result<()> {
    let route = Route::new().at("/api/v1/orders/:id", poem::get(get_order)).data(app);
    Server::new(TcpListener::bind(bind)).run(route).await
}

/// The operation as poem-openapi declares it: a path parameter, a bearer header and a typed
/// response, dispatched by its router.
struct OrdersApi;

#[derive(poem_openapi::ApiResponse)]
enum GetOrder {
    /// The order's JSON bytes (as the other variants write them) and its `ETag`.
    #[oai(status = 200, content_type = "application/json; charset=utf-8")]
    Ok(poem_openapi::payload::Binary<Vec<u8>>, #[oai(header = "ETag")] String),
    #[oai(status = 401)]
    Unauthorized,
    #[oai(status = 404)]
    NotFound,
    #[oai(status = 500)]
    Failed,
}

#[poem_openapi::OpenApi]
impl OrdersApi {
    #[oai(path = "/api/v1/orders/:id", method = "get")]
    async fn get_order(
        &self,
        id: poem_openapi::param::Path<Uuid>,
        authorization: poem_openapi::param::Header<String>,
        app: Data<&Arc<App>>,
    ) -> GetOrder {
        match order_json(&app, Some(authorization.0.as_bytes()), id.0).await {
            Ok((body, etag)) => GetOrder::Ok(poem_openapi::payload::Binary(body), etag),
            Err(StatusCode::UNAUTHORIZED) => GetOrder::Unauthorized,
            Err(StatusCode::NOT_FOUND) => GetOrder::NotFound,
            Err(_) => GetOrder::Failed,
        }
    }
}

/// Serves get by id through a poem-openapi service.
pub async fn serve_poem_openapi(app: Arc<App>, bind: SocketAddr) -> std::io::Result<()> {
    let api = poem_openapi::OpenApiService::new(OrdersApi, "reference", "0.1.0");
    Server::new(TcpListener::bind(bind)).run(Route::new().nest("/", api).data(app)).await
}
