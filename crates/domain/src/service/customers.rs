//! Customer use cases: create, get, list, change, delete.

use std::sync::Arc;

use crate::error::{Collector, CustomerError, RepoError};
use crate::idempotency::Recorder;
use crate::ports::{Clock, CustomerRepository};
use crate::{Actor, Customer, CustomerCode, CustomerId, CustomerName, Page, PageRequest, PhoneNumber, PhoneRegion};

/// Raw input for a new customer, as a client sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CustomerDraft {
    /// The display name; see [`CustomerName`].
    pub name: String,
    /// The shop's code; see [`CustomerCode`].
    pub code: String,
    /// The phone number, local or with `+country`; see [`PhoneNumber`].
    pub phone: String,
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
}

/// The customer use cases.
#[derive(Clone)]
pub struct CustomerService {
    customers: Arc<dyn CustomerRepository>,
    clock: Arc<dyn Clock>,
    phone_region: PhoneRegion,
}

impl CustomerService {
    /// `phone_region` is assumed for phone numbers written without a country code.
    pub fn new(customers: Arc<dyn CustomerRepository>, clock: Arc<dyn Clock>, phone_region: PhoneRegion) -> Self {
        Self { customers, clock, phone_region }
    }

    /// Validates and stores a new customer.
    ///
    /// # Errors
    /// [`CustomerError::Validation`] listing every bad field, [`CustomerError::DuplicateCode`], or storage.
    pub async fn create(&self, draft: CustomerDraft, actor: &Actor) -> Result<Customer, CustomerError> {
        self.create_recorded(draft, actor, None).await
    }

    /// [`CustomerService::create`], storing the response for the request's idempotency key in
    /// the same transaction.
    ///
    /// # Errors
    /// As [`CustomerService::create`], and [`CustomerError::KeyTaken`] when a request with the
    /// same key was stored first.
    pub async fn create_recorded(
        &self,
        draft: CustomerDraft,
        actor: &Actor,
        recorder: Option<Recorder<'_, Customer>>,
    ) -> Result<Customer, CustomerError> {
        let mut errors = Collector::default();
        let name = errors.check("name", CustomerName::parse(&draft.name));
        let code = errors.check("code", CustomerCode::parse(&draft.code));
        let phone = errors.check("phone", PhoneNumber::parse(&draft.phone, self.phone_region));
        let ((name, code), phone) = errors.finish(name.zip(code).zip(phone))?;
        let now = self.clock.now();
        let customer = Customer::new(name, code, phone, now, actor);
        let record = recorder.map(|r| r.record(&customer, now));
        self.customers.insert(&customer, record).await.map_err(|e| write_error(e, &customer))?;
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

    /// Customers whose name or code contains `text`, at most `limit`.
    ///
    /// # Errors
    /// Storage only.
    pub async fn search(&self, text: &str, limit: u64) -> Result<Vec<Customer>, CustomerError> {
        self.customers.search(text.trim(), limit).await.map_err(CustomerError::Storage)
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
        errors.finish(Some(()))?;

        let mut customer = self.get(id).await?;
        if expected_version.is_some_and(|v| v != customer.audit().version) {
            return Err(CustomerError::PreconditionFailed(id));
        }
        customer.change(name.flatten(), code.flatten(), phone.flatten(), self.clock.now(), actor);
        self.customers.update(&customer, expected_version).await.map_err(|e| write_error(e, &customer))?;
        Ok(customer)
    }

    /// Deletes a customer that has no orders; with `expected_version` (`If-Match`), only that version.
    ///
    /// # Errors
    /// [`CustomerError::NotFound`], [`CustomerError::PreconditionFailed`],
    /// [`CustomerError::HasOrders`], or storage.
    pub async fn delete(&self, id: CustomerId, expected_version: Option<u32>) -> Result<(), CustomerError> {
        self.customers.delete(id, expected_version).await.map_err(|e| match e {
            RepoError::NotFound => CustomerError::NotFound(id),
            RepoError::VersionMismatch => CustomerError::PreconditionFailed(id),
            RepoError::ForeignKey => CustomerError::HasOrders(id),
            other => CustomerError::Storage(other),
        })
    }
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
        CustomerDraft { name: "Alice".into(), code: "A-1".into(), phone: "0712345678".into() }
    }

    #[tokio::test]
    async fn create_stores_a_normalised_customer() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert()
            .withf(|c, _| c.phone().as_str() == "+254712345678" && c.name().as_str() == "Alice")
            .times(1)
            .returning(|_, _| Ok(()));
        let customer = service(repo).create(draft(), &actor()).await.unwrap();
        assert_eq!(customer.created_at(), customer.updated_at());
    }

    #[tokio::test]
    async fn create_reports_every_invalid_field_and_stores_nothing() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert().never();
        let bad = CustomerDraft { name: " ".into(), code: "no spaces".into(), phone: "123".into() };
        let Err(CustomerError::Validation(errors)) = service(repo).create(bad, &actor()).await else {
            panic!("expected validation error")
        };
        let fields: Vec<&str> = errors.fields().iter().map(|f| f.field).collect();
        assert_eq!(fields, ["name", "code", "phone"]);
        assert_eq!(errors.fields()[0], FieldError { field: "name", reason: InvalidValue::Empty });
    }

    #[tokio::test]
    async fn duplicate_code_is_reported_as_such() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_insert().returning(|_, _| Err(RepoError::Duplicate));
        let result = service(repo).create(draft(), &actor()).await;
        assert!(matches!(result, Err(CustomerError::DuplicateCode(code)) if code == "A-1"));
    }

    #[tokio::test]
    async fn deleting_a_customer_with_orders_is_refused() {
        let mut repo = MockCustomerRepository::new();
        repo.expect_delete().returning(|_, _| Err(RepoError::ForeignKey));
        let id = CustomerId::generate();
        assert!(matches!(service(repo).delete(id, None).await, Err(CustomerError::HasOrders(i)) if i == id));
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
}
