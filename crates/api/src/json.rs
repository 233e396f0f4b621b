//! JSON request bodies parsed with serde, so errors say which field failed:
//! malformed JSON is a 400, well-formed JSON of the wrong shape a 422 naming the field.

use serde::de::DeserializeOwned;
use serde_json::error::Category;

use crate::problem::{ApiError, FieldProblem, ProblemType};

pub use crate::body::JsonBody;

/// Parses `bytes` as one JSON document of type `T`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(ProblemType::MalformedRequest, "the request body is empty; send a JSON object"));
    }
    // serde would also read a struct from an array of its fields (`[]` as an empty change).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() {
            return Err(ApiError::new(ProblemType::MalformedRequest, "malformed JSON: expected a JSON object"));
        }
        let field = FieldProblem { row: None, field: "body".into(), message: "must be a JSON object".into() };
        return Err(ApiError::validation(vec![field]));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        shape_error(&path, error.into_inner())
    })?;
    deserializer.end().map_err(|e| ApiError::new(ProblemType::MalformedRequest, format!("malformed JSON: {e}")))?;
    Ok(value)
}

fn shape_error(path: &str, error: serde_json::Error) -> ApiError {
    // A number too large for a float is well-formed JSON (RFC 8259 §6 sets no limit): where a
    // string is expected it is the wrong shape, like any other number.
    let out_of_range = error.classify() == Category::Syntax && error.to_string().starts_with("number out of range");
    if out_of_range {
        let field = if matches!(path, "." | "") { "body".to_owned() } else { path.to_owned() };
        let message = "must be a string, not a number".to_owned();
        return ApiError::validation(vec![FieldProblem { row: None, field, message }]);
    }
    if error.classify() != Category::Data {
        return ApiError::new(ProblemType::MalformedRequest, format!("malformed JSON: {error}"));
    }
    // serde reports a missing field at its parent; name the field itself.
    let message = error.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
    let named = message.strip_prefix("missing field `").and_then(|rest| rest.split('`').next());
    let field = match (path, named) {
        ("." | "", Some(name)) => name.to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        ("." | "", None) => "body".to_owned(),
        (path, None) => path.to_owned(),
    };
    let message = if message.starts_with("missing field") { "is required".to_owned() } else { message };
    ApiError::validation(vec![FieldProblem { row: None, field, message }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        count: u32,
    }

    fn field_of(error: &ApiError) -> (u16, Option<String>) {
        let problem = error.problem();
        (problem.status, problem.errors.as_ref().map(|e| e[0].field.clone()))
    }

    #[test]
    fn syntax_errors_are_400() {
        for body in ["{", "not json", "{\"name\": }", "{\"name\": \"a\", \"count\": 1} {}", ""] {
            let error = parse::<Sample>(body.as_bytes()).unwrap_err();
            assert_eq!(field_of(&error), (400, None), "{body:?}");
        }
    }

    #[test]
    fn shape_errors_are_422_naming_the_field() {
        let cases = [
            (r#"{"count": 1}"#, "name"),
            (r#"{"name": 5, "count": 1}"#, "name"),
            (r#"{"name": "a", "count": -1}"#, "count"),
            (r#"{"name": "a", "count": 1, "extra": true}"#, "extra"),
            ("[]", "body"),
            ("[\"a\", 1]", "body"),
            ("null", "body"),
            (r#"{"name": 1e400, "count": 1}"#, "name"),
            (r#"{"name": -1e99999, "count": 1}"#, "name"),
            (r#"{"name": 123456789012345678901234567890, "count": 1}"#, "name"),
        ];
        for (body, field) in cases {
            let error = parse::<Sample>(body.as_bytes()).unwrap_err();
            assert_eq!(field_of(&error), (422, Some(field.to_owned())), "{body}");
        }
    }
}
