//! Loading and validation, through `figment::Jail` (its closures must return `figment::Error`).
#![allow(clippy::result_large_err, clippy::unwrap_used)]

use super::*;
use figment::Jail;
use orderdesk_adapters::sms::SmsProvider;

mod defaults;

/// Production requires a database URL; validation does not connect.
const PRODUCTION_DATABASE: &str = "postgres://orderdesk@db.example/orderdesk";

fn load_in(jail: &Jail) -> anyhow::Result<Settings> {
    Settings::from_figment(Settings::figment(Some(&jail.directory().join("config")))?)
}

/// Auth0 and an SMS provider, which the production profile requires.
fn production_env(jail: &mut Jail) {
    jail.set_env("ORDERDESK_PROFILE", "production");
    jail.set_env("ORDERDESK_DATABASE__URL", PRODUCTION_DATABASE);
    jail.set_env("ORDERDESK_AUTH__ISSUER", "https://tenant.eu.auth0.com/");
    jail.set_env("ORDERDESK_AUTH__AUDIENCE", "https://api.orderdesk.example");
    jail.set_env("ORDERDESK_SMS__PROVIDER", "log");
}

#[test]
fn defaults_need_no_files() {
    Jail::expect_with(|jail| {
        let settings = Settings::from_figment(Settings::figment(None).unwrap()).unwrap();
        assert_eq!(settings.profile, Profile::Dev);
        assert_eq!(settings.server.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database.connection.url, "sqlite://data/orderdesk.db");
        assert_eq!(settings.log.format, LogFormat::Pretty);
        assert_eq!(load_in(jail).unwrap(), settings, "an empty config directory changes nothing");
        Ok(())
    });
}

#[test]
fn the_production_profile_is_built_in() {
    Jail::expect_with(|jail| {
        production_env(jail);
        // Files in the working directory's config/ are not read.
        jail.create_dir("config")?;
        jail.create_file("config/production.toml", "[database]\nmax_connections = 99\n")?;
        let (settings, sources) = Settings::load_with_sources().unwrap();
        assert_eq!(settings.log.format, LogFormat::Json);
        assert!(!settings.database.migrate_on_start);
        assert_eq!(settings.database.connection.max_connections, 16);
        assert_eq!(settings.server.bind.to_string(), "0.0.0.0:8080");
        assert_eq!(settings.rate_limit.enabled, Some(true));
        assert_eq!(sources[..2], ["built-in config/default.toml", "built-in config/production.toml"]);
        assert!(sources[2].contains("ORDERDESK_CONFIG_DIR is not set"), "{sources:?}");
        assert!(
            sources[3].contains("ORDERDESK_PROFILE") && sources[3].contains("ORDERDESK_AUTH__ISSUER"),
            "{sources:?}"
        );
        Ok(())
    });
}

#[test]
fn operator_files_come_from_the_config_dir_which_must_exist() {
    Jail::expect_with(|jail| {
        production_env(jail);
        jail.set_env("ORDERDESK_CONFIG_DIR", jail.directory().join("etc").display().to_string());
        let error = Settings::load().unwrap_err().to_string();
        assert!(error.contains("ORDERDESK_CONFIG_DIR") && error.contains("not a directory"), "{error}");
        jail.create_dir("etc")?;
        jail.create_file("etc/production.toml", "[database]\nmax_connections = 40\n")?;
        let (settings, sources) = Settings::load_with_sources().unwrap();
        assert_eq!(settings.database.connection.max_connections, 40);
        assert_eq!(settings.log.format, LogFormat::Json, "built-in production values still apply");
        let file = jail.directory().join("etc/production.toml").display().to_string();
        assert_eq!(sources[2], file, "{sources:?}");
        Ok(())
    });
}

