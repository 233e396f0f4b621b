//! Customer use cases: create, get, list, change, delete.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::{Collector, CustomerError, InvalidValue, RepoError, ValidationErrors};
use crate::event::{EventType, NewEvent};
use crate::idempotency::Recorder;
use crate::order::order_time;
use crate::ports::{Clock, CustomerFilter, CustomerRepository};
use crate::{
    Actor, Customer, CustomerCode, CustomerEdit, CustomerId, CustomerName, Language, Page, PageRequest, PhoneNumber,
    PhoneRegion, SmsPreferences,
};

/// How often a write decided on a read is tried again after another write got there first.
const WRITE_TRIES: usize = 3;

/// Raw input for a new customer, as a client sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerDraft {
    /// The display name; see [`CustomerName`].
    pub name: String,
    /// The shop's code; see [`CustomerCode`].
    pub code: String,
    /// The phone number, local or with `+country`; see [`PhoneNumber`].
    pub phone: String,
    /// The language of the customer's texts (`en` or `sw`, see [`Language::parse`]); the
    /// service's default language when `None`.
    pub language: Option<String>,
    /// Whether the customer asked for no texts; `false` when `None`.
    pub sms_opt_out: Option<bool>,
}

/// Raw input for a partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerChanges {
    /// A new display name.
    pub name: Option<String>,
    /// A new code.
    pub code: Option<String>,
    /// A new phone number.
    pub phone: Option<String>,
    /// A new language for the customer's texts (`en` or `sw`).
    pub language: Option<String>,
    /// Opt out of texts (`true`) or back in (`false`).
    pub sms_opt_out: Option<bool>,
}

/// Filters for listing customers, as a client sent them; every one given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerListQuery {
    /// Only customers with this phone number, local or with `+country` (read as
    /// [`PhoneNumber::parse`] reads it, in the default region).
    pub phone: Option<String>,
    /// Only the customer with this code, ignoring case.
    pub code: Option<String>,
    /// Only customers whose name or code contains this text, ignoring case; after trimming,
    /// [`CustomerListQuery::MIN_TEXT`] to [`CustomerListQuery::MAX_TEXT`] characters.
    pub q: Option<String>,
    /// Only customers changed (or created) at or after this time.
    pub updated_since: Option<DateTime<Utc>>,
}

impl CustomerListQuery {
    /// The fewest characters `q` may have.
    pub const MIN_TEXT: usize = 2;
    /// The most characters `q` may have.
    pub const MAX_TEXT: usize = 100;
}

/// The customer use cases.
#[derive(Clone)]
pub struct CustomerService {
    pub(super) customers: Arc<dyn CustomerRepository>,
    pub(super) clock: Arc<dyn Clock>,
    phone_region: PhoneRegion,
    default_language: Language,
}

impl CustomerService {
    /// `phone_region` is assumed for phone numbers written without a country code. New
    /// customers are texted in English unless [`CustomerService::with_default_language`].
    pub fn new(customers: Arc<dyn CustomerRepository>, clock: Arc<dyn Clock>, phone_region: PhoneRegion) -> Self {
        Self { customers, clock, phone_region, default_language: Language::default() }
    }

    /// The same service, giving new customers that name no language `language`
    /// (the setting `customers.default_language`).
    #[must_use]
    pub fn with_default_language(mut self, language: Language) -> Self {
        self.default_language = language;
        self
    }

    /// The region assumed for phone numbers written without a country code.
    pub fn phone_region(&self) -> PhoneRegion {
        self.phone_region
    }

    /// The language new customers get when they name none.
    pub fn default_language(&self) -> Language {
        self.default_language
    }

