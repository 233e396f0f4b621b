//! Typed settings: code defaults < the repository's `config/default.toml` and
//! `config/{profile}.toml`, built into the binary < the operator's `default.toml` and
//! `{profile}.toml` in `ORDERDESK_CONFIG_DIR` (when set) < `DATABASE_URL` < `ORDERDESK_*`
//! environment variables (nested keys split on `__`). The working directory's `config/` is not
//! read: a binary behaves the same wherever it is started. A `.env` file in the working
//! directory is read first, for local use. Each section checks itself in its own module; this
//! one only loads.
//!
//! **Each default is written once, in the code**: the `Default` impl of its section's struct
//! (here, or in the adapters for `auth`, `sms` and `database`), every struct
//! `#[serde(default)]`. The code is the source rather than `config/default.toml` because every
//! test, in this crate and in the adapters, builds settings from `Default` and struct update
//! syntax, and the adapters cannot read the server's files; a TOML source would need a parsed
//! copy in every crate's tests. So `config/default.toml` holds only what has no code default
//! (the shipped SMS texts, `sms.events`) and names the other settings without their values, and
//! the profile files hold only values that differ from the defaults. `orderdesk config` prints
//! every effective value. Tests (`tests/defaults.rs`) refuse a key written in both places,
//! a change of the built-in profiles' effective values, and a README default that is not the
//! code's.
mod auth;
mod database;
mod domain;
mod events;
mod idempotency;
mod log;
mod observability;
mod rate_limit;
mod server;
mod sms;
mod telemetry;
#[cfg(test)]
mod tests;
mod web;
mod webhooks;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use orderdesk_adapters::auth::AuthSettings;
use orderdesk_adapters::sms::SmsSettings;
use serde::{Deserialize, Serialize};

pub use database::{DatabaseSection, mask_url_password};
pub use domain::{CustomerSettings, DomainDefaults, OrderSettings, ShopSettings};
pub use events::EventSettings;
pub use idempotency::IdempotencySettings;
pub use log::{LogFormat, LogSettings};
pub use observability::{CorsSettings, MetricsSettings};
pub use rate_limit::RateLimitSettings;
pub use server::{ClientLimits, ConnectionLimits, HttpSettings, ServerSettings};
pub use telemetry::TelemetrySettings;
pub use web::WebSettings;
pub use webhooks::WebhookSettings;

/// Everything the server can be told.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
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
    pub rate_limit: RateLimitSettings,
    pub shop: ShopSettings,
    pub customers: CustomerSettings,
    pub orders: OrderSettings,
    pub idempotency: IdempotencySettings,
    pub events: EventSettings,
    pub webhooks: WebhookSettings,
    pub log: LogSettings,
    pub metrics: MetricsSettings,
    pub cors: CorsSettings,
    pub telemetry: TelemetrySettings,
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

/// The profile files built into the binary, so it needs no files at run time.
const BUILT_IN: [(&str, &str); 3] = [
    ("default", include_str!("../../../../config/default.toml")),
    ("dev", include_str!("../../../../config/dev.toml")),
    ("production", include_str!("../../../../config/production.toml")),
];

/// `ORDERDESK_*` environment variables that are not settings (the test and benchmark
/// harnesses' own); any other one must name a setting.
const NOT_SETTINGS: [&str; 10] = [
    "CONFIG_DIR",
    "TEST_POSTGRES_URL",
    "CLIENT_TEST_BASE_URL",
    "CLIENT_TEST_TOKEN",
    "BASE_URL",
    "TOKEN",
    "BENCH_CUSTOMERS",
    "BENCH_ORDERS",
    "BENCH_RUN",
    "BENCH_TOKEN",
];

/// Settings that may come only from the environment, with their variables.
const SECRETS: [(&str, &str); 5] = [
    ("metrics.token", "ORDERDESK_METRICS__TOKEN"),
    ("sms.africastalking.api_key", "ORDERDESK_SMS__AFRICASTALKING__API_KEY"),
    ("sms.webhook_secret", "ORDERDESK_SMS__WEBHOOK_SECRET"),
    ("auth.client_secret", "ORDERDESK_AUTH__CLIENT_SECRET"),
    ("web.cookie_secret", "ORDERDESK_WEB__COOKIE_SECRET"),
];

impl Settings {
    /// Loads from `.env`, the built-in profile files, `ORDERDESK_CONFIG_DIR` and the environment.
    ///
    /// # Errors
    /// `ORDERDESK_CONFIG_DIR` is set but is not a directory, or a file or variable has a value of
    /// the wrong type or an invalid value; the message names the key.
    pub fn load() -> anyhow::Result<Self> {
        Ok(Self::load_with_sources()?.0)
    }