#[test]
fn profile_file_overrides_default_file_and_env_overrides_both() {
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[server]\nbind = \"127.0.0.1:9000\"\n[log]\nformat = \"pretty\"\n")?;
        jail.create_file("config/production.toml", "[log]\nformat = \"json\"\n[database]\nmax_connections = 20\n")?;
        jail.set_env("ORDERDESK_PROFILE", "production");
        jail.set_env("ORDERDESK_DATABASE__URL", PRODUCTION_DATABASE);
        jail.set_env("ORDERDESK_DATABASE__MAX_CONNECTIONS", "30");
        jail.set_env("ORDERDESK_AUTH__ISSUER", "https://tenant.eu.auth0.com/");
        jail.set_env("ORDERDESK_AUTH__AUDIENCE", "https://api.orderdesk.example");
        jail.set_env("ORDERDESK_SMS__PROVIDER", "log");
        let settings = load_in(jail).unwrap();
        assert_eq!(settings.profile, Profile::Production);
        assert_eq!(settings.server.bind.port(), 9000);
        assert_eq!(settings.log.format, LogFormat::Json);
        assert_eq!(settings.database.connection.max_connections, 30);
        Ok(())
    });
}

#[test]
fn database_url_is_honoured_but_the_prefixed_variable_wins() {
    Jail::expect_with(|jail| {
        jail.set_env("DATABASE_URL", "postgres://u:p@db/one");
        assert_eq!(load_in(jail).unwrap().database.connection.url, "postgres://u:p@db/one");
        jail.set_env("ORDERDESK_DATABASE__URL", "sqlite://other.db");
        assert_eq!(load_in(jail).unwrap().database.connection.url, "sqlite://other.db");
        Ok(())
    });
}

#[test]
fn invalid_settings_name_their_key() {
    let cases = [
        ("ORDERDESK_SERVER__BIND", "not-an-address", "server.bind"),
        ("ORDERDESK_DATABASE__URL", "mysql://x", "database.url"),
        ("ORDERDESK_ORDERS__DEFAULT_CURRENCY", "XXX1", "orders.default_currency"),
        ("ORDERDESK_ORDERS__NUMBER_PREFIX", "SHOP-", "orders.number_prefix"),
        ("ORDERDESK_ORDERS__NUMBER_PREFIX", "ord-", "orders.number_prefix"),
        ("ORDERDESK_ORDERS__FIRST_NUMBER", "0", "orders.first_number"),
        ("ORDERDESK_ORDERS__FIRST_NUMBER", "100000000", "orders.first_number"),
        ("ORDERDESK_CUSTOMERS__DEFAULT_PHONE_REGION", "ZZ", "customers.default_phone_region"),
        ("ORDERDESK_CUSTOMERS__DEFAULT_LANGUAGE", "fr", "customers.default_language"),
        ("ORDERDESK_CUSTOMERS__DEFAULT_LANGUAGE", "SW", "customers.default_language"),
        ("ORDERDESK_HTTP__MAX_BODY_BYTES", "lots", "http.max_body_bytes"),
        ("ORDERDESK_PROFILE", "staging", "ORDERDESK_PROFILE"),
        ("ORDERDESK_AUTH__LEEWAY_SECONDS", "soon", "auth.leeway_seconds"),
    ];
    for (var, value, key) in cases {
        Jail::expect_with(|jail| {
            jail.set_env(var, value);
            let error = load_in(jail).unwrap_err().to_string();
            assert!(error.contains(key), "{var}={value}: {error}");
            Ok(())
        });
    }
}

#[test]
fn production_refuses_to_start_without_auth0_settings() {
    Jail::expect_with(|jail| {
        jail.set_env("ORDERDESK_PROFILE", "production");
        jail.set_env("ORDERDESK_DATABASE__URL", PRODUCTION_DATABASE);
        let error = load_in(jail).unwrap_err().to_string();
        assert!(error.contains("auth.issuer") && error.contains("auth.audience"), "{error}");
        jail.set_env("ORDERDESK_AUTH__ISSUER", "https://tenant.eu.auth0.com/");
        jail.set_env("ORDERDESK_AUTH__AUDIENCE", "https://api.orderdesk.example");
        jail.set_env("ORDERDESK_SMS__PROVIDER", "disabled");
        assert!(!load_in(jail).unwrap().uses_dev_issuer());
        Ok(())
    });
}

