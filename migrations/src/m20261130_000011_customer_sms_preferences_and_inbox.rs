//! What customers want from texts, and what they text back (#22):
//! - `customers.language` (`en` or `sw`; existing customers `en`) and `customers.sms_opt_out`
//!   (existing customers `false`);
//! - `ix_customers_phone`: customers are found by number (an opt-out names a number, not a
//!   customer; several customers may share one);
//! - `incoming_messages`: the texts customers send to the shop's number (Africa's Talking's
//!   incoming-message callback). `provider_id` is AT's `id`, unique, so a repeated callback is
//!   stored once. No customer id is stored: a message belongs to whichever customers have its
//!   `sender` number when it is read, since a customer's phone can change (`ix_incoming_sender`
//!   serves that, newest first). `date_raw` is AT's `date` as sent (it carries no zone),
//!   `sent_at` that text read as UTC when it could be; `payload` the form as received.
//!
//! SQLite adds one column per `ALTER TABLE`; the new NOT NULL columns have defaults.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    Phone,
    Language,
    SmsOptOut,
}

#[derive(DeriveIden)]
enum IncomingMessages {
    Table,
    Id,
    ProviderId,
    Sender,
    Recipient,
    Text,
    LinkId,
    DateRaw,
    SentAt,
    ReceivedAt,
    NetworkCode,
    StopWord,
    Payload,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            text(Customers::Language).default("en").to_owned(),
            boolean(Customers::SmsOptOut).default(false).to_owned(),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Customers::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_index(
                Index::create().name("ix_customers_phone").table(Customers::Table).col(Customers::Phone).to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IncomingMessages::Table)
                    .col(uuid(IncomingMessages::Id).primary_key())
                    .col(text(IncomingMessages::ProviderId))
                    .col(text(IncomingMessages::Sender))
                    .col(text(IncomingMessages::Recipient))
                    .col(text(IncomingMessages::Text))
                    .col(text_null(IncomingMessages::LinkId))
                    .col(text_null(IncomingMessages::DateRaw))
                    .col(timestamp_with_time_zone_null(IncomingMessages::SentAt))
                    .col(timestamp_with_time_zone(IncomingMessages::ReceivedAt))
                    .col(text_null(IncomingMessages::NetworkCode))
                    .col(boolean(IncomingMessages::StopWord))
                    .col(text(IncomingMessages::Payload))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_incoming_provider_id")
                    .table(IncomingMessages::Table)
                    .col(IncomingMessages::ProviderId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_incoming_sender")
                    .table(IncomingMessages::Table)
                    .col(IncomingMessages::Sender)
                    .col(IncomingMessages::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IncomingMessages::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_customers_phone").table(Customers::Table).to_owned()).await?;
        for column in [Customers::SmsOptOut, Customers::Language] {
            manager.alter_table(Table::alter().table(Customers::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