    /// Validates and stores a new customer. With a `recorder` (a request that carries an
    /// idempotency key), the response it renders is stored in the same transaction.
    ///
    /// # Errors
    /// [`CustomerError::Validation`] listing every bad field, [`CustomerError::DuplicateCode`],
    /// [`CustomerError::KeyTaken`] when a request with the same key was stored first, or storage.
    pub async fn create(
        &self,
        draft: CustomerDraft,
        actor: &Actor,
        recorder: Option<Recorder<Customer>>,
    ) -> Result<Customer, CustomerError> {
        let mut errors = Collector::default();
        let name = errors.check("name", CustomerName::parse(&draft.name));
        let code = errors.check("code", CustomerCode::parse(&draft.code));
        let phone = errors.check("phone", PhoneNumber::parse(&draft.phone, self.phone_region));
        let language = match draft.language {
            Some(language) => errors.check("language", Language::parse(&language)),
            None => Some(self.default_language),
        };
        let (((name, code), phone), language) = errors.finish(name.zip(code).zip(phone).zip(language))?;
        let now = self.clock.now();
        let sms = SmsPreferences { language, opted_out: draft.sms_opt_out.unwrap_or(false) };
        let customer = Customer::new(name, code, phone, now, actor).with_sms_preferences(sms);
        let record = recorder.map(|r| r.record(&customer, now));
        let events = [NewEvent::customer(EventType::CustomerCreated, &customer, now)];
        self.customers.insert(&customer, record, &events).await.map_err(|e| write_error(e, &customer))?;
        Ok(customer)
    }

    /// # Errors
    /// [`CustomerError::NotFound`], or storage.
    pub async fn get(&self, id: CustomerId) -> Result<Customer, CustomerError> {
        self.customers.find(id).await.map_err(CustomerError::Storage)?.ok_or(CustomerError::NotFound(id))
    }

    /// Lists customers, newest first.
    ///
    /// # Errors
    /// Storage only.
    pub async fn list(&self, page: PageRequest) -> Result<Page<Customer>, CustomerError> {
        self.customers.list(page).await.map_err(CustomerError::Storage)
    }

    /// Lists the customers matching every filter of `query`, newest first, paged as
    /// [`CustomerService::list`]. A code that no customer could have matches none.
    ///
    /// # Errors
    /// [`CustomerError::Validation`] naming `phone` (not a phone number), `q` (not 2-100
    /// characters after trimming) or `updated_since` (outside years 1-9999), or storage.
    pub async fn list_matching(
        &self,
        query: CustomerListQuery,
        page: PageRequest,
    ) -> Result<Page<Customer>, CustomerError> {
        let mut errors = Collector::default();
        let phone = query.phone.map(|p| errors.check("phone", PhoneNumber::parse(&p, self.phone_region)));
        let text = query.q.map(|q| errors.check("q", search_text(&q)));
        let since = query.updated_since.map(|t| errors.check("updated_since", order_time(t)));
        errors.finish(Some(()))?;
        let code_key = query.code.map(|code| match CustomerCode::parse(&code) {
            Ok(code) => code.key(),
            // No stored code has other characters, so this matches nothing, as it should.
            Err(_) => code.to_ascii_lowercase(),
        });
        let filter =
            CustomerFilter { phone: phone.flatten(), code_key, text: text.flatten(), updated_since: since.flatten() };
        let found = if filter == CustomerFilter::default() {
            self.customers.list(page).await
        } else {
            self.customers.list_matching(&filter, page).await
        };
        found.map_err(CustomerError::Storage)
    }

    /// The customers with these ids that exist (ids repeated or unknown are left out), in one
    /// storage query.
    ///
    /// # Errors
    /// Storage only.
    pub async fn get_many(&self, ids: &[CustomerId]) -> Result<Vec<Customer>, CustomerError> {
        let mut unique = ids.to_vec();
        unique.sort_unstable_by_key(|id| id.as_uuid());
        unique.dedup();
        if unique.is_empty() {
            return Ok(Vec::new());
        }
        self.customers.find_many(&unique).await.map_err(CustomerError::Storage)
    }

    /// Customers whose name or code contains `text`, at most `limit`.
    ///
    /// # Errors
    /// Storage only.
    pub async fn search(&self, text: &str, limit: u64) -> Result<Vec<Customer>, CustomerError> {
        self.customers.search(text.trim(), limit).await.map_err(CustomerError::Storage)
    }