#[test]
fn auth_settings_are_checked() {
    let cases = [("http://tenant.auth0.com/", "must use https"), ("not a url", "is not a URL")];
    for (issuer, message) in cases {
        Jail::expect_with(|jail| {
            jail.set_env("ORDERDESK_AUTH__ISSUER", issuer);
            jail.set_env("ORDERDESK_AUTH__AUDIENCE", "api");
            let error = load_in(jail).unwrap_err().to_string();
            assert!(error.contains(message), "{issuer}: {error}");
            Ok(())
        });
    }
    Jail::expect_with(|jail| {
        jail.set_env("ORDERDESK_AUTH__ISSUER", "http://127.0.0.1:9000/");
        jail.set_env("ORDERDESK_AUTH__AUDIENCE", "api");
        assert!(load_in(jail).is_ok(), "plain http is fine on loopback");
        jail.set_env("ORDERDESK_AUTH__ALGORITHMS", "[HS256]");
        assert!(load_in(jail).unwrap_err().to_string().contains("auth.algorithms"));
        Ok(())
    });
}

#[test]
fn production_needs_a_database_url_and_an_api_key_needs_a_username() {
    Jail::expect_with(|jail| {
        production_env(jail);
        jail.set_env("ORDERDESK_DATABASE__URL", "");
        let error = load_in(jail).unwrap_err().to_string();
        assert!(error.contains("database.url") && error.contains("DATABASE_URL"), "{error}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("ORDERDESK_SMS__AFRICASTALKING__API_KEY", "atsk_123");
        let error = load_in(jail).unwrap_err().to_string();
        assert!(error.contains("sms.africastalking.username"), "{error}");
        jail.set_env("ORDERDESK_SMS__AFRICASTALKING__USERNAME", "sandbox");
        assert!(load_in(jail).unwrap().sms.africastalking.is_sandbox());
        Ok(())
    });
}

#[test]
fn values_that_cannot_be_meant_are_refused_with_their_range() {
    let cases = [
        ("ORDERDESK_SMS__POLL_INTERVAL_MS", "0", "sms.poll_interval_ms"),
        ("ORDERDESK_SMS__INITIAL_BACKOFF_MS", "0", "sms.initial_backoff_ms"),
        ("ORDERDESK_AUTH__LEEWAY_SECONDS", "7200", "auth.leeway_seconds"),
        ("ORDERDESK_SMS__RETRY_FOR", "5s", "sms.retry_for"),
        ("ORDERDESK_WEBHOOKS__RETRY_FOR", "0s", "webhooks.retry_for"),
        ("ORDERDESK_WEBHOOKS__RETRY_FOR", "31d", "webhooks.retry_for"),
        ("ORDERDESK_WEBHOOKS__POLL_INTERVAL_MS", "5", "webhooks.poll_interval_ms"),
        ("ORDERDESK_SMS__MAX_SEGMENTS", "0", "sms.max_segments"),
        ("ORDERDESK_SERVER__MAX_CONNECTIONS_PER_CLIENT", "0", "server.max_connections_per_client"),
        ("ORDERDESK_SERVER__HTTP2_MAX_CONCURRENT_STREAMS", "0", "server.http2_max_concurrent_streams"),
        ("ORDERDESK_SERVER__HTTP2_MAX_CONCURRENT_STREAMS", "1001", "server.http2_max_concurrent_streams"),
    ];
    for (variable, value, key) in cases {
        Jail::expect_with(|jail| {
            jail.set_env(variable, value);
            let error = load_in(jail).unwrap_err().to_string();
            assert!(error.contains(key) && error.contains("between"), "{variable}={value}: {error}");
            Ok(())
        });
    }
}

#[test]
fn unknown_keys_are_refused_with_the_closest_known_key() {
    Jail::expect_with(|jail| {
        jail.set_env("ORDERDESK_SMS__RETRY_FRO", "24h");
        let error = load_in(jail).unwrap_err().to_string();
        assert!(
            error.contains("unknown setting sms.retry_fro") && error.contains("did you mean sms.retry_for"),
            "{error}"
        );
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/default.toml",
            "[database]
max_conections = 4
",
        )?;
        let error = load_in(jail).unwrap_err().to_string();
        assert!(error.contains("unknown setting database.max_conections"), "{error}");
        assert!(error.contains("did you mean database.max_connections"), "{error}");
        assert!(error.contains("default.toml"), "names the file: {error}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("ORDERDESK_SMS__MAX_ATTEMPTS", "6");
        assert!(load_in(jail).unwrap_err().to_string().contains("unknown setting sms.max_attempts"));
        jail.set_env("ORDERDESK_SMS__MAX_ATTEMPTS", "");
        Ok(())
    });
}

#[test]
fn sms_provider_defaults_and_secret_rules() {
    Jail::expect_with(|jail| {
        assert_eq!(load_in(jail).unwrap().sms_provider().unwrap(), SmsProvider::Log, "dev default without a key");
        jail.set_env("ORDERDESK_SMS__AFRICASTALKING__API_KEY", "atsk_123");
        jail.set_env("ORDERDESK_SMS__AFRICASTALKING__USERNAME", "sandbox");
        assert_eq!(load_in(jail).unwrap().sms_provider().unwrap(), SmsProvider::Africastalking);
        jail.set_env("ORDERDESK_SMS__WEBHOOK_SECRET", "short");
        assert!(load_in(jail).unwrap_err().to_string().contains("sms.webhook_secret"));
        jail.set_env("ORDERDESK_SMS__WEBHOOK_SECRET", "a-long-enough-webhook-secret");
        let shown = load_in(jail).unwrap().to_masked_toml();
        assert!(!shown.contains("atsk_123") && !shown.contains("a-long-enough"), "{shown}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[sms.africastalking]\napi_key = \"in-a-file\"\n")?;
        let error = load_in(jail).unwrap_err().to_string();
        assert!(error.contains("ORDERDESK_SMS__AFRICASTALKING__API_KEY"), "{error}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.set_env("ORDERDESK_SMS__TIME_ZONE", "Mars/Olympus");
        assert!(load_in(jail).unwrap_err().to_string().contains("shop.time_zone \"Mars/Olympus\""));
        jail.set_env("ORDERDESK_SMS__TIME_ZONE", "Africa/Lagos");
        jail.set_env("ORDERDESK_SMS__PROVIDER", "africastalking");
        assert!(load_in(jail).unwrap_err().to_string().contains("API_KEY"));
        Ok(())
    });
}

#[test]
fn printed_configuration_masks_the_database_password() {
    let mut settings = Settings::default();
    settings.database.connection.url = "postgres://orders:hunter2@db:5432/orderdesk".into();
    let shown = settings.to_masked_toml();
    assert!(!shown.contains("hunter2"));
    assert!(shown.contains("postgres://orders:***@db:5432/orderdesk"));
    assert!(shown.contains("[server]"));
}

#[test]
fn the_dev_issuer_refuses_a_non_loopback_bind_unless_explicitly_allowed() {
    for bind in ["0.0.0.0:8080", "192.168.1.10:8080", "[::]:8080"] {
        Jail::expect_with(|jail| {
            jail.set_env("ORDERDESK_SERVER__BIND", bind);
            let error = load_in(jail).unwrap_err().to_string();
            assert!(error.contains("server.bind") && error.contains("dev issuer"), "{bind}: {error}");
            assert!(error.contains("auth.dev_issuer_allow_non_loopback"), "names the way out: {error}");

            jail.set_env("ORDERDESK_AUTH__DEV_ISSUER_ALLOW_NON_LOOPBACK", "true");
            assert!(load_in(jail).unwrap().uses_dev_issuer());
            Ok(())
        });
    }
    Jail::expect_with(|jail| {
        jail.set_env("ORDERDESK_SERVER__BIND", "[::1]:8080");
        assert!(load_in(jail).is_ok(), "IPv6 loopback is loopback");
        jail.set_env("ORDERDESK_SERVER__BIND", "0.0.0.0:8080");
        jail.set_env("ORDERDESK_AUTH__ISSUER", "https://tenant.eu.auth0.com/");
        jail.set_env("ORDERDESK_AUTH__AUDIENCE", "https://api.orderdesk.example");
        assert!(load_in(jail).is_ok(), "a real issuer may serve any address");
        Ok(())
    });
}

#[test]
fn rate_limit_is_off_in_dev_and_on_in_production_by_default() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    Jail::expect_with(|jail| {
        // Without config files, the profile decides.
        assert_eq!(load_in(jail).unwrap().rate_limit(), None);
        jail.set_env("ORDERDESK_AUTH__ISSUER", "https://tenant.eu.auth0.com/");
        jail.set_env("ORDERDESK_AUTH__AUDIENCE", "https://api.orderdesk.example");
        jail.set_env("ORDERDESK_SMS__PROVIDER", "log");
        jail.set_env("ORDERDESK_WEB__COOKIE_SECRET", "0123456789abcdef0123456789abcdef");
        jail.set_env("ORDERDESK_PROFILE", "production");
        jail.set_env("ORDERDESK_DATABASE__URL", PRODUCTION_DATABASE);
        let limit = load_in(jail).unwrap().rate_limit().unwrap();
        assert_eq!((limit.requests_per_second.get(), limit.burst.get()), (10, 20));
        // With the shipped files, the same.
        let from_files = Settings::from_figment(Settings::figment(Some(&shipped)).unwrap()).unwrap();
        assert!(from_files.rate_limit().is_some());
        jail.set_env("ORDERDESK_PROFILE", "dev");
        let from_files = Settings::from_figment(Settings::figment(Some(&shipped)).unwrap()).unwrap();
        assert_eq!(from_files.rate_limit(), None);
        Ok(())
    });
}

#[test]
fn rate_limit_settings_come_from_the_environment_and_are_checked() {
    Jail::expect_with(|jail| {
        jail.set_env("ORDERDESK_RATE_LIMIT__ENABLED", "true");
        jail.set_env("ORDERDESK_RATE_LIMIT__REQUESTS_PER_SECOND", "5");
        jail.set_env("ORDERDESK_RATE_LIMIT__BURST", "7");
        let limit = load_in(jail).unwrap().rate_limit().unwrap();
        assert_eq!((limit.requests_per_second.get(), limit.burst.get()), (5, 7));
        jail.set_env("ORDERDESK_RATE_LIMIT__BURST", "0");
        let error = load_in(jail).unwrap_err().to_string();
        assert!(error.contains("rate_limit.burst"), "{error}");
        Ok(())
    });
}

#[test]
fn cors_origins_are_a_list_or_commas_and_are_checked() {
    Jail::expect_with(|jail| {
        assert!(load_in(jail).unwrap().cors.allowed_origins.is_empty(), "none by default");
        jail.set_env("ORDERDESK_CORS__ALLOWED_ORIGINS", "https://shop.example, http://localhost:3000");
        let origins = load_in(jail).unwrap().cors.allowed_origins;
        assert_eq!(origins, ["https://shop.example", "http://localhost:3000"]);
        jail.set_env("ORDERDESK_CORS__ALLOWED_ORIGINS", "https://shop.example/");
        let error = load_in(jail).unwrap_err().to_string();
        assert!(error.contains("cors.allowed_origins"), "{error}");
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file(
            "config/default.toml",
            "[cors]\nallowed_origins = [\"https://a.example\", \"https://b.example\"]\n",
        )?;
        assert_eq!(load_in(jail).unwrap().cors.allowed_origins, ["https://a.example", "https://b.example"]);
        Ok(())
    });
}

#[test]
fn the_metrics_token_comes_from_the_environment_only() {
    Jail::expect_with(|jail| {
        let settings = load_in(jail).unwrap();
        assert!(settings.metrics.enabled && settings.metrics.token.is_none());
        jail.set_env("ORDERDESK_METRICS__TOKEN", "scraper-token-0123456789");
        jail.set_env("ORDERDESK_METRICS__ENABLED", "false");
        let settings = load_in(jail).unwrap();
        assert_eq!(
            settings.metrics.token.as_ref().map(|t| t.expose().to_owned()).as_deref(),
            Some("scraper-token-0123456789")
        );
        assert!(!settings.metrics.enabled);
        assert!(!settings.to_masked_toml().contains("scraper-token"));
        jail.set_env("ORDERDESK_METRICS__TOKEN", "short");
        assert!(load_in(jail).unwrap_err().to_string().contains("metrics.token"));
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_dir("config")?;
        jail.create_file("config/default.toml", "[metrics]\ntoken = \"in-a-file-0123456789\"\n")?;
        assert!(load_in(jail).unwrap_err().to_string().contains("ORDERDESK_METRICS__TOKEN"));
        Ok(())
    });
}

#[test]
fn trusted_proxies_are_addresses_or_cidr_ranges_and_exempt_from_the_per_client_cap() {
    Jail::expect_with(|jail| {
        let settings = load_in(jail).unwrap();
        assert!(settings.server.trusted_proxies.is_empty(), "none by default");
        assert_eq!(settings.server.max_connections_per_client, 64);
        assert_eq!(settings.server.connection_limits().http2_max_streams, None, "HTTP/2 without TLS off by default");
        jail.set_env("ORDERDESK_SERVER__TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1");
        let limits = load_in(jail).unwrap().server.client_limits().unwrap();
        for trusted in ["127.0.0.1", "10.20.30.40", "::1", "::ffff:127.0.0.1"] {
            assert!(limits.is_trusted(trusted.parse().unwrap()), "{trusted}");
        }
        for other in ["127.0.0.2", "11.0.0.1", "::2"] {
            assert!(!limits.is_trusted(other.parse().unwrap()), "{other}");
        }
        jail.set_env("ORDERDESK_SERVER__TRUSTED_PROXIES", "nginx.local");
        let error = load_in(jail).unwrap_err().to_string();
        assert!(error.contains("server.trusted_proxies") && error.contains("nginx.local"), "{error}");
        Ok(())
    });
}

#[test]
fn the_built_in_default_file_and_the_code_defaults_agree_on_server_settings() {
    // The file names the server settings without values (tests/defaults.rs), so the built-in
    // settings have the code's.
    let from_file = Settings::built_in().unwrap().server;
    assert_eq!(from_file, ServerSettings::default());
}

#[test]
fn the_shipped_texts_load_fit_one_segment_and_name_their_setting_when_bad() {
    use orderdesk_domain::Language;
    use orderdesk_domain::notification::{SmsEncoding, SmsEvent};
    Jail::expect_with(|jail| {
        let settings = load_in(jail).unwrap();
        let catalog = settings.sms_catalog().unwrap();
        let enabled: Vec<_> = SmsEvent::ALL.into_iter().filter(|e| catalog.is_enabled(*e)).collect();
        assert_eq!(enabled, [SmsEvent::OrderCreated, SmsEvent::OrderReady, SmsEvent::OrderCancelled]);
        for event in SmsEvent::ALL {
            for language in Language::ALL {
                let template = catalog.template(event, language).unwrap();
                assert_eq!(template.language(), language, "{event} has its own {language} text");
                assert_eq!(
                    (template.encoding(), template.max_segments()),
                    (SmsEncoding::Gsm7, 1),
                    "{event} {language}"
                );
            }
        }
        // The widest shop name still fits every shipped text in one segment.
        jail.set_env("ORDERDESK_SHOP__NAME", "x".repeat(ShopSettings::MAX_NAME_CHARS));
        assert!(load_in(jail).unwrap().sms_catalog().is_ok());
        jail.set_env("ORDERDESK_SHOP__NAME", "x".repeat(ShopSettings::MAX_NAME_CHARS + 1));
        assert!(load_in(jail).unwrap_err().to_string().contains("shop.name"));
        jail.set_env("ORDERDESK_SHOP__NAME", "Mama Njeri's");

        jail.create_dir("config")?;
        let refused = [
            ("[sms.events.\"order.ready\"]\nsw = \"{jina} tayari\"\n", "sms.events.\"order.ready\".sw"),
            ("[sms.events.\"order.shipped\"]\nenabled = true\n", "sms.events.\"order.shipped\""),
            ("[sms.events.\"order.ready\"]\nfr = \"prête\"\n", "unknown setting sms.events.order.ready.fr"),
            ("[sms]\ntemplate = \"Order {reference}\"\n", "sms.events.\"order.created\".en"),
            (
                "[sms.events.\"order.confirmed\"]\nenabled = true\nen = \"{cancel_reason}\"\n",
                "only order.cancelled has",
            ),
            (
                &format!("[sms.events.\"order.created\"]\nen = \"{{shop}} {{item}} {}\"\n", "x".repeat(150)),
                "sms.events.\"order.created\".en with sms.max_segments = 1",
            ),
        ];
        for (file, named) in refused {
            jail.create_file("config/default.toml", file)?;
            let error = load_in(jail).unwrap_err().to_string();
            assert!(error.contains(named), "{file:?}: {error}");
        }
        jail.create_file("config/default.toml", "[sms.events.\"order.created\"]\nen = \"\"\nsw = \"{shop}\"\n")?;
        let error = load_in(jail).unwrap_err().to_string();
        assert!(error.contains("sms.events.\"order.created\".en") && error.contains("empty"), "{error}");
        Ok(())
    });
}

#[test]
fn the_shop_time_zone_is_read_under_its_old_name_too() {
    Jail::expect_with(|jail| {
        assert_eq!(load_in(jail).unwrap().time_zone().unwrap(), "Africa/Nairobi");
        assert!(load_in(jail).unwrap().renamed_settings_warning().is_none());
        jail.set_env("ORDERDESK_SMS__TIME_ZONE", "Africa/Kampala");
        let old = load_in(jail).unwrap();
        assert_eq!(old.time_zone().unwrap(), "Africa/Kampala");
        assert!(old.renamed_settings_warning().unwrap().contains("shop.time_zone"));
        jail.set_env("ORDERDESK_SHOP__TIME_ZONE", "Africa/Lagos");
        let error = load_in(jail).unwrap_err().to_string();
        assert!(error.contains("disagree"), "{error}");
        jail.set_env("ORDERDESK_SMS__TIME_ZONE", "Africa/Lagos");
        assert_eq!(load_in(jail).unwrap().time_zone().unwrap(), "Africa/Lagos");
        Ok(())
    });
}

#[test]
fn webhooks_may_reach_private_targets_in_dev_only_unless_set_and_retry_for_72_hours() {
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    Jail::expect_with(|jail| {
        let dev = load_in(jail).unwrap();
        assert!(dev.webhooks_allow_private_targets());
        assert_eq!(dev.webhook_retry_policy().unwrap().retry_for, std::time::Duration::from_secs(72 * 3600));
        production_env(jail);
        let production = Settings::from_figment(Settings::figment(Some(&shipped)).unwrap()).unwrap();
        assert!(!production.webhooks_allow_private_targets(), "off in production with the shipped files");
        jail.set_env("ORDERDESK_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "true");
        jail.set_env("ORDERDESK_WEBHOOKS__RETRY_FOR", "2.5s");
        let opened = load_in(jail).unwrap();
        assert!(opened.webhooks_allow_private_targets());
        assert_eq!(opened.webhook_retry_policy().unwrap().retry_for, std::time::Duration::from_millis(2500));
        jail.set_env("ORDERDESK_WEBHOOKS__RETRY_FOR", "soon");
        let error = load_in(jail).unwrap_err().to_string();
        assert!(error.contains("webhooks.retry_for") && error.contains("\"72h\""), "{error}");
        Ok(())
    });
}
