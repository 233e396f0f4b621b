//! The Postman collection (`docs/postman/`) against the OpenAPI document: every request's
//! method and path must be an operation of `docs/openapi.json`, its query parameters, headers
//! and JSON body fields must be ones that operation declares, and every status its tests expect
//! must be one the operation documents. A renamed path, parameter or field therefore fails
//! `cargo test --workspace`, and `cargo xtask clients` runs the collection with newman against a
//! real server, so the collection cannot drift from the API.

use std::path::Path;

use anyhow::{Context, ensure};
use serde_json::Value;

pub const COLLECTION: &str = "docs/postman/orderdesk.postman_collection.json";
pub const ENVIRONMENT: &str = "docs/postman/orderdesk.postman_environment.json";
const DOCUMENT: &str = "docs/openapi.json";

/// Headers a request may send that are not parameters of the document.
const TRANSPORT_HEADERS: [&str; 2] = ["content-type", "accept"];

/// One request of the collection, as sent.
#[derive(Debug)]
struct Request<'a> {
    name: String,
    method: String,
    path: String,
    query: Vec<String>,
    headers: Vec<(String, String)>,
    body: Option<&'a str>,
    tests: String,
}

/// Reads the collection and the document under `root` and fails with every mismatch.
pub fn check_files(root: &Path) -> anyhow::Result<usize> {
    let read = |path: &str| -> anyhow::Result<Value> {
        let text = std::fs::read_to_string(root.join(path)).with_context(|| format!("cannot read {path}"))?;
        serde_json::from_str(&text).with_context(|| format!("{path} is not JSON"))
    };
    let (collection, document) = (read(COLLECTION)?, read(DOCUMENT)?);
    let problems = check(&collection, &document)?;
    ensure!(problems.is_empty(), "{COLLECTION} does not follow {DOCUMENT}:\n  {}", problems.join("\n  "));
    Ok(requests(&collection)?.len())
}

/// Every way the collection's requests differ from the document (empty when none).
fn check(collection: &Value, document: &Value) -> anyhow::Result<Vec<String>> {
    let mut problems = Vec::new();
    let requests = requests(collection)?;
    ensure!(!requests.is_empty(), "the collection has no requests");
    for request in &requests {
        let name = &request.name;
        let Some((template, operation)) = operation(document, &request.method, &request.path) else {
            problems.push(format!("{name}: {} {} is no operation of the document", request.method, request.path));
            continue;
        };
        let id = operation["operationId"].as_str().unwrap_or(template);
        let parameters = |place: &str| -> Vec<(String, bool)> {
            operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == place)
                .filter_map(|p| Some((p["name"].as_str()?.to_owned(), p["required"] == true)))
                .collect()
        };
        let query = parameters("query");
        for key in &request.query {
            if !query.iter().any(|(name, _)| name == key) {
                problems.push(format!("{name}: {id} has no query parameter `{key}`"));
            }
        }
        for (required, _) in query.iter().filter(|(_, required)| *required) {
            if !request.query.contains(required) {
                problems.push(format!("{name}: {id} needs the query parameter `{required}`"));
            }
        }
        let headers = parameters("header");
        for (key, _) in &request.headers {
            let declared = headers.iter().any(|(name, _)| name.eq_ignore_ascii_case(key));
            if !declared && !TRANSPORT_HEADERS.contains(&key.to_ascii_lowercase().as_str()) {
                problems.push(format!("{name}: {id} has no header parameter `{key}`"));
            }
        }
        check_body(name, id, operation, request, document, &mut problems);
        let expected = expected_statuses(&request.tests);
        if expected.is_empty() {
            problems.push(format!("{name}: its tests assert no status (`pm.response.to.have.status(N)`)"));
        }
        for status in expected {
            if operation["responses"].get(status.to_string()).is_none() {
                problems.push(format!("{name}: {id} documents no {status} response"));
            }
        }
    }
    Ok(problems)
}

