//! The fake Africa's Talking of `orderdesk-fakes` (the one the adapters' tests use), started
//! for a server process, and how its messages are matched to orders.

use std::time::Duration;

pub use orderdesk_fakes::africastalking::{API_KEY, FakeAfricasTalking, Mode, USERNAME};

use crate::api::block_on;
use crate::server::Launch;

/// Starts the fake (on the harness's runtime); each send is answered after `delay`.
pub fn start(delay: Duration) -> FakeAfricasTalking {
    let fake = block_on(FakeAfricasTalking::start());
    if !delay.is_zero() {
        fake.set_mode(Mode::Slow(delay));
    }
    fake
}

/// `launch` sending its SMS to `fake`, with the credentials the fake accepts.
pub fn sms_to(launch: Launch, fake: &FakeAfricasTalking) -> Launch {
    launch
        .set("sms.provider", "africastalking")
        .set("sms.africastalking.base_url", fake.uri())
        .set("sms.africastalking.api_key", API_KEY)
        .set("sms.africastalking.username", USERNAME)
        .set("sms.initial_backoff_ms", "200")
        .set("sms.request_timeout_ms", "3000")
}

/// Whether an SMS text names the order `reference` (`ORD-1001`, from the template's
/// `{reference}`): an occurrence not followed by another digit, so `ORD-1001` is not found in a
/// text about `ORD-10010`.
pub fn mentions_reference(message: &str, reference: &str) -> bool {
    message
        .match_indices(reference)
        .any(|(at, _)| !message[at + reference.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// How many of `messages` name `reference`.
pub fn copies(messages: &[String], reference: &str) -> usize {
    messages.iter().filter(|m| !reference.is_empty() && mentions_reference(m, reference)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_found_only_as_itself() {
        assert!(mentions_reference("Order ORD-1001: Tea, KES 5.00", "ORD-1001"));
        assert!(mentions_reference("ORD-1001", "ORD-1001"));
        assert!(!mentions_reference("Order ORD-10010: Tea", "ORD-1001"));
        assert!(mentions_reference("ORD-10010 then ORD-1001.", "ORD-1001"));
        assert!(!mentions_reference("Order ORD-1002: Tea", "ORD-1001"));
        let messages = ["ORD-1001 a".to_owned(), "ORD-1001 b".to_owned(), "ORD-1002".to_owned()];
        assert_eq!(copies(&messages, "ORD-1001"), 2);
        assert_eq!(copies(&messages, ""), 0);
    }

    #[test]
    fn the_fake_is_reached_with_the_settings_given_to_the_server() {
        let fake = start(Duration::ZERO);
        let launch = sms_to(Launch::new(std::path::Path::new("orderdesk"), std::path::Path::new("/tmp"), "dev"), &fake);
        assert_eq!(launch.get("sms.africastalking.base_url"), Some(fake.uri().as_str()));
        assert_eq!(launch.get("sms.africastalking.api_key"), Some(API_KEY));
    }
}
