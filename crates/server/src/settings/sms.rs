//! `sms.*`: which provider sends SMS, the message template, and the outbox's timing.

use anyhow::bail;
use orderdesk_adapters::sms::{SmsProvider, SmsSettings};
use orderdesk_domain::notification::MessageTemplate;

use super::{Profile, Settings};

impl Settings {
    /// The SMS provider in effect: as configured, else Africa's Talking when it has an API key,
    /// else the log (dev only).
    ///
    /// # Errors
    /// Production with neither a provider nor an API key.
    pub fn sms_provider(&self) -> anyhow::Result<SmsProvider> {
        provider(&self.sms, self.profile)
    }

    /// The message template, checked.
    ///
    /// # Errors
    /// An empty template or an unknown time zone.
    pub fn sms_template(&self) -> anyhow::Result<MessageTemplate> {
        template(&self.sms)
    }
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

fn template(sms: &SmsSettings) -> anyhow::Result<MessageTemplate> {
    MessageTemplate::new(&sms.template, &sms.time_zone).map_err(|e| match e {
        orderdesk_domain::InvalidValue::Empty => {
            anyhow::anyhow!("invalid configuration: sms.template must not be empty")
        }
        _ => anyhow::anyhow!("invalid configuration: sms.time_zone {:?} is not an IANA time zone", sms.time_zone),
    })
}

/// # Errors
/// The first invalid `sms.*` setting, naming its key.
pub fn validate(sms: &SmsSettings, profile: Profile) -> anyhow::Result<()> {
    let provider = provider(sms, profile)?;
    template(sms)?;
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
    if sms.max_attempts == 0 || sms.request_timeout_ms == 0 {
        bail!("invalid configuration: sms.max_attempts and sms.request_timeout_ms must be greater than 0");
    }
    if sms.lease_seconds * 1000 <= sms.request_timeout_ms {
        bail!(
            "invalid configuration: sms.lease_seconds must be longer than sms.request_timeout_ms, or two dispatchers could send one SMS"
        );
    }
    Ok(())
}