fn check_body(
    name: &str,
    id: &str,
    operation: &Value,
    request: &Request,
    document: &Value,
    problems: &mut Vec<String>,
) {
    let content = operation.pointer("/requestBody/content").and_then(Value::as_object);
    let content_type = request.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type")).map(|(_, v)| v);
    match (content, request.body) {
        (None, None) => {}
        (None, Some(_)) => problems.push(format!("{name}: {id} takes no body")),
        (Some(_), None) => {
            if operation.pointer("/requestBody/required") == Some(&Value::Bool(true)) {
                problems.push(format!("{name}: {id} needs a body"));
            }
        }
        (Some(content), Some(body)) => {
            let Some(content_type) = content_type else {
                problems.push(format!("{name}: a body without a Content-Type header"));
                return;
            };
            let Some(media) = content.get(content_type.as_str()) else {
                problems.push(format!("{name}: {id} does not take `{content_type}`"));
                return;
            };
            if !content_type.starts_with("application/json") {
                return;
            }
            let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(body) else {
                problems.push(format!("{name}: the body is not a JSON object"));
                return;
            };
            let schema = resolve(document, &media["schema"]);
            let properties = schema["properties"].as_object();
            for field in fields.keys() {
                if !properties.is_some_and(|p| p.contains_key(field)) {
                    problems.push(format!("{name}: {id}'s body has no field `{field}`"));
                }
            }
            for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !fields.contains_key(required) {
                    problems.push(format!("{name}: {id}'s body needs `{required}`"));
                }
            }
        }
    }
}

/// `schema`, or the component its `$ref` names.
fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
        Some(pointer) => document.pointer(pointer).unwrap_or(&Value::Null),
        None => schema,
    }
}

/// The document's path template and operation that `method path` is, preferring literal
/// segments over parameters (`/orders/export.csv` before `/orders/{id}`).
fn operation<'a>(document: &'a Value, method: &str, path: &str) -> Option<(&'a str, &'a Value)> {
    let segments: Vec<&str> = path.split('/').collect();
    document["paths"]
        .as_object()?
        .iter()
        .filter_map(|(template, item)| {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (part, segment) in parts.iter().zip(&segments) {
                if part.starts_with('{') && part.ends_with('}') {
                    if segment.is_empty() {
                        return None;
                    }
                } else if part == segment {
                    literal += 1;
                } else {
                    return None;
                }
            }
            let operation = item.get(method.to_ascii_lowercase())?;
            Some((literal, template.as_str(), operation))
        })
        .max_by_key(|(literal, _, _)| *literal)
        .map(|(_, template, operation)| (template, operation))
}

/// The statuses a test script asserts with `pm.response.to.have.status(N)`.
fn expected_statuses(tests: &str) -> Vec<u16> {
    const CALL: &str = "to.have.status(";
    tests
        .match_indices(CALL)
        .filter_map(|(at, _)| {
            let rest = &tests[at + CALL.len()..];
            rest[..rest.find(')')?].trim().parse().ok()
        })
        .collect()
}

/// Every request of the collection, folders flattened, in order.
fn requests(collection: &Value) -> anyhow::Result<Vec<Request<'_>>> {
    let mut found = Vec::new();
    collect(collection["item"].as_array().context("the collection has no `item`")?, "", &mut found)?;
    Ok(found)
}

