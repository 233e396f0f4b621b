//! Why an adapter could not be built from its settings (at start-up, never per request).

/// A constructor's failure: a setting it cannot work with, or no HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `setting` (its dotted name, e.g. `auth.algorithms`) holds a value this adapter refuses.
    #[error("{setting}: {reason}")]
    InvalidSetting {
        /// The setting's dotted name, as in `config/*.toml` and `ORDERDESK_*` variables.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be built (no usable TLS configuration).
    #[error("cannot build the HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
}

impl SetupError {
    /// [`SetupError::InvalidSetting`].
    pub fn invalid(setting: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidSetting { setting, reason: reason.into() }
    }
}
