//! Versions on customers and orders (their `ETag`, compared by `If-Match`), and the stored
//! responses of requests sent with an `Idempotency-Key`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
    Version,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
    Version,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    /// The caller's token subject: keys are per caller.
    Subject,
    IdempotencyKey,
    Operation,
    /// SHA-256 of the canonical request body.
    Fingerprint,
    Status,
    Location,
    Body,
    CreatedAt,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(Customers::Table).add_column(integer(Customers::Version).default(0)).to_owned(),
            )
            .await?;
        manager
            .alter_table(Table::alter().table(Orders::Table).add_column(integer(Orders::Version).default(0)).to_owned())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(string_len(IdempotencyKeys::Subject, 255))
                    .col(string_len(IdempotencyKeys::IdempotencyKey, 255))
                    .col(string_len(IdempotencyKeys::Operation, 64))
                    .col(string_len(IdempotencyKeys::Fingerprint, 64))
                    .col(integer(IdempotencyKeys::Status))
                    .col(text_null(IdempotencyKeys::Location))
                    .col(text(IdempotencyKeys::Body))
                    .col(timestamp_with_time_zone(IdempotencyKeys::CreatedAt))
                    .col(timestamp_with_time_zone(IdempotencyKeys::ExpiresAt))
                    .primary_key(Index::create().col(IdempotencyKeys::Subject).col(IdempotencyKeys::IdempotencyKey))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_idempotency_keys_expires_at")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Orders::Table).drop_column(Orders::Version).to_owned()).await?;
        manager.alter_table(Table::alter().table(Customers::Table).drop_column(Customers::Version).to_owned()).await
    }
}
