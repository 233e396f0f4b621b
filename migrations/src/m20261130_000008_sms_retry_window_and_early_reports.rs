//! SMS that survive an outage and reach the right number:
//! - `notifications.retry_since`: when the current retry window opened (creation, or the last
//!   retry by hand); sending gives up once `sms.retry_for` has passed since then.
//! - `notification_attempts.recipient`: the number each attempt texted (a retry by hand uses the
//!   customer's current number).
//! - `delivery_reports.phone_number`, `network_code`, `failure_reason`: a report that arrives
//!   before its send is recorded is applied later from these, not from the raw form.
//!
//! SQLite adds one column per `ALTER TABLE`, so each is its own statement; existing rows are
//! filled in by portable `UPDATE`s.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notifications {
    Table,
    RetrySince,
}

#[derive(DeriveIden)]
enum NotificationAttempts {
    Table,
    Recipient,
}

#[derive(DeriveIden)]
enum DeliveryReports {
    Table,
    PhoneNumber,
    NetworkCode,
    FailureReason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns: [(DynIden, ColumnDef); 5] = [
            (Notifications::Table.into_iden(), timestamp_with_time_zone_null(Notifications::RetrySince)),
            (NotificationAttempts::Table.into_iden(), string_len_null(NotificationAttempts::Recipient, 32)),
            (DeliveryReports::Table.into_iden(), string_len_null(DeliveryReports::PhoneNumber, 64)),
            (DeliveryReports::Table.into_iden(), string_len_null(DeliveryReports::NetworkCode, 32)),
            (DeliveryReports::Table.into_iden(), text_null(DeliveryReports::FailureReason)),
        ];
        for (table, mut column) in columns {
            manager.alter_table(Table::alter().table(table).add_column(&mut column).to_owned()).await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE notifications SET retry_since = created_at").await?;
        db.execute_unprepared(
            "UPDATE notification_attempts SET recipient = \
             (SELECT n.recipient FROM notifications n WHERE n.id = notification_attempts.notification_id)",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_delivery_reports_message")
                    .table(DeliveryReports::Table)
                    .col(Alias::new("provider_message_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("ix_delivery_reports_message").table(DeliveryReports::Table).to_owned())
            .await?;
        let columns: [(DynIden, DynIden); 5] = [
            (DeliveryReports::Table.into_iden(), DeliveryReports::FailureReason.into_iden()),
            (DeliveryReports::Table.into_iden(), DeliveryReports::NetworkCode.into_iden()),
            (DeliveryReports::Table.into_iden(), DeliveryReports::PhoneNumber.into_iden()),
            (NotificationAttempts::Table.into_iden(), NotificationAttempts::Recipient.into_iden()),
            (Notifications::Table.into_iden(), Notifications::RetrySince.into_iden()),
        ];
        for (table, column) in columns {
            manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
