//! Random tokens and their constant-time comparison, one implementation for every caller
//! (OIDC state, nonce and PKCE verifier, session and CSRF tokens, dev-issuer codes, webhook secrets).

use subtle::ConstantTimeEq;
use uuid::Uuid;

/// A fresh random token of 64 hex digits: 244 random bits from the OS generator
/// (two version-4 UUIDs), URL- and cookie-safe.
pub fn random_token() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

/// Whether `given` equals `expected` (strings or bytes), in time independent of where they
/// differ; only the lengths can show. An empty `expected` never matches, so an unset secret
/// cannot be guessed as "". The workspace's one constant-time comparison: clippy's
/// `disallowed-methods` (clippy.toml) refuses `subtle`'s `ct_eq` anywhere else.
pub fn constant_time_eq(given: impl AsRef<[u8]>, expected: impl AsRef<[u8]>) -> bool {
    let (given, expected) = (given.as_ref(), expected.as_ref());
    #[allow(clippy::disallowed_methods, reason = "the one place that calls it")]
    let equal = bool::from(given.ct_eq(expected));
    !expected.is_empty() && equal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_fresh_and_url_safe() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn comparison_needs_equal_non_empty_values() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abd", "abc"));
        assert!(!constant_time_eq("ab", "abc"));
        assert!(!constant_time_eq("", ""));
    }
}
