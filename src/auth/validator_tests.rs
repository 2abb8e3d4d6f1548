//! End-to-end tests of the validator: real tokens, real HTTP discovery and JWKS on loopback.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_lc_rs::signature::{self as sig, KeyPair as _};
use serde_json::json;
use tokio::net::TcpListener;

use super::*;
use crate::auth::dev_issuer::{DevIssuer, serve_json};

const DOMAIN: &str = "example.test";

/// A running development issuer; dropping it stops the HTTP server.
struct Idp {
    dev: Arc<DevIssuer>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Idp {
    async fn start() -> Idp {
        let dir = tempfile::tempdir().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}/dev", listener.local_addr().unwrap());
        let dev =
            DevIssuer::load_or_create(&issuer, &dir.path().join("dev.pem"), "tokenmail").unwrap();
        let dev = Arc::new(dev);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(Arc::clone(&dev).serve(listener, async move {
            let _ = stopped.await;
        }));
        Idp {
            dev,
            stop: Some(stop),
            server: Some(server),
            _dir: dir,
        }
    }

    async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.unwrap();
        }
    }

    fn settings(&self) -> IssuerSettings {
        settings(self.dev.issuer(), None)
    }

    fn requests(&self) -> u64 {
        self.dev.requests_served()
    }

    /// Claims of a good token for `user`, to be altered by a test.
    fn claims(&self, user: &str) -> Value {
        let now = now();
        json!({
            "iss": self.dev.issuer(), "aud": "tokenmail", "sub": "id-1", "email": user,
            "scope": "mail.read mail.send", "iat": now, "nbf": now, "exp": now + 600, "jti": "jti-1",
        })
    }

    fn sign(&self, claims: &Value) -> String {
        self.dev.sign(&self.dev.header(), claims).unwrap()
    }
}

fn settings(issuer: &str, jwks_uri: Option<String>) -> IssuerSettings {
    IssuerSettings {
        issuer: issuer.to_owned(),
        jwks_uri,
        audience: "tokenmail".into(),
        user_claim: "email".into(),
        read_scope: "mail.read".into(),
        send_scope: "mail.send".into(),
    }
}

