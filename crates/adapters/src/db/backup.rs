//! A consistent copy of a SQLite database while servers keep writing (`VACUUM INTO`).

use std::path::Path;

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

/// Why a backup was not written.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The database is not SQLite; PostgreSQL is backed up with its own tools.
    #[error("backups of {0:?} databases are made with their own tools")]
    NotSqlite(DatabaseBackend),
    /// The target exists already (a backup never overwrites).
    #[error("{0} exists; a backup never overwrites a file")]
    Exists(String),
    /// The target cannot be created.
    #[error("cannot create {path}: {source}")]
    Create {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused the copy.
    #[error("VACUUM INTO failed: {0}")]
    Vacuum(#[source] sea_orm::DbErr),
}

/// Writes a transactionally consistent copy of the SQLite database behind `db` to `target`,
/// readable by its owner only (0600). Concurrent writers are not blocked for long: the copy
/// reads one snapshot (WAL mode). An existing `target` is refused and left alone; on failure
/// the partial copy is removed.
///
/// # Errors
/// See [`BackupError`].
pub async fn backup_sqlite(db: &DatabaseConnection, target: &Path) -> Result<(), BackupError> {
    let backend = db.get_database_backend();
    if backend != DatabaseBackend::Sqlite {
        return Err(BackupError::NotSqlite(backend));
    }
    let shown = target.display().to_string();
    // VACUUM INTO accepts an empty file: create it first, private and exclusively, so the
    // copy never exists with looser permissions and a race with another file is refused.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(target) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(BackupError::Exists(shown)),
        Err(source) => return Err(BackupError::Create { path: shown, source }),
    }
    let statement = Statement::from_sql_and_values(backend, "VACUUM INTO ?", [shown.clone().into()]);
    if let Err(error) = db.execute_raw(statement).await {
        let _ = std::fs::remove_file(target);
        return Err(BackupError::Vacuum(error));
    }
    Ok(())
}
