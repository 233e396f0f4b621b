//! Paging for every list operation: `limit` and `cursor` query parameters into the storage's
//! [`PageRequest`].

use orderdesk_domain::PageRequest;

use crate::dto::decode_cursor;
use crate::problem::ApiError;

/// The page a list operation asked for: `limit` (1-200, 50 when absent) items before the
/// record `cursor` names (a `next_cursor` this server issued).
///
/// # Errors
/// 422 on `cursor` when this server did not issue it, or on `limit` out of range.
pub(crate) fn page_request(limit: Option<u64>, cursor: Option<&str>) -> Result<PageRequest, ApiError> {
    let before = cursor.map(decode_cursor).transpose()?;
    Ok(PageRequest::new(before, limit)?)
}
