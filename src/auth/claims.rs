//! Checks on a token's claims once its signature has verified: pure functions of the claims
//! JSON and the clock, so each rule is tested on its own.

use serde_json::{Map, Value};

use super::error::AuthError;

/// Allowed clock skew between us and the issuer, for `exp`, `nbf` and `iat` (RFC 7519 §4.1.4
/// "some small leeway"; RFC 9068 §4 applies it to access tokens).
pub(crate) const LEEWAY_SECS: i64 = 60;

/// Longest address accepted (RFC 5321 §4.5.3.1.3: a path is at most 256 octets with its
/// angle brackets).
const MAX_ADDRESS_LEN: usize = 254;

/// A NumericDate claim (RFC 7519 §2): seconds since the epoch, integer or not. `Ok(None)`
/// when absent; [`AuthError::Malformed`] when present but not a finite number.
pub(crate) fn numeric_date(
    claims: &Map<String, Value>,
    name: &str,
) -> Result<Option<i64>, AuthError> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else {
                match n.as_f64() {
                    // Saturating cast; a date beyond i64 seconds is "far future" either way.
                    Some(f) if f.is_finite() => Ok(Some(f.floor() as i64)),
                    _ => Err(AuthError::Malformed),
                }
            }
        }
        Some(_) => Err(AuthError::Malformed),
    }
}

/// RFC 7519 §4.1.4-§4.1.6 with [`LEEWAY_SECS`]: `exp` is required and must be ahead, `nbf`
/// (when present) must not be ahead, `iat` (when present) must not be in the future.
/// Returns `exp`.
pub(crate) fn check_times(claims: &Map<String, Value>, now: i64) -> Result<i64, AuthError> {
    let exp = numeric_date(claims, "exp")?.ok_or(AuthError::Malformed)?;
    if now >= exp.saturating_add(LEEWAY_SECS) {
        return Err(AuthError::Expired);
    }
    if let Some(nbf) = numeric_date(claims, "nbf")?
        && now.saturating_add(LEEWAY_SECS) < nbf
    {
        return Err(AuthError::NotYetValid);
    }
    if let Some(iat) = numeric_date(claims, "iat")?
        && iat > now.saturating_add(LEEWAY_SECS)
    {
        return Err(AuthError::IssuedInFuture);
    }
    Ok(exp)
}

/// RFC 7519 §4.1.3: `aud` is one string or an array of strings; it must contain ours.
pub(crate) fn audience_contains(claims: &Map<String, Value>, audience: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(aud)) => aud == audience,
        Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    }
}

/// The granted scopes: RFC 8693 §4.2 / RFC 9068 §2.2.3 `scope` (space-separated string) and
/// Entra ID's `scp`, each as a string or an array of strings; both are merged.
pub(crate) fn scopes(claims: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in ["scope", "scp"] {
        let mut add = |s: &str| {
            for item in s.split_ascii_whitespace() {
                if !out.iter().any(|have| have == item) {
                    out.push(item.to_owned());
                }
            }
        };
        match claims.get(name) {
            Some(Value::String(s)) => add(s),
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).for_each(add),
            _ => {}
        }
    }
    out
}

