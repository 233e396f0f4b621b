//! What every signed-in page shares: the header (who is signed in, the navigation, sign-out),
//! the notice after an action, the error summary of a form, times in the shop's zone, and
//! reading a form with its CSRF token checked.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use orderdesk_domain::{Permission, ValidationErrors};
use orderdesk_signin::Session;
use poem::Response;
use poem::http::StatusCode;
use poem::web::cookie::CookieJar;

use super::form::Form;
use super::{WebState, constant_time_eq, field, message, redirect};

/// The signed-in person, as the header shows them.
pub(crate) struct UserView {
    pub name: String,
    pub email: Option<String>,
    pub picture: Option<String>,
    pub initial: String,
}

/// The header and notices of a signed-in page.
pub(crate) struct Shell {
    pub user: UserView,
    /// The session's CSRF token, for every form.
    pub csrf: String,
    /// Which navigation entry is the current page: `dashboard`, `orders` or `customers`.
    pub active: &'static str,
    /// Said after a successful action ("Order taken."), at the top.
    pub notice: Option<String>,
    /// Said when an action was refused as a whole ("You need the write:orders permission").
    pub alert: Option<String>,
}

impl Shell {
    pub(crate) fn new(session: &Session, active: &'static str) -> Self {
        Self {
            user: UserView {
                initial: session.name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default(),
                name: session.name.clone(),
                email: session.email.clone(),
                picture: session.picture.clone().filter(|p| p.starts_with("https://")),
            },
            csrf: session.csrf_token.clone(),
            active,
            notice: None,
            alert: None,
        }
    }

    pub(crate) fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }

    pub(crate) fn with_alert(mut self, alert: Option<String>) -> Self {
        self.alert = alert;
        self
    }
}

/// One invalid field of a form: summarised at the top with a link to `#{id}`, and said again
/// beside the input.
#[derive(Debug, Clone)]
pub(crate) struct FormError {
    /// The input's `id`.
    pub id: String,
    /// The field's label as shown ("Phone").
    pub label: String,
    /// What is wrong ("is not a valid phone number").
    pub message: String,
}

/// A form's errors by field name, kept in the order the form shows the fields.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormErrors(pub Vec<(&'static str, FormError)>);

impl FormErrors {
    /// The domain's validation errors for a form whose fields (`name`, `id`, `label`) are listed.
    pub(crate) fn from_validation(errors: &ValidationErrors, fields: &[(&'static str, &str, &str)]) -> Self {
        let by_field: HashMap<&str, String> = errors.fields().iter().map(|f| (f.field, f.reason.to_string())).collect();
        let mut listed = Self::default();
        for (name, id, label) in fields {
            if let Some(message) = by_field.get(name) {
                listed.add(name, id, label, message);
            }
        }
        // A field the form does not show (a rule on a hidden value) still reaches the summary.
        for error in errors.fields() {
            if !fields.iter().any(|(name, _, _)| *name == error.field) {
                listed.add(error.field, "", error.field, &error.reason.to_string());
            }
        }
        listed
    }

    pub(crate) fn add(&mut self, name: &'static str, id: &str, label: &str, message: &str) {
        let error = FormError { id: id.to_owned(), label: label.to_owned(), message: message.to_owned() };
        self.0.push((name, error));
    }

    /// The message for field `name`, to show beside its input.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, e)| e.message.as_str())
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// For the summary.
    pub(crate) fn list(&self) -> Vec<&FormError> {
        self.0.iter().map(|(_, e)| e).collect()
    }
}

/// `t` in the shop's zone, as the pages show times: `30 Nov 2026 09:30`.
pub(crate) fn local_time(zone: Tz, t: DateTime<Utc>) -> String {
    t.with_timezone(&zone).format("%d %b %Y %H:%M").to_string()
}

/// The sentence shown when the session lacks `permission`.
pub(crate) fn denied(permission: Permission) -> String {
    format!("You need the {permission} permission for that.")
}

/// A form from a signed-in user with a valid CSRF token: the session and the fields (a body
/// that cannot be read was refused by the [`Form`] extractor).
pub(crate) async fn checked_form(
    state: &WebState,
    jar: &CookieJar,
    form: Form,
) -> Result<(Session, Vec<(String, String)>), Response> {
    let Some((_, session)) = state.session(jar).await else { return Err(redirect("/")) };
    let fields = form.into_fields();
    if !constant_time_eq(field(&fields, "csrf"), &session.csrf_token) {
        return Err(message(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The form has expired. Go back, reload the page and try again.",
        ));
    }
    Ok((session, fields))
}

#[cfg(test)]
mod tests {
    use orderdesk_domain::InvalidValue;

    use super::*;

    #[test]
    fn errors_follow_the_forms_order_and_none_is_lost() {
        let errors = ValidationErrors::single("phone", InvalidValue::Phone)
            .and("name", InvalidValue::Empty)
            .and("currency", InvalidValue::Currency);
        let form = FormErrors::from_validation(
            &errors,
            &[("name", "customer-name", "Name"), ("phone", "customer-phone", "Phone")],
        );
        let labels: Vec<&str> = form.list().iter().map(|e| e.label.as_str()).collect();
        assert_eq!(labels, ["Name", "Phone", "currency"]);
        assert_eq!(form.get("phone"), Some("is not a valid phone number"));
        assert!(!form.has("code"));
    }

    #[test]
    fn times_are_shown_in_the_shops_zone() {
        let t = DateTime::parse_from_rfc3339("2026-11-30T21:30:00Z").unwrap().with_timezone(&Utc);
        assert_eq!(local_time(chrono_tz::Africa::Nairobi, t), "01 Dec 2026 00:30");
    }
}
