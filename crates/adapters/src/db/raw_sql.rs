//! Hand-written SQL (reports, summaries) run on both backends: written once with PostgreSQL's
//! `$n` placeholders, given to SQLite as `?n` (SQLite's numbered form, same numbers).

use sea_orm::sea_query::Tokenizer;
use sea_orm::{DatabaseBackend, Statement, Value};

/// A statement for `backend` from `sql` written with `$n` placeholders. The SQL is read as
/// tokens (sea-query's tokenizer), so only a `$` followed by a number outside quotes is a
/// placeholder; a `$` inside a string literal or identifier is left as written.
pub(crate) fn statement(backend: DatabaseBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DatabaseBackend::Sqlite => numbered_placeholders(sql),
        _ => sql.to_owned(),
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `$n` outside quotes becomes `?n`.
fn numbered_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut tokens = Tokenizer::new(sql).iter().peekable();
    while let Some(token) = tokens.next() {
        let text = token.as_str();
        let numbered = tokens.peek().is_some_and(|next| {
            next.is_unquoted() && !next.as_str().is_empty() && next.as_str().bytes().all(|b| b.is_ascii_digit())
        });
        if token.is_punctuation() && text == "$" && numbered {
            out.push('?');
        } else {
            out.push_str(text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_quotes_are_numbered_for_sqlite() {
        let sql = "SELECT a FROM t WHERE b >= $1 AND c < $2 AND d = '$3' AND e = \"$4\" LIMIT $10";
        assert_eq!(
            numbered_placeholders(sql),
            "SELECT a FROM t WHERE b >= ?1 AND c < ?2 AND d = '$3' AND e = \"$4\" LIMIT ?10"
        );
    }

    #[test]
    fn a_dollar_not_followed_by_a_number_is_kept() {
        assert_eq!(numbered_placeholders("SELECT '$' || x$y FROM t"), "SELECT '$' || x$y FROM t");
    }

    #[test]
    fn postgres_statements_are_unchanged() {
        let statement = statement(DatabaseBackend::Postgres, "SELECT $1", vec![1i64.into()]);
        assert_eq!(statement.sql, "SELECT $1");
    }
}
