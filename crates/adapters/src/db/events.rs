//! [`EventRepository`] on sea-orm, and the write every repository makes in its change's
//! transaction ([`insert_events`]). An event keeps its object as JSON of the object's stored
//! row, read back through the same conversion as the live table.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use orderdesk_domain::ports::EventRepository;
use orderdesk_domain::{Event, EventId, EventObject, EventSelector, EventType, NewEvent, RepoError};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, QueryTrait,
    TryIntoModel,
};

use super::entity::events::{self, Column, Entity};
use super::entity::{customers, notifications, orders};
use super::error::{corrupt, repo_error};
use super::store::Store;

/// The event feed in the `events` table.
#[derive(Debug, Clone)]
pub struct SeaOrmEventRepository {
    db: Store,
}

impl SeaOrmEventRepository {
    pub fn new(db: impl Into<Store>) -> Self {
        Self { db: db.into() }
    }
}

/// Writes `events` on `conn` (the change's transaction), after the change's own statements:
/// each id is taken here, as the row is written, so ids sort in write order (on SQLite, which
/// holds the write lock by now, in commit order). Nothing for none.
pub(crate) async fn insert_events<C: ConnectionTrait>(conn: &C, events: &[NewEvent]) -> Result<(), RepoError> {
    if events.is_empty() {
        return Ok(());
    }
    // An import writes thousands: chunks stay well under both databases' parameter limits.
    for chunk in events.chunks(500) {
        let rows = chunk.iter().map(to_row).collect::<Result<Vec<_>, _>>()?;
        Entity::insert_many(rows).exec_without_returning(conn).await.map_err(repo_error)?;
    }
    Ok(())
}

/// The `INSERT` of `events` as one statement to run with others (see
/// [`super::orders`]'s SQLite create): ids taken now, so build it inside the transaction.
/// `None` for none. For a change's few events; [`insert_events`] chunks larger sets.
pub(crate) fn events_insert(events: &[NewEvent]) -> Result<Option<sea_orm::sea_query::InsertStatement>, RepoError> {
    if events.is_empty() {
        return Ok(None);
    }
    let rows = events.iter().map(to_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Entity::insert_many(rows).into_query()))
}

fn to_row(event: &NewEvent) -> Result<events::ActiveModel, RepoError> {
    let object = match &event.object {
        EventObject::Customer(customer) => snapshot(super::customers::to_row(customer)),
        EventObject::Order(order) => snapshot(super::orders::to_row(order)),
        EventObject::Notification(notification) => snapshot(super::notifications::to_row(notification)),
    }?;
    Ok(events::ActiveModel {
        id: Set(EventId::generate().as_uuid()),
        kind: Set(event.kind.as_str().to_owned()),
        object_id: Set(event.object.id()),
        object: Set(object),
        created_at: Set(event.created_at),
        routed: Set(false),
    })
}

/// The JSON of a row as it is stored.
fn snapshot<A>(row: A) -> Result<String, RepoError>
where
    A: sea_orm::ActiveModelTrait + TryIntoModel<<A::Entity as EntityTrait>::Model>,
    <A::Entity as EntityTrait>::Model: serde::Serialize,
{
    let model = row.try_into_model().map_err(|e| RepoError::Unexpected(e.into()))?;
    serde_json::to_string(&model).map_err(|e| RepoError::Unexpected(e.into()))
}

fn read<M: serde::de::DeserializeOwned>(json: &str) -> Result<M, RepoError> {
    serde_json::from_str(json).map_err(|e| corrupt("event object", e))
}

pub(crate) fn to_domain(row: events::Model) -> Result<Event, RepoError> {
    let kind = EventType::parse(&row.kind).map_err(|_| corrupt("event type", &row.kind))?;
    let object = match kind.object_type() {
        "customer" => EventObject::Customer(super::customers::to_domain(read::<customers::Model>(&row.object)?)?),
        "order" => EventObject::Order(super::orders::to_domain(read::<orders::Model>(&row.object)?)?),
        _ => EventObject::Notification(super::notifications::to_domain(read::<notifications::Model>(&row.object)?)?),
    };
    Ok(Event { id: EventId::from_uuid(row.id), kind, created_at: row.created_at, object })
}

#[async_trait]
impl EventRepository for SeaOrmEventRepository {
    async fn list(
        &self,
        selector: &EventSelector,
        after: Option<EventId>,
        until: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<Event>, RepoError> {
        let mut query = Entity::find().filter(Column::CreatedAt.lte(until));
        if let Some(after) = after {
            query = query.filter(Column::Id.gt(after.as_uuid()));
        }
        if !selector.is_all() {
            query = query.filter(Column::Kind.is_in(selector.types().iter().map(|t| t.as_str())));
        }
        let rows = query.order_by_asc(Column::Id).limit(limit).all(self.db.read()).await.map_err(repo_error)?;
        rows.into_iter().map(to_domain).collect()
    }

    async fn find(&self, id: EventId) -> Result<Option<Event>, RepoError> {
        Entity::find_by_id(id.as_uuid()).one(self.db.read()).await.map_err(repo_error)?.map(to_domain).transpose()
    }

    async fn prune(&self, before: DateTime<Utc>) -> Result<u64, RepoError> {
        let result = Entity::delete_many()
            .filter(Column::CreatedAt.lt(before))
            .exec(self.db.write())
            .await
            .map_err(repo_error)?;
        Ok(result.rows_affected)
    }
}
