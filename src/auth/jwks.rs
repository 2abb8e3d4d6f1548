//! Per-issuer signing-key cache: OIDC discovery, JWK Set fetch and parsing.
//!
//! * Discovery (OpenID Connect Discovery 1.0 §4): when no `jwks_uri` is configured, `GET
//!   ISSUER/.well-known/openid-configuration` (trailing `/` of the issuer trimmed); its
//!   `issuer` must equal the configured issuer exactly (§4.3), and its `jwks_uri` names the
//!   keys. A failed discovery falls back to the last `jwks_uri` it gave.
//! * Keys (RFC 7517 §5): every usable signature key is kept with its key type, curve, `kid`
//!   and `alg` (RFC 7518 §6). `oct` keys, encryption keys (`use: enc`), keys whose `key_ops`
//!   exclude `verify`, RSA moduli under 2048 bits and curves other than P-256, P-384 and
//!   Ed25519 are skipped. A set with no usable key counts as a failed fetch.
//! * Fetching is lazy (first use), then:
//!   - an unknown `kid` triggers a refetch at once, unless another unknown `kid` caused one
//!     within [`KeyCacheSettings::refetch_interval`] (the first fetch and refreshes do not
//!     count), so a key the IdP rotates in just after our fetch works at once, and forged
//!     `kid`s cannot make us hammer the identity provider;
//!   - a set is fresh for its `Cache-Control: max-age` (RFC 9111 §5.2.2.1), at least a
//!     minute and at most [`KeyCacheSettings::max_age`] (one hour by default). The server
//!     refreshes stale sets in the background ([`KeyCache::refresh_if_stale`]), and a token
//!     that meets a stale set waits for the refresh: a key missing from a successful fetch
//!     is dropped, so keys the IdP withdraws stop working within that time;
//!   - a failed fetch keeps the previous set: cached keys keep working while the IdP is down
//!     (retried at most once per `refetch_interval`, without holding up logins).
//!
//! # Concurrency
//!
//! The cached state sits behind a `std::sync::Mutex` that is held only to copy or replace
//! an `Arc` — never across `.await`. Fetches are single-flight: whoever needs one takes the
//! `tokio::sync::Mutex` `fetch_lock` (the only lock held across `.await`), then re-checks
//! the state, because a fetch that finished while it waited (the generation counter moved)
//! already answered its question. Concurrent validators with the same unknown `kid`
//! therefore cause one request, not one each.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::http::{HttpClient, check_url_scheme};

/// Base64url that tolerates padding, which some key servers add to JWK members.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Timing of key fetches for one issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCacheSettings {
    /// Least time between two fetches caused by an unknown `kid` (default 60 s).
    pub refetch_interval: Duration,
    /// Least time between two attempts while no key set has ever been fetched (default 5 s).
    pub retry_without_keys: Duration,
    /// Age after which a cached set is refreshed in the background (default 1 h).
    pub max_age: Duration,
}

impl Default for KeyCacheSettings {
    fn default() -> Self {
        KeyCacheSettings {
            refetch_interval: Duration::from_secs(60),
            retry_without_keys: Duration::from_secs(5),
            max_age: Duration::from_secs(3600),
        }
    }
}

/// The signature algorithms tokenmail accepts (CONTRACT.md; RFC 8725 §3.1, §3.2).
pub(crate) fn allowed_algorithm(name: &str) -> Option<Algorithm> {
    Some(match name {
        "RS256" => Algorithm::RS256,
        "RS384" => Algorithm::RS384,
        "RS512" => Algorithm::RS512,
        "PS256" => Algorithm::PS256,
        "PS384" => Algorithm::PS384,
        "PS512" => Algorithm::PS512,
        "ES256" => Algorithm::ES256,
        "ES384" => Algorithm::ES384,
        "EdDSA" => Algorithm::EdDSA,
        _ => return None,
    })
}