    /// Every customer with this phone number (several may share one), oldest first. `phone`
    /// is read as [`PhoneNumber::parse`] reads it, in the default region: `0712 345 678` finds
    /// `+254712345678` in Kenya.
    ///
    /// # Errors
    /// [`CustomerError::Validation`] on field `phone` when `phone` is no phone number, or storage.
    pub async fn find_by_phone(&self, phone: &str) -> Result<Vec<Customer>, CustomerError> {
        let phone = PhoneNumber::parse(phone, self.phone_region)
            .map_err(|reason| CustomerError::Validation(ValidationErrors::single("phone", reason)))?;
        self.customers.find_by_phone(&phone).await.map_err(CustomerError::Storage)
    }

    /// Applies a partial update; with `expected_version` (`If-Match`), only to that version.
    ///
    /// # Errors
    /// [`CustomerError::NotFound`], [`CustomerError::PreconditionFailed`],
    /// [`CustomerError::Validation`], [`CustomerError::DuplicateCode`], or storage.
    pub async fn update(
        &self,
        id: CustomerId,
        changes: CustomerChanges,
        actor: &Actor,
        expected_version: Option<u32>,
    ) -> Result<Customer, CustomerError> {
        let mut errors = Collector::default();
        let name = changes.name.map(|n| errors.check("name", CustomerName::parse(&n)));
        let code = changes.code.map(|c| errors.check("code", CustomerCode::parse(&c)));
        let phone = changes.phone.map(|p| errors.check("phone", PhoneNumber::parse(&p, self.phone_region)));
        let language = changes.language.map(|l| errors.check("language", Language::parse(&l)));
        errors.finish(Some(()))?;

        let mut customer = self.get(id).await?;
        if expected_version.is_some_and(|v| v != customer.audit().version) {
            return Err(CustomerError::PreconditionFailed(id));
        }
        let edit = CustomerEdit {
            name: name.flatten(),
            code: code.flatten(),
            phone: phone.flatten(),
            language: language.flatten(),
            sms_opt_out: changes.sms_opt_out,
        };
        let now = self.clock.now();
        let read_at = customer.audit().version;
        customer.change(edit, now, actor);
        if customer.audit().version == read_at {
            // Nothing differs: nothing is written, no version moves, no event.
            return Ok(customer);
        }
        let events = [NewEvent::customer(EventType::CustomerUpdated, &customer, now)];
        self.customers.update(&customer, expected_version, &events).await.map_err(|e| write_error(e, &customer))?;
        Ok(customer)
    }

    /// Opts every customer with this number out of texts, each through [`Customer::change`]
    /// (so its version and `updated_at` move, by `actor`), written only over the version it
    /// was read at (re-read up to three times when another write got there first). Customers
    /// already opted out are left as they are. Returns how many customers changed.
    ///
    /// # Errors
    /// [`CustomerError::PreconditionFailed`] when a customer kept changing under the opt-out,
    /// or storage.
    pub async fn opt_out_phone(&self, phone: &PhoneNumber, actor: &Actor) -> Result<usize, CustomerError> {
        let mut changed = 0;
        for found in self.customers.find_by_phone(phone).await.map_err(CustomerError::Storage)? {
            let mut current = Some(found);
            for attempt in 1..=WRITE_TRIES {
                let Some(mut customer) = current.take().filter(|c| c.phone() == phone && !c.sms_opt_out()) else {
                    break;
                };
                let read_at = customer.audit().version;
                let now = self.clock.now();
                customer.change(CustomerEdit::opt_out(), now, actor);
                let events = [NewEvent::customer(EventType::CustomerUpdated, &customer, now)];
                match self.customers.update(&customer, Some(read_at), &events).await {
                    Ok(()) => changed += 1,
                    Err(RepoError::NotFound) => {}
                    Err(RepoError::VersionMismatch) if attempt < WRITE_TRIES => {
                        current = self.customers.find(customer.id()).await.map_err(CustomerError::Storage)?;
                    }
                    Err(e) => return Err(write_error(e, &customer)),
                }
            }
        }
        Ok(changed)
    }

