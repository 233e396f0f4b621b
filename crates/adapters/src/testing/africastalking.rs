//! The fake Africa's Talking of `orderdesk-fakes` (one for the tests and the system checks),
//! with the gateway settings that point at it.

use std::ops::Deref;

pub use orderdesk_fakes::africastalking::{API_KEY, AcceptedSms, Mode, PRICE, USERNAME};

use crate::secret::Secret;
use crate::sms::AfricasTalkingSettings;

/// The running fake ([`orderdesk_fakes::africastalking::FakeAfricasTalking`]), plus
/// [`Self::settings`].
pub struct FakeAfricasTalking(orderdesk_fakes::africastalking::FakeAfricasTalking);

impl FakeAfricasTalking {
    /// Starts the fake on 127.0.0.1, answering normally.
    pub async fn start() -> Self {
        Self(orderdesk_fakes::africastalking::FakeAfricasTalking::start().await)
    }

    /// Settings that point the real gateway at this fake.
    pub fn settings(&self) -> AfricasTalkingSettings {
        AfricasTalkingSettings {
            username: USERNAME.into(),
            api_key: Some(Secret::new(API_KEY)),
            sender_id: None,
            base_url: self.0.uri(),
        }
    }
}

impl Deref for FakeAfricasTalking {
    type Target = orderdesk_fakes::africastalking::FakeAfricasTalking;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
