//! Orders that live after they are taken:
//! - `orders.number` (unique, never reused) and `orders.reference` (`"ORD-1042"`), given to
//!   existing orders in order of creation (`created_at`, then `id`) from 1001;
//! - `orders.status` (`received` for existing orders), `status_changed_at` (their
//!   `created_at`), `cancel_reason`, `cancel_note`;
//! - `order_status_changes`: each order's history, keyed by the order's version after the
//!   change; existing orders get their creation (`received`, version 0);
//! - `idempotency_keys.etag`: the `ETag` of a stored response whose body does not carry it;
//! - where numbers come from: on PostgreSQL the sequence `order_number_seq`, on SQLite (no
//!   sequences) the one-row table `order_number_counter`; both continue after the highest
//!   number given here. This is the one place the schema differs between the backends.
//!
//! SQLite adds one column per `ALTER TABLE`; NOT NULL columns have a default, and existing
//! rows are filled in by `UPDATE … FROM` (SQLite 3.33+, PostgreSQL).

use sea_orm_migration::sea_orm::DbBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    Id,
    Number,
    Reference,
    Status,
    StatusChangedAt,
    CancelReason,
    CancelNote,
}

#[derive(DeriveIden)]
enum OrderStatusChanges {
    Table,
    OrderId,
    Version,
    Status,
    ChangedAt,
    ChangedBy,
    Note,
    CancelReason,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Etag,
}

/// The number existing orders start from: the default of `orders.first_number`.
const FIRST_NUMBER: i64 = 1001;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            big_integer(Orders::Number).default(0).to_owned(),
            string_len(Orders::Reference, 16).default("").to_owned(),
            string_len(Orders::Status, 32).default("received").to_owned(),
            timestamp_with_time_zone_null(Orders::StatusChangedAt),
            string_len_null(Orders::CancelReason, 32),
            text_null(Orders::CancelNote),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Orders::Table).add_column(&mut column).to_owned()).await?;
        }
        let mut etag = string_len_null(IdempotencyKeys::Etag, 64);
        manager.alter_table(Table::alter().table(IdempotencyKeys::Table).add_column(&mut etag).to_owned()).await?;

        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "UPDATE orders SET number = numbered.position + {}, status_changed_at = orders.created_at \
             FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY created_at, id) AS position FROM orders) AS numbered \
             WHERE numbered.id = orders.id",
            FIRST_NUMBER - 1
        ))
        .await?;
        db.execute_unprepared("UPDATE orders SET reference = 'ORD-' || CAST(number AS TEXT)").await?;
        manager
            .create_index(
                Index::create().name("ux_orders_number").table(Orders::Table).col(Orders::Number).unique().to_owned(),
            )
            .await?;
        manager
            .create_index(Index::create().name("ix_orders_status").table(Orders::Table).col(Orders::Status).to_owned())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OrderStatusChanges::Table)
                    .col(uuid(OrderStatusChanges::OrderId))
                    .col(integer(OrderStatusChanges::Version))
                    .col(string_len(OrderStatusChanges::Status, 32))
                    .col(timestamp_with_time_zone(OrderStatusChanges::ChangedAt))
                    .col(string_len_null(OrderStatusChanges::ChangedBy, 255))
                    .col(text_null(OrderStatusChanges::Note))
                    .col(string_len_null(OrderStatusChanges::CancelReason, 32))
                    .primary_key(Index::create().col(OrderStatusChanges::OrderId).col(OrderStatusChanges::Version))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_order_status_changes_order")
                            .from(OrderStatusChanges::Table, OrderStatusChanges::OrderId)
                            .to(Orders::Table, Orders::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        db.execute_unprepared(
            "INSERT INTO order_status_changes (order_id, version, status, changed_at, changed_by) \
             SELECT id, 0, 'received', created_at, created_by FROM orders",
        )
        .await?;

        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared(&format!(
                "CREATE SEQUENCE order_number_seq AS BIGINT MINVALUE 1 START WITH {FIRST_NUMBER}"
            ))
            .await?;
            // Continues after the highest number given above; untouched when there is none.
            db.execute_unprepared("SELECT setval('order_number_seq', MAX(number)) FROM orders HAVING COUNT(*) > 0")
                .await?;
        } else {
            let last = format!("(SELECT COALESCE(MAX(number), {}) FROM orders)", FIRST_NUMBER - 1);
            db.execute_unprepared(
                "CREATE TABLE order_number_counter (id INTEGER NOT NULL PRIMARY KEY, last_number BIGINT NOT NULL)",
            )
            .await?;
            db.execute_unprepared(&format!("INSERT INTO order_number_counter (id, last_number) VALUES (1, {last})"))
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Postgres {
            db.execute_unprepared("DROP SEQUENCE order_number_seq").await?;
        } else {
            db.execute_unprepared("DROP TABLE order_number_counter").await?;
        }
        manager.drop_table(Table::drop().table(OrderStatusChanges::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_orders_status").table(Orders::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("ux_orders_number").table(Orders::Table).to_owned()).await?;
        manager
            .alter_table(Table::alter().table(IdempotencyKeys::Table).drop_column(IdempotencyKeys::Etag).to_owned())
            .await?;
        let columns: [DynIden; 6] = [
            Orders::CancelNote.into_iden(),
            Orders::CancelReason.into_iden(),
            Orders::StatusChangedAt.into_iden(),
            Orders::Status.into_iden(),
            Orders::Reference.into_iden(),
            Orders::Number.into_iden(),
        ];
        for column in columns {
            manager.alter_table(Table::alter().table(Orders::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