    /// Deletes a customer that has no orders; with `expected_version` (`If-Match`), only that
    /// version. The `customer.deleted` event carries the customer as deleted: it is read first
    /// and deleted only at the version read (read again up to three times when another write
    /// got there first, unless `expected_version` was given).
    ///
    /// # Errors
    /// [`CustomerError::NotFound`], [`CustomerError::PreconditionFailed`],
    /// [`CustomerError::HasOrders`], or storage.
    pub async fn delete(&self, id: CustomerId, expected_version: Option<u32>) -> Result<(), CustomerError> {
        for attempt in 1..=WRITE_TRIES {
            let customer = self.get(id).await?;
            let read_at = customer.audit().version;
            if expected_version.is_some_and(|v| v != read_at) {
                return Err(CustomerError::PreconditionFailed(id));
            }
            let events = [NewEvent::customer(EventType::CustomerDeleted, &customer, self.clock.now())];
            match self.customers.delete(id, Some(read_at), &events).await {
                Ok(()) => return Ok(()),
                Err(RepoError::VersionMismatch) if expected_version.is_none() && attempt < WRITE_TRIES => {}
                Err(e) => {
                    return Err(match e {
                        RepoError::NotFound => CustomerError::NotFound(id),
                        RepoError::VersionMismatch => CustomerError::PreconditionFailed(id),
                        RepoError::ForeignKey => CustomerError::HasOrders(id),
                        other => CustomerError::Storage(other),
                    });
                }
            }
        }
        Err(CustomerError::PreconditionFailed(id))
    }
}

/// `q` trimmed and lower-cased, if it has 2-100 characters.
fn search_text(q: &str) -> Result<String, InvalidValue> {
    let text = q.trim();
    let chars = text.chars().count();
    if chars < CustomerListQuery::MIN_TEXT {
        return Err(InvalidValue::TooShort { min: CustomerListQuery::MIN_TEXT });
    }
    if chars > CustomerListQuery::MAX_TEXT {
        return Err(InvalidValue::TooLong { max: CustomerListQuery::MAX_TEXT });
    }
    Ok(text.to_lowercase())
}