/// Key type plus curve (RFC 7518 §6.1), which together fix the algorithms a key may serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    /// Whether an algorithm belongs to this key's family and curve (RFC 7518 §3.4: ES256
    /// is P-256 only, ES384 P-384 only; RFC 8037 §3.1: EdDSA with an OKP key).
    pub(crate) fn fits(self, alg: Algorithm) -> bool {
        match self {
            KeyKind::Rsa => matches!(
                alg,
                Algorithm::RS256
                    | Algorithm::RS384
                    | Algorithm::RS512
                    | Algorithm::PS256
                    | Algorithm::PS384
                    | Algorithm::PS512
            ),
            KeyKind::P256 => alg == Algorithm::ES256,
            KeyKind::P384 => alg == Algorithm::ES384,
            KeyKind::Ed25519 => alg == Algorithm::EdDSA,
        }
    }
}

/// One usable verification key from a JWKS.
pub(crate) struct VerifyKey {
    pub(crate) kid: Option<String>,
    /// The JWK's `alg`, when it names one; then it is the only algorithm the key serves.
    pub(crate) alg: Option<Algorithm>,
    pub(crate) kind: KeyKind,
    pub(crate) key: DecodingKey,
}

/// Parses one JWK (RFC 7517 §4) into a verification key, or says why it is unusable.
pub(crate) fn parse_jwk(jwk: &Value) -> Result<VerifyKey, String> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let bytes = |name: &str| -> Result<Vec<u8>, String> {
        let s = text(name).ok_or_else(|| format!("no {name}"))?;
        B64URL
            .decode(s)
            .map_err(|_| format!("bad base64url in {name}"))
    };
    if let Some(usage) = text("use")
        && usage != "sig"
    {
        return Err(format!("use {usage:?}"));
    }
    if let Some(ops) = jwk.get("key_ops").and_then(Value::as_array)
        && !ops.iter().any(|op| op == "verify")
    {
        return Err("key_ops without verify".into());
    }
    let alg = match text("alg") {
        None => None,
        Some(name) => Some(allowed_algorithm(name).ok_or_else(|| format!("alg {name:?}"))?),
    };
    let (kind, key) = match (text("kty"), text("crv")) {
        (Some("RSA"), _) => {
            let n = bytes("n")?;
            let e = bytes("e")?;
            let significant = n.iter().skip_while(|b| **b == 0).count();
            if significant < 256 || e.is_empty() {
                return Err(format!("RSA modulus of {} bits", significant * 8));
            }
            (KeyKind::Rsa, DecodingKey::from_rsa_raw_components(&n, &e))
        }
        (Some("EC"), Some(crv @ ("P-256" | "P-384"))) => {
            let (kind, len) = if crv == "P-256" {
                (KeyKind::P256, 32)
            } else {
                (KeyKind::P384, 48)
            };
            let (x, y) = (bytes("x")?, bytes("y")?);
            if x.len() != len || y.len() != len {
                return Err(format!("{crv} coordinates of wrong length"));
            }
            let point: Vec<u8> = [&[4u8][..], &x, &y].concat();
            (kind, DecodingKey::from_ec_der(&point))
        }
        (Some("OKP"), Some("Ed25519")) => {
            let x = bytes("x")?;
            if x.len() != 32 {
                return Err("Ed25519 key of wrong length".into());
            }
            (KeyKind::Ed25519, DecodingKey::from_ed_der(&x))
        }
        (kty, crv) => return Err(format!("unsupported key type {kty:?} curve {crv:?}")),
    };
    if let Some(alg) = alg
        && !kind.fits(alg)
    {
        return Err(format!("alg {alg:?} does not fit a {kind:?} key"));
    }
    Ok(VerifyKey {
        kid: text("kid").map(str::to_owned),
        alg,
        kind,
        key,
    })
}

/// What a key lookup found.
pub(crate) enum Lookup {
    Found(Arc<VerifyKey>),
    /// A key was selected but its `alg` (or type) does not allow the header's algorithm.
    AlgorithmMismatch,
    NotFound,
}

/// The usable keys of one JWKS.
#[derive(Default)]
pub struct KeySet {
    keys: Vec<Arc<VerifyKey>>,
}

impl KeySet {
    /// Parses a JWK Set document (RFC 7517 §5), skipping unusable keys. Fails when the
    /// document is not a JWKS or holds no usable key.
    pub fn parse(doc: &Value) -> Result<KeySet, String> {
        let keys = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("no \"keys\" array")?;
        let mut usable = Vec::new();
        for jwk in keys {
            match parse_jwk(jwk) {
                Ok(key) => usable.push(Arc::new(key)),
                Err(why) => tracing::debug!(kid = ?jwk.get("kid"), why, "skipping JWK"),
            }
        }
        if usable.is_empty() {
            return Err(format!(
                "none of {} keys is a usable signature key",
                keys.len()
            ));
        }
        Ok(KeySet { keys: usable })
    }

