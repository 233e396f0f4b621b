//! `sms.*`: which provider sends SMS, the texts per order event and language, and the
//! outbox's timing.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::bail;
use orderdesk_adapters::sms::{SmsProvider, SmsSettings};
use orderdesk_domain::Language;
use orderdesk_domain::notification::{
    CatalogError, EventTexts, RetryPolicy, SmsCatalog, SmsEvent, TemplateError, TemplateOptions,
};

use super::{Profile, Settings, in_range};

impl Settings {
    /// The SMS provider in effect: as configured, else Africa's Talking when it has an API key,
    /// else the log (dev only).
    ///
    /// # Errors
    /// Production with neither a provider nor an API key.
    pub fn sms_provider(&self) -> anyhow::Result<SmsProvider> {
        provider(&self.sms, self.profile)
    }

    /// The texts of every order event in every language, checked.
    ///
    /// # Errors
    /// The first bad `sms.events` entry, `sms.time_zone` or `shop.name`, naming the setting.
    pub fn sms_catalog(&self) -> anyhow::Result<SmsCatalog> {
        catalog(&self.sms, &self.shop.name, &self.time_zone()?, self.default_language()?)
    }

    /// The dispatcher's retry policy from `sms.initial_backoff_ms`, `sms.max_backoff_ms` and
    /// `sms.retry_for`.
    ///
    /// # Errors
    /// `sms.retry_for` is not a duration.
    pub fn sms_retry_policy(&self) -> anyhow::Result<RetryPolicy> {
        Ok(RetryPolicy {
            initial_backoff: Duration::from_millis(self.sms.initial_backoff_ms),
            max_backoff: Duration::from_millis(self.sms.max_backoff_ms),
            retry_for: retry_for(&self.sms)?,
        })
    }

    /// `sms.max_order_age_hours` as a duration.
    pub fn sms_max_order_age(&self) -> chrono::Duration {
        chrono::Duration::hours(i64::try_from(self.sms.max_order_age_hours).unwrap_or(i64::MAX / 3_600_000))
    }
}

fn retry_for(sms: &SmsSettings) -> anyhow::Result<Duration> {
    let retry_for = humantime::parse_duration(sms.retry_for.trim()).map_err(|e| {
        anyhow::anyhow!(
            "invalid configuration: sms.retry_for {:?} is not a duration such as \"24h\" ({e})",
            sms.retry_for
        )
    })?;
    if retry_for < Duration::from_secs(60) || retry_for > Duration::from_secs(30 * 24 * 3600) {
        bail!("invalid configuration: sms.retry_for must be between 1m and 30d (it is {:?})", sms.retry_for);
    }
    Ok(retry_for)
}

fn provider(sms: &SmsSettings, profile: Profile) -> anyhow::Result<SmsProvider> {
    match (sms.provider, &sms.africastalking.api_key, profile) {
        (Some(provider), _, _) => Ok(provider),
        (None, Some(_), _) => Ok(SmsProvider::Africastalking),
        (None, None, Profile::Dev) => Ok(SmsProvider::Log),
        (None, None, Profile::Production) => bail!(
            "invalid configuration: set sms.provider (africastalking, log or disabled); for africastalking also \
             ORDERDESK_SMS__AFRICASTALKING__API_KEY"
        ),
    }
}

/// `sms.events` as the domain reads it: each key an event name, each language its template.
fn event_texts(sms: &SmsSettings) -> anyhow::Result<BTreeMap<SmsEvent, EventTexts>> {
    let mut events = BTreeMap::new();
    for (name, settings) in &sms.events {
        let event = SmsEvent::parse(name)
            .map_err(|e| anyhow::anyhow!("invalid configuration: sms.events.{name:?}: the event {e}"))?;
        let templates = [(Language::En, &settings.en), (Language::Sw, &settings.sw)]
            .into_iter()
            .filter_map(|(language, text)| Some((language, text.clone()?)))
            .collect();
        events.insert(event, EventTexts { enabled: settings.enabled, templates });
    }
    Ok(events)
}

