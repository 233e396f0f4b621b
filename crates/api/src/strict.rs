//! Requests say only what the OpenAPI document lets them say: a query parameter an operation
//! does not define is refused (a typo such as `?customer=` for `?customer_id=` would otherwise
//! answer with every order), and so is a repeated one; a declared header that cannot be read
//! as ASCII text is refused instead of being treated as absent (a retry without its
//! `Idempotency-Key` would create a second order). Both are 422 `/problems/validation-error`
//! naming the parameter. The rules come from the served document, so a new parameter needs
//! no change here.

use poem::http::Method;
use poem::{IntoResponse, Request, Response};

use crate::problem::{ApiError, FieldProblem};

/// One operation's path and parameters, from the document.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Operation {
    method: Method,
    /// Path segments; `None` for a `{parameter}` segment.
    segments: Vec<Option<String>>,
    query: Vec<String>,
    /// Query parameters documented as `format: date-time`: RFC 3339 exactly.
    date_times: Vec<String>,
    headers: Vec<String>,
    /// The operation needs a token: a call without one is answered 401 by the operation
    /// first, whatever its parameters.
    secured: bool,
}

/// Every operation of the document, for matching requests.
#[derive(Debug, Clone, Default)]
pub struct DeclaredParameters {
    operations: Vec<Operation>,
}

impl DeclaredParameters {
    /// Reads the operations of an OpenAPI 3 document; anything unreadable is skipped.
    pub fn from_document(doc: &serde_json::Value) -> Self {
        let mut operations = Vec::new();
        for (path, item) in doc.get("paths").and_then(|p| p.as_object()).into_iter().flatten() {
            let segments = path
                .split('/')
                .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                .collect::<Vec<_>>();
            for (method, op) in item.as_object().into_iter().flatten() {
                let Ok(method) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else { continue };
                let parameters = op.get("parameters").and_then(|p| p.as_array()).cloned().unwrap_or_default();
                let named = |place: &str| -> Vec<String> {
                    parameters
                        .iter()
                        .filter(|p| p.get("in").and_then(|i| i.as_str()) == Some(place))
                        .filter_map(|p| p.get("name")?.as_str().map(str::to_owned))
                        .collect()
                };
                let (query, headers) = (named("query"), named("header"));
                let date_times = parameters
                    .iter()
                    .filter(|p| p.pointer("/schema/format").and_then(|f| f.as_str()) == Some("date-time"))
                    .filter_map(|p| p.get("name")?.as_str().map(str::to_owned))
                    .collect();
                let secured = op
                    .get("security")
                    .or_else(|| doc.get("security"))
                    .and_then(|s| s.as_array())
                    .is_some_and(|requirements| !requirements.is_empty());
                let segments = segments.clone();
                operations.push(Operation { method, segments, query, date_times, headers, secured });
            }
        }
        Self { operations }
    }

    fn find(&self, method: &Method, path: &str) -> Option<&Operation> {
        let method = if method == Method::HEAD { &Method::GET } else { method };
        let given: Vec<&str> = path.split('/').collect();
        // A literal segment beats a parameter, as in the router (`/orders/export.csv` is not
        // `/orders/{id}`).
        self.operations
            .iter()
            .filter(|op| {
                op.method == method
                    && given.len() == op.segments.len()
                    && given.iter().zip(&op.segments).all(|(given, declared)| match declared {
                        Some(literal) => given == literal,
                        None => !given.is_empty(),
                    })
            })
            .min_by_key(|op| op.segments.iter().filter(|s| s.is_none()).count())
    }

