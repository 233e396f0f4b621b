//! Conditional requests (RFC 9110 §13): a strong `ETag` per resource version, `If-Match` on
//! changes (412 when stale), `If-None-Match` on reads (304 when unchanged).

use crate::problem::{ApiError, ProblemType};

/// The strong entity tag of a resource version: `"3"`.
pub fn etag(version: u32) -> String {
    format!("\"{version}\"")
}

/// What an `If-Match` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// No header: change whatever is stored (last writer wins).
    Absent,
    /// `*`: any current version.
    Any,
    /// Exactly this version.
    Version(u32),
}

impl IfMatch {
    /// The version a conditional write must find stored, if any.
    pub fn expected_version(self) -> Option<u32> {
        match self {
            Self::Version(v) => Some(v),
            Self::Absent | Self::Any => None,
        }
    }
}

/// Reads `If-Match`. It takes `*` or one strong entity tag; a weak tag (`W/"3"`) never
/// matches a strong comparison, so it fails as stale.
///
/// # Errors
/// 412 for a weak tag or one this server never issues; 400 for several tags or garbage.
pub fn if_match(header: Option<&str>) -> Result<IfMatch, ApiError> {
    let Some(value) = header.map(str::trim) else { return Ok(IfMatch::Absent) };
    if value == "*" {
        return Ok(IfMatch::Any);
    }
    if value.contains(',') {
        return Err(ApiError::new(ProblemType::MalformedRequest, "If-Match takes one entity tag (from ETag) or *"));
    }
    let stale = || ApiError::new(ProblemType::PreconditionFailed, "If-Match does not name the current version");
    if value.starts_with("W/") {
        return Err(stale());
    }
    let quoted = value.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
    match quoted {
        Some(inner) => inner.parse().map(IfMatch::Version).map_err(|_| stale()),
        None => Err(ApiError::new(ProblemType::MalformedRequest, "If-Match must be a quoted entity tag or *")),
    }
}

/// Whether `If-None-Match` matches the current version (weak comparison), so a GET is 304.
pub fn if_none_match(header: Option<&str>, version: u32) -> bool {
    let current = etag(version);
    header.is_some_and(|value| {
        value.split(',').map(str::trim).any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == current)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_takes_star_or_one_strong_tag() {
        assert_eq!(if_match(None).unwrap(), IfMatch::Absent);
        assert_eq!(if_match(Some("*")).unwrap(), IfMatch::Any);
        assert_eq!(if_match(Some("\"7\"")).unwrap(), IfMatch::Version(7));
        assert_eq!(if_match(Some("W/\"7\"")).unwrap_err().problem().status, 412);
        assert_eq!(if_match(Some("\"abc\"")).unwrap_err().problem().status, 412);
        assert_eq!(if_match(Some("7")).unwrap_err().problem().status, 400);
        assert_eq!(if_match(Some("\"1\", \"2\"")).unwrap_err().problem().status, 400);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        assert!(if_none_match(Some("\"3\""), 3));
        assert!(if_none_match(Some("W/\"3\""), 3));
        assert!(if_none_match(Some("\"1\", \"3\""), 3));
        assert!(if_none_match(Some("*"), 3));
        assert!(!if_none_match(Some("\"2\""), 3));
        assert!(!if_none_match(None, 3));
    }
}