    /// [`Settings::load`], with the sources read, in order (later ones win), for `orderdesk config`.
    ///
    /// # Errors
    /// As [`Settings::load`].
    pub fn load_with_sources() -> anyhow::Result<(Self, Vec<String>)> {
        // A missing .env is normal; a malformed one is reported.
        let dotenv = match dotenvy::dotenv() {
            Ok(path) => Some(path),
            Err(e) if e.not_found() => None,
            Err(e) => return Err(e).context("cannot read .env"),
        };
        let dir = config_dir()?;
        let (figment, mut sources) = Self::figment_with_sources(dir.as_deref())?;
        if let Some(path) = dotenv {
            sources.insert(0, format!(".env file {} (into the environment)", path.display()));
        }
        Ok((Self::from_figment(figment)?, sources))
    }

    /// The layered sources, without reading `.env`; `dir` is the operator's config directory.
    ///
    /// # Errors
    /// `ORDERDESK_PROFILE` names no known profile.
    pub fn figment(dir: Option<&Path>) -> anyhow::Result<Figment> {
        Ok(Self::figment_with_sources(dir)?.0)
    }

    /// The built-in files of the dev profile alone (no operator files, no environment): the
    /// settings of a fresh clone, for tests that start from them.
    ///
    /// # Errors
    /// A built-in file does not parse (a test proves they do).
    pub fn built_in() -> anyhow::Result<Self> {
        Self::built_in_profile(Profile::Dev)
    }

    /// The code's defaults under the built-in files of `profile`, unchecked.
    fn built_in_profile(profile: Profile) -> anyhow::Result<Self> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        for (_, text) in BUILT_IN.into_iter().filter(|(name, _)| ["default", profile.name()].contains(name)) {
            figment = figment.merge(Toml::string(text));
        }
        figment.merge(Serialized::default("profile", profile)).extract().map_err(describe_figment_error)
    }

    fn figment_with_sources(dir: Option<&Path>) -> anyhow::Result<(Figment, Vec<String>)> {
        let profile = match std::env::var("ORDERDESK_PROFILE").as_deref() {
            Err(_) | Ok("") | Ok("dev") => Profile::Dev,
            Ok("production") => Profile::Production,
            Ok(other) => bail!("ORDERDESK_PROFILE: unknown profile {other:?} (expected \"dev\" or \"production\")"),
        };
        let mut sources = Vec::new();
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        for (name, text) in BUILT_IN.into_iter().filter(|(name, _)| ["default", profile.name()].contains(name)) {
            figment = figment.merge(Toml::string(text));
            sources.push(format!("built-in config/{name}.toml"));
        }
        match dir {
            Some(dir) => {
                for name in ["default", profile.name()] {
                    let path = dir.join(format!("{name}.toml"));
                    // Either file may be absent; the directory itself was checked by the caller.
                    if path.is_file() {
                        sources.push(path.display().to_string());
                        figment = figment.merge(Toml::file_exact(path));
                    }
                }
            }
            None => sources.push("no operator files (ORDERDESK_CONFIG_DIR is not set)".into()),
        }
        let mut variables: Vec<String> = std::env::vars_os()
            .filter_map(|(key, _)| key.into_string().ok())
            .filter(|key| {
                key == "DATABASE_URL"
                    || key.strip_prefix("ORDERDESK_").is_some_and(|rest| !NOT_SETTINGS.contains(&rest))
            })
            .collect();
        variables.sort();
        if !variables.is_empty() {
            sources.push(format!("environment: {}", variables.join(", ")));
        }
        let figment = figment
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database.url".into()))
            .merge(
                Env::prefixed("ORDERDESK_")
                    .ignore(&NOT_SETTINGS)
                    .map(|key| key.as_str().to_ascii_lowercase().replace("__", ".").into()),
            )
            .merge(Serialized::default("profile", profile));
        Ok((figment, sources))
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
        refuse_unknown_keys(&figment)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Every section's own checks, in a fixed order.
    fn validate(&self) -> anyhow::Result<()> {
        self.domain_defaults()?;
        self.server.validate()?;
        self.database.validate()?;
        self.http.validate()?;
        self.rate_limit.validate()?;
        self.idempotency.check()?;
        self.events.check()?;
        self.webhooks.validate()?;
        auth::validate(&self.auth, self.profile, &self.server)?;
        self.shop.validate()?;
        self.time_zone()?;
        sms::validate(self)?;
        self.metrics.validate()?;
        self.cors.validate()?;
        self.telemetry.validate()?;
        self.web.validate(&self.auth, self.profile)
    }

    /// Whether the dashboard can sign people in: the dev issuer, or a configured client.
    pub fn dashboard_enabled(&self) -> bool {
        self.uses_dev_issuer() || !self.auth.client_id.is_empty()
    }

    /// # Errors
    /// `customers.default_phone_region` or `orders.default_currency` is not a known code.
    pub fn domain_defaults(&self) -> anyhow::Result<DomainDefaults> {
        DomainDefaults::parse(&self.customers, &self.orders)
    }

    /// The effective settings as TOML, with secrets (database password) masked.
    pub fn to_masked_toml(&self) -> String {
        let mut shown = self.clone();
        shown.database.connection.url = mask_url_password(&shown.database.connection.url);
        toml::to_string_pretty(&shown).unwrap_or_else(|e| format!("# cannot render settings: {e}\n"))
    }
}

