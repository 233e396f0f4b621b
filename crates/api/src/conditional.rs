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
    /// A tag no version of ours has (a weak tag, `"07"`, `"abc"`): the write fails with 412,
    /// but only where it would otherwise succeed (RFC 9110 §13.2.2: a missing record is still
    /// 404, an invalid body still 422).
    Never,
}

/// A version no record reaches: versions count changes from 0, so a record would need
/// 4,294,967,295 of them.
const UNREACHABLE_VERSION: u32 = u32::MAX;

impl IfMatch {
    /// The version a conditional write must find stored, if any.
    pub fn expected_version(self) -> Option<u32> {
        match self {
            Self::Version(v) => Some(v),
            Self::Never => Some(UNREACHABLE_VERSION),
            Self::Absent | Self::Any => None,
        }
    }
}

/// Reads `If-Match`. It takes `*` or one strong entity tag, compared as an exact string
/// (RFC 9110 §8.8.3.2 strong comparison): `"3"` names version 3, while `"03"`, `"+3"` and a
/// weak tag (`W/"3"`) name no version ([`IfMatch::Never`]).
///
/// # Errors
/// 400 for several tags or one that is not a quoted entity tag.
pub fn if_match(header: Option<&str>) -> Result<IfMatch, ApiError> {
    let Some(value) = header.map(str::trim) else { return Ok(IfMatch::Absent) };
    if value == "*" {
        return Ok(IfMatch::Any);
    }
    if value.contains(',') {
        return Err(ApiError::new(ProblemType::MalformedRequest, "If-Match takes one entity tag (from ETag) or *"));
    }
    let tag = value.strip_prefix("W/").unwrap_or(value);
    let Some(inner) = tag.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return Err(ApiError::new(ProblemType::MalformedRequest, "If-Match must be a quoted entity tag or *"));
    };
    if value.starts_with("W/") {
        return Ok(IfMatch::Never);
    }
    Ok(inner.parse().ok().filter(|v| etag(*v) == value).map_or(IfMatch::Never, IfMatch::Version))
}

/// Whether `If-None-Match` matches the current version (weak comparison), so a GET is 304.
pub fn if_none_match(header: Option<&str>, version: u32) -> bool {
    none_match_names(header, &etag(version))
}

/// Whether an `If-None-Match` value names `current` (a quoted entity tag) or is `*`, by weak
/// comparison (RFC 9110 §13.1.2): `W/"3"` names `"3"`.
pub fn none_match_names(header: Option<&str>, current: &str) -> bool {
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
        for never in ["W/\"7\"", "\"abc\"", "\"07\"", "\"+7\"", "\" 7\""] {
            assert_eq!(if_match(Some(never)).unwrap(), IfMatch::Never, "{never}");
        }
        assert_eq!(IfMatch::Never.expected_version(), Some(u32::MAX));
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