fn catalog(
    sms: &SmsSettings,
    shop_name: &str,
    time_zone: &str,
    default_language: Language,
) -> anyhow::Result<SmsCatalog> {
    let options = TemplateOptions {
        time_zone: time_zone.to_owned(),
        max_segments: sms.max_segments,
        transliterate: sms.transliterate,
        shop_name: shop_name.to_owned(),
    };
    SmsCatalog::new(&options, default_language, &event_texts(sms)?).map_err(|e| match e {
        CatalogError::Template { event, language, source } => {
            let key = format!("sms.events.\"{event}\".{language}");
            match source {
                TemplateError::TimeZone(zone) => {
                    anyhow::anyhow!("invalid configuration: shop.time_zone {zone:?} is not an IANA time zone")
                }
                TemplateError::NoSegments => {
                    anyhow::anyhow!("invalid configuration: sms.max_segments must be at least 1")
                }
                too_long @ TemplateError::TooLong { .. } => anyhow::anyhow!(
                    "invalid configuration: {key} with sms.max_segments = {} and shop.name {shop_name:?}: {too_long}",
                    sms.max_segments
                ),
                other => anyhow::anyhow!("invalid configuration: {key}: {other}"),
            }
        }
        CatalogError::MissingDefault { event, language } => anyhow::anyhow!(
            "invalid configuration: sms.events.\"{event}\" is enabled but has no template in the default language: \
             set sms.events.\"{event}\".{language} (customers.default_language = {language:?})"
        ),
        other @ CatalogError::CancelReasonOutsideCancel { .. } => {
            anyhow::anyhow!("invalid configuration: sms.events: {other}")
        }
    })
}

/// # Errors
/// The first invalid `sms.*` setting, naming its key.
pub fn validate(settings: &Settings) -> anyhow::Result<()> {
    let (sms, profile) = (&settings.sms, settings.profile);
    let provider = provider(sms, profile)?;
    in_range("sms.max_segments", sms.max_segments, 1, 10)?;
    settings.sms_catalog()?;
    if provider == SmsProvider::Africastalking && sms.africastalking.api_key.is_none() {
        bail!(
            "invalid configuration: sms.provider is africastalking but ORDERDESK_SMS__AFRICASTALKING__API_KEY is not set"
        );
    }
    if sms.webhook_secret.as_ref().is_some_and(|s| s.expose().len() < 16) {
        bail!(
            "invalid configuration: sms.webhook_secret must be at least 16 characters (it is the webhook's only credential)"
        );
    }
    retry_for(sms)?;
    in_range("sms.request_timeout_ms", sms.request_timeout_ms, 100, 120_000)?;
    in_range("sms.initial_backoff_ms", sms.initial_backoff_ms, 10, 3_600_000)?;
    in_range("sms.max_backoff_ms", sms.max_backoff_ms, sms.initial_backoff_ms, 86_400_000)?;
    in_range("sms.poll_interval_ms", sms.poll_interval_ms, 10, 600_000)?;
    in_range("sms.lease_seconds", sms.lease_seconds, 1, 3_600)?;
    in_range("sms.max_order_age_hours", sms.max_order_age_hours, 0, 24 * 366)?;
    let at = &sms.africastalking;
    if (at.api_key.is_some() || provider == SmsProvider::Africastalking) && at.username.trim().is_empty() {
        bail!(
            "invalid configuration: sms.africastalking.username is required with an Africa's Talking API key \
             (ORDERDESK_SMS__AFRICASTALKING__USERNAME: your app's username, or \"sandbox\" for the sandbox)"
        );
    }
    if sms.lease_seconds * 1000 <= sms.request_timeout_ms {
        bail!(
            "invalid configuration: sms.lease_seconds must be longer than sms.request_timeout_ms, or two dispatchers could send one SMS"
        );
    }
    Ok(())
}
