//! Keyset pagination: stable under concurrent inserts, cheap at any depth.

use uuid::Uuid;

use crate::error::{InvalidValue, ValidationErrors};

/// Which slice of a list to return. Lists are ordered newest first by id (UUIDv7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    /// Return only rows whose id sorts before this one (the previous page's last id).
    pub before: Option<Uuid>,
    /// How many rows at most, 1..=[`PageRequest::MAX_LIMIT`].
    pub limit: u64,
}

impl PageRequest {
    /// The page size when none is given.
    pub const DEFAULT_LIMIT: u64 = 50;
    /// The largest page size accepted.
    pub const MAX_LIMIT: u64 = 200;

    /// Checks `limit` (default 50, at most 200).
    ///
    /// # Errors
    /// A validation error on field `limit`.
    pub fn new(before: Option<Uuid>, limit: Option<u64>) -> Result<Self, ValidationErrors> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if limit == 0 {
            return Err(ValidationErrors::single("limit", InvalidValue::NotPositive));
        }
        if limit > Self::MAX_LIMIT {
            return Err(ValidationErrors::single("limit", InvalidValue::TooLarge));
        }
        Ok(Self { before, limit })
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { before: None, limit: Self::DEFAULT_LIMIT }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The rows of this page, in list order.
    pub items: Vec<T>,
    /// Pass as [`PageRequest::before`] to get the next page; `None` on the last page.
    pub next: Option<Uuid>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows fetched in list order: the extra row only
    /// tells that another page exists.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u64, id_of: impl Fn(&T) -> Uuid) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next = if more { rows.last().map(id_of) } else { None };
        Self { items: rows, next }
    }

    /// Converts every item, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), next: self.next }
    }
}
