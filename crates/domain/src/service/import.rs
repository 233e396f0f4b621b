//! Customer import: many customers created or updated by code in one go, every row validated
//! before anything is written.

use std::collections::HashMap;

use crate::error::{CustomerError, RepoError};
use crate::event::{EventType, NewEvent};
use crate::{Actor, Customer, CustomerCode, CustomerEdit, CustomerName, Language, PhoneNumber, SmsPreferences};

use super::CustomerService;

/// The most rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 5_000;

/// How often an import re-reads and re-plans when customers changed under it before giving up.
const IMPORT_TRIES: usize = 3;

/// One row of an import, as the client sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportRow {
    /// Where the row is in the client's file (the line of a CSV file, the header being 1).
    pub row: u64,
    /// The customer's name.
    pub name: String,
    /// The code the row is matched by (ignoring case).
    pub code: String,
    /// The phone number, local (read in the service's region) or with `+country`.
    pub phone: String,
    /// `en` or `sw`; `None` (or empty) keeps a customer's language, or gives a new one the default.
    pub language: Option<String>,
    /// `true`/`false` (also `yes`/`no`, `1`/`0`); `None` (or empty) keeps it, or `false` for a new one.
    pub sms_opt_out: Option<String>,
}

/// A refused value of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The row's [`ImportRow::row`].
    pub row: u64,
    /// The column (`name`, `code`, `phone`, `language`, `sms_opt_out`).
    pub field: &'static str,
    /// Why it was refused.
    pub message: String,
}

/// What an import did (or, dry, would do) with one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportAction {
    /// A new customer.
    Created,
    /// A customer with the code, changed.
    Updated,
    /// A customer with the code, already as the row says: not written, its version unchanged.
    Unchanged,
}

impl ImportAction {
    /// `created`, `updated` or `unchanged`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Unchanged => "unchanged",
        }
    }
}

/// One row's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedRow {
    /// The row's [`ImportRow::row`].
    pub row: u64,
    /// The customer's code as stored (its first spelling, for an existing customer).
    pub code: String,
    /// What happened.
    pub action: ImportAction,
}

/// The outcome of an import, row by row in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Each row's outcome.
    pub rows: Vec<ImportedRow>,
}

impl ImportReport {
    /// How many rows had this outcome.
    pub fn count(&self, action: ImportAction) -> usize {
        self.rows.iter().filter(|r| r.action == action).count()
    }
}

/// Why an import wrote nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Some rows are invalid: every bad value of every row.
    #[error("{} invalid values in the import", .0.len())]
    Rows(Vec<RowError>),
    /// A code was taken meanwhile, or the store failed.
    #[error(transparent)]
    Customer(#[from] CustomerError),
}

/// A row that passed validation.
struct Valid {
    row: u64,
    name: CustomerName,
    code: CustomerCode,
    phone: PhoneNumber,
    language: Option<Language>,
    sms_opt_out: Option<bool>,
}

