//! Fuzzes the JWK Set parser (RFC 7517 §5, RFC 7518 §6) on arbitrary JSON
//! and bytes: nothing may panic, and a set that parses holds at least one
//! usable key.

use tokenmail::auth::jwks::KeySet;

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(set) = KeySet::parse(&doc) {
        assert!(!set.is_empty());
    }
}
