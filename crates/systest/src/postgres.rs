//! Throwaway PostgreSQL databases beside `ORDERDESK_TEST_POSTGRES_URL`'s, through `psql`.

use std::process::Command;

use anyhow::ensure;

/// The variable naming the PostgreSQL server the checks may create databases on.
pub const ADMIN_URL_VAR: &str = "ORDERDESK_TEST_POSTGRES_URL";

/// `ORDERDESK_TEST_POSTGRES_URL` when set and not empty.
pub fn admin_url() -> Option<String> {
    std::env::var(ADMIN_URL_VAR).ok().filter(|url| !url.is_empty())
}

/// Runs `sql` with `psql`, stopping at the first error.
pub fn psql(url: &str, sql: &str) -> anyhow::Result<()> {
    query(url, sql).map(drop)
}

/// Runs `sql` with `psql` and returns its rows, each split at `|`.
pub fn query(url: &str, sql: &str) -> anyhow::Result<Vec<Vec<String>>> {
    let output = Command::new("psql").args([url, "-v", "ON_ERROR_STOP=1", "-qAtF|", "-c", sql]).output()?;
    ensure!(output.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&output.stderr));
    Ok(rows(&String::from_utf8_lossy(&output.stdout)))
}

fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines().filter(|l| !l.is_empty()).map(|l| l.split('|').map(str::to_owned).collect()).collect()
}

/// The admin URL with its database name replaced.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(slash) if slash > "postgres://".len() => &base[..slash],
        _ => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// `url` with `sslmode=disable`: on loopback TLS only costs CPU, and the benchmarks compare
/// servers that connect the same way.
pub fn without_tls(url: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=disable")
}

/// A throwaway PostgreSQL database beside the admin URL's one, dropped when this is dropped.
pub struct TempDatabase {
    admin_url: String,
    name: String,
}

impl TempDatabase {
    /// Creates `orderdesk_<purpose>_<pid>` next to the database of `admin_url`.
    pub fn create(admin_url: &str, purpose: &str) -> anyhow::Result<Self> {
        let name = format!("orderdesk_{purpose}_{}", std::process::id());
        psql(admin_url, &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
        psql(admin_url, &format!("CREATE DATABASE {name}"))?;
        Ok(Self { admin_url: admin_url.to_owned(), name })
    }

    /// Its URL (the admin URL's user, host and options).
    pub fn url(&self) -> String {
        database_url(&self.admin_url, &self.name)
    }
}

impl Drop for TempDatabase {
    fn drop(&mut self) {
        let _ = psql(&self.admin_url, &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_in_the_admin_url() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(database_url("postgres://u:p@h/db?sslmode=disable", "x"), "postgres://u:p@h/x?sslmode=disable");
    }

    #[test]
    fn tls_is_turned_off_whatever_the_url_has() {
        assert_eq!(without_tls("postgres://h/db"), "postgres://h/db?sslmode=disable");
        assert_eq!(without_tls("postgres://h/db?user=u"), "postgres://h/db?user=u&sslmode=disable");
    }

    #[test]
    fn rows_are_split_at_bars() {
        assert_eq!(rows("a|1\n\nb|2\n"), [["a", "1"], ["b", "2"]]);
    }
}
