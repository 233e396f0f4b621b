//! Typed settings: built-in defaults < `config/default.toml` < `config/{profile}.toml` <
//! `DATABASE_URL` < `ORDERDESK_*` environment variables (nested keys split on `__`).
//! A `.env` file in the working directory is read first, for local use.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use orderdesk_adapters::DatabaseSettings;
use orderdesk_adapters::auth::AuthSettings;
use orderdesk_adapters::secret::Secret;
use orderdesk_adapters::sms::{SmsProvider, SmsSettings};
use orderdesk_domain::notification::MessageTemplate;
use orderdesk_domain::{Currency, PhoneRegion};
use serde::{Deserialize, Serialize};

/// Everything the server can be told.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct Settings {
    /// `dev` or `production`; chosen by `ORDERDESK_PROFILE`.
    pub profile: Profile,
    pub server: ServerSettings,
    pub database: DatabaseSection,
    pub auth: AuthSettings,
    pub sms: SmsSettings,
    pub web: WebSettings,
    pub http: HttpSettings,
    pub customers: CustomerSettings,
    pub orders: OrderSettings,
    pub log: LogSettings,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    #[default]
    Dev,
    Production,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Production => "production",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct ServerSettings {
    /// Address and port to listen on.
    pub bind: SocketAddr,
    /// How long in-flight requests may take to finish after SIGTERM/Ctrl-C.
    pub shutdown_timeout_seconds: u64,
    /// Where the server keeps files of its own (the dev issuer's key).
    pub data_dir: PathBuf,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            shutdown_timeout_seconds: 30,
            data_dir: PathBuf::from("data"),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct DatabaseSection {
    #[serde(flatten)]
    pub connection: DatabaseSettings,
    /// Apply pending migrations at start-up.
    pub migrate_on_start: bool,
}

impl Default for DatabaseSection {
    fn default() -> Self {
        Self { connection: DatabaseSettings::default(), migrate_on_start: true }
    }
}

/// The web dashboard.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct WebSettings {
    /// The public base URL (`https://orders.example.com`) for the callback and sign-out return
    /// URLs. Dev default: `http://127.0.0.1:<port>`.
    pub public_url: String,
    pub session_ttl_minutes: u64,
    /// Key for the sign-in cookie, 32+ characters (environment only; generated into the data
    /// directory in dev when unset).
    pub cookie_secret: Option<Secret>,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self { public_url: String::new(), session_ttl_minutes: 480, cookie_secret: None }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct HttpSettings {
    /// Request bodies over this many bytes get 413.
    pub max_body_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self { max_body_bytes: 64 * 1024 }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct CustomerSettings {
    /// ISO 3166 region assumed for phone numbers without a country code.
    pub default_phone_region: String,
}

impl Default for CustomerSettings {
    fn default() -> Self {
        Self { default_phone_region: "KE".into() }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct OrderSettings {
    /// ISO 4217 currency for orders that name none.
    pub default_currency: String,
}

impl Default for OrderSettings {
    fn default() -> Self {
        Self { default_currency: "KES".into() }
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct LogSettings {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// `RUST_LOG`-style filter; `RUST_LOG` itself wins when set.
    pub filter: String,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self { format: LogFormat::Pretty, filter: "info,sqlx=warn,sea_orm=warn".into() }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            profile: Profile::Dev,
            server: ServerSettings::default(),
            database: DatabaseSection::default(),
            auth: AuthSettings::default(),
            sms: SmsSettings::default(),
            web: WebSettings::default(),
            http: HttpSettings::default(),
            customers: CustomerSettings::default(),
            orders: OrderSettings::default(),
            log: LogSettings::default(),
        }
    }
}

/// Settings derived from [`Settings`] that are already parsed into domain values.
#[derive(Debug, Clone, Copy)]
pub struct DomainDefaults {
    pub phone_region: PhoneRegion,
    pub currency: Currency,
}

impl Settings {
    /// Loads from `.env`, the config directory (`ORDERDESK_CONFIG_DIR`, default `./config`) and the environment.
    ///
    /// # Errors
    /// A file or variable has a value of the wrong type or an invalid value; the message names the key.
    pub fn load() -> anyhow::Result<Self> {
        // A missing .env is normal; a malformed one is reported.
        if let Err(e) = dotenvy::dotenv()
            && !e.not_found()
        {
            return Err(e).context("cannot read .env");
        }
        let dir = std::env::var_os("ORDERDESK_CONFIG_DIR").map_or_else(|| PathBuf::from("config"), PathBuf::from);
        Self::from_figment(Self::figment(&dir)?)
    }

    /// The layered sources, without reading `.env`.
    ///
    /// # Errors
    /// `ORDERDESK_PROFILE` names no known profile.
    pub fn figment(dir: &std::path::Path) -> anyhow::Result<Figment> {
        let profile = match std::env::var("ORDERDESK_PROFILE").as_deref() {
            Err(_) | Ok("") | Ok("dev") => Profile::Dev,
            Ok("production") => Profile::Production,
            Ok(other) => bail!("ORDERDESK_PROFILE: unknown profile {other:?} (expected \"dev\" or \"production\")"),
        };
        Ok(Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(dir.join("default.toml")))
            .merge(Toml::file(dir.join(format!("{}.toml", profile.name()))))
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database.url".into()))
            .merge(
                Env::prefixed("ORDERDESK_")
                    .ignore(&["CONFIG_DIR", "TEST_POSTGRES_URL"])
                    .map(|key| key.as_str().to_ascii_lowercase().replace("__", ".").into()),
            )
            .merge(Serialized::default("profile", profile)))
    }

    /// Extracts and validates.
    ///
    /// # Errors
    /// The first invalid setting, naming its key.
    pub fn from_figment(figment: Figment) -> anyhow::Result<Self> {
        for (key, variable) in SECRETS {
            let from_file =
                figment.find_metadata(key).is_some_and(|m| matches!(m.source, Some(figment::Source::File(_))));
            if from_file {
                bail!(
                    "invalid configuration: {key} is a secret: set it through the environment ({variable}), not a file"
                );
            }
        }
        let settings: Settings = figment.extract().map_err(describe_figment_error)?;
        settings.domain_defaults()?;
        let url = &settings.database.connection.url;
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            bail!("invalid configuration: database.url must start with sqlite:, postgres:// or postgresql://");
        }
        if settings.http.max_body_bytes == 0 {
            bail!("invalid configuration: http.max_body_bytes must be greater than 0");
        }
        if settings.database.connection.max_connections == 0 {
            bail!("invalid configuration: database.max_connections must be greater than 0");
        }
        settings.check_auth()?;
        settings.check_sms()?;
        settings.check_web()?;
        Ok(settings)
    }

    /// Whether the dashboard can sign people in: the dev issuer, or a configured client.
    pub fn dashboard_enabled(&self) -> bool {
        self.uses_dev_issuer() || !self.auth.client_id.is_empty()
    }

    fn check_web(&self) -> anyhow::Result<()> {
        if self.web.cookie_secret.as_ref().is_some_and(|s| s.expose().len() < 32) {
            bail!("invalid configuration: web.cookie_secret must be at least 32 characters");
        }
        if self.uses_dev_issuer() || self.auth.client_id.is_empty() {
            return Ok(());
        }
        if self.auth.client_secret.is_none() {
            bail!("invalid configuration: auth.client_id is set but ORDERDESK_AUTH__CLIENT_SECRET is not");
        }
        if self.web.public_url.is_empty() {
            bail!(
                "invalid configuration: web.public_url is required for the dashboard (the Auth0 callback URL is {{web.public_url}}/callback)"
            );
        }
        if self.profile == Profile::Production {
            if !self.web.public_url.starts_with("https://") {
                bail!(
                    "invalid configuration: web.public_url must use https in production (session cookies are Secure)"
                );
            }
            if self.web.cookie_secret.is_none() {
                bail!(
                    "invalid configuration: the production profile requires ORDERDESK_WEB__COOKIE_SECRET (32+ characters)"
                );
            }
        }
        Ok(())
    }

    /// The SMS provider in effect: as configured, else Africa's Talking when it has an API key,
    /// else the log (dev only).
    ///
    /// # Errors
    /// Production with neither a provider nor an API key.
    pub fn sms_provider(&self) -> anyhow::Result<SmsProvider> {
        match (self.sms.provider, &self.sms.africastalking.api_key, self.profile) {
            (Some(provider), _, _) => Ok(provider),
            (None, Some(_), _) => Ok(SmsProvider::Africastalking),
            (None, None, Profile::Dev) => Ok(SmsProvider::Log),
            (None, None, Profile::Production) => bail!(
                "invalid configuration: set sms.provider (africastalking, log or disabled); for africastalking also \
                 ORDERDESK_SMS__AFRICASTALKING__API_KEY"
            ),
        }
    }

    /// The message template, checked.
    ///
    /// # Errors
    /// An empty template or an unknown time zone.
    pub fn sms_template(&self) -> anyhow::Result<MessageTemplate> {
        MessageTemplate::new(&self.sms.template, &self.sms.time_zone).map_err(|e| match e {
            orderdesk_domain::InvalidValue::Empty => {
                anyhow::anyhow!("invalid configuration: sms.template must not be empty")
            }
            _ => anyhow::anyhow!(
                "invalid configuration: sms.time_zone {:?} is not an IANA time zone",
                self.sms.time_zone
            ),
        })
    }

    fn check_sms(&self) -> anyhow::Result<()> {
        let provider = self.sms_provider()?;
        self.sms_template()?;
        if provider == SmsProvider::Africastalking && self.sms.africastalking.api_key.is_none() {
            bail!(
                "invalid configuration: sms.provider is africastalking but ORDERDESK_SMS__AFRICASTALKING__API_KEY is not set"
            );
        }
        if self.sms.webhook_secret.as_ref().is_some_and(|s| s.expose().len() < 16) {
            bail!(
                "invalid configuration: sms.webhook_secret must be at least 16 characters (it is the webhook's only credential)"
            );
        }
        if self.sms.max_attempts == 0 || self.sms.request_timeout_ms == 0 {
            bail!("invalid configuration: sms.max_attempts and sms.request_timeout_ms must be greater than 0");
        }
        if self.sms.lease_seconds * 1000 <= self.sms.request_timeout_ms {
            bail!(
                "invalid configuration: sms.lease_seconds must be longer than sms.request_timeout_ms, or two dispatchers could send one SMS"
            );
        }
        Ok(())
    }

    /// Whether the server runs its own dev issuer (dev profile, no tenant configured).
    pub fn uses_dev_issuer(&self) -> bool {
        self.auth.issuer.is_empty()
    }

    fn check_auth(&self) -> anyhow::Result<()> {
        let auth = &self.auth;
        if self.profile == Profile::Production && (auth.issuer.is_empty() || auth.audience.is_empty()) {
            bail!(
                "invalid configuration: the production profile requires auth.issuer (ORDERDESK_AUTH__ISSUER, \
                 e.g. https://TENANT.auth0.com/) and auth.audience (ORDERDESK_AUTH__AUDIENCE, the Auth0 API identifier)"
            );
        }
        if auth.issuer.is_empty() {
            return Ok(());
        }
        if auth.audience.is_empty() {
            bail!("invalid configuration: auth.audience is required when auth.issuer is set");
        }
        let issuer = url::Url::parse(&auth.issuer)
            .map_err(|e| anyhow::anyhow!("invalid configuration: auth.issuer {:?} is not a URL: {e}", auth.issuer))?;
        let loopback = match issuer.host() {
            Some(url::Host::Domain(host)) => host == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        if issuer.scheme() != "https" && !(issuer.scheme() == "http" && loopback) {
            bail!("invalid configuration: auth.issuer must use https (plain http only for loopback hosts)");
        }
        for name in &auth.algorithms {
            if !orderdesk_adapters::auth::SUPPORTED_ALGORITHMS.contains(&name.as_str()) {
                bail!(
                    "invalid configuration: auth.algorithms: {name:?} is not allowed (use {:?})",
                    orderdesk_adapters::auth::SUPPORTED_ALGORITHMS
                );
            }
        }
        Ok(())
    }

    /// # Errors
    /// `customers.default_phone_region` or `orders.default_currency` is not a known code.
    pub fn domain_defaults(&self) -> anyhow::Result<DomainDefaults> {
        let phone_region = PhoneRegion::parse(&self.customers.default_phone_region).map_err(|e| {
            anyhow::anyhow!(
                "invalid configuration: customers.default_phone_region {:?} {e}",
                self.customers.default_phone_region
            )
        })?;
        let currency = Currency::parse(&self.orders.default_currency).map_err(|e| {
            anyhow::anyhow!("invalid configuration: orders.default_currency {:?} {e}", self.orders.default_currency)
        })?;
        Ok(DomainDefaults { phone_region, currency })
    }

    /// The effective settings as TOML, with secrets (database password) masked.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.connection.url = mask_url_password(&shown.database.connection.url);
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render settings: {e}\n"))
    }
}

/// Settings that may come only from the environment, with their variables.
const SECRETS: [(&str, &str); 4] = [
    ("sms.africastalking.api_key", "ORDERDESK_SMS__AFRICASTALKING__API_KEY"),
    ("sms.webhook_secret", "ORDERDESK_SMS__WEBHOOK_SECRET"),
    ("auth.client_secret", "ORDERDESK_AUTH__CLIENT_SECRET"),
    ("web.cookie_secret", "ORDERDESK_WEB__COOKIE_SECRET"),
];

/// Names each failing key in its config-file form (`server.bind`) and says where the value came from.
fn describe_figment_error(error: figment::Error) -> anyhow::Error {
    let lines: Vec<String> = error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".").to_ascii_lowercase();
            let source = e.metadata.as_ref().map(|m| format!(" (from {})", m.name)).unwrap_or_default();
            format!("{key}: {}{source}", e.kind)
        })
        .collect();
    anyhow::anyhow!("invalid configuration: {}", lines.join("; "))
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn mask_url_password(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => raw.to_owned(),
    }
}

