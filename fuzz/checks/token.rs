//! Fuzzes token validation up to the key lookup: the JWT's shape, base64url,
//! header (alg allowlist, kid, typ, crit) and claims (iss, aud, exp, nbf,
//! iat, scopes, the user claim) on arbitrary text. The issuer's keys live
//! at a loopback port nothing listens on, so a token that gets that far
//! meets a key error; every answer is an error, and nothing panics.

use std::sync::{Arc, OnceLock};

use tokenmail::auth::{HttpClient, IssuerSettings, Purpose, Validator};

struct World {
    rt: tokio::runtime::Runtime,
    validator: Arc<Validator>,
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let issuer = IssuerSettings {
            issuer: "https://id.example.test/realms/mail".into(),
            jwks_uri: Some("http://127.0.0.1:9/certs".into()),
            audience: "tokenmail".into(),
            user_claim: "email".into(),
            read_scope: "mail.read".into(),
            send_scope: "mail.send".into(),
        };
        let validator = Arc::new(Validator::new(
            vec![issuer],
            vec!["example.test".into()],
            HttpClient::new(None),
        ));
        World { rt, validator }
    })
}

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let w = world();
    let result = w.rt.block_on(w.validator.validate(token, Purpose::Imap));
    assert!(result.is_err(), "an unsigned fuzz input validated");
}
