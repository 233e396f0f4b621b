//! The shop's texts: for each [`SmsEvent`], whether it is texted and its template in each
//! [`Language`], checked once when the service starts.

use std::collections::BTreeMap;

use super::event::SmsEvent;
use super::template::{MessageTemplate, RenderedSms, TemplateError, TemplateOptions};
use crate::language::Language;
use crate::order::Order;
use crate::status::CancelReason;

/// One event as configured: whether it is texted, and its template text per language (a
/// language may be missing: its customers get the default language's text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventTexts {
    /// Whether a notification is written when the event happens.
    pub enabled: bool,
    /// Template text per language, with the placeholders of [`MessageTemplate`].
    pub templates: BTreeMap<Language, String>,
}

/// Why [`SmsCatalog::new`] refused the configured texts. Each names the event and language,
/// which is where the setting lives (`sms.events."<event>".<language>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// A template does not parse or cannot fit.
    #[error("the {event} template in {language}: {source}")]
    Template {
        /// The event.
        event: SmsEvent,
        /// The template's language.
        language: Language,
        /// What is wrong with it.
        source: TemplateError,
    },
    /// An enabled event without a template in the default language, so some customer would
    /// have no text.
    #[error("{event} is enabled but has no template in the default language ({language})")]
    MissingDefault {
        /// The event.
        event: SmsEvent,
        /// The default language.
        language: Language,
    },
    /// `{cancel_reason}` in a template of an event other than `order.cancelled`, where it would
    /// always be empty.
    #[error("the {event} template in {language} uses {{cancel_reason}}, which only order.cancelled has")]
    CancelReasonOutsideCancel {
        /// The event.
        event: SmsEvent,
        /// The template's language.
        language: Language,
    },
}

/// The checked templates of every event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsCatalog {
    default_language: Language,
    enabled: BTreeMap<SmsEvent, bool>,
    templates: BTreeMap<(SmsEvent, Language), MessageTemplate>,
}

impl SmsCatalog {
    /// Checks every template with `options` (each must fit `options.max_segments` with its
    /// placeholders at their widest, see [`MessageTemplate::new`]). Events not in `events`
    /// are disabled.
    ///
    /// # Errors
    /// The first [`CatalogError`], events in life-cycle order.
    pub fn new(
        options: &TemplateOptions,
        default_language: Language,
        events: &BTreeMap<SmsEvent, EventTexts>,
    ) -> Result<Self, CatalogError> {
        let mut enabled = BTreeMap::new();
        let mut templates = BTreeMap::new();
        for (&event, texts) in events {
            for (&language, text) in &texts.templates {
                let template = MessageTemplate::in_language(text, options, language)
                    .map_err(|source| CatalogError::Template { event, language, source })?;
                if template.uses_cancel_reason() && event != SmsEvent::OrderCancelled {
                    return Err(CatalogError::CancelReasonOutsideCancel { event, language });
                }
                templates.insert((event, language), template);
            }
            if texts.enabled && !texts.templates.contains_key(&default_language) {
                return Err(CatalogError::MissingDefault { event, language: default_language });
            }
            enabled.insert(event, texts.enabled);
        }
        Ok(Self { default_language, enabled, templates })
    }

    /// Texts only `order.created`, with `template` for every customer.
    pub fn created_only(template: MessageTemplate) -> Self {
        let language = template.language();
        Self {
            default_language: language,
            enabled: BTreeMap::from([(SmsEvent::OrderCreated, true)]),
            templates: BTreeMap::from([((SmsEvent::OrderCreated, language), template)]),
        }
    }

    /// The language of customers' texts when theirs has no template.
    pub fn default_language(&self) -> Language {
        self.default_language
    }

    /// Whether `event` is texted.
    pub fn is_enabled(&self, event: SmsEvent) -> bool {
        self.enabled.get(&event).copied().unwrap_or(false)
    }

