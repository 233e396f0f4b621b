//! Running in production: built-in profiles, metrics, CORS and trace context.

use std::process::Command;

/// `orderdesk config` from a directory with no `config/`: the production profile's values are
/// built into the binary, and the output says where the values came from.
#[test]
fn the_binary_carries_its_profiles() {
    let dir = std::env::temp_dir().join(format!("orderdesk-elsewhere-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |extra: &[(&str, &str)]| {
        Command::new(env!("CARGO_BIN_EXE_orderdesk"))
            .arg("config")
            .current_dir(&dir)
            .env_clear()
            .env("ORDERDESK_PROFILE", "production")
            .env("ORDERDESK_AUTH__ISSUER", "https://tenant.eu.auth0.com/")
            .env("ORDERDESK_AUTH__AUDIENCE", "https://api.orderdesk.example")
            .env("ORDERDESK_SMS__PROVIDER", "disabled")
            .envs(extra.iter().copied())
            .output()
            .unwrap()
    };
    let output = run(&[]);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for expected in [
        "#   built-in config/default.toml",
        "#   built-in config/production.toml",
        "ORDERDESK_CONFIG_DIR is not set",
        "format = \"json\"",
        "migrate_on_start = false",
        "max_connections = 16",
        "bind = \"0.0.0.0:8080\"",
    ] {
        assert!(shown.contains(expected), "{expected:?} missing from:\n{shown}");
    }

    let missing = dir.join("etc-orderdesk");
    let output = run(&[("ORDERDESK_CONFIG_DIR", missing.to_str().unwrap())]);
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && error.contains("ORDERDESK_CONFIG_DIR"), "{error}");

    std::fs::create_dir_all(&missing).unwrap();
    std::fs::write(missing.join("production.toml"), "[database]\nmax_connections = 40\n").unwrap();
    let output = run(&[("ORDERDESK_CONFIG_DIR", missing.to_str().unwrap())]);
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(shown.contains("max_connections = 40") && shown.contains("etc-orderdesk/production.toml"), "{shown}");
    let _ = std::fs::remove_dir_all(&dir);
}