fn blank_to_none(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn parse_flag(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

impl CustomerService {
    /// Validates every row (through the value objects, phones in the service's region; a code
    /// given twice is refused on its later row), then creates a customer for each new code and
    /// updates the customer with each known code (matched ignoring case; its code is kept as
    /// first spelled). A row that changes nothing is not written, so importing the same rows
    /// again changes nothing and no version moves. With `dry_run`, nothing is written and the
    /// report says what would happen. Written through
    /// [`crate::ports::CustomerRepository::store_import`] (all or nothing where the store has
    /// transactions); customers changed meanwhile make it re-read and decide again, at most
    /// three times.
    ///
    /// # Errors
    /// [`ImportError::Rows`] listing every bad value (nothing written);
    /// [`CustomerError::DuplicateCode`] when a code was taken by a concurrent write, or storage.
    pub async fn import(
        &self,
        rows: Vec<ImportRow>,
        dry_run: bool,
        actor: &Actor,
    ) -> Result<ImportReport, ImportError> {
        let valid = self.validate_import(&rows)?;
        let keys: Vec<String> = valid.iter().map(|v| v.code.key()).collect();
        let mut tries = 0;
        loop {
            tries += 1;
            let existing = self.customers.find_by_code_keys(&keys).await.map_err(CustomerError::Storage)?;
            let mut by_key: HashMap<String, Customer> = existing.into_iter().map(|c| (c.code().key(), c)).collect();
            let now = self.clock.now();
            let (mut new, mut changed, mut report) = (Vec::new(), Vec::new(), ImportReport::default());
            for v in &valid {
                let action = match by_key.remove(&v.code.key()) {
                    None => {
                        let sms = SmsPreferences {
                            language: v.language.unwrap_or(self.default_language()),
                            opted_out: v.sms_opt_out.unwrap_or(false),
                        };
                        let customer = Customer::new(v.name.clone(), v.code.clone(), v.phone.clone(), now, actor)
                            .with_sms_preferences(sms);
                        report.rows.push(ImportedRow {
                            row: v.row,
                            code: v.code.as_str().into(),
                            action: ImportAction::Created,
                        });
                        new.push(customer);
                        continue;
                    }
                    Some(mut customer) => {
                        let version = customer.audit().version;
                        let edit = CustomerEdit {
                            name: Some(v.name.clone()),
                            code: None,
                            phone: Some(v.phone.clone()),
                            language: v.language,
                            sms_opt_out: v.sms_opt_out,
                        };
                        customer.change(edit, now, actor);
                        let code = customer.code().as_str().to_owned();
                        let action = if customer.audit().version == version {
                            ImportAction::Unchanged
                        } else {
                            changed.push((customer, version));
                            ImportAction::Updated
                        };
                        (code, action)
                    }
                };
                report.rows.push(ImportedRow { row: v.row, code: action.0, action: action.1 });
            }
            if dry_run || (new.is_empty() && changed.is_empty()) {
                return Ok(report);
            }
            let events: Vec<NewEvent> = new
                .iter()
                .map(|c| NewEvent::customer(EventType::CustomerCreated, c, now))
                .chain(changed.iter().map(|(c, _)| NewEvent::customer(EventType::CustomerUpdated, c, now)))
                .collect();
            match self.customers.store_import(&new, &changed, &events).await {
                Ok(()) => return Ok(report),
                Err(RepoError::VersionMismatch | RepoError::NotFound | RepoError::Duplicate)
                    if tries < IMPORT_TRIES => {}
                Err(RepoError::Duplicate) => {
                    let code = new.first().map(|c| c.code().as_str().to_owned()).unwrap_or_default();
                    return Err(CustomerError::DuplicateCode(code).into());
                }
                Err(other) => return Err(CustomerError::Storage(other).into()),
            }
        }
    }

    fn validate_import(&self, rows: &[ImportRow]) -> Result<Vec<Valid>, ImportError> {
        let mut errors = Vec::new();
        let mut valid = Vec::with_capacity(rows.len());
        let mut seen: HashMap<String, u64> = HashMap::new();
        for input in rows {
            let before = errors.len();
            let mut fail = |field: &'static str, message: String| {
                errors.push(RowError { row: input.row, field, message });
            };
            let name = CustomerName::parse(&input.name).map_err(|e| fail("name", e.to_string())).ok();
            let code = CustomerCode::parse(&input.code).map_err(|e| fail("code", e.to_string())).ok();
            if let Some(code) = &code {
                if let Some(first) = seen.get(&code.key()) {
                    fail("code", format!("is also on row {first}; each code may appear once"));
                } else {
                    seen.insert(code.key(), input.row);
                }
            }
            let phone =
                PhoneNumber::parse(&input.phone, self.phone_region()).map_err(|e| fail("phone", e.to_string())).ok();
            let language = match blank_to_none(input.language.as_deref()) {
                Some(l) => Language::parse(l).map_err(|e| fail("language", e.to_string())).ok().map(Some),
                None => Some(None),
            };
            let sms_opt_out = match blank_to_none(input.sms_opt_out.as_deref()) {
                Some(flag) => match parse_flag(flag) {
                    Some(b) => Some(Some(b)),
                    None => {
                        fail("sms_opt_out", "must be true or false".into());
                        None
                    }
                },
                None => Some(None),
            };
            if errors.len() > before {
                continue;
            }
            if let (Some(name), Some(code), Some(phone), Some(language), Some(sms_opt_out)) =
                (name, code, phone, language, sms_opt_out)
            {
                valid.push(Valid { row: input.row, name, code, phone, language, sms_opt_out });
            }
        }
        if errors.is_empty() { Ok(valid) } else { Err(ImportError::Rows(errors)) }
    }
}
