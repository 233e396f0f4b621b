//! [`InboxRepository`] on sea-orm: the `incoming_messages` table.

use async_trait::async_trait;
use orderdesk_domain::inbox::IncomingMessage;
use orderdesk_domain::ports::InboxRepository;
use orderdesk_domain::{Page, PageRequest, RepoError};
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::entity::incoming_messages::{self, Column, Entity};
use super::error::repo_error;
use super::store::Store;

/// Incoming messages in the `incoming_messages` table.
#[derive(Debug, Clone)]
pub struct SeaOrmInboxRepository {
    db: Store,
}

impl SeaOrmInboxRepository {
    pub fn new(db: impl Into<Store>) -> Self {
        Self { db: db.into() }
    }
}

fn to_row(message: &IncomingMessage) -> incoming_messages::ActiveModel {
    incoming_messages::ActiveModel {
        id: Set(message.id),
        provider_id: Set(message.provider_id.clone()),
        sender: Set(message.sender.clone()),
        recipient: Set(message.recipient.clone()),
        text: Set(message.text.clone()),
        link_id: Set(message.link_id.clone()),
        date_raw: Set(message.date_raw.clone()),
        sent_at: Set(message.sent_at),
        received_at: Set(message.received_at),
        network_code: Set(message.network_code.clone()),
        stop_word: Set(message.stop_word),
        payload: Set(message.raw.clone()),
    }
}

fn to_domain(row: incoming_messages::Model) -> IncomingMessage {
    IncomingMessage {
        id: row.id,
        provider_id: row.provider_id,
        sender: row.sender,
        recipient: row.recipient,
        text: row.text,
        link_id: row.link_id,
        date_raw: row.date_raw,
        sent_at: row.sent_at,
        received_at: row.received_at,
        network_code: row.network_code,
        stop_word: row.stop_word,
        raw: row.payload,
    }
}

#[async_trait]
impl InboxRepository for SeaOrmInboxRepository {
    /// One plain `INSERT`; the unique index on `provider_id` refuses a repeat, which is
    /// answered `false`, so concurrent repeats of a callback store one row and none fails.
    /// (Not `ON CONFLICT DO NOTHING`: SQLite checks its conflict target when the statement is
    /// prepared, against the schema the pooled connection last read, and a connection opened
    /// before the migration refuses it.)
    #[tracing::instrument(level = "debug", skip_all, fields(provider_id = %message.provider_id))]
    async fn insert(&self, message: &IncomingMessage) -> Result<bool, RepoError> {
        match Entity::insert(to_row(message)).exec_without_returning(self.db.write()).await.map_err(repo_error) {
            Ok(_) => Ok(true),
            Err(RepoError::Duplicate) => Ok(false),
            Err(other) => Err(other),
        }
    }

    async fn list_from(&self, sender: &str, page: PageRequest) -> Result<Page<IncomingMessage>, RepoError> {
        let mut query =
            Entity::find().filter(Column::Sender.eq(sender)).order_by_desc(Column::Id).limit(page.limit + 1);
        if let Some(before) = page.before {
            query = query.filter(Column::Id.lt(before));
        }
        let rows = query.all(self.db.read()).await.map_err(repo_error)?;
        let messages = rows.into_iter().map(to_domain).collect();
        Ok(Page::from_overfetch(messages, page.limit, |m: &IncomingMessage| m.id))
    }
}