    /// The parameters of `req` that its operation refuses, if it matches one.
    fn refused(&self, req: &Request) -> Vec<FieldProblem> {
        // Probes answer whatever a load balancer appends; they read nothing from the request.
        if matches!(req.uri().path(), "/healthz" | "/readyz") {
            return Vec::new();
        }
        let Some(op) = self.find(req.method(), req.uri().path()) else { return Vec::new() };
        if op.secured && !req.headers().contains_key(poem::http::header::AUTHORIZATION) {
            return Vec::new();
        }
        let mut problems = Vec::new();
        let mut seen: Vec<String> = Vec::new();
        let query = req.uri().query().unwrap_or_default();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let message = if !op.query.iter().any(|q| *q == name) {
                let takes = if op.query.is_empty() { "none".to_owned() } else { op.query.join(", ") };
                format!("is not a parameter of this operation (it takes: {takes})")
            } else if seen.iter().any(|s| *s == name) {
                "is given more than once".to_owned()
            } else if op.date_times.iter().any(|d| *d == name)
                && let Err(invalid) = orderdesk_domain::timestamp::parse_rfc3339(&value)
            {
                // An unencoded `+` in a query string arrives as a space (HTML form encoding).
                let hint = if value.contains(' ') { " (in a URL, write the offset's + as %2B)" } else { "" };
                format!("{invalid}{hint}")
            } else {
                seen.push(name.clone().into_owned());
                continue;
            };
            if !problems.iter().any(|p: &FieldProblem| p.field == name) {
                problems.push(FieldProblem { row: None, field: name.into_owned(), message });
            }
        }
        for header in &op.headers {
            let values: Vec<_> = req.headers().get_all(header.as_str()).iter().collect();
            if values.iter().any(|v| v.to_str().is_err()) {
                let message = "must be ASCII text; a value with other bytes is refused, not ignored".to_owned();
                problems.push(FieldProblem { row: None, field: header.clone(), message });
            } else if values.len() > 1 && header.eq_ignore_ascii_case("idempotency-key") {
                problems.push(FieldProblem {
                    row: None,
                    field: header.clone(),
                    message: "is given more than once".into(),
                });
            }
        }
        problems
    }
}

/// The 422 naming each parameter the matched operation does not accept as sent; `None` when
/// the request says only what its operation declares.
pub fn check(req: &Request, declared: &DeclaredParameters) -> Option<Response> {
    let refused = declared.refused(req);
    (!refused.is_empty()).then(|| ApiError::validation(refused).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> DeclaredParameters {
        DeclaredParameters::from_document(&serde_json::json!({"paths": {
            "/api/v1/orders": {"get": {"parameters": [{"name": "customer_id", "in": "query"},
                {"name": "ordered_from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                {"name": "limit", "in": "query"}]}, "post": {"parameters": [{"name": "Idempotency-Key", "in": "header"}]}},
            "/api/v1/orders/{id}": {"get": {"parameters": [{"name": "id", "in": "path"}]}}
        }}))
    }

    fn refused(method: Method, uri: &str, headers: &[(&'static str, &[u8])]) -> Vec<String> {
        let mut req = Request::builder().method(method).uri(uri.parse().unwrap()).finish();
        for (name, value) in headers {
            req.headers_mut().append(*name, poem::http::HeaderValue::from_bytes(value).unwrap());
        }
        declared().refused(&req).into_iter().map(|p| format!("{}: {}", p.field, p.message)).collect()
    }

    #[test]
    fn unknown_and_repeated_query_parameters_are_named() {
        assert!(refused(Method::GET, "/api/v1/orders?customer_id=x&limit=5", &[]).is_empty());
        let typo = refused(Method::GET, "/api/v1/orders?customer=x", &[]);
        assert_eq!(
            typo,
            ["customer: is not a parameter of this operation (it takes: customer_id, ordered_from, limit)"]
        );
        assert_eq!(refused(Method::GET, "/api/v1/orders?limit=1&limit=2", &[]), ["limit: is given more than once"]);
        assert_eq!(refused(Method::HEAD, "/api/v1/orders/abc?page=2", &[]).len(), 1, "HEAD is GET");
        assert!(refused(Method::GET, "/no/such/route?x=1", &[]).is_empty(), "unmatched: the router answers");
    }

    #[test]
    fn query_times_are_rfc3339_exactly() {
        assert!(refused(Method::GET, "/api/v1/orders?ordered_from=2026-11-26T09:30:00%2B03:00", &[]).is_empty());
        for bad in [
            "2026-11-26T09:30:60Z",
            "2026-11-26T09:30:00%2B0300",
            "2026-11-26T09:30:00%20UTC",
            "%202026-11-26T09:30:00Z",
        ] {
            let refused = refused(Method::GET, &format!("/api/v1/orders?ordered_from={bad}"), &[]);
            assert!(
                refused.len() == 1 && refused[0].starts_with("ordered_from: must be an RFC 3339"),
                "{bad}: {refused:?}"
            );
        }
    }

    #[test]
    fn a_declared_header_that_is_not_ascii_is_refused() {
        let key: &[u8] = b"retry-\xC3\xA9";
        let refused = refused(Method::POST, "/api/v1/orders", &[("idempotency-key", key)]);
        assert_eq!(refused.len(), 1);
        assert!(refused[0].starts_with("Idempotency-Key: must be ASCII"), "{refused:?}");
        let twice = [("idempotency-key", &b"a"[..]), ("idempotency-key", &b"b"[..])];
        assert_eq!(self::refused(Method::POST, "/api/v1/orders", &twice), ["Idempotency-Key: is given more than once"]);
    }
}
