//! The event feed (#24): every change to a customer, an order or an SMS writes an `events` row
//! in the same transaction.
//! - `type`: `customer.created`, `order.status_changed`, ...;
//! - `object_id`: the id of the customer, order or notification it is about;
//! - `object`: the object right after the change (right before it, for a deletion), as JSON of
//!   its stored row, so the feed shows it as it was even after later changes or its deletion;
//! - `routed`: whether the webhook dispatcher has turned it into deliveries yet
//!   (`ix_events_unrouted` finds the ones it has not; it starts `false`).
//!
//! Ids are UUIDv7, so the primary key is also the feed's order; `ix_events_created_at` serves
//! the retention sweep (`events.retention_days`).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Type,
    ObjectId,
    Object,
    CreatedAt,
    Routed,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(uuid(Events::Id).primary_key())
                    .col(string_len(Events::Type, 40))
                    .col(uuid(Events::ObjectId))
                    .col(text(Events::Object))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .col(boolean(Events::Routed).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("ix_events_created_at").table(Events::Table).col(Events::CreatedAt).to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_events_unrouted")
                    .table(Events::Table)
                    .col(Events::Routed)
                    .col(Events::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Events::Table).to_owned()).await
    }
}