    /// The template for `event` in `language`, else in the default language; `None` when the
    /// event has neither (whether or not it is enabled).
    pub fn template(&self, event: SmsEvent, language: Language) -> Option<&MessageTemplate> {
        self.templates.get(&(event, language)).or_else(|| self.templates.get(&(event, self.default_language)))
    }

    /// The text of `event` about `order` for a customer who reads `language` (see
    /// [`Self::template`]), with `{cancel_reason}` from `cancel_reason`; `None` when the
    /// event has no template. The message's language is [`MessageTemplate::language`].
    pub fn render(
        &self,
        event: SmsEvent,
        language: Language,
        order: &Order,
        cancel_reason: Option<CancelReason>,
    ) -> Option<(Language, RenderedSms)> {
        let template = self.template(event, language)?;
        Some((template.language(), template.render_with(order, cancel_reason)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> TemplateOptions {
        TemplateOptions { time_zone: "UTC".into(), max_segments: 1, transliterate: true, shop_name: "Duka".into() }
    }

    fn texts(enabled: bool, pairs: &[(Language, &str)]) -> EventTexts {
        EventTexts { enabled, templates: pairs.iter().map(|(l, t)| (*l, (*t).to_owned())).collect() }
    }

    #[test]
    fn a_language_without_its_template_falls_back_to_the_default() {
        let events = BTreeMap::from([
            (SmsEvent::OrderReady, texts(true, &[(Language::En, "{shop}: ready"), (Language::Sw, "{shop}: tayari")])),
            (SmsEvent::OrderCreated, texts(true, &[(Language::En, "{shop}: got it")])),
            (SmsEvent::OrderCompleted, texts(false, &[(Language::En, "done")])),
        ]);
        let catalog = SmsCatalog::new(&options(), Language::En, &events).unwrap();
        let sw = |event| catalog.template(event, Language::Sw).map(MessageTemplate::language);
        assert_eq!(sw(SmsEvent::OrderReady), Some(Language::Sw));
        assert_eq!(sw(SmsEvent::OrderCreated), Some(Language::En));
        assert!(catalog.is_enabled(SmsEvent::OrderReady));
        assert!(!catalog.is_enabled(SmsEvent::OrderCompleted));
        assert!(!catalog.is_enabled(SmsEvent::OrderCancelled));
        assert!(catalog.template(SmsEvent::OrderCancelled, Language::En).is_none());
    }

    #[test]
    fn start_up_refuses_what_could_not_be_sent() {
        let missing = BTreeMap::from([(SmsEvent::OrderReady, texts(true, &[(Language::Sw, "tayari")]))]);
        assert_eq!(
            SmsCatalog::new(&options(), Language::En, &missing),
            Err(CatalogError::MissingDefault { event: SmsEvent::OrderReady, language: Language::En })
        );
        assert!(SmsCatalog::new(&options(), Language::Sw, &missing).is_ok(), "Swahili shop");

        let unknown = BTreeMap::from([(SmsEvent::OrderReady, texts(false, &[(Language::Sw, "{jina} tayari")]))]);
        let err = SmsCatalog::new(&options(), Language::En, &unknown).unwrap_err();
        assert_eq!(
            err,
            CatalogError::Template {
                event: SmsEvent::OrderReady,
                language: Language::Sw,
                source: TemplateError::UnknownPlaceholder("jina".into())
            }
        );
        assert!(err.to_string().contains("order.ready template in sw"), "{err}");

        let reason = BTreeMap::from([(SmsEvent::OrderReady, texts(true, &[(Language::En, "{cancel_reason}")]))]);
        assert_eq!(
            SmsCatalog::new(&options(), Language::En, &reason),
            Err(CatalogError::CancelReasonOutsideCancel { event: SmsEvent::OrderReady, language: Language::En })
        );
        let too_long = BTreeMap::from([(SmsEvent::OrderCreated, texts(false, &[(Language::En, &"x".repeat(161))]))]);
        assert!(matches!(
            SmsCatalog::new(&options(), Language::En, &too_long),
            Err(CatalogError::Template { source: TemplateError::TooLong { .. }, .. })
        ));
    }
}