    /// How many usable keys the set holds.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether it holds none (never, for a set [`KeySet::parse`] returned).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Selects the key for a token (RFC 7515 §4.1.4): by `kid`; a token without `kid`, or
    /// whose `kid` matches nothing while the set's only key has no `kid`, may use a set's
    /// single key (ESIA-style tokens carry no `kid`). Among keys sharing a `kid`, the one
    /// whose type and `alg` fit the header's algorithm is chosen.
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> Lookup {
        let mut candidates: Vec<&Arc<VerifyKey>> = match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect(),
            None => Vec::new(),
        };
        if candidates.is_empty()
            && self.keys.len() == 1
            && (kid.is_none() || self.keys[0].kid.is_none())
        {
            candidates.push(&self.keys[0]);
        }
        if candidates.is_empty() {
            return Lookup::NotFound;
        }
        candidates
            .into_iter()
            .find(|k| k.kind.fits(alg) && k.alg.is_none_or(|a| a == alg))
            .map_or(Lookup::AlgorithmMismatch, |k| Lookup::Found(Arc::clone(k)))
    }
}

/// Why no key could be produced.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum KeyError {
    /// The set is known and holds no matching key.
    Unknown,
    /// The header's algorithm does not fit the selected key.
    AlgorithmMismatch,
    /// Nothing usable is cached and the last fetch failed; the reason is for logs.
    Unavailable(String),
}

/// Why a fetch is wanted; each has its own rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetch {
    /// Nothing fetched yet.
    First,
    /// A token names a `kid` the set lacks.
    UnknownKid,
    /// The set is past its freshness.
    Stale,
}

#[derive(Default)]
struct CacheState {
    keys: Option<Arc<KeySet>>,
    /// When the current set was fetched.
    fetched_at: Option<Instant>,
    /// When a fetch was last attempted, successful or not.
    attempted_at: Option<Instant>,
    /// Why the last attempt failed; `None` after a success.
    last_error: Option<String>,
    /// When an unknown `kid` last caused a fetch.
    kid_refetch_at: Option<Instant>,
    /// How long the current set is fresh (its `max-age`, bounded).
    fresh_for: Duration,
    /// The `jwks_uri` the last successful discovery gave.
    discovered_jwks_uri: Option<String>,
    /// Bumped on every attempt, so waiters on `fetch_lock` can tell a fetch happened.
    generation: u64,
}

/// The key cache of one issuer. Shared as `Arc<KeyCache>`; see the module docs.
pub(crate) struct KeyCache {
    issuer: String,
    jwks_uri: Option<String>,
    http: HttpClient,
    settings: KeyCacheSettings,
    state: Mutex<CacheState>,
    fetch_lock: tokio::sync::Mutex<()>,
}

impl KeyCache {
    pub(crate) fn new(
        issuer: String,
        jwks_uri: Option<String>,
        http: HttpClient,
        settings: KeyCacheSettings,
    ) -> KeyCache {
        KeyCache {
            issuer,
            jwks_uri,
            http,
            settings,
            state: Mutex::new(CacheState::default()),
            fetch_lock: tokio::sync::Mutex::new(()),
        }
    }

