//! The wire shape of `getNotificationSummary`: SMS of a period counted by status, and what
//! their attempts cost per currency as exact decimal strings.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use orderdesk_domain::NotificationStatus;
use orderdesk_domain::notification::{CostTotal, NotificationSummary};
use poem_openapi::Object;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// SMS of the period `[from, to)`.
#[derive(Debug, Clone, Object)]
#[oai(rename = "NotificationSummary")]
pub struct NotificationSummaryBody {
    /// The period's start (inclusive), as given, in UTC.
    pub from: DateTime<Utc>,
    /// The period's end (exclusive), as given, in UTC.
    pub to: DateTime<Utc>,
    /// Notifications created in the period, by their current status: every status, zero
    /// included.
    pub counts: StatusCounts,
    /// What the attempts made in the period cost, one entry per currency charged, ordered by
    /// currency code; empty when none had a cost.
    pub cost: Vec<CostTotalBody>,
}

impl From<NotificationSummary> for NotificationSummaryBody {
    fn from(summary: NotificationSummary) -> Self {
        Self {
            from: summary.from,
            to: summary.to,
            counts: StatusCounts(NotificationStatus::ALL.into_iter().map(|s| (s, summary.count(s))).collect()),
            cost: summary.costs.into_iter().map(Into::into).collect(),
        }
    }
}

/// The costs of a period's attempts in one currency.
#[derive(Debug, Clone, Object)]
#[oai(rename = "NotificationCostTotal")]
pub struct CostTotalBody {
    /// ISO 4217 code, as Africa's Talking charged (`KES`).
    pub currency: String,
    /// The exact total as a decimal string with at least the currency's minor digits and every
    /// non-zero digit kept (costs are kept to six decimals): `"12.40"`, `"2.4012"`.
    pub amount: String,
    /// How many attempts had a cost in this currency.
    pub attempts: u64,
    /// The SMS parts they were billed for (Africa's Talking's `messageParts`).
    pub parts: u64,
}

impl From<CostTotal> for CostTotalBody {
    fn from(total: CostTotal) -> Self {
        Self {
            currency: total.currency.code().to_owned(),
            amount: total.amount_string(),
            attempts: total.attempts,
            parts: total.parts,
        }
    }
}

/// A count per notification status: one property per status of
/// [`NotificationStatus::ALL`], so a new status appears here (and in the document) by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCounts(pub Vec<(NotificationStatus, u64)>);

impl StatusCounts {
    const NAME: &'static str = "NotificationStatusCounts";
}

impl Type for StatusCounts {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        Self::NAME.into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Reference(Self::NAME.to_owned())
    }

    fn register(registry: &mut Registry) {
        registry.create_schema::<Self, _>(Self::NAME.to_owned(), |_| {
            let statuses = NotificationStatus::ALL.map(NotificationStatus::as_str);
            MetaSchema {
                description: Some("How many notifications are in each status, one property per status."),
                properties: statuses.iter().map(|s| (*s, u64::schema_ref())).collect(),
                required: statuses.to_vec(),
                example: Some(Value::Object(statuses.iter().map(|s| ((*s).to_owned(), Value::from(0))).collect())),
                ..MetaSchema::new("object")
            }
        });
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(std::iter::once(self))
    }
}

impl ParseFromJSON for StatusCounts {
    /// For clients built from the same types: an object of counts by status name.
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        let Some(Value::Object(map)) = value else { return Err(ParseError::custom("expected an object")) };
        let mut counts = Vec::new();
        for (name, count) in map {
            let status = NotificationStatus::parse(&name).ok_or_else(|| ParseError::custom("unknown status"))?;
            let count = count.as_u64().ok_or_else(|| ParseError::custom("expected a count"))?;
            counts.push((status, count));
        }
        Ok(Self(counts))
    }
}

impl ToJSON for StatusCounts {
    fn to_json(&self) -> Option<Value> {
        Some(Value::Object(self.0.iter().map(|(s, n)| (s.as_str().to_owned(), Value::from(*n))).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_a_property_and_totals_are_decimal_strings() {
        let from = chrono::Utc::now();
        let kes = orderdesk_domain::Currency::parse("KES").unwrap();
        let summary = NotificationSummary {
            from,
            to: from,
            counts: vec![(NotificationStatus::Sent, 2)],
            costs: vec![CostTotal { currency: kes, micros: 12_400_000, attempts: 5, parts: 7 }],
        };
        let body = NotificationSummaryBody::from(summary);
        let json = body.to_json().unwrap();
        assert_eq!(json["counts"].as_object().unwrap().len(), NotificationStatus::ALL.len());
        assert_eq!((json["counts"]["sent"].as_u64(), json["counts"]["pending"].as_u64()), (Some(2), Some(0)));
        assert_eq!(
            json["cost"],
            serde_json::json!([{"currency": "KES", "amount": "12.40", "attempts": 5, "parts": 7}])
        );
    }
}
