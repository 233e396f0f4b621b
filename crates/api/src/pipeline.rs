//! Every middleware concern of a request, run in one endpoint in a fixed order: the body's
//! deadline, the request's id, span and access-log line, metrics, CORS, panics to problem+json,
//! the rate limit, the body limit, the services as request data, strict parameters, and the
//! trailing-slash and home-page dispatch before the routes.
//!
//! One layer rather than one poem middleware per concern: poem calls each boxed layer through
//! `DynEndpoint`, which moves the layer's whole future into a new box, and nested `async`
//! layers copy their inner futures as they build them. Folded, the steps before the routes run
//! one after another in one future, and a request costs one box to reach the routes (measured
//! in docs/benchmarks.md, "Fifth pass"). Each concern keeps its own module and its own tests;
//! this one only orders them.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use poem::endpoint::BoxEndpoint;
use poem::middleware::PanicHandler;
use poem::{Endpoint, Request, Response};
use tracing::Instrument;

use crate::cors::{AllowedOrigins, CorsRequest};
use crate::metrics::{RouteLabels, Tracked, respond};
use crate::middleware::{ProblemOnPanic, RequestContext};
use crate::rate_limit::RateLimiter;
use crate::strict::DeclaredParameters;
use crate::{Services, csv, deadline, middleware, rate_limit, strict, webhooks};

/// Where the API's operations live; no page or document route starts with it.
pub(crate) const API_PREFIX: &str = "/api/";

/// The routes inside every middleware concern.
pub(crate) struct Pipeline<R> {
    pub routes: R,
    /// The API's own endpoint, also nested at `/` in `routes`: every path under [`API_PREFIX`]
    /// is the API's, so it is called directly rather than through the outer router's match and
    /// its root nest (two more boxed calls and a rebuilt URI).
    pub api: Arc<BoxEndpoint<'static, Response>>,
    /// The dashboard's home page at `/`, which the API's root nest would otherwise take.
    pub home: Option<BoxEndpoint<'static, Response>>,
    pub services: Services,
    pub zone: csv::ShopZone,
    pub declared: Arc<DeclaredParameters>,
    pub labels: Arc<RouteLabels>,
    pub limiter: Option<RateLimiter>,
    pub cors: AllowedOrigins,
    /// Bodies larger than this get 413 (the CSV import has its own, larger limit).
    pub max_body_bytes: usize,
    pub body_read_timeout: Option<Duration>,
}

impl<R: Endpoint<Output = Response>> Endpoint for Pipeline<R> {
    type Output = Response;

    /// Never an error: every refusal and framework error is a problem+json response here.
    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        if let Some(timeout) = self.body_read_timeout {
            deadline::limit_body_time(&mut req, timeout);
        }
        let (context, span) = RequestContext::open(&mut req);
        async move {
            let tracked = Tracked::start(&req, context.started());
            let cors = CorsRequest::of(&req, &self.cors);
            // Preflights need neither a token nor rate-limit room.
            let mut response = match cors.as_ref().and_then(CorsRequest::preflight_answer) {
                Some(answer) => answer,
                None => match AssertUnwindSafe(self.guarded(req)).catch_unwind().await {
                    Ok(result) => respond(result),
                    Err(panic) => ProblemOnPanic.get_response(panic),
                },
            };
            if let Some(cors) = cors {
                cors.finish(&mut response);
            }
            tracked.finish(&response, &self.labels);
            context.close(&mut response);
            Ok(response)
        }
        .instrument(span)
        .await
    }
}

impl<R: Endpoint<Output = Response>> Pipeline<R> {
    /// The steps a panic in them is caught from: rate limit (before the body is read, so a
    /// throttled client costs little), body limit, request data, strict parameters, routes.
    async fn guarded(&self, mut req: Request) -> poem::Result<Response> {
        if let Some(refusal) = rate_limit::refusal(self.limiter.as_ref(), &mut req).await {
            return Ok(refusal);
        }
        let limit = match req.uri().path() == csv::IMPORT_PATH {
            true => self.max_body_bytes.max(csv::IMPORT_MAX_BYTES),
            false => self.max_body_bytes,
        };
        if let Some(refusal) = middleware::read_body(&mut req, limit).await {
            return Ok(refusal);
        }
        req.set_data(self.zone);
        req.set_data(self.services.clone());
        req.set_data(self.services.tokens.clone());
        if let Some(refusal) = strict::check(&req, &self.declared) {
            return Ok(refusal);
        }
        webhooks::trim_trailing_slash(&mut req);
        let path = req.uri().path();
        if path.starts_with(API_PREFIX) {
            self.api.call(req).await
        } else if let Some(home) = self.home.as_ref().filter(|_| path == "/") {
            home.call(req).await
        } else {
            self.routes.call(req).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages;

    /// The pipeline sends every path under the prefix to the API without the outer router, so
    /// no page, document or issuer route may live there.
    #[test]
    fn no_other_route_lives_under_the_api_prefix() {
        let fixed = ["/", "/openapi.json", "/docs", "/problems/x", "/favicon.ico", "/metrics"];
        let known = ["/.well-known/jwks.json", "/.well-known/openid-configuration"];
        let routes = pages::PATHS.iter().chain(&pages::SUBPATHS).chain(&pages::DEV_ISSUER_PATHS).chain(&fixed);
        for path in routes.chain(&known) {
            assert!(!path.starts_with(API_PREFIX), "{path}");
        }
    }
}
