//! The signature every delivery carries (issue #24), shaped like Stripe's so receivers know it:
//! `Orderdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, one
//! `v1` per secret that signs (two during a rotation's 24 hours). The key is the secret
//! string's bytes, `whsec_` included; the body is the exact bytes sent.
//!
//! HMAC-SHA256 (RFC 2104) is pure computation (the `hmac` and `sha2` crates do no I/O), so the
//! rule lives here, beside the secrets it uses, and is tested without a network.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::WebhookSecret;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "Orderdesk-Signature";

/// The header carrying the event's id (the body's `id`), to deduplicate on.
pub const EVENT_ID_HEADER: &str = "Orderdesk-Event-Id";

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC hashes a key longer than the block and pads a shorter one: every length is valid.
    <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length")
}

fn signed_payload(mac: &mut Hmac<Sha256>, timestamp: i64, body: &[u8]) {
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
}

/// `t=<timestamp>,v1=<hex>` with one `v1` per secret, in the order given (the current secret
/// first). `timestamp` is Unix seconds.
pub fn signature_header(secrets: &[&WebhookSecret], timestamp: i64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        let mut mac = mac(secret.expose().as_bytes());
        signed_payload(&mut mac, timestamp, body);
        header.push_str(",v1=");
        for byte in mac.finalize().into_bytes() {
            header.push_str(&format!("{byte:02x}"));
        }
    }
    header
}

/// Why a signature was refused by [`verify_signature`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No `t=`, no `v1=`, or a part that does not read.
    #[error("the signature header is malformed")]
    Malformed,
    /// `t` is further from now than the tolerance (a replay, or a badly wrong clock).
    #[error("the signature's timestamp is outside the tolerance")]
    Stale,
    /// No `v1` is the HMAC of this body with this secret.
    #[error("no signature matches")]
    NoMatch,
}

/// What a receiver does, as docs/api.md shows it in Python and TypeScript: reads `t` and every
/// `v1` from `header`, refuses a `t` more than `tolerance_seconds` from `now` (Unix seconds),
/// and accepts when any `v1` is the HMAC of `"<t>.<body>"` with `secret` (compared in
/// constant time). Returns `t`.
///
/// # Errors
/// [`SignatureError`]: malformed, stale or matching no `v1`.
pub fn verify_signature(
    header: &str,
    secret: &str,
    body: &[u8],
    now: i64,
    tolerance_seconds: i64,
) -> Result<i64, SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = Some(t.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", hex)) => signatures.push(decode_hex(hex).ok_or(SignatureError::Malformed)?),
            // Other schemes (a future v2) are skipped, as Stripe's libraries do.
            Some(_) => {}
            None => return Err(SignatureError::Malformed),
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(timestamp) > tolerance_seconds.unsigned_abs() {
        return Err(SignatureError::Stale);
    }
    let matches = signatures.iter().any(|signature| {
        let mut mac = mac(secret.as_bytes());
        signed_payload(&mut mac, timestamp, body);
        mac.verify_slice(signature).is_ok()
    });
    if matches { Ok(timestamp) } else { Err(SignatureError::NoMatch) }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}