fn write_error(error: RepoError, customer: &Customer) -> CustomerError {
    match error {
        RepoError::Duplicate => CustomerError::DuplicateCode(customer.code().as_str().to_owned()),
        RepoError::NotFound => CustomerError::NotFound(customer.id()),
        RepoError::VersionMismatch => CustomerError::PreconditionFailed(customer.id()),
        RepoError::KeyTaken => CustomerError::KeyTaken,
        other => CustomerError::Storage(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockClock, MockCustomerRepository};
    use crate::{FieldError, InvalidValue};
    use chrono::{TimeZone, Utc};

    fn fixed_clock() -> Arc<MockClock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(|| Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap());
        Arc::new(clock)
    }

    fn service(repo: MockCustomerRepository) -> CustomerService {
        CustomerService::new(Arc::new(repo), fixed_clock(), PhoneRegion::default())
    }

    fn actor() -> Actor {
        Actor::new("auth0|tester")
    }

    fn draft() -> CustomerDraft {
        CustomerDraft { name: "Alice".into(), code: "A-1".into(), phone: "0712345678".into(), ..Default::default() }
    }

    #[tokio::test]
    async fn create_stores_a_normalised_customer() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert()
            .withf(|c, _, _| c.phone().as_str() == "+254712345678" && c.name().as_str() == "Alice")
            .times(1)
            .returning(|_, _, _| Ok(()));
        let customer = service(repo).create(draft(), &actor(), None).await.unwrap();
        assert_eq!(customer.created_at(), customer.updated_at());
    }

    #[tokio::test]
    async fn create_reports_every_invalid_field_and_stores_nothing() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert().never();
        let bad = CustomerDraft {
            name: " ".into(),
            code: "no spaces".into(),
            phone: "123".into(),
            language: Some("fr".into()),
            sms_opt_out: None,
        };
        let Err(CustomerError::Validation(errors)) = service(repo).create(bad, &actor(), None).await else {
            panic!("expected validation error")
        };
        let fields: Vec<&str> = errors.fields().iter().map(|f| f.field).collect();
        assert_eq!(fields, ["name", "code", "phone", "language"]);
        assert_eq!(errors.fields()[3].reason, InvalidValue::UnknownLanguage);
        assert_eq!(errors.fields()[0], FieldError { field: "name", reason: InvalidValue::Empty });
    }

    #[tokio::test]
    async fn duplicate_code_is_reported_as_such() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert().returning(|_, _, _| Err(RepoError::Duplicate));
        let result = service(repo).create(draft(), &actor(), None).await;
        assert!(matches!(result, Err(CustomerError::DuplicateCode(code)) if code == "A-1"));
    }

    #[tokio::test]
    async fn deleting_a_customer_with_orders_is_refused() {
        let customer = stored("ALICE", false);
        let id = customer.id();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find().returning(move |_| Ok(Some(customer.clone())));
        repo.expect_delete().returning(|_, _, _| Err(RepoError::ForeignKey));
        assert!(matches!(service(repo).delete(id, None).await, Err(CustomerError::HasOrders(i)) if i == id));
    }

    #[tokio::test]
    async fn a_delete_writes_the_customer_as_deleted_at_the_version_read_and_tries_again_after_a_race() {
        let customer = stored("ALICE", false);
        let id = customer.id();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find().times(2).returning(move |_| Ok(Some(customer.clone())));
        let mut seq = mockall::Sequence::new();
        repo.expect_delete().times(1).in_sequence(&mut seq).returning(|_, _, _| Err(RepoError::VersionMismatch));
        repo.expect_delete()
            .withf(move |deleted, version, events| {
                *deleted == id
                    && *version == Some(0)
                    && matches!(events, [e] if e.kind == EventType::CustomerDeleted
                        && matches!(&e.object, crate::EventObject::Customer(c) if c.id() == id))
            })
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_, _, _| Ok(()));
        service(repo).delete(id, None).await.expect("deleted");
    }

    #[tokio::test]
    async fn a_change_that_changes_nothing_writes_nothing() {
        let customer = stored("ALICE", false);
        let id = customer.id();
        let name = customer.name().as_str().to_owned();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find().returning(move |_| Ok(Some(customer.clone())));
        repo.expect_update().never();
        let same = CustomerChanges { name: Some(name), ..CustomerChanges::default() };
        let unchanged = service(repo).update(id, same, &actor(), Some(0)).await.expect("unchanged");
        assert_eq!(unchanged.audit().version, 0);
    }

    #[tokio::test]
    async fn a_delete_with_a_stale_if_match_is_a_failed_precondition_without_writing() {
        let customer = stored("ALICE", false);
        let id = customer.id();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find().returning(move |_| Ok(Some(customer.clone())));
        repo.expect_delete().never();
        assert!(matches!(service(repo).delete(id, Some(7)).await, Err(CustomerError::PreconditionFailed(_))));
    }

    #[tokio::test]
    async fn find_by_phone_reads_the_number_in_the_default_region_and_refuses_other_text() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_find_by_phone()
            .withf(|p| p.as_str() == "+254712345678")
            .times(1)
            .returning(|_| Ok(vec![stored("A", false), stored("B", true)]));
        let service = service(repo);
        let found = service.find_by_phone("0712 345 678").await.unwrap();
        assert_eq!(found.len(), 2);
        let Err(CustomerError::Validation(errors)) = service.find_by_phone("Amina").await else {
            panic!("expected validation error")
        };
        assert_eq!(errors.fields()[0], FieldError { field: "phone", reason: InvalidValue::Phone });
    }

    #[tokio::test]
    async fn update_of_missing_customer_is_not_found() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_find().returning(|_| Ok(None));
        repo.expect_update().never();
        let id = CustomerId::generate();
        let changes = CustomerChanges { name: Some("Bob".into()), ..Default::default() };
        assert!(matches!(service(repo).update(id, changes, &actor(), None).await, Err(CustomerError::NotFound(_))));
    }

    #[tokio::test]
    async fn create_takes_the_default_language_unless_one_is_given() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert().returning(|_, _, _| Ok(()));
        let swahili = service(repo).with_default_language(Language::Sw);
        let customer = swahili.create(draft(), &actor(), None).await.unwrap();
        assert_eq!((customer.language(), customer.sms_opt_out()), (Language::Sw, false));
        let english = CustomerDraft { language: Some("en".into()), sms_opt_out: Some(true), ..draft() };
        let customer = swahili.create(english, &actor(), None).await.unwrap();
        assert_eq!((customer.language(), customer.sms_opt_out()), (Language::En, true));
    }

    #[tokio::test]
    async fn update_refuses_an_unknown_language_before_reading() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_find().never();
        let changes = CustomerChanges { language: Some("fr".into()), ..Default::default() };
        let result = service(repo).update(CustomerId::generate(), changes, &actor(), None).await;
        let Err(CustomerError::Validation(errors)) = result else { panic!("expected validation error") };
        assert_eq!(errors.fields()[0], FieldError { field: "language", reason: InvalidValue::UnknownLanguage });
    }

    /// Input first, then the version, as for orders: a stale `If-Match` with an invalid
    /// change is a validation error, and nothing is written.
    #[tokio::test]
    async fn an_invalid_change_is_refused_before_a_stale_version_is() {
        let customer = stored("ALICE", false);
        let id = customer.id();
        let mut repo = MockCustomerRepository::new();
        repo.expect_find().returning(move |_| Ok(Some(customer.clone())));
        repo.expect_update().never();
        let service = service(repo);
        let invalid = CustomerChanges { phone: Some("123".into()), ..Default::default() };
        let result = service.update(id, invalid, &actor(), Some(7)).await;
        assert!(matches!(result, Err(CustomerError::Validation(_))), "{result:?}");
        let valid = CustomerChanges { name: Some("Bob".into()), ..Default::default() };
        let result = service.update(id, valid, &actor(), Some(7)).await;
        assert!(matches!(result, Err(CustomerError::PreconditionFailed(_))), "{result:?}");
    }

    fn stored(code: &str, opted_out: bool) -> Customer {
        let phone = PhoneNumber::parse("0712345678", PhoneRegion::default()).unwrap();
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let customer = Customer::new(
            CustomerName::parse("Alice").unwrap(),
            CustomerCode::parse(code).unwrap(),
            phone,
            at,
            &actor(),
        );
        customer.with_sms_preferences(SmsPreferences { opted_out, ..SmsPreferences::default() })
    }

    #[tokio::test]
    async fn opting_out_a_number_changes_each_customer_not_yet_opted_out_over_its_version() {
        let (first, second, already) = (stored("A", false), stored("B", false), stored("C", true));
        let found = vec![first.clone(), second.clone(), already];
        let mut repo = MockCustomerRepository::new();
        repo.expect_find_by_phone().times(1).returning(move |_| Ok(found.clone()));
        let first_id = first.id();
        // The first customer changed since it was read: read again, then written.
        let mut raced = first.clone();
        raced.change(
            CustomerEdit { name: Some(CustomerName::parse("Alicia").unwrap()), ..Default::default() },
            raced.created_at(),
            &actor(),
        );
        repo.expect_find().withf(move |id| *id == first_id).times(1).returning(move |_| Ok(Some(raced.clone())));
        let mut seq = mockall::Sequence::new();
        repo.expect_update()
            .times(1)
            .in_sequence(&mut seq)
            .withf(move |c, v, _| c.id() == first_id && *v == Some(0))
            .returning(|_, _, _| Err(RepoError::VersionMismatch));
        repo.expect_update()
            .times(1)
            .in_sequence(&mut seq)
            .withf(move |c, v, _| c.id() == first_id && *v == Some(1) && c.sms_opt_out() && c.audit().version == 2)
            .returning(|_, _, _| Ok(()));
        let second_id = second.id();
        repo.expect_update()
            .times(1)
            .in_sequence(&mut seq)
            .withf(move |c, v, _| {
                c.id() == second_id
                    && *v == Some(0)
                    && c.sms_opt_out()
                    && c.audit().updated_by.as_deref() == Some("africastalking")
            })
            .returning(|_, _, _| Ok(()));
        let phone = first.phone().clone();
        let changed = service(repo).opt_out_phone(&phone, &Actor::new("africastalking")).await.unwrap();
        assert_eq!(changed, 2);
    }
}
