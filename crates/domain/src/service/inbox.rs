//! Messages customers send in, and opting customers out of texts at their request: the use
//! cases behind Africa's Talking's incoming-message and bulk opt-out callbacks.

use std::sync::Arc;

use uuid::Uuid;

use crate::error::{InvalidValue, RepoError};
use crate::inbox::{IncomingMessage, IncomingSms, is_stop_word, parse_provider_date};
use crate::ports::{Clock, InboxRepository};
use crate::service::CustomerService;
use crate::{Actor, CustomerError, CustomerId, Page, PageRequest, PhoneNumber};

/// Failures of the inbox use cases.
#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// The number to opt out is not a phone number (in the default region, or with its
    /// `+country`).
    #[error("the number to opt out {0}")]
    InvalidPhone(InvalidValue),
    /// No customer has this id.
    #[error("customer {0} not found")]
    CustomerNotFound(CustomerId),
    /// Opting a customer out failed.
    #[error(transparent)]
    Customer(#[from] CustomerError),
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] RepoError),
}

/// Whether an incoming message was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Stored now.
    Stored,
    /// A message with the same provider id was stored before (a repeated callback): nothing
    /// stored.
    Duplicate,
}

/// What receiving an incoming message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Stored, or a repeat.
    pub delivery: Delivery,
    /// Whether its text is a stop word ([`is_stop_word`]).
    pub stop_word: bool,
    /// How many customers this message opted out (0 for other texts, for customers already
    /// opted out, and for a repeat whose first delivery already did it).
    pub opted_out_customers: usize,
}

/// The inbox use cases. Opt-outs change customers as [`CustomerService::opt_out_phone`]
/// does, as the actor [`InboxService::ACTOR`].
#[derive(Clone)]
pub struct InboxService {
    inbox: Arc<dyn InboxRepository>,
    customers: CustomerService,
    clock: Arc<dyn Clock>,
}

impl InboxService {
    /// Who changes customers opted out by Africa's Talking's callbacks (their `updated_by`).
    pub const ACTOR: &'static str = "africastalking";

    /// `customers` gives the default phone region and applies the opt-outs.
    pub fn new(inbox: Arc<dyn InboxRepository>, customers: CustomerService, clock: Arc<dyn Clock>) -> Self {
        Self { inbox, customers, clock }
    }

    /// Stores a message once per provider id; when its text is a stop word, opts out every
    /// customer whose number is the sender's. A repeated callback stores nothing but applies
    /// the opt-out again (which changes nothing when the first one did), so a first delivery
    /// cut short between storing and opting out is completed by AT's retry.
    ///
    /// The sender is stored in E.164 when it parses as a phone number (in the default
    /// region), else as sent; a sender that is no phone number opts nobody out.
    ///
    /// # Errors
    /// [`InboxError::Customer`] when an opt-out cannot be written, or storage.
    pub async fn receive(&self, sms: IncomingSms) -> Result<Received, InboxError> {
        let phone = PhoneNumber::parse(&sms.from, self.customers.phone_region()).ok();
        let stop_word = is_stop_word(&sms.text);
        let message = IncomingMessage {
            id: Uuid::now_v7(),
            sender: phone.as_ref().map_or_else(|| sms.from.trim().to_owned(), |p| p.as_str().to_owned()),
            provider_id: sms.provider_id,
            recipient: sms.to,
            text: sms.text,
            link_id: sms.link_id,
            sent_at: sms.date.as_deref().and_then(parse_provider_date),
            date_raw: sms.date,
            received_at: self.clock.now(),
            network_code: sms.network_code,
            stop_word,
            raw: sms.raw,
        };
        let delivery = if self.inbox.insert(&message).await? { Delivery::Stored } else { Delivery::Duplicate };
        let opted_out_customers = match (&phone, stop_word) {
            (Some(phone), true) => self.customers.opt_out_phone(phone, &Actor::new(Self::ACTOR)).await?,
            _ => 0,
        };
        Ok(Received { delivery, stop_word, opted_out_customers })
    }

    /// Opts out every customer with this number (Africa's Talking's bulk opt-out callback),
    /// parsed in the default region. Returns how many customers changed; customers already
    /// opted out are unchanged, so a repeated callback changes nothing.
    ///
    /// # Errors
    /// [`InboxError::InvalidPhone`] when `phone_number` is no phone number,
    /// [`InboxError::Customer`] when an opt-out cannot be written.
    pub async fn opt_out(&self, phone_number: &str) -> Result<usize, InboxError> {
        let phone =
            PhoneNumber::parse(phone_number, self.customers.phone_region()).map_err(InboxError::InvalidPhone)?;
        Ok(self.customers.opt_out_phone(&phone, &Actor::new(Self::ACTOR)).await?)
    }