fn validator(issuers: Vec<IssuerSettings>) -> Validator {
    Validator::new(issuers, vec![DOMAIN.to_uppercase()], HttpClient::new(None))
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS built by hand, signed by `sign` over `header.claims`.
fn hand_token(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let signed = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    let signature = sign(signed.as_bytes());
    format!("{signed}.{}", b64(signature))
}

#[tokio::test]
async fn dev_token_validates_through_discovery_and_jwks() {
    let idp = Idp::start().await;
    let v = validator(vec![idp.settings()]);
    assert_eq!(idp.requests(), 0, "keys are fetched lazily");
    let token = idp
        .dev
        .mint("Alice@Example.Test", "mail.read mail.send", 600)
        .unwrap();
    let p = v.validate(&token, Purpose::Imap).await.unwrap();
    assert_eq!(p.address(), "alice@example.test");
    assert_eq!(p.issuer(), idp.dev.issuer());
    assert_eq!(p.scopes(), ["mail.read", "mail.send"]);
    assert!(p.jti().is_some());
    assert!(p.expires_at() > now());
    assert_eq!(idp.requests(), 2, "discovery + JWKS");
    v.validate(&token, Purpose::Submission).await.unwrap();
    assert_eq!(idp.requests(), 2, "keys are cached");
    let shown = format!("{p:?}");
    assert!(
        !shown.contains(&token) && !shown.contains(token.split('.').nth(2).unwrap()),
        "{shown}"
    );
    assert!(!fingerprint(&token).contains(&token[..20]));
}

#[tokio::test]
async fn concurrent_first_use_fetches_once() {
    let idp = Idp::start().await;
    let v = Arc::new(validator(vec![idp.settings()]));
    let token = idp
        .dev
        .mint("alice@example.test", "mail.read", 600)
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (v, token) = (Arc::clone(&v), token.clone());
            tokio::spawn(async move { v.validate(&token, Purpose::Imap).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(idp.requests(), 2);
}

#[tokio::test]
async fn time_audience_and_issuer_claims() {
    let idp = Idp::start().await;
    let v = validator(vec![idp.settings()]);
    let now = now();
    let cases: Vec<(&str, Value, AuthError)> = vec![
        (
            "expired",
            json!({"exp": now - 120, "iat": now - 720, "nbf": now - 720}),
            AuthError::Expired,
        ),
        ("no exp", json!({"exp": null}), AuthError::Malformed),
        (
            "nbf ahead",
            json!({"nbf": now + 300}),
            AuthError::NotYetValid,
        ),
        (
            "iat ahead",
            json!({"iat": now + 3600}),
            AuthError::IssuedInFuture,
        ),
        (
            "wrong aud",
            json!({"aud": "someone-else"}),
            AuthError::WrongAudience,
        ),
        (
            "aud array without us",
            json!({"aud": ["a", "b"]}),
            AuthError::WrongAudience,
        ),
        ("no aud", json!({"aud": null}), AuthError::WrongAudience),
        (
            "unknown iss",
            json!({"iss": "http://127.0.0.1:1/other"}),
            AuthError::UnknownIssuer,
        ),
        (
            "iss with extra slash",
            json!({"iss": format!("{}/", idp.dev.issuer())}),
            AuthError::UnknownIssuer,
        ),
        ("no iss", json!({"iss": null}), AuthError::WrongIssuer),
    ];
    for (name, change, want) in cases {
        let mut claims = idp.claims("alice@example.test");
        for (k, val) in change.as_object().unwrap() {
            if val.is_null() {
                claims.as_object_mut().unwrap().remove(k);
            } else {
                claims[k] = val.clone();
            }
        }
        let got = v.validate(&idp.sign(&claims), Purpose::Imap).await;
        assert_eq!(got.unwrap_err(), want, "{name}");
    }
    // Within the leeway, and `aud` as an array that contains us: accepted.
    let mut claims = idp.claims("alice@example.test");
    claims["exp"] = json!(now - 30);
    claims["nbf"] = json!(now + 30);
    claims["aud"] = json!(["other", "tokenmail"]);
    v.validate(&idp.sign(&claims), Purpose::Imap).await.unwrap();
}

#[tokio::test]
async fn none_and_hmac_are_refused_before_any_key_use() {
    let idp = Idp::start().await;
    let v = validator(vec![idp.settings()]);
    let claims = idp.claims("alice@example.test");

    let none = hand_token(&json!({"alg": "none", "typ": "at+jwt"}), &claims, |_| {
        Vec::new()
    });
    assert_eq!(
        v.validate(&none, Purpose::Imap).await,
        Err(AuthError::AlgorithmNotAllowed("none".into()))
    );
    let none_no_sig = none.trim_end_matches('.').to_owned() + ".";
    assert!(v.validate(&none_no_sig, Purpose::Imap).await.is_err());

    // RFC 8725 §2.1: HS256 keyed with the issuer's public key, as published in its JWKS.
    let public = idp.dev.jwks_json()["keys"][0].to_string();
    for (alg, hmac) in [
        ("HS256", aws_lc_rs::hmac::HMAC_SHA256),
        ("HS512", aws_lc_rs::hmac::HMAC_SHA512),
    ] {
        let header = json!({"alg": alg, "typ": "at+jwt", "kid": idp.dev.kid()});
        let forged = hand_token(&header, &claims, |m| {
            aws_lc_rs::hmac::sign(&aws_lc_rs::hmac::Key::new(hmac, public.as_bytes()), m)
                .as_ref()
                .to_vec()
        });
        assert_eq!(
            v.validate(&forged, Purpose::Imap).await,
            Err(AuthError::AlgorithmNotAllowed(alg.into()))
        );
    }
    assert_eq!(idp.requests(), 0, "refused without fetching any key");

    // A real key with a header claiming another algorithm of another family.
    let header = json!({"alg": "RS256", "typ": "at+jwt", "kid": idp.dev.kid()});
    let token = idp.sign(&claims);
    let mismatched = format!(
        "{}.{}",
        b64(header.to_string()),
        token.split_once('.').unwrap().1
    );
    assert_eq!(
        v.validate(&mismatched, Purpose::Imap).await,
        Err(AuthError::AlgorithmNotAllowed("RS256".into()))
    );
}

#[tokio::test]
async fn unknown_kid_refetch_is_rate_limited() {
    let idp = Idp::start().await;
    let mut header = idp.dev.header();
    header.kid = Some("bogus".into());
    let bogus = idp
        .dev
        .sign(&header, &idp.claims("alice@example.test"))
        .unwrap();
    let good = idp
        .dev
        .mint("alice@example.test", "mail.read", 600)
        .unwrap();

    // Default settings: the first fetch does not count, so the first unknown kid refetches
    // at once (a key rotated in just after our fetch works); the flood after it costs nothing.
    let v = validator(vec![idp.settings()]);
    v.validate(&good, Purpose::Imap).await.unwrap();
    assert_eq!(idp.requests(), 2);
    for _ in 0..20 {
        assert_eq!(
            v.validate(&bogus, Purpose::Imap).await,
            Err(AuthError::UnknownKey)
        );
    }
    assert_eq!(
        idp.requests(),
        4,
        "one refetch (discovery + JWKS) for 20 forged kids"
    );

    // Short interval: once it has passed, an unknown kid refetches once, single-flight.
    let cache = KeyCacheSettings {
        refetch_interval: Duration::from_millis(300),
        ..Default::default()
    };
    let v = Arc::new(Validator::with_cache_settings(
        vec![idp.settings()],
        vec![DOMAIN.into()],
        HttpClient::new(None),
        cache,
    ));
    assert_eq!(
        v.validate(&bogus, Purpose::Imap).await,
        Err(AuthError::UnknownKey)
    );
    assert_eq!(idp.requests(), 6, "first use fetches discovery + JWKS");
    assert_eq!(
        v.validate(&bogus, Purpose::Imap).await,
        Err(AuthError::UnknownKey)
    );
    assert_eq!(
        idp.requests(),
        8,
        "the first unknown-kid refetch is not held back"
    );
    assert_eq!(
        v.validate(&bogus, Purpose::Imap).await,
        Err(AuthError::UnknownKey)
    );
    assert_eq!(idp.requests(), 8, "a second one within the interval is");
    tokio::time::sleep(Duration::from_millis(350)).await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (v, t) = (Arc::clone(&v), bogus.clone());
            tokio::spawn(async move { v.validate(&t, Purpose::Imap).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), Err(AuthError::UnknownKey));
    }
    assert_eq!(
        idp.requests(),
        10,
        "one refetch for eight concurrent misses"
    );
    assert_eq!(
        v.validate(&bogus, Purpose::Imap).await,
        Err(AuthError::UnknownKey)
    );
    assert_eq!(idp.requests(), 10);
    v.validate(&good, Purpose::Imap).await.unwrap();
}

#[tokio::test]
async fn scopes_per_purpose() {
    let idp = Idp::start().await;
    let v = validator(vec![idp.settings()]);
    let read = idp
        .dev
        .mint("alice@example.test", "openid mail.read", 600)
        .unwrap();
    v.validate(&read, Purpose::Imap).await.unwrap();
    assert_eq!(
        v.validate(&read, Purpose::Submission).await,
        Err(AuthError::InsufficientScope {
            required: "mail.send".into()
        })
    );
    let send = idp
        .dev
        .mint("alice@example.test", "mail.send", 600)
        .unwrap();
    v.validate(&send, Purpose::Submission).await.unwrap();
    let err = v.validate(&send, Purpose::Imap).await.unwrap_err();
    assert_eq!(
        err,
        AuthError::InsufficientScope {
            required: "mail.read".into()
        }
    );
    assert_eq!(err.oauth_status(), "insufficient_scope");
    let none = idp.dev.mint("alice@example.test", "", 600).unwrap();
    assert!(v.validate(&none, Purpose::Imap).await.is_err());

    // Entra-style `scp` array.
    let mut claims = idp.claims("alice@example.test");
    claims.as_object_mut().unwrap().remove("scope");
    claims["scp"] = json!(["mail.read", "mail.send"]);
    let scp = idp.sign(&claims);
    let p = v.validate(&scp, Purpose::Imap).await.unwrap();
    assert_eq!(p.scopes(), ["mail.read", "mail.send"]);
    v.validate(&scp, Purpose::Submission).await.unwrap();

    // "" requires no scope.
    let open = IssuerSettings {
        read_scope: String::new(),
        send_scope: String::new(),
        ..idp.settings()
    };
    let v = validator(vec![open]);
    v.validate(&none, Purpose::Imap).await.unwrap();
    v.validate(&none, Purpose::Submission).await.unwrap();
    assert_eq!(v.required_scope(Purpose::Imap), "");
}

#[tokio::test]
async fn address_rules() {
    let idp = Idp::start().await;
    let v = validator(vec![idp.settings()]);
    let p = v
        .validate(&idp.sign(&idp.claims("  BOB@EXAMPLE.TEST ")), Purpose::Imap)
        .await
        .unwrap();
    assert_eq!(p.address(), "bob@example.test");
    assert_eq!(
        v.validate(&idp.sign(&idp.claims("eve@evil.test")), Purpose::Imap)
            .await,
        Err(AuthError::ForeignDomain("evil.test".into()))
    );
    let mut claims = idp.claims("x");
    claims.as_object_mut().unwrap().remove("email");
    assert_eq!(
        v.validate(&idp.sign(&claims), Purpose::Imap).await,
        Err(AuthError::MissingAddress)
    );
    for bad in [
        json!("bob"),
        json!("a@b@example.test"),
        json!(["bob@example.test"]),
        json!(7),
    ] {
        claims["email"] = bad.clone();
        assert_eq!(
            v.validate(&idp.sign(&claims), Purpose::Imap).await,
            Err(AuthError::MissingAddress),
            "{bad}"
        );
    }
    // Another user claim.
    let upn = IssuerSettings {
        user_claim: "upn".into(),
        ..idp.settings()
    };
    let v = validator(vec![upn]);
    let mut claims = idp.claims("not-used@evil.test");
    claims["upn"] = json!("Carol@Example.test");
    assert_eq!(
        v.validate(&idp.sign(&claims), Purpose::Imap)
            .await
            .unwrap()
            .address(),
        "carol@example.test"
    );
}

#[tokio::test]
async fn malformed_tokens() {
    let idp = Idp::start().await;
    let v = validator(vec![idp.settings()]);
    let good = idp
        .dev
        .mint("alice@example.test", "mail.read", 600)
        .unwrap();
    let (h, rest) = good.split_once('.').unwrap();
    let (c, s) = rest.split_once('.').unwrap();
    let long = "a".repeat(MAX_TOKEN_LEN + 1);
    let json_header = |v: Value| b64(v.to_string());
    let crit =
        json_header(json!({"alg": "ES256", "kid": idp.dev.kid(), "crit": ["exp"], "exp": 1}));
    let id_token = json_header(json!({"alg": "ES256", "kid": idp.dev.kid(), "typ": "dpop+jwt"}));
    let kid_number = json_header(json!({"alg": "ES256", "kid": 5}));
    for bad in [
        "",
        "abc",
        &format!("{h}.{c}"),
        &format!("{h}.{c}.{s}.x"),
        &format!("{h}.{c}.{s}.x.y"),
        &format!("{h}=.{c}.{s}"),
        &format!("e30.{c}.{s}"),
        &format!("{}.{c}.{s}", b64("[1]")),
        &format!("{h}.{}.{s}", b64("not json")),
        &format!("{crit}.{c}.{s}"),
        &format!("{id_token}.{c}.{s}"),
        &format!("{kid_number}.{c}.{s}"),
        &long,
    ] {
        let got = v.validate(bad, Purpose::Imap).await;
        assert_eq!(got, Err(AuthError::Malformed), "{bad:.60}");
    }
    // `typ` JWT (Entra ID) and absent are fine.
    for typ in [Some("JWT"), None, Some("application/at+jwt")] {
        let mut header = idp.dev.header();
        header.typ = typ.map(str::to_owned);
        v.validate(
            &idp.dev
                .sign(&header, &idp.claims("alice@example.test"))
                .unwrap(),
            Purpose::Imap,
        )
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn bad_signatures() {
    let idp = Idp::start().await;
    let v = validator(vec![idp.settings()]);
    let good = idp
        .dev
        .mint("alice@example.test", "mail.read", 600)
        .unwrap();
    // Claims swapped under a valid signature.
    let (h, rest) = good.split_once('.').unwrap();
    let s = rest.split_once('.').unwrap().1;
    let other = b64(idp.claims("bob@example.test").to_string());
    assert_eq!(
        v.validate(&format!("{h}.{other}.{s}"), Purpose::Imap).await,
        Err(AuthError::BadSignature)
    );
    // Signature bytes flipped, truncated, or not base64url.
    let mut raw = URL_SAFE_NO_PAD.decode(s).unwrap();
    raw[10] ^= 1;
    assert_eq!(
        v.validate(
            &format!("{h}.{}.{}", rest.split_once('.').unwrap().0, b64(&raw)),
            Purpose::Imap
        )
        .await,
        Err(AuthError::BadSignature)
    );
    let truncated = &good[..good.len() - 4];
    assert_eq!(
        v.validate(truncated, Purpose::Imap).await,
        Err(AuthError::BadSignature)
    );
    assert_eq!(
        v.validate(&format!("{}!", &good[..good.len() - 1]), Purpose::Imap)
            .await,
        Err(AuthError::BadSignature)
    );
    // Another key claiming this issuer's kid.
    let dir = tempfile::tempdir().unwrap();
    let impostor =
        DevIssuer::load_or_create(idp.dev.issuer(), &dir.path().join("x.pem"), "tokenmail")
            .unwrap();
    let forged = impostor
        .sign(&idp.dev.header(), &idp.claims("alice@example.test"))
        .unwrap();
    assert_eq!(
        v.validate(&forged, Purpose::Imap).await,
        Err(AuthError::BadSignature)
    );
}

#[tokio::test]
async fn cached_keys_survive_an_idp_outage() {
    let mut idp = Idp::start().await;
    let v = validator(vec![idp.settings()]);
    let first = idp
        .dev
        .mint("alice@example.test", "mail.read", 600)
        .unwrap();
    v.validate(&first, Purpose::Imap).await.unwrap();
    idp.stop().await;
    let second = idp.dev.mint("bob@example.test", "mail.read", 600).unwrap();
    assert_eq!(
        v.validate(&second, Purpose::Imap).await.unwrap().address(),
        "bob@example.test"
    );

    // A never-fetched issuer whose IdP is down: a temporary failure.
    let fresh = Validator::with_cache_settings(
        vec![idp.settings()],
        vec![DOMAIN.into()],
        HttpClient::new(None).with_timeout(Duration::from_secs(2)),
        KeyCacheSettings::default(),
    );
    let err = fresh.validate(&second, Purpose::Imap).await.unwrap_err();
    assert!(matches!(err, AuthError::KeysUnavailable(_)), "{err}");
    assert!(err.is_temporary());
    assert_ne!(err.oauth_status(), "invalid_token");
}

#[tokio::test]
async fn discovery_issuer_must_match() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let doc = json!({"issuer": "http://127.0.0.1:1/elsewhere", "jwks_uri": format!("{base}/jwks")});
    tokio::spawn(serve_json(listener, std::future::pending(), move |_| {
        Some(doc.clone())
    }));
    let v = validator(vec![settings(&base, None)]);
    let token = hand_token(&json!({"alg": "ES256"}), &json!({"iss": base}), |_| {
        vec![0; 64]
    });
    let err = v.validate(&token, Purpose::Imap).await.unwrap_err();
    assert!(
        matches!(&err, AuthError::KeysUnavailable(why) if why.contains("differs")),
        "{err}"
    );
}

/// An identity provider with hand-made keys: RSA (RS256 and PS256), Ed25519, no discovery.
struct KeyServer {
    jwks_uri: String,
    hits: Arc<AtomicUsize>,
}

async fn key_server(jwks: Value) -> KeyServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_uri = format!("http://{}/certs", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(serve_json(listener, std::future::pending(), move |path| {
        counter.fetch_add(1, Ordering::SeqCst);
        (path == "/certs").then(|| jwks.clone())
    }));
    KeyServer { jwks_uri, hits }
}

fn rsa_key() -> (sig::RsaKeyPair, Value) {
    let pair = sig::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let parts = sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
    let jwk = json!({"kty": "RSA", "n": b64(&parts.n), "e": b64(&parts.e)});
    (pair, jwk)
}

fn rsa_sign(
    pair: &sig::RsaKeyPair,
    alg: &'static dyn sig::RsaEncoding,
) -> impl FnOnce(&[u8]) -> Vec<u8> {
    move |m| {
        let mut out = vec![0; pair.public_modulus_len()];
        pair.sign(alg, &aws_lc_rs::rand::SystemRandom::new(), m, &mut out)
            .unwrap();
        out
    }
}

fn claims_for(issuer: &str) -> Value {
    let now = now();
    json!({"iss": issuer, "aud": ["tokenmail"], "email": "dave@example.test", "scope": "mail.read",
        "iat": now, "exp": now + 600})
}

#[tokio::test]
async fn rsa_and_eddsa_keys_from_a_configured_jwks_uri() {
    let (rsa, mut rsa_jwk) = rsa_key();
    rsa_jwk["kid"] = json!("rsa-1");
    let (pss, mut pss_jwk) = rsa_key();
    pss_jwk["kid"] = json!("rsa-pss");
    pss_jwk["alg"] = json!("PS256");
    let ed = sig::Ed25519KeyPair::generate().unwrap();
    let ed_jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": b64(ed.public_key()), "kid": "ed-1", "use": "sig"});
    let junk = json!({"kty": "oct", "k": b64("secret"), "kid": "hmac"});
    let server = key_server(json!({"keys": [rsa_jwk, pss_jwk, ed_jwk, junk]})).await;
    let issuer = "https://id.example.test/realms/mail";
    let v = validator(vec![settings(issuer, Some(server.jwks_uri.clone()))]);
    let claims = claims_for(issuer);

    let rs256 = hand_token(
        &json!({"alg": "RS256", "typ": "at+jwt", "kid": "rsa-1"}),
        &claims,
        rsa_sign(&rsa, &sig::RSA_PKCS1_SHA256),
    );
    assert_eq!(
        v.validate(&rs256, Purpose::Imap).await.unwrap().address(),
        "dave@example.test"
    );
    let ps256 = hand_token(
        &json!({"alg": "PS256", "kid": "rsa-pss"}),
        &claims,
        rsa_sign(&pss, &sig::RSA_PSS_SHA256),
    );
    v.validate(&ps256, Purpose::Imap).await.unwrap();
    let ps_unannounced = hand_token(
        &json!({"alg": "PS384", "kid": "rsa-1"}),
        &claims,
        rsa_sign(&rsa, &sig::RSA_PSS_SHA384),
    );
    v.validate(&ps_unannounced, Purpose::Imap).await.unwrap();
    let eddsa = hand_token(&json!({"alg": "EdDSA", "kid": "ed-1"}), &claims, |m| {
        ed.sign(m).as_ref().to_vec()
    });
    v.validate(&eddsa, Purpose::Imap).await.unwrap();
    assert_eq!(
        server.hits.load(Ordering::SeqCst),
        1,
        "one JWKS fetch, no discovery"
    );

    // The key's `alg` binds it: a PS256 key refuses RS256 even with a valid RS256 signature.
    let rs_on_pss = hand_token(
        &json!({"alg": "RS256", "kid": "rsa-pss"}),
        &claims,
        rsa_sign(&pss, &sig::RSA_PKCS1_SHA256),
    );
    assert_eq!(
        v.validate(&rs_on_pss, Purpose::Imap).await,
        Err(AuthError::AlgorithmNotAllowed("RS256".into()))
    );
    // Key type must fit the family.
    let es_on_rsa = hand_token(&json!({"alg": "ES256", "kid": "rsa-1"}), &claims, |_| {
        vec![0; 64]
    });
    assert_eq!(
        v.validate(&es_on_rsa, Purpose::Imap).await,
        Err(AuthError::AlgorithmNotAllowed("ES256".into()))
    );
    // The oct key was never loaded.
    let hs = hand_token(&json!({"alg": "HS256", "kid": "hmac"}), &claims, |_| {
        vec![0; 32]
    });
    assert_eq!(
        v.validate(&hs, Purpose::Imap).await,
        Err(AuthError::AlgorithmNotAllowed("HS256".into()))
    );
    // No kid with several keys: which one is unknown.
    let no_kid = hand_token(
        &json!({"alg": "RS256"}),
        &claims,
        rsa_sign(&rsa, &sig::RSA_PKCS1_SHA256),
    );
    assert_eq!(
        v.validate(&no_kid, Purpose::Imap).await,
        Err(AuthError::UnknownKey)
    );
}

#[tokio::test]
async fn single_key_serves_tokens_without_kid() {
    // ESIA-style header: no kid, typ JWT, extra members.
    let (rsa, jwk) = rsa_key();
    let server = key_server(json!({"keys": [jwk]})).await;
    let issuer = "http://esia.gosuslugi.ru/";
    let v = validator(vec![settings(issuer, Some(server.jwks_uri.clone()))]);
    let header = json!({"ver": 1, "typ": "JWT", "sbt": "access", "alg": "RS256"});
    let token = hand_token(
        &header,
        &claims_for(issuer),
        rsa_sign(&rsa, &sig::RSA_PKCS1_SHA256),
    );
    v.validate(&token, Purpose::Imap).await.unwrap();
}

#[tokio::test]
async fn issuers_do_not_share_keys() {
    let a = Idp::start().await;
    let b = Idp::start().await;
    let v = validator(vec![a.settings(), b.settings()]);
    v.validate(
        &a.dev.mint("alice@example.test", "mail.read", 600).unwrap(),
        Purpose::Imap,
    )
    .await
    .unwrap();
    v.validate(
        &b.dev.mint("bob@example.test", "mail.read", 600).unwrap(),
        Purpose::Imap,
    )
    .await
    .unwrap();
    // Signed by A, claiming to be from B.
    let mut claims = a.claims("alice@example.test");
    claims["iss"] = json!(b.dev.issuer());
    assert_eq!(
        v.validate(&a.sign(&claims), Purpose::Imap).await,
        Err(AuthError::UnknownKey)
    );
    // Same, but with B's kid.
    let mut header = a.dev.header();
    header.kid = Some(b.dev.kid().to_owned());
    assert_eq!(
        v.validate(&a.dev.sign(&header, &claims).unwrap(), Purpose::Imap)
            .await,
        Err(AuthError::BadSignature)
    );
}

#[tokio::test]
async fn error_json_helpers() {
    let v = validator(vec![
        settings("https://id.example.test/realms/mail/", None),
        settings("https://b.test", None),
    ]);
    assert_eq!(
        v.openid_configuration().as_deref(),
        Some("https://id.example.test/realms/mail/.well-known/openid-configuration")
    );
    assert_eq!(v.required_scope(Purpose::Imap), "mail.read");
    assert_eq!(v.required_scope(Purpose::Submission), "mail.send");
    let empty = validator(vec![]);
    assert_eq!(empty.openid_configuration(), None);
    assert_eq!(empty.required_scope(Purpose::Imap), "");
    let token = "eyJhbGciOiJFUzI1NiJ9.e30.sig";
    assert_eq!(
        empty.validate(token, Purpose::Imap).await,
        Err(AuthError::WrongIssuer)
    );
}

#[tokio::test]
async fn stale_sets_are_refreshed_and_withdrawn_keys_stop_working() {
    let old = sig::Ed25519KeyPair::generate().unwrap();
    let new = sig::Ed25519KeyPair::generate().unwrap();
    let jwk = |pair: &sig::Ed25519KeyPair, kid: &str| json!({"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key()), "kid": kid});
    let published = Arc::new(std::sync::Mutex::new(json!({"keys": [jwk(&old, "old")]})));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_uri = format!("http://{}/certs", listener.local_addr().unwrap());
    let serving = Arc::clone(&published);
    tokio::spawn(serve_json(listener, std::future::pending(), move |_| {
        Some(serving.lock().unwrap().clone())
    }));

    let issuer = "https://id.example.test";
    let cache = KeyCacheSettings {
        max_age: Duration::from_millis(200),
        ..Default::default()
    };
    let v = Validator::with_cache_settings(
        vec![settings(issuer, Some(jwks_uri))],
        vec![DOMAIN.into()],
        HttpClient::new(None),
        cache,
    );
    let token = |pair: &sig::Ed25519KeyPair, kid: &str| {
        hand_token(
            &json!({"alg": "EdDSA", "kid": kid}),
            &claims_for(issuer),
            |m| pair.sign(m).as_ref().to_vec(),
        )
    };
    v.validate(&token(&old, "old"), Purpose::Imap)
        .await
        .unwrap();
    // The IdP rotates a new key in, just after our fetch: it works at once.
    *published.lock().unwrap() = json!({"keys": [jwk(&old, "old"), jwk(&new, "new")]});
    v.validate(&token(&new, "new"), Purpose::Imap)
        .await
        .unwrap();
    // Then withdraws the old one. Within the set's freshness the old key still serves...
    *published.lock().unwrap() = json!({"keys": [jwk(&new, "new")]});
    v.validate(&token(&old, "old"), Purpose::Imap)
        .await
        .unwrap();
    // ...and once the set is stale, a token waits for the refresh, which drops it.
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(
        v.validate(&token(&old, "old"), Purpose::Imap).await,
        Err(AuthError::UnknownKey)
    );
    v.validate(&token(&new, "new"), Purpose::Imap)
        .await
        .unwrap();
    // The background refresh (what the server runs every 30 s) drops a withdrawn key too.
    *published.lock().unwrap() = json!({"keys": [jwk(&old, "old")]});
    tokio::time::sleep(Duration::from_millis(250)).await;
    v.refresh_stale_keys().await;
    *published.lock().unwrap() = json!({"keys": []});
    assert_eq!(
        v.validate(&token(&new, "new"), Purpose::Imap).await,
        Err(AuthError::UnknownKey),
        "the refresh dropped the new key"
    );
    v.validate(&token(&old, "old"), Purpose::Imap)
        .await
        .unwrap();
}

/// A stale set during an outage keeps serving its keys, without making each login wait.
#[tokio::test]
async fn stale_sets_keep_serving_while_the_idp_is_down() {
    let pair = sig::Ed25519KeyPair::generate().unwrap();
    let jwks = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": b64(pair.public_key()), "kid": "k"}]});
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jwks_uri = format!("http://{}/certs", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_json(
        listener,
        async move {
            let _ = stopped.await;
        },
        move |_| Some(jwks.clone()),
    ));
    let issuer = "https://id.example.test";
    let v = Validator::with_cache_settings(
        vec![settings(issuer, Some(jwks_uri))],
        vec![DOMAIN.into()],
        HttpClient::new(None).with_timeout(Duration::from_secs(1)),
        KeyCacheSettings {
            max_age: Duration::from_millis(100),
            refetch_interval: Duration::from_secs(60),
            ..Default::default()
        },
    );
    let token = hand_token(
        &json!({"alg": "EdDSA", "kid": "k"}),
        &claims_for(issuer),
        |m| pair.sign(m).as_ref().to_vec(),
    );
    v.validate(&token, Purpose::Imap).await.unwrap();
    let _ = stop.send(());
    server.await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    // The first login after staleness tries the IdP and falls back to the cached key.
    v.validate(&token, Purpose::Imap).await.unwrap();
    // The next ones do not wait for another attempt.
    let start = std::time::Instant::now();
    for _ in 0..5 {
        v.validate(&token, Purpose::Imap).await.unwrap();
    }
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
}

/// OIDC Core §3.1.3.7 for the account page's sign-in (`id_token.rs`).
#[tokio::test]
async fn id_tokens_follow_the_oidc_rules() {
    let idp = Idp::start().await;
    let v = validator(vec![idp.settings()]);
    let iss = idp.dev.issuer().to_owned();
    let now = now();
    let good = json!({
        "iss": iss, "aud": "portal", "sub": "person-1", "email": "Alice@Example.test",
        "nonce": "n-1", "iat": now, "exp": now + 300,
    });
    let sign = |claims: &Value, typ: Option<&str>| {
        let mut h = idp.dev.header();
        h.typ = typ.map(str::to_owned);
        idp.dev.sign(&h, claims).unwrap()
    };
    let t = v
        .validate_id_token(&sign(&good, Some("JWT")), &iss, "portal", "n-1")
        .await
        .unwrap();
    assert_eq!(t.subject, "person-1");
    assert_eq!(t.address.as_deref(), Some("alice@example.test"));
    assert_eq!(t.issued_at, Some(now));
    let check = |claims: Value, typ: Option<&'static str>, nonce: &'static str| {
        let token = sign(&claims, typ);
        let v = &v;
        let iss = iss.clone();
        async move { v.validate_id_token(&token, &iss, "portal", nonce).await }
    };
    // Another sign-in's nonce, or none: a replayed ID token.
    assert_eq!(check(good.clone(), None, "n-2").await, Err(AuthError::NotThisSignIn));
    let mut c = good.clone();
    c.as_object_mut().unwrap().remove("nonce");
    assert_eq!(check(c, None, "n-1").await, Err(AuthError::NotThisSignIn));
    // Issued to another client, or authorized for one.
    let mut c = good.clone();
    c["aud"] = json!("thunderbird");
    assert_eq!(check(c, None, "n-1").await, Err(AuthError::WrongAudience));
    let mut c = good.clone();
    c["aud"] = json!(["portal", "other"]);
    c["azp"] = json!("other");
    assert_eq!(check(c, None, "n-1").await, Err(AuthError::NotThisSignIn));
    // An access token (RFC 9068 `at+jwt`) is not a sign-in.
    assert_eq!(check(good.clone(), Some("at+jwt"), "n-1").await, Err(AuthError::Malformed));
    // Expired; no subject; a foreign address.
    let mut c = good.clone();
    c["exp"] = json!(now - 120);
    assert_eq!(check(c, None, "n-1").await, Err(AuthError::Expired));
    let mut c = good.clone();
    c.as_object_mut().unwrap().remove("sub");
    assert_eq!(check(c, None, "n-1").await, Err(AuthError::Malformed));
    let mut c = good.clone();
    c["email"] = json!("eve@evil.test");
    assert_eq!(
        check(c, None, "n-1").await,
        Err(AuthError::ForeignDomain("evil.test".into()))
    );
    // No address claim: it comes from UserInfo, whose `sub` must match.
    let mut c = good.clone();
    c.as_object_mut().unwrap().remove("email");
    let t = check(c, None, "n-1").await.unwrap();
    assert_eq!(t.address, None);
    let info = |v: Value| v.as_object().unwrap().clone();
    assert_eq!(
        v.userinfo_address(&iss, "person-1", &info(json!({"sub": "person-1", "email": "bob@example.test"}))),
        Ok("bob@example.test".into())
    );
    assert_eq!(
        v.userinfo_address(&iss, "person-1", &info(json!({"sub": "person-2", "email": "bob@example.test"}))),
        Err(AuthError::NotThisSignIn)
    );
    // Signed by a configured issuer, but not the portal's.
    assert_eq!(
        v.validate_id_token(&sign(&good, None), "https://other.example", "portal", "n-1")
            .await,
        Err(AuthError::UnknownIssuer)
    );
}