// figment::Jail's closure signature (returning figment::Error) is fixed by figment.
#[cfg(test)]
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    fn load_in(jail: &Jail) -> anyhow::Result<Settings> {
        Settings::from_figment(Settings::figment(&jail.directory().join("config"))?)
    }

    #[test]
    fn defaults_need_no_files() {
        Jail::expect_with(|jail| {
            let settings = load_in(jail).unwrap();
            assert_eq!(settings, Settings::default());
            assert_eq!(settings.server.bind.to_string(), "127.0.0.1:8080");
            assert_eq!(settings.database.connection.url, "sqlite://data/orderdesk.db");
            Ok(())
        });
    }

    #[test]
    fn profile_file_overrides_default_file_and_env_overrides_both() {
        Jail::expect_with(|jail| {
            jail.create_dir("config")?;
            jail.create_file(
                "config/default.toml",
                "[server]\nbind = \"127.0.0.1:9000\"\n[log]\nformat = \"pretty\"\n",
            )?;
            jail.create_file("config/production.toml", "[log]\nformat = \"json\"\n[database]\nmax_connections = 20\n")?;
            jail.set_env("ORDERDESK_PROFILE", "production");
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
            ("ORDERDESK_CUSTOMERS__DEFAULT_PHONE_REGION", "ZZ", "customers.default_phone_region"),
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
    fn sms_provider_defaults_and_secret_rules() {
        Jail::expect_with(|jail| {
            assert_eq!(load_in(jail).unwrap().sms_provider().unwrap(), SmsProvider::Log, "dev default without a key");
            jail.set_env("ORDERDESK_SMS__AFRICASTALKING__API_KEY", "atsk_123");
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
            assert!(load_in(jail).unwrap_err().to_string().contains("sms.time_zone"));
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
}