/// The mailbox address from `user_claim`: a string, trimmed and lower-cased, with exactly one
/// `@`, non-empty local part and domain, no whitespace, control or delimiter characters
/// that would confuse a protocol, and a domain in `local_domains` (already lower-case).
pub(crate) fn address(
    claims: &Map<String, Value>,
    user_claim: &str,
    local_domains: &[String],
) -> Result<String, AuthError> {
    let raw = claims
        .get(user_claim)
        .and_then(Value::as_str)
        .ok_or(AuthError::MissingAddress)?;
    let address = raw.trim().to_lowercase();
    let bad_char = |c: char| {
        c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | '"' | '\\' | ',' | ';')
    };
    if address.len() > MAX_ADDRESS_LEN || address.chars().any(bad_char) {
        return Err(AuthError::MissingAddress);
    }
    let domain = match address.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            domain
        }
        _ => return Err(AuthError::MissingAddress),
    };
    if !local_domains.iter().any(|d| d == domain) {
        return Err(AuthError::ForeignDomain(domain.to_owned()));
    }
    Ok(address)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn times_with_leeway() {
        let now = 1_000_000;
        assert_eq!(check_times(&obj(json!({"exp": now + 1})), now), Ok(now + 1));
        assert_eq!(
            check_times(&obj(json!({"exp": now - 59})), now),
            Ok(now - 59)
        );
        assert_eq!(
            check_times(&obj(json!({"exp": now - 60})), now),
            Err(AuthError::Expired)
        );
        assert_eq!(check_times(&obj(json!({"exp": 1.5e6})), now), Ok(1_500_000));
        assert_eq!(check_times(&obj(json!({})), now), Err(AuthError::Malformed));
        assert_eq!(
            check_times(&obj(json!({"exp": "soon"})), now),
            Err(AuthError::Malformed)
        );
        let exp = now + 600;
        assert!(check_times(&obj(json!({"exp": exp, "nbf": now + 60})), now).is_ok());
        assert_eq!(
            check_times(&obj(json!({"exp": exp, "nbf": now + 61})), now),
            Err(AuthError::NotYetValid)
        );
        assert!(check_times(&obj(json!({"exp": exp, "iat": now + 60})), now).is_ok());
        assert_eq!(
            check_times(&obj(json!({"exp": exp, "iat": now + 3600})), now),
            Err(AuthError::IssuedInFuture)
        );
        assert_eq!(
            check_times(&obj(json!({"exp": i64::MAX, "iat": u64::MAX})), now),
            Err(AuthError::IssuedInFuture)
        );
    }

    #[test]
    fn audience_forms() {
        assert!(audience_contains(
            &obj(json!({"aud": "tokenmail"})),
            "tokenmail"
        ));
        assert!(audience_contains(
            &obj(json!({"aud": ["x", "tokenmail"]})),
            "tokenmail"
        ));
        assert!(!audience_contains(&obj(json!({"aud": ["x"]})), "tokenmail"));
        assert!(!audience_contains(
            &obj(json!({"aud": "tokenmail2"})),
            "tokenmail"
        ));
        assert!(!audience_contains(&obj(json!({})), "tokenmail"));
    }

    #[test]
    fn scope_forms() {
        assert_eq!(scopes(&obj(json!({"scope": "a  b\tc a"}))), ["a", "b", "c"]);
        assert_eq!(scopes(&obj(json!({"scp": ["a", 1, "b"]}))), ["a", "b"]);
        assert_eq!(scopes(&obj(json!({"scp": "a b"}))), ["a", "b"]);
        assert_eq!(
            scopes(&obj(json!({"scope": "a", "scp": ["b", "a"]}))),
            ["a", "b"]
        );
        assert!(scopes(&obj(json!({"scope": 5}))).is_empty());
    }

    #[test]
    fn addresses() {
        let domains = vec!["example.test".to_owned()];
        let get = |v: Value| address(&obj(v), "email", &domains);
        assert_eq!(
            get(json!({"email": " Alice@Example.TEST "})),
            Ok("alice@example.test".into())
        );
        assert_eq!(get(json!({})), Err(AuthError::MissingAddress));
        assert_eq!(get(json!({"email": 5})), Err(AuthError::MissingAddress));
        for bad in [
            "alice",
            "a@b@example.test",
            "@example.test",
            "alice@",
            "a b@example.test",
            "a<b@example.test",
        ] {
            assert_eq!(
                get(json!({"email": bad})),
                Err(AuthError::MissingAddress),
                "{bad}"
            );
        }
        assert_eq!(
            get(json!({"email": "eve@evil.test"})),
            Err(AuthError::ForeignDomain("evil.test".into()))
        );
    }
}
