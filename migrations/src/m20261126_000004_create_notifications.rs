//! The SMS outbox, its attempts, and the raw delivery reports kept for audit.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Notifications {
    Table,
    Id,
    OrderId,
    Recipient,
    Message,
    /// pending | sending | sent | delivered | undelivered | failed
    Status,
    Attempts,
    TimedOut,
    NextAttemptAt,
    LeaseOwner,
    LeaseUntil,
    ProviderMessageId,
    ProviderStatus,
    Cost,
    DeliveryStatus,
    DeliveryFailureReason,
    LastError,
    CreatedAt,
    UpdatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum NotificationAttempts {
    Table,
    Id,
    NotificationId,
    Number,
    AttemptedAt,
    Outcome,
    Error,
}

#[derive(DeriveIden)]
enum DeliveryReports {
    Table,
    Id,
    ProviderMessageId,
    Status,
    Payload,
    ReceivedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Notifications::Table)
                    .col(uuid(Notifications::Id).primary_key())
                    .col(uuid(Notifications::OrderId))
                    .col(string_len(Notifications::Recipient, 20))
                    .col(text(Notifications::Message))
                    .col(string_len(Notifications::Status, 16))
                    .col(integer(Notifications::Attempts))
                    .col(boolean(Notifications::TimedOut))
                    .col(timestamp_with_time_zone(Notifications::NextAttemptAt))
                    .col(string_len_null(Notifications::LeaseOwner, 100))
                    .col(timestamp_with_time_zone_null(Notifications::LeaseUntil))
                    .col(string_len_null(Notifications::ProviderMessageId, 64))
                    .col(string_len_null(Notifications::ProviderStatus, 64))
                    .col(string_len_null(Notifications::Cost, 32))
                    .col(string_len_null(Notifications::DeliveryStatus, 32))
                    .col(string_len_null(Notifications::DeliveryFailureReason, 64))
                    .col(text_null(Notifications::LastError))
                    .col(timestamp_with_time_zone(Notifications::CreatedAt))
                    .col(timestamp_with_time_zone(Notifications::UpdatedAt))
                    .col(timestamp_with_time_zone_null(Notifications::SentAt))
                    // An order's SMS records go with it; orders with customers are protected by RESTRICT.
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_notifications_order")
                            .from(Notifications::Table, Notifications::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("ix_notifications_due", vec![Notifications::Status, Notifications::NextAttemptAt]),
            ("ix_notifications_order", vec![Notifications::OrderId]),
            ("ix_notifications_provider_message", vec![Notifications::ProviderMessageId]),
        ] {
            let mut index = Index::create().name(name).table(Notifications::Table).to_owned();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(NotificationAttempts::Table)
                    .col(uuid(NotificationAttempts::Id).primary_key())
                    .col(uuid(NotificationAttempts::NotificationId))
                    .col(integer(NotificationAttempts::Number))
                    .col(timestamp_with_time_zone(NotificationAttempts::AttemptedAt))
                    .col(string_len(NotificationAttempts::Outcome, 16))
                    .col(text_null(NotificationAttempts::Error))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attempts_notification")
                            .from(NotificationAttempts::Table, NotificationAttempts::NotificationId)
                            .to(Notifications::Table, Notifications::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_attempts_notification")
                    .table(NotificationAttempts::Table)
                    .col(NotificationAttempts::NotificationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(DeliveryReports::Table)
                    .col(uuid(DeliveryReports::Id).primary_key())
                    .col(string_len(DeliveryReports::ProviderMessageId, 64))
                    .col(string_len(DeliveryReports::Status, 32))
                    .col(text(DeliveryReports::Payload))
                    .col(timestamp_with_time_zone(DeliveryReports::ReceivedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            DeliveryReports::Table.into_iden(),
            NotificationAttempts::Table.into_iden(),
            Notifications::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
