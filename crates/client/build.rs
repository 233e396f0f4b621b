//! Generates the client from `docs/openapi.json` at build time (progenitor).
//!
//! progenitor reads OpenAPI 3.0 as `openapiv3` does; a few things the server's document says
//! correctly but progenitor cannot express are adjusted here first (see `prepare`), never the
//! generated code.

use std::path::PathBuf;

use serde_json::Value;

fn main() {
    if let Err(error) = generate() {
        // A build script reports failure by panicking; say what and where.
        panic!("cannot generate the orderdesk client from docs/openapi.json: {error}");
    }
}

fn generate() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let spec_path = manifest_dir.join("../../docs/openapi.json");
    println!("cargo:rerun-if-changed={}", spec_path.display());
    println!("cargo:rerun-if-changed=build.rs");

    let mut document: Value = serde_json::from_str(&std::fs::read_to_string(&spec_path)?)?;
    prepare(&mut document);
    let spec: openapiv3::OpenAPI = serde_json::from_value(document)?;

    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_derive("PartialEq");
    let mut generator = progenitor::Generator::new(&settings);
    let tokens = generator.generate_tokens(&spec)?;

    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("orderdesk.rs");
    std::fs::write(out, tokens.to_string())?;
    Ok(())
}

/// What progenitor cannot take as the server writes it:
/// - Problem responses are `application/problem+json`; progenitor types only JSON media types
///   named `application/json`, so they are renamed to get typed `Problem` errors.
/// - 1xx/3xx responses (the 304 of a conditional GET) would give one operation two success
///   types, which progenitor refuses; the client sends no `If-None-Match` unless asked, and a
///   304 then arrives as `Error::UnexpectedResponse`.
/// - Each status may narrow the problem (`allOf: [Problem]` with its `type` as an enum), but
///   progenitor gives an operation one error type, taken from the first status; every error is
///   therefore read as the plain `Problem` (compare `type_` with the documented values).
/// - The Africa's Talking webhook is for the SMS provider, not API clients.
/// - A `text/csv` request body (the customer import) becomes `application/octet-stream` (bytes),
///   the only raw body progenitor takes, so the client generates. The generated call sends that
///   content type, which the server refuses (415): callers post the CSV with the client's
///   `reqwest::Client` (`ClientInfo::client`) and `Content-Type: text/csv` (see README.md).
/// - Inline schemas' `title` would become type names (a sentence, for amounts); the
///   description says the same.
fn prepare(document: &mut Value) {
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        paths.retain(|path, _| !path.starts_with("/webhooks/"));
        for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|item| item.values_mut()) {
            if let Some(content) = operation.pointer_mut("/requestBody/content").and_then(Value::as_object_mut)
                && content.remove("text/csv").is_some()
            {
                let bytes = serde_json::json!({"schema": {"type": "string", "format": "binary"}});
                content.insert("application/octet-stream".to_owned(), bytes);
            }
            let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) else { continue };
            responses.retain(|status, _| !(status.starts_with('1') || status.starts_with('3')));
            for response in responses.values_mut() {
                if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
                    let renamed: Vec<(String, Value)> = std::mem::take(content)
                        .into_iter()
                        .map(|(media_type, mut value)| {
                            if !media_type.starts_with("application/problem+json") {
                                return (media_type, value);
                            }
                            widen_problem(&mut value);
                            ("application/json".to_owned(), value)
                        })
                        .collect();
                    content.extend(renamed);
                }
            }
        }
    }
    if let Some(schemas) = document.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        for schema in schemas.values_mut() {
            if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
                for property in properties.values_mut().filter_map(Value::as_object_mut) {
                    property.remove("title");
                }
            }
        }
    }
}

/// A problem body's schema `allOf: [{$ref}]` plus narrowing becomes just the `$ref`.
fn widen_problem(media: &mut Value) {
    let Some(schema) = media.get_mut("schema") else { return };
    let base = match schema.get("allOf").and_then(Value::as_array).map(Vec::as_slice) {
        Some([only]) if only.get("$ref").is_some() => only.clone(),
        _ => return,
    };
    *schema = base;
}
