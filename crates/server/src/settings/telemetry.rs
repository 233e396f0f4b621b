//! `telemetry.*`: optional OTLP/HTTP export of request spans.

use anyhow::bail;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(default)]
pub struct TelemetrySettings {
    /// Base URL of an OTLP/HTTP collector (`http://127.0.0.1:4318`); spans go to
    /// `{otlp_endpoint}/v1/traces` as protobuf. Unset: nothing is exported.
    pub otlp_endpoint: Option<String>,
    /// `service.name` of the exported spans.
    pub service_name: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self { otlp_endpoint: None, service_name: "orderdesk".into() }
    }
}

impl TelemetrySettings {
    /// The traces URL, `{otlp_endpoint}/v1/traces`, when export is on.
    pub fn otlp_traces_url(&self) -> Option<String> {
        let endpoint = self.otlp_endpoint.as_deref()?.trim().trim_end_matches('/');
        Some(format!("{endpoint}/v1/traces"))
    }

    /// # Errors
    /// An endpoint that is not a plain `http(s)://host[:port][/path]` URL, or an empty service name.
    pub fn validate(&self) -> anyhow::Result<()> {
        if let Some(endpoint) = &self.otlp_endpoint {
            let valid = url::Url::parse(endpoint.trim()).ok().filter(|url| {
                matches!(url.scheme(), "http" | "https")
                    && url.host().is_some()
                    && url.username().is_empty()
                    && url.password().is_none()
                    && url.query().is_none()
                    && url.fragment().is_none()
            });
            if valid.is_none() {
                bail!(
                    "invalid configuration: telemetry.otlp_endpoint: {endpoint:?} is not an OTLP/HTTP base URL \
                     such as http://127.0.0.1:4318 (http or https, a host, no credentials, query or fragment; \
                     /v1/traces is appended)"
                );
            }
        }
        if self.service_name.trim().is_empty() {
            bail!("invalid configuration: telemetry.service_name must not be empty");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(endpoint: &str) -> TelemetrySettings {
        TelemetrySettings { otlp_endpoint: Some(endpoint.into()), ..TelemetrySettings::default() }
    }

    #[test]
    fn export_is_off_by_default_and_the_traces_path_is_appended() {
        assert_eq!(TelemetrySettings::default().otlp_traces_url(), None);
        assert_eq!(
            with("http://127.0.0.1:4318/").otlp_traces_url().as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(
            with("https://otel.example/base").otlp_traces_url().as_deref(),
            Some("https://otel.example/base/v1/traces")
        );
    }

    #[test]
    fn endpoints_that_are_not_http_base_urls_are_refused() {
        for valid in ["http://127.0.0.1:4318", "https://collector.example/otlp/"] {
            assert!(with(valid).validate().is_ok(), "{valid}");
        }
        for invalid in
            ["127.0.0.1:4318", "grpc://collector:4317", "http://", "http://u:p@c:4318", "http://c:4318?x=1", ""]
        {
            let error = with(invalid).validate().unwrap_err().to_string();
            assert!(error.contains("telemetry.otlp_endpoint"), "{invalid}: {error}");
        }
    }
}
