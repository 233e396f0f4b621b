//! Who created and last changed each row (token subjects). Nullable: rows written before
//! authentication have none. One column per ALTER, as SQLite requires.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Customers {
    Table,
}

#[derive(DeriveIden)]
enum Orders {
    Table,
}

#[derive(DeriveIden)]
enum Audit {
    CreatedBy,
    UpdatedBy,
}

fn tables() -> [DynIden; 2] {
    [Customers::Table.into_iden(), Orders::Table.into_iden()]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            for column in [Audit::CreatedBy, Audit::UpdatedBy] {
                manager
                    .alter_table(
                        Table::alter().table(table.clone()).add_column(string_len_null(column, 255)).to_owned(),
                    )
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in tables() {
            for column in [Audit::CreatedBy, Audit::UpdatedBy] {
                manager.alter_table(Table::alter().table(table.clone()).drop_column(column).to_owned()).await?;
            }
        }
        Ok(())
    }
}
