//! The event feed: reading the events every change wrote, and forgetting old ones.

use std::sync::Arc;

use chrono::Duration;

use crate::error::{RepoError, ValidationErrors};
use crate::event::{Event, EventId, EventSelector};
use crate::ports::{Clock, EventRepository};

/// One page of the feed, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    /// The events, oldest first.
    pub items: Vec<Event>,
    /// Where to continue: the last event's id, or the `after` asked with when the page is empty
    /// (so a poller always has a cursor to keep). `None` only for an empty feed read from the
    /// start.
    pub next: Option<EventId>,
    /// Whether more events were ready when this page was read (ask again at once).
    pub has_more: bool,
}

/// Lists and prunes the event feed.
#[derive(Clone)]
pub struct EventService {
    events: Arc<dyn EventRepository>,
    clock: Arc<dyn Clock>,
    retention: Duration,
}

impl EventService {
    /// Events younger than this are not listed yet. An event's id is taken as it is written,
    /// the last statement before its transaction commits; on PostgreSQL two transactions may
    /// still commit in the other order, and a reader already past the later id would never see
    /// the earlier one. One second is far longer than the step from writing an event to
    /// committing it (SQLite, with one writer, commits in id order anyway).
    pub const SETTLE: Duration = Duration::seconds(1);

    /// `retention` is how long events are kept (`events.retention_days`).
    pub fn new(events: Arc<dyn EventRepository>, clock: Arc<dyn Clock>, retention: Duration) -> Self {
        Self { events, clock, retention }
    }

    /// Up to `limit` events selected by `types` (all when `None`; see [`EventSelector`]),
    /// oldest first, after the event `after`, created at least [`Self::SETTLE`] ago.
    ///
    /// # Errors
    /// [`ValidationErrors`] on `type` for an unknown type or wildcard; storage.
    pub async fn list(
        &self,
        types: Option<&str>,
        after: Option<EventId>,
        limit: u64,
    ) -> Result<EventPage, EventListError> {
        let selector = match types {
            Some(list) => EventSelector::parse_list(list).map_err(|e| ValidationErrors::single("type", e))?,
            None => EventSelector::all(),
        };
        let until = self.clock.now() - Self::SETTLE;
        let mut items = self.events.list(&selector, after, until, limit.saturating_add(1)).await?;
        let has_more = items.len() as u64 > limit;
        items.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        let next = items.last().map(|e| e.id).or(after);
        Ok(EventPage { items, next, has_more })
    }

    /// Deletes the events older than the retention; returns how many.
    ///
    /// # Errors
    /// Storage.
    pub async fn prune(&self) -> Result<u64, RepoError> {
        self.events.prune(self.clock.now() - self.retention).await
    }
}

/// Why the feed could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum EventListError {
    /// A bad `type`.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] RepoError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockClock, MockEventRepository};
    use chrono::{TimeZone, Utc};

    fn service(events: MockEventRepository) -> EventService {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).single().expect("time"));
        EventService::new(Arc::new(events), Arc::new(clock), Duration::days(30))
    }

    #[tokio::test]
    async fn lists_settled_events_of_the_selected_types_and_keeps_the_cursor_on_an_empty_page() {
        let mut events = MockEventRepository::new();
        events
            .expect_list()
            .withf(|selector, _, until, limit| {
                selector.types().len() == 4
                    && *until == Utc.with_ymd_and_hms(2026, 11, 30, 8, 59, 59).single().expect("time")
                    && *limit == 11
            })
            .returning(|_, _, _, _| Ok(Vec::new()));
        let after = EventId::generate();
        let page = service(events).list(Some("order.*"), Some(after), 10).await.expect("page");
        assert_eq!(page.next, Some(after));
        assert!(!page.has_more);
    }

    #[tokio::test]
    async fn an_unknown_type_is_refused_on_the_type_field() {
        let error = service(MockEventRepository::new()).list(Some("order.shipped"), None, 10).await.unwrap_err();
        let EventListError::Validation(errors) = error else { panic!("not a validation error: {error:?}") };
        assert_eq!(errors.fields()[0].field, "type");
    }

    #[tokio::test]
    async fn prune_forgets_what_is_older_than_the_retention() {
        let mut events = MockEventRepository::new();
        events
            .expect_prune()
            .withf(|before| *before == Utc.with_ymd_and_hms(2026, 10, 31, 9, 0, 0).single().expect("time"))
            .returning(|_| Ok(3));
        assert_eq!(service(events).prune().await.expect("prune"), 3);
    }
}