/// The sources as TOML comments, to head `orderdesk config`'s output.
pub fn describe_sources(sources: &[String]) -> String {
    let mut text = String::from("# Sources read, later ones winning:\n");
    for source in sources {
        text.push_str("#   ");
        text.push_str(source);
        text.push('\n');
    }
    text.push('\n');
    text
}

/// `ORDERDESK_CONFIG_DIR`, which must be a directory when it is set.
fn config_dir() -> anyhow::Result<Option<PathBuf>> {
    match std::env::var_os("ORDERDESK_CONFIG_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if !dir.is_dir() {
                bail!(
                    "ORDERDESK_CONFIG_DIR is {}, which is not a directory (unset it to run on the built-in profile files)",
                    dir.display()
                );
            }
            Ok(Some(dir))
        }
        _ => Ok(None),
    }
}

/// Settings an earlier release read, with what replaced them.
const REPLACED: [(&str, &str); 1] = [(
    "sms.template",
    "the texts are per event and language now: sms.events.\"order.created\".en (and .sw), see config/default.toml",
)];

/// Refuses a key no setting reads (a typo would otherwise be ignored in silence), naming the
/// closest known key and where the unknown one came from.
fn refuse_unknown_keys(figment: &Figment) -> anyhow::Result<()> {
    let value: figment::value::Value = figment.extract().map_err(describe_figment_error)?;
    let mut unknown = Vec::new();
    let _: Settings = serde_ignored::deserialize(&value, |path| unknown.push(path.to_string()))
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    let known = known_keys();
    // serde cannot report what a `#[serde(flatten)]` section ignores: compare its keys.
    for section in FLATTENED_SECTIONS {
        if let Some(dict) = figment.find_value(section).ok().as_ref().and_then(|v| v.as_dict()) {
            let keys = dict.keys().map(|name| format!("{section}.{name}"));
            unknown.extend(keys.filter(|key| !known.contains(key)));
        }
    }
    let Some(key) = unknown.first() else { return Ok(()) };
    if let Some((_, replacement)) = REPLACED.iter().find(|(old, _)| old == key) {
        bail!("invalid configuration: {key} is no longer read; {replacement}");
    }
    let closest = known
        .iter()
        .map(|candidate| (strsim::jaro_winkler(key, candidate), candidate))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(score, _)| *score > 0.7)
        .map(|(_, candidate)| format!("; did you mean {candidate}?"))
        .unwrap_or_default();
    let source = figment
        .find_metadata(key)
        .map(|m| match &m.source {
            Some(source) => format!(" (from {} {source})", m.name),
            None => format!(" (from {})", m.name),
        })
        .unwrap_or_default();
    bail!("invalid configuration: unknown setting {key}{source}{closest}")
}

/// Refuses a value that cannot be meant (a poll interval of 0, a leeway of hours), naming the
/// key and its allowed range.
///
/// # Errors
/// `value` is outside `min..=max`.
pub(crate) fn in_range<T: PartialOrd + std::fmt::Display>(key: &str, value: T, min: T, max: T) -> anyhow::Result<()> {
    if value < min || value > max {
        bail!("invalid configuration: {key} must be between {min} and {max} (it is {value})");
    }
    Ok(())
}

/// Sections whose struct flattens another (`database` = the adapters' connection settings +
/// `migrate_on_start`).
const FLATTENED_SECTIONS: [&str; 1] = ["database"];

/// Every setting's key in config-file form (`sms.retry_for`), read from the defaults and the
/// secrets (optional settings absent from the defaults).
fn known_keys() -> Vec<String> {
    fn walk(prefix: &str, value: &figment::value::Value, keys: &mut Vec<String>) {
        if let Some(dict) = value.as_dict() {
            for (name, inner) in dict {
                let key = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                walk(&key, inner, keys);
                keys.push(key);
            }
        }
    }
    let mut keys: Vec<String> = SECRETS.iter().map(|(key, _)| (*key).to_owned()).collect();
    if let Ok(defaults) = Figment::from(Serialized::defaults(Settings::default())).extract::<figment::value::Value>() {
        walk("", &defaults, &mut keys);
    }
    keys
}

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