fn collect<'a>(items: &'a [Value], folder: &str, found: &mut Vec<Request<'a>>) -> anyhow::Result<()> {
    for item in items {
        let name = format!("{folder}{}", item["name"].as_str().unwrap_or("(unnamed)"));
        if let Some(children) = item["item"].as_array() {
            collect(children, &format!("{name} / "), found)?;
            continue;
        }
        let request = &item["request"];
        let url = &request["url"];
        let raw = url["raw"].as_str().or_else(|| url.as_str()).with_context(|| format!("{name}: no url"))?;
        let rest = raw
            .strip_prefix("{{base_url}}")
            .with_context(|| format!("{name}: the url must start with {{{{base_url}}}}"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let query: Vec<String> =
            query.split('&').filter(|p| !p.is_empty()).map(|p| p.split('=').next().unwrap_or(p).to_owned()).collect();
        // Postman sends the structured parts of the url: they must say what `raw` says.
        if let Some(parts) = url["path"].as_array() {
            let joined: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
            ensure!(format!("/{}", joined.join("/")) == path, "{name}: url.path and url.raw differ");
        }
        let structured: Vec<&str> =
            url["query"].as_array().into_iter().flatten().filter_map(|q| q["key"].as_str()).collect();
        ensure!(structured == query, "{name}: url.query and url.raw differ");
        let headers = request["header"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|h| h["disabled"] != true)
            .filter_map(|h| Some((h["key"].as_str()?.to_owned(), h["value"].as_str()?.to_owned())))
            .collect();
        let tests = item["event"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["listen"] == "test")
            .flat_map(|e| e["script"]["exec"].as_array().into_iter().flatten().filter_map(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n");
        found.push(Request {
            name,
            method: request["method"].as_str().unwrap_or("GET").to_owned(),
            path: path.to_owned(),
            query,
            headers,
            body: request["body"]["raw"].as_str(),
            tests,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn load(path: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(root().join(path)).unwrap()).unwrap()
    }

    #[test]
    fn the_collection_follows_the_openapi_document() {
        let count = check_files(&root()).unwrap();
        assert!(count >= 20, "{count} requests");
    }

    #[test]
    fn the_collection_walks_customer_order_status_and_notifications() {
        let (collection, document) = (load(COLLECTION), load(DOCUMENT));
        let walked: Vec<&str> = requests(&collection)
            .unwrap()
            .iter()
            .filter_map(|r| operation(&document, &r.method, &r.path))
            .filter_map(|(_, operation)| operation["operationId"].as_str())
            .collect();
        let position = |id: &str| walked.iter().position(|w| *w == id).unwrap_or_else(|| panic!("{id} is not used"));
        let order = ["createCustomer", "getCustomer", "listCustomers", "createOrder", "getOrder", "changeOrderStatus"];
        for pair in order.windows(2) {
            assert!(position(pair[0]) < position(pair[1]), "{} comes before {}", pair[0], pair[1]);
        }
        assert!(position("changeOrderStatus") < position("listOrderNotifications"));
    }

    /// The request called `name`, in any folder.
    fn item_mut<'a>(items: &'a mut Value, name: &str) -> Option<&'a mut Value> {
        for item in items.as_array_mut()? {
            if item["name"] == name {
                return Some(item);
            }
            if let Some(found) = item.get_mut("item").and_then(|children| item_mut(children, name)) {
                return Some(found);
            }
        }
        None
    }

    /// Points the request at `raw` (`{{base_url}}/path?key=value`), as Postman saves it.
    fn set_url(item: &mut Value, raw: &str) {
        let rest = raw.strip_prefix("{{base_url}}").unwrap();
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let path: Vec<&str> = path.split('/').skip(1).collect();
        let query: Vec<Value> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (key, value) = p.split_once('=').unwrap();
                serde_json::json!({"key": key, "value": value})
            })
            .collect();
        item["request"]["url"] =
            serde_json::json!({"raw": raw, "host": ["{{base_url}}"], "path": path, "query": query});
    }

    #[test]
    fn a_request_that_left_the_document_is_named() {
        let (mut collection, document) = (load(COLLECTION), load(DOCUMENT));
        let items = &mut collection["item"];
        // A renamed path, an undeclared query parameter, an unknown body field (so a required
        // one is missing), an undeclared header, a status the operation never answers: each
        // is reported.
        set_url(item_mut(items, "Get customer (ETag)").unwrap(), "{{base_url}}/api/v1/clients/{{customer_id}}");
        set_url(
            item_mut(items, "Get order (expand=customer)").unwrap(),
            "{{base_url}}/api/v1/orders/{{order_id}}?embed=customer",
        );
        let create = item_mut(items, "Create order (Idempotency-Key)").unwrap();
        let body = create["request"]["body"]["raw"].as_str().unwrap().replace("\"item\"", "\"product\"");
        create["request"]["body"]["raw"] = Value::String(body);
        let headers = item_mut(items, "Replay the create (same key and body)").unwrap()["request"]["header"]
            .as_array_mut()
            .unwrap();
        headers.push(serde_json::json!({"key": "X-Retry", "value": "1"}));
        let delete = item_mut(items, "Delete the mistake").unwrap();
        let tests = delete["event"][0]["script"]["exec"].to_string().replace("status(204)", "status(202)");
        delete["event"][0]["script"]["exec"] = serde_json::from_str(&tests).unwrap();
        let problems = check(&collection, &document).unwrap();
        let joined = problems.join("\n");
        assert!(joined.contains("GET /api/v1/clients/{{customer_id}} is no operation"), "{joined}");
        assert!(joined.contains("getOrder has no query parameter `embed`"), "{joined}");
        assert!(joined.contains("createOrder's body has no field `product`"), "{joined}");
        assert!(joined.contains("createOrder's body needs `item`"), "{joined}");
        assert!(joined.contains("createOrder has no header parameter `X-Retry`"), "{joined}");
        assert!(joined.contains("deleteOrder documents no 202 response"), "{joined}");
        assert_eq!(problems.len(), 6, "{joined}");

        // A url whose parts disagree with its raw text is refused outright.
        let mut collection = load(COLLECTION);
        let get = item_mut(&mut collection["item"], "Get customer (ETag)").unwrap();
        get["request"]["url"]["path"][2] = Value::String("clients".into());
        assert!(check(&collection, &document).is_err());
    }

    #[test]
    fn the_collection_authorises_with_auth0_client_credentials_or_a_pasted_token() {
        let collection = load(COLLECTION);
        let auth = &collection["auth"];
        assert_eq!(auth["type"], "oauth2");
        let setting =
            |key: &str| auth["oauth2"].as_array().unwrap().iter().find(|p| p["key"] == key).map(|p| p["value"].clone());
        assert_eq!(setting("grant_type").unwrap(), "client_credentials");
        assert_eq!(setting("accessTokenUrl").unwrap(), "https://{{auth0_domain}}/oauth/token");
        assert_eq!(setting("clientId").unwrap(), "{{auth0_client_id}}");
        assert_eq!(setting("clientSecret").unwrap(), "{{auth0_client_secret}}");
        let audience = setting("tokenRequestParams").unwrap();
        assert_eq!(audience[0]["key"], "audience");
        assert_eq!(audience[0]["value"], "{{auth0_audience}}");
        let pre = collection["event"].as_array().unwrap().iter().find(|e| e["listen"] == "prerequest").unwrap();
        let script = pre["script"]["exec"].as_array().unwrap().iter().filter_map(Value::as_str).collect::<String>();
        assert!(script.contains("pm.variables.get('token')") && script.contains("authorizeUsing('bearer'"));
        let environment = load(ENVIRONMENT);
        let keys: Vec<&str> =
            environment["values"].as_array().unwrap().iter().filter_map(|v| v["key"].as_str()).collect();
        for key in ["base_url", "token", "auth0_domain", "auth0_audience", "auth0_client_id", "auth0_client_secret"] {
            assert!(keys.contains(&key), "the environment lacks {key}");
        }
    }

    #[test]
    fn statuses_are_read_from_the_tests() {
        let script = "pm.test('a', () => pm.response.to.have.status(201));\nx.to.have.status( 409 )";
        assert_eq!(expected_statuses(script), [201, 409]);
    }
}
