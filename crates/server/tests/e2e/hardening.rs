//! Files and pages that must not be open to others: the SQLite database and the API docs.

use orderdesk_adapters::testing::{Backend, with_database};
use reqwest::StatusCode;

use crate::helpers::spawn_app;

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_database_and_its_wal_files_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        assert_eq!(app.post_customer("PRIVATE-1").await.status(), StatusCode::CREATED);
        let file = db.settings.url.trim_start_matches("sqlite://").to_owned();
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{file}{suffix}");
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{path} has mode {mode:o}");
        }
    })
    .await;
}

#[tokio::test]
async fn the_api_docs_cannot_be_framed_and_run_only_their_own_scripts() {
    with_database(Backend::Sqlite, |db| async move {
        let app = spawn_app(&db).await;
        let response = app.anonymous.get(app.url("/docs")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-frame-options"], "DENY");
        let policy = response.headers()["content-security-policy"].to_str().unwrap().to_owned();
        let page = response.text().await.unwrap();
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("default-src 'none'"), "{policy}");

        // Every inline script of the page is allowed by its hash, so Swagger UI still runs;
        // nothing else is.
        // A script element cannot contain its end tag, so this counts the elements.
        let scripts = page.matches("</script>").count();
        assert!(scripts >= 2, "swagger UI page has its scripts");
        let script_src = policy.split(';').find(|d| d.trim_start().starts_with("script-src")).unwrap();
        assert!(!script_src.contains("unsafe"), "{script_src}");
        assert_eq!(script_src.matches("'sha256-").count(), scripts, "{script_src}");
        assert!(policy.contains("connect-src 'self'"), "Try it out calls this server: {policy}");
    })
    .await;
}
