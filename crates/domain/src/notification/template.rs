//! The order SMS text: a template with placeholders, filled in one pass so that customer data
//! is never read as template (an item named `{time}` stays `{time}`).

use chrono_tz::Tz;

use crate::error::InvalidValue;
use crate::order::Order;

/// A placeholder the template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Reference,
    Item,
    Amount,
    Currency,
    Date,
    Time,
}

impl Field {
    const ALL: [(&'static str, Field); 6] = [
        ("reference", Field::Reference),
        ("item", Field::Item),
        ("amount", Field::Amount),
        ("currency", Field::Currency),
        ("date", Field::Date),
        ("time", Field::Time),
    ];
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Field(Field),
}

/// Splits a template into literal text and placeholders; an unknown `{name}` stays literal.
fn parse(template: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let field = after.find('}').and_then(|close| {
            let name = &after[..close];
            Field::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| (*f, close))
        });
        match field {
            Some((field, close)) => {
                if !text.is_empty() {
                    segments.push(Segment::Text(std::mem::take(&mut text)));
                }
                segments.push(Segment::Field(field));
                rest = &after[close + 1..];
            }
            None => {
                text.push('{');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        segments.push(Segment::Text(text));
    }
    segments
}

/// Renders the order SMS from a template with `{reference}`, `{item}`, `{amount}`,
/// `{currency}`, `{date}` and `{time}` (in the configured time zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageTemplate {
    segments: Vec<Segment>,
    time_zone: Tz,
}

/// GSM-7 fits 160 characters in one SMS segment; anything else is UCS-2 at 70.
const GSM7_SEGMENT: usize = 160;
const UCS2_SEGMENT: usize = 70;
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

impl MessageTemplate {
    /// The template used unless one is configured.
    pub const DEFAULT: &'static str =
        "Order {reference} received: {item}, {currency} {amount} on {date} at {time}. Thank you!";

    /// # Errors
    /// [`InvalidValue::Empty`] for an empty template, [`InvalidValue::Region`] for an unknown time zone.
    pub fn new(template: &str, time_zone: &str) -> Result<Self, InvalidValue> {
        if template.trim().is_empty() {
            return Err(InvalidValue::Empty);
        }
        let time_zone: Tz = time_zone.parse().map_err(|_| InvalidValue::Region)?;
        Ok(Self { segments: parse(template), time_zone })
    }

    /// A short reference a customer can quote: the id's last 8 hex digits, upper-case.
    pub fn reference(order: &Order) -> String {
        let simple = order.id().as_uuid().simple().to_string().to_ascii_uppercase();
        simple[simple.len() - 8..].to_owned()
    }

    /// The message for `order`; the item is shortened so the text fits one segment when it can.
    pub fn render(&self, order: &Order) -> String {
        let local = order.ordered_at().with_timezone(&self.time_zone);
        let fill = |item: &str| {
            let mut out = String::new();
            for segment in &self.segments {
                match segment {
                    Segment::Text(text) => out.push_str(text),
                    Segment::Field(Field::Reference) => out.push_str(&Self::reference(order)),
                    Segment::Field(Field::Item) => out.push_str(item),
                    Segment::Field(Field::Amount) => out.push_str(&order.amount().amount_string()),
                    Segment::Field(Field::Currency) => out.push_str(order.amount().currency().code()),
                    Segment::Field(Field::Date) => out.push_str(&local.format("%d %b %Y").to_string()),
                    Segment::Field(Field::Time) => out.push_str(&local.format("%H:%M").to_string()),
                }
            }
            out
        };
        let item = order.item().as_str();
        let full = fill(item);
        let limit = if full.chars().all(|c| GSM7_BASIC.contains(c)) { GSM7_SEGMENT } else { UCS2_SEGMENT };
        let overflow = full.chars().count().saturating_sub(limit);
        if overflow == 0 {
            return full;
        }
        let keep = item.chars().count().saturating_sub(overflow + 3);
        if keep == 0 {
            return full;
        }
        fill(&format!("{}...", item.chars().take(keep).collect::<String>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, Currency, CustomerId, ItemName, Money};
    use chrono::{TimeZone, Utc};

    fn order(item: &str) -> Order {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 6, 30, 0).unwrap();
        let money = Money::parse("250.50", Currency::parse("KES").unwrap()).unwrap();
        Order::new(CustomerId::generate(), ItemName::parse(item).unwrap(), money, at, at, &Actor::new("t"))
    }

    #[test]
    fn message_uses_local_time_and_exact_amount() {
        let template = MessageTemplate::new(MessageTemplate::DEFAULT, "Africa/Nairobi").unwrap();
        let order = order("Maize flour 2kg");
        let text = template.render(&order);
        let reference = MessageTemplate::reference(&order);
        assert_eq!(
            text,
            format!("Order {reference} received: Maize flour 2kg, KES 250.50 on 26 Nov 2026 at 09:30. Thank you!")
        );
        assert_eq!(reference.len(), 8);
    }

    #[test]
    fn placeholders_inside_customer_data_are_not_expanded() {
        let template = MessageTemplate::new("{item} at {time}", "UTC").unwrap();
        assert_eq!(template.render(&order("Tea {time} {amount} {item}")), "Tea {time} {amount} {item} at 06:30");
    }

    #[test]
    fn unknown_and_unclosed_braces_stay_literal() {
        let template = MessageTemplate::new("{x} {item} {", "UTC").unwrap();
        assert_eq!(template.render(&order("Tea")), "{x} Tea {");
    }

    #[test]
    fn long_items_are_shortened_to_one_segment() {
        let template = MessageTemplate::new(MessageTemplate::DEFAULT, "Africa/Nairobi").unwrap();
        let text = template.render(&order(&"x".repeat(200)));
        assert_eq!(text.chars().count(), 160);
        assert!(text.contains("x..."));
        // Non-GSM text is UCS-2: 70 characters a segment.
        let short = MessageTemplate::new("{reference}: {item}", "UTC").unwrap();
        assert_eq!(short.render(&order(&"ж".repeat(100))).chars().count(), 70);
    }

    #[test]
    fn bad_templates_and_zones_are_refused() {
        assert_eq!(MessageTemplate::new(" ", "Africa/Nairobi"), Err(InvalidValue::Empty));
        assert_eq!(MessageTemplate::new("x", "Mars/Olympus"), Err(InvalidValue::Region));
    }
}