    fn with_state<T>(&self, f: impl FnOnce(&mut CacheState) -> T) -> T {
        // A panic while holding this lock cannot leave the state half-written (each update
        // is a few field assignments), so a poisoned lock is still usable.
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The key for a token with this `kid` and header algorithm, fetching when needed.
    pub(crate) async fn key_for(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<VerifyKey>, KeyError> {
        let (keys, generation, stale, failing) = self.with_state(|s| {
            (
                s.keys.clone(),
                s.generation,
                self.is_stale(s),
                s.last_error.is_some(),
            )
        });
        let why = match &keys {
            None => Fetch::First,
            // During an outage a stale set keeps serving; the retry runs beside.
            Some(keys) if !stale || failing => match keys.find(kid, alg) {
                Lookup::Found(key) => {
                    if stale {
                        self.refresh_in_background();
                    }
                    return Ok(key);
                }
                Lookup::AlgorithmMismatch => return Err(KeyError::AlgorithmMismatch),
                Lookup::NotFound => Fetch::UnknownKid,
            },
            Some(_) => Fetch::Stale,
        };
        let _flight = self.fetch_lock.lock().await;
        let may_fetch = self.with_state(|s| s.generation == generation && self.may_fetch(s, why));
        if may_fetch {
            self.fetch_and_store(why).await;
        }
        self.with_state(|s| match &s.keys {
            Some(keys) => match keys.find(kid, alg) {
                Lookup::Found(key) => Ok(key),
                Lookup::AlgorithmMismatch => Err(KeyError::AlgorithmMismatch),
                Lookup::NotFound => match &s.last_error {
                    // A new key may be behind the outage: tell the client to retry later.
                    Some(e) => Err(KeyError::Unavailable(e.clone())),
                    None => Err(KeyError::Unknown),
                },
            },
            None => Err(KeyError::Unavailable(
                s.last_error
                    .clone()
                    .unwrap_or_else(|| "keys not fetched yet".into()),
            )),
        })
    }

    /// Refreshes a set that is past its freshness, unless a fetch is under way or failed
    /// within `refetch_interval`; the server's background task calls this. A cache that has
    /// never fetched stays lazy.
    pub(crate) async fn refresh_if_stale(&self) {
        let due = self.with_state(|s| {
            s.keys.is_some() && self.is_stale(s) && self.may_fetch(s, Fetch::Stale)
        });
        if !due {
            return;
        }
        let Ok(_flight) = self.fetch_lock.try_lock() else {
            return;
        };
        if self.with_state(|s| self.is_stale(s) && self.may_fetch(s, Fetch::Stale)) {
            self.fetch_and_store(Fetch::Stale).await;
        }
    }

    fn is_stale(&self, s: &CacheState) -> bool {
        s.fetched_at.is_some_and(|t| t.elapsed() >= s.fresh_for)
    }

    /// The rate limits: see [`KeyCacheSettings`] and the module docs.
    fn may_fetch(&self, s: &CacheState, why: Fetch) -> bool {
        let since =
            |at: Option<Instant>, interval: Duration| at.is_none_or(|t| t.elapsed() >= interval);
        match why {
            Fetch::First => since(s.attempted_at, self.settings.retry_without_keys),
            Fetch::UnknownKid => since(s.kid_refetch_at, self.settings.refetch_interval),
            Fetch::Stale => since(
                s.attempted_at,
                self.settings.refetch_interval.min(self.settings.max_age),
            ),
        }
    }

    fn refresh_in_background(self: &Arc<Self>) {
        // Checked here too, so a stale set during an outage does not spawn a task per login.
        if !self.with_state(|s| self.may_fetch(s, Fetch::Stale)) {
            return;
        }
        let cache = Arc::clone(self);
        tokio::spawn(async move { cache.refresh_if_stale().await });
    }

    /// How long a set is fresh: its `max-age` bounded to a minute (or `max_age`, if
    /// shorter) below and `max_age` above; `max_age` without one.
    fn freshness(&self, max_age: Option<Duration>) -> Duration {
        let ceiling = self.settings.max_age;
        let floor = Duration::from_secs(60).min(ceiling);
        max_age.map_or(ceiling, |m| m.clamp(floor, ceiling))
    }

    /// One fetch attempt; call only while holding `fetch_lock`.
    async fn fetch_and_store(&self, why: Fetch) {
        let result = self.fetch().await;
        self.with_state(|s| {
            s.generation += 1;
            s.attempted_at = Some(Instant::now());
            if why == Fetch::UnknownKid {
                s.kid_refetch_at = s.attempted_at;
            }
            match result {
                Ok((keys, discovered, max_age)) => {
                    tracing::info!(issuer = %self.issuer, keys = keys.len(), ?why, "fetched issuer keys");
                    s.keys = Some(Arc::new(keys));
                    s.fetched_at = s.attempted_at;
                    s.fresh_for = self.freshness(max_age);
                    s.last_error = None;
                    if discovered.is_some() {
                        s.discovered_jwks_uri = discovered;
                    }
                }
                Err(e) => {
                    tracing::warn!(issuer = %self.issuer, error = %e, cached = s.keys.is_some(),
                        "fetching issuer keys failed; keeping any cached keys");
                    s.last_error = Some(e);
                }
            }
        });
    }

    /// Discovery (when needed) and the JWKS itself. Returns the set and, when discovery
    /// ran, the `jwks_uri` it gave.
    async fn fetch(&self) -> Result<(KeySet, Option<String>, Option<Duration>), String> {
        let (jwks_uri, discovered) = match &self.jwks_uri {
            Some(uri) => (uri.clone(), None),
            None => match self.discover().await {
                Ok(uri) => (uri.clone(), Some(uri)),
                Err(e) => match self.with_state(|s| s.discovered_jwks_uri.clone()) {
                    Some(uri) => {
                        tracing::warn!(issuer = %self.issuer, error = %e,
                            "discovery failed; using the jwks_uri it gave before");
                        (uri, None)
                    }
                    None => return Err(e),
                },
            },
        };
        let (doc, max_age) = self
            .http
            .get_json_cached(&jwks_uri)
            .await
            .map_err(|e| format!("{jwks_uri}: {e}"))?;
        let keys = KeySet::parse(&doc).map_err(|e| format!("{jwks_uri}: {e}"))?;
        Ok((keys, discovered, max_age))
    }

    /// OpenID Connect Discovery 1.0 §4: fetch the configuration and check its issuer.
    async fn discover(&self) -> Result<String, String> {
        let url = discovery_url(&self.issuer);
        let doc = self
            .http
            .get_json(&url)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        // §4.3: the issuer in the document MUST be identical to the one it was fetched for.
        match doc.get("issuer").and_then(Value::as_str) {
            Some(issuer) if issuer == self.issuer => {}
            other => {
                return Err(format!(
                    "{url}: issuer {other:?} differs from {:?}",
                    self.issuer
                ));
            }
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(Value::as_str)
            .ok_or(format!("{url}: no jwks_uri"))?;
        check_url_scheme(jwks_uri)?;
        Ok(jwks_uri.to_owned())
    }
}

/// `ISSUER/.well-known/openid-configuration`, with a trailing `/` of the issuer trimmed.
pub(crate) fn discovery_url(issuer: &str) -> String {
    format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    fn rsa(kid: &str) -> Value {
        let mut n = vec![0xc5u8; 256];
        n[0] = 0xd1;
        json!({"kty": "RSA", "kid": kid, "n": b64(&n), "e": "AQAB"})
    }

    fn ec(kid: &str, crv: &str, len: usize) -> Value {
        json!({"kty": "EC", "crv": crv, "kid": kid, "x": b64(&vec![1; len]), "y": b64(&vec![2; len])})
    }

    #[test]
    fn freshness_follows_max_age_within_bounds() {
        let cache = |max_age: u64| {
            KeyCache::new(
                "https://id.example.test".into(),
                None,
                HttpClient::new(None),
                KeyCacheSettings {
                    max_age: Duration::from_secs(max_age),
                    ..Default::default()
                },
            )
        };
        let c = cache(3600);
        let secs = |d: Option<u64>| c.freshness(d.map(Duration::from_secs)).as_secs();
        assert_eq!(secs(Some(600)), 600);
        assert_eq!(secs(Some(86_400)), 3600, "bounded above by max_age");
        assert_eq!(secs(Some(0)), 60, "no-cache still keeps a set a minute");
        assert_eq!(secs(None), 3600);
        assert_eq!(cache(30).freshness(Some(Duration::ZERO)).as_secs(), 30);
    }

    #[test]
    fn usable_and_unusable_keys() {
        assert_eq!(parse_jwk(&rsa("a")).unwrap().kind, KeyKind::Rsa);
        assert_eq!(
            parse_jwk(&ec("b", "P-256", 32)).unwrap().kind,
            KeyKind::P256
        );
        assert_eq!(
            parse_jwk(&ec("c", "P-384", 48)).unwrap().kind,
            KeyKind::P384
        );
        let ed = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(&[7; 32])});
        assert_eq!(parse_jwk(&ed).unwrap().kind, KeyKind::Ed25519);
        // Padding tolerated.
        let mut padded = rsa("p");
        padded["e"] = json!("AQA=");
        assert!(parse_jwk(&padded).is_ok());

        let mut small = rsa("s");
        small["n"] = json!(b64(&[0xc5; 128]));
        let mut enc = rsa("e");
        enc["use"] = json!("enc");
        let mut ops = rsa("o");
        ops["key_ops"] = json!(["encrypt"]);
        let mut oaep = rsa("r");
        oaep["alg"] = json!("RSA-OAEP");
        let mut wrong_alg = ec("w", "P-256", 32);
        wrong_alg["alg"] = json!("ES384");
        let mut hs = json!({"kty": "oct", "k": b64(b"secret")});
        for bad in [
            small,
            enc,
            ops,
            oaep,
            wrong_alg,
            ec("short", "P-256", 31),
            ec("p521", "P-521", 66),
            json!({"kty": "OKP", "crv": "X25519", "x": b64(&[7; 32])}),
            json!({"kty": "RSA", "n": "!!", "e": "AQAB"}),
            hs.clone(),
        ] {
            assert!(parse_jwk(&bad).is_err(), "{bad}");
        }
        hs["alg"] = json!("HS256");
        assert!(parse_jwk(&hs).is_err());
    }

    #[test]
    fn set_parsing_and_selection() {
        assert!(KeySet::parse(&json!({"keys": []})).is_err());
        assert!(KeySet::parse(&json!({"keys": [{"kty": "oct", "k": "AA"}]})).is_err());
        assert!(KeySet::parse(&json!({"nokeys": 1})).is_err());

        let mut ps = rsa("dup");
        ps["alg"] = json!("PS256");
        let set = KeySet::parse(
            &json!({"keys": [rsa("r1"), ps, ec("dup", "P-256", 32), {"kty": "oct", "k": "AA"}]}),
        )
        .unwrap();
        assert_eq!(set.len(), 3);
        let found = |kid, alg| match set.find(kid, alg) {
            Lookup::Found(k) => Some((k.kid.clone(), k.kind)),
            Lookup::AlgorithmMismatch => Some((Some("mismatch".into()), KeyKind::Rsa)),
            Lookup::NotFound => None,
        };
        assert_eq!(
            found(Some("r1"), Algorithm::RS256),
            Some((Some("r1".into()), KeyKind::Rsa))
        );
        assert_eq!(
            found(Some("r1"), Algorithm::PS512),
            Some((Some("r1".into()), KeyKind::Rsa))
        );
        assert_eq!(
            found(Some("dup"), Algorithm::ES256),
            Some((Some("dup".into()), KeyKind::P256))
        );
        assert_eq!(
            found(Some("dup"), Algorithm::PS256),
            Some((Some("dup".into()), KeyKind::Rsa))
        );
        assert_eq!(
            found(Some("dup"), Algorithm::RS256).unwrap().0.as_deref(),
            Some("mismatch")
        );
        assert_eq!(found(Some("nope"), Algorithm::RS256), None);
        assert_eq!(
            found(None, Algorithm::RS256),
            None,
            "no kid and several keys"
        );

        let single = KeySet::parse(&json!({"keys": [ec("only", "P-256", 32)]})).unwrap();
        assert!(matches!(
            single.find(None, Algorithm::ES256),
            Lookup::Found(_)
        ));
        assert!(matches!(
            single.find(Some("other"), Algorithm::ES256),
            Lookup::NotFound
        ));
        let mut anonymous = ec("x", "P-256", 32);
        anonymous.as_object_mut().unwrap().remove("kid");
        let single = KeySet::parse(&json!({"keys": [anonymous]})).unwrap();
        assert!(matches!(
            single.find(Some("any"), Algorithm::ES256),
            Lookup::Found(_)
        ));
        assert!(matches!(
            single.find(None, Algorithm::ES384),
            Lookup::AlgorithmMismatch
        ));
    }

    #[test]
    fn discovery_url_trims_one_or_more_slashes() {
        assert_eq!(
            discovery_url("https://a.test/r/"),
            "https://a.test/r/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://a.test"),
            "https://a.test/.well-known/openid-configuration"
        );
    }
}
