//! SQL text built once. sea-query builds a statement from expression trees on every call:
//! for a `SELECT` of a 17-column row that is some 30,000 instructions, more than sqlx takes
//! to run it (docs/benchmarks.md, per-layer table). A hot query whose shape never changes
//! builds its text on first use, per backend, and later calls bind their values to it. The
//! text is still sea-query's, so it stays in step with the entities.

use std::sync::OnceLock;

use sea_orm::{DbBackend, Statement, Value, Values};

/// One query's text on each backend, built on first use.
pub(crate) struct CachedSql {
    postgres: OnceLock<String>,
    sqlite: OnceLock<String>,
}

impl CachedSql {
    pub(crate) const fn new() -> Self {
        Self { postgres: OnceLock::new(), sqlite: OnceLock::new() }
    }

    /// The statement with `values`, in the order `build` binds them; `build` runs once per
    /// backend. In debug builds (the tests) the values `build` bound are checked against
    /// `values`, so a caller that binds in another order fails its tests.
    pub(crate) fn statement(
        &self,
        backend: DbBackend,
        values: Vec<Value>,
        build: impl FnOnce() -> Statement,
    ) -> Statement {
        let cell = match backend {
            DbBackend::Postgres => &self.postgres,
            _ => &self.sqlite,
        };
        let sql = cell.get_or_init(|| {
            let built = build();
            debug_assert_eq!(built.values, Some(Values(values.clone())), "bound in another order: {}", built.sql);
            built.sql
        });
        Statement::from_sql_and_values(backend, sql.as_str(), values)
    }
}

#[cfg(test)]
mod tests {
    use sea_orm::{EntityTrait, QuerySelect, QueryTrait};

    use super::*;
    use crate::db::entity::orders::Entity;

    #[test]
    fn the_text_is_built_once_and_later_values_are_bound_to_it() {
        static FIND: CachedSql = CachedSql::new();
        let id = uuid::Uuid::now_v7();
        let built = || Entity::find_by_id(id).limit(1).build(DbBackend::Postgres);
        let first = FIND.statement(DbBackend::Postgres, vec![id.into(), 1u64.into()], built);
        assert_eq!(first, built());
        let other = uuid::Uuid::now_v7();
        let again = FIND.statement(DbBackend::Postgres, vec![other.into(), 1u64.into()], || unreachable!("built once"));
        assert_eq!(again, Entity::find_by_id(other).limit(1).build(DbBackend::Postgres));
    }
}
