//! Texts per order event and language (issue #22):
//! - `notifications.event`: what the SMS announces (`order.created`, `order.ready`, ...);
//!   every earlier notification announced a creation.
//! - `notifications.language`: the language of its text (`en`, `sw`); earlier ones are English.
//! - `notifications.skip_reason`: why a `skipped` notification was never sent (`opted_out`,
//!   `not_mobile`).
//!
//! SQLite adds one column per `ALTER TABLE`, so each is its own statement.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Event,
    Language,
    SkipReason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            string_len(Notifications::Event, 32).default("order.created").to_owned(),
            string_len(Notifications::Language, 8).default("en").to_owned(),
            string_len_null(Notifications::SkipReason, 32),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Notifications::Table).add_column(&mut column).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Notifications::SkipReason, Notifications::Language, Notifications::Event] {
            manager.alter_table(Table::alter().table(Notifications::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