    /// The messages sent from the customer's current phone number, newest first (messages
    /// are matched by number when read, so after a phone change the new number's messages
    /// are listed).
    ///
    /// # Errors
    /// [`InboxError::CustomerNotFound`], or storage.
    pub async fn list_for_customer(
        &self,
        id: CustomerId,
        page: PageRequest,
    ) -> Result<Page<IncomingMessage>, InboxError> {
        let customer = match self.customers.get(id).await {
            Ok(customer) => customer,
            Err(CustomerError::NotFound(id)) => return Err(InboxError::CustomerNotFound(id)),
            Err(other) => return Err(other.into()),
        };
        Ok(self.inbox.list_from(customer.phone().as_str(), page).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockClock, MockCustomerRepository, MockInboxRepository};
    use crate::{Customer, CustomerCode, CustomerName, PhoneRegion};
    use chrono::{TimeZone, Utc};

    fn clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| Utc.with_ymd_and_hms(2026, 11, 30, 9, 31, 0).unwrap());
        Arc::new(clock)
    }

    fn service(inbox: MockInboxRepository, customers: MockCustomerRepository) -> InboxService {
        let customers = CustomerService::new(Arc::new(customers), clock(), PhoneRegion::default());
        InboxService::new(Arc::new(inbox), customers, clock())
    }

    fn alice() -> Customer {
        let phone = PhoneNumber::parse("+254712345678", PhoneRegion::default()).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let name = CustomerName::parse("Alice").unwrap();
        Customer::new(name, CustomerCode::parse("A").unwrap(), phone, at, &Actor::new("auth0|clerk"))
    }

    fn sms(text: &str) -> IncomingSms {
        IncomingSms {
            provider_id: "ATXid_1".into(),
            from: "0712 345 678".into(),
            to: "22384".into(),
            text: text.into(),
            date: Some("2026-11-30 09:30:12".into()),
            ..IncomingSms::default()
        }
    }

    #[tokio::test]
    async fn a_stop_word_is_stored_and_opts_the_sender_out() {
        let mut inbox = MockInboxRepository::new();
        inbox
            .expect_insert()
            .withf(|m| {
                m.sender == "+254712345678"
                    && m.stop_word
                    && m.sent_at == Some(Utc.with_ymd_and_hms(2026, 11, 30, 9, 30, 12).unwrap())
                    && m.date_raw.as_deref() == Some("2026-11-30 09:30:12")
            })
            .times(1)
            .returning(|_| Ok(true));
        let mut customers = MockCustomerRepository::new();
        customers.expect_find_by_phone().returning(|_| Ok(vec![alice()]));
        customers
            .expect_update()
            .withf(|c, v, _| {
                c.sms_opt_out() && *v == Some(0) && c.audit().updated_by.as_deref() == Some("africastalking")
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let received = service(inbox, customers).receive(sms(" Stop\n")).await.unwrap();
        assert_eq!(received, Received { delivery: Delivery::Stored, stop_word: true, opted_out_customers: 1 });
    }

    #[tokio::test]
    async fn other_texts_and_repeats_store_without_opting_out() {
        let mut inbox = MockInboxRepository::new();
        inbox.expect_insert().returning(|m| Ok(m.text != "again"));
        let mut customers = MockCustomerRepository::new();
        customers.expect_find_by_phone().never();
        customers.expect_update().never();
        let service = service(inbox, customers);
        let received = service.receive(sms("stop please")).await.unwrap();
        assert_eq!(received, Received { delivery: Delivery::Stored, stop_word: false, opted_out_customers: 0 });
        let repeat = service.receive(sms("again")).await.unwrap();
        assert_eq!(repeat.delivery, Delivery::Duplicate);
    }

    #[tokio::test]
    async fn a_sender_that_is_no_phone_number_is_kept_as_sent() {
        let mut inbox = MockInboxRepository::new();
        inbox.expect_insert().withf(|m| m.sender == "MPESA" && m.sent_at.is_none()).returning(|_| Ok(true));
        let mut customers = MockCustomerRepository::new();
        customers.expect_find_by_phone().never();
        let from_word = IncomingSms { from: " MPESA ".into(), date: None, ..sms("STOP") };
        let received = service(inbox, customers).receive(from_word).await.unwrap();
        assert_eq!((received.stop_word, received.opted_out_customers), (true, 0));
    }

    #[tokio::test]
    async fn an_opt_out_for_no_phone_number_is_refused() {
        let mut customers = MockCustomerRepository::new();
        customers.expect_find_by_phone().never();
        let result = service(MockInboxRepository::new(), customers).opt_out("not a number").await;
        assert!(matches!(result, Err(InboxError::InvalidPhone(InvalidValue::Phone))), "{result:?}");
    }

    #[tokio::test]
    async fn messages_of_an_unknown_customer_are_not_found() {
        let mut customers = MockCustomerRepository::new();
        customers.expect_find().returning(|_| Ok(None));
        let mut inbox = MockInboxRepository::new();
        inbox.expect_list_from().never();
        let id = CustomerId::generate();
        let result = service(inbox, customers).list_for_customer(id, PageRequest::default()).await;
        assert!(matches!(result, Err(InboxError::CustomerNotFound(i)) if i == id));
    }
}
