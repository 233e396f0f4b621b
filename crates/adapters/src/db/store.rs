//! The database's connections, split by what they do. SQLite allows one writer at a time
//! (<https://www.sqlite.org/lockingv3.html>): with every pooled connection free to write,
//! concurrent write transactions sleep in `busy_timeout` and retry, so creates queue on the
//! lock rather than on a pool. Here SQLite writes go through a pool of one connection whose
//! transactions start with `BEGIN IMMEDIATE` (the write lock up front, so a transaction that
//! reads first never fails to upgrade), and reads through a pool of read-only connections,
//! which WAL lets run beside the writer. PostgreSQL has row locks and MVCC: one pool does both.

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// The read and write connections of one database. Cheap to clone (pools are shared).
#[derive(Debug, Clone)]
pub struct Store {
    reader: DatabaseConnection,
    writer: DatabaseConnection,
}

impl Store {
    /// `reader` for queries, `writer` for everything that changes rows (on SQLite a pool of
    /// one connection; its transactions begin `IMMEDIATE`).
    pub fn new(reader: DatabaseConnection, writer: DatabaseConnection) -> Self {
        Self { reader, writer }
    }

    /// Queries that change nothing.
    pub fn read(&self) -> &DatabaseConnection {
        &self.reader
    }

    /// Single statements that change rows, and migrations.
    pub fn write(&self) -> &DatabaseConnection {
        &self.writer
    }

    /// A write transaction: on SQLite `BEGIN IMMEDIATE` on the writer connection, on
    /// PostgreSQL a plain `BEGIN`.
    ///
    /// # Errors
    /// The connection cannot be had or the transaction cannot start.
    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        self.writer.begin_with_options(options).await
    }

    /// Closes both pools (waits for connections in use to come back).
    pub async fn close(self) {
        let _ = self.reader.close().await;
        let _ = self.writer.close().await;
    }

    /// The backend both connections talk to.
    pub fn backend(&self) -> sea_orm::DbBackend {
        self.writer.get_database_backend()
    }
}

/// One pool for reads and writes (PostgreSQL, an in-memory SQLite database, tests).
impl From<DatabaseConnection> for Store {
    fn from(db: DatabaseConnection) -> Self {
        Self { reader: db.clone(), writer: db }
    }
}
