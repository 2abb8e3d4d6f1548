//! Tests of the development issuer: key file handling, minted tokens, the HTTP endpoints.

use super::*;
use crate::auth::http::HttpClient;

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[test]
fn creates_key_file_0600_and_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/dev-issuer.pem");
    let a = DevIssuer::load_or_create("http://127.0.0.1:8080/dev", &path, "tokenmail").unwrap();
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // No temporary files left behind.
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );
    let b = DevIssuer::load_or_create("http://127.0.0.1:8080/dev", &path, "tokenmail").unwrap();
    assert_eq!(a.kid(), b.kid());
    assert_eq!(a.jwks_json(), b.jwks_json());
    // The kid is the RFC 7638 thumbprint: base64url of a SHA-256.
    assert_eq!(URL_SAFE_NO_PAD.decode(a.kid()).unwrap().len(), 32);
}

#[test]
fn loads_sec1_keys_and_refuses_others() {
    use aws_lc_rs::encoding::AsDer;
    let dir = tempfile::tempdir().unwrap();
    let sec1 = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let der = sec1.private_key().as_der().unwrap();
    let path = dir.path().join("sec1.pem");
    std::fs::write(&path, pem_encode("EC PRIVATE KEY", der.as_ref())).unwrap();
    DevIssuer::load_or_create("http://127.0.0.1:1/", &path, "tokenmail").unwrap();

    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "hello").unwrap();
    let err = DevIssuer::load_or_create("http://127.0.0.1:1/", &junk, "tokenmail").unwrap_err();
    assert!(matches!(err, DevIssuerError::BadKey { .. }), "{err}");

    let p384 = dir.path().join("p384.pem");
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let doc =
        EcdsaKeyPair::generate_pkcs8(&aws_lc_rs::signature::ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
            .unwrap();
    std::fs::write(&p384, pem_encode("PRIVATE KEY", doc.as_ref())).unwrap();
    let err = DevIssuer::load_or_create("http://127.0.0.1:1/", &p384, "tokenmail").unwrap_err();
    assert!(matches!(err, DevIssuerError::BadKey { .. }), "{err}");

    let err = DevIssuer::load_or_create("not a url", &path, "tokenmail").unwrap_err();
    assert!(matches!(err, DevIssuerError::BadIssuer(_)), "{err}");
}

#[test]
fn listen_addr_must_be_loopback_http() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let addr = |issuer: &str| {
        DevIssuer::load_or_create(issuer, &key, "tokenmail")
            .unwrap()
            .listen_addr()
    };
    assert_eq!(
        addr("http://127.0.0.1:8080/dev").unwrap(),
        "127.0.0.1:8080".parse().unwrap()
    );
    assert_eq!(
        addr("http://localhost/dev").unwrap(),
        "127.0.0.1:80".parse().unwrap()
    );
    assert_eq!(addr("http://[::1]:9/").unwrap(), "[::1]:9".parse().unwrap());
    assert!(addr("https://127.0.0.1:8443/dev").is_err());
    assert!(addr("http://10.0.0.1:8080/dev").is_err());
    assert!(addr("http://dev.example.test/").is_err());
}

#[test]
fn minted_tokens_have_the_rfc_9068_shape() {
    let dir = tempfile::tempdir().unwrap();
    let dev = DevIssuer::load_or_create(
        "http://127.0.0.1:8080/dev",
        &dir.path().join("k.pem"),
        "tokenmail",
    )
    .unwrap();
    let token = dev
        .mint("alice@example.test", "mail.read mail.send", 600)
        .unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = decode_part(parts[0]);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["kid"], dev.kid());
    let claims = decode_part(parts[1]);
    for (k, v) in [
        ("iss", "http://127.0.0.1:8080/dev"),
        ("aud", "tokenmail"),
        ("sub", "alice@example.test"),
        ("email", "alice@example.test"),
        ("scope", "mail.read mail.send"),
        ("client_id", DEV_CLIENT_ID),
    ] {
        assert_eq!(claims[k], v, "{k}");
    }
    let iat = claims["iat"].as_u64().unwrap();
    assert_eq!(claims["nbf"].as_u64(), Some(iat));
    assert_eq!(claims["exp"].as_u64(), Some(iat + 600));
    assert!(claims["jti"].as_str().unwrap().len() >= 16);
    let other = dev
        .mint("alice@example.test", "mail.read mail.send", 600)
        .unwrap();
    assert_ne!(
        decode_part(other.split('.').nth(1).unwrap())["jti"],
        claims["jti"]
    );

    assert!(matches!(
        dev.mint(" ", "", 60),
        Err(DevIssuerError::BadRequest(_))
    ));
    assert!(matches!(
        dev.mint("a@example.test", "", 0),
        Err(DevIssuerError::BadRequest(_))
    ));
    assert!(matches!(
        dev.mint("a@example.test", "", MAX_TTL_SECS + 1),
        Err(DevIssuerError::BadRequest(_))
    ));
}

#[tokio::test]
async fn serves_discovery_and_jwks_then_stops() {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let issuer = format!("{base}/realms/dev/");
    let dev = Arc::new(
        DevIssuer::load_or_create(&issuer, &dir.path().join("k.pem"), "tokenmail").unwrap(),
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(Arc::clone(&dev).serve(listener, async move {
        let _ = stopped.await;
    }));

    let http = HttpClient::new(None);
    for url in [
        format!("{base}/realms/dev/.well-known/openid-configuration"),
        format!("{base}/.well-known/openid-configuration/realms/dev"),
        format!("{base}/.well-known/oauth-authorization-server/realms/dev"),
    ] {
        let doc = http.get_json(&url).await.unwrap();
        assert_eq!(doc["issuer"], issuer.as_str(), "{url}");
        assert_eq!(doc["jwks_uri"], format!("{base}/realms/dev/jwks"));
    }
    let jwks = http
        .get_json(&format!("{base}/realms/dev/jwks"))
        .await
        .unwrap();
    assert_eq!(jwks, dev.jwks_json());
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("EC"), Some("P-256"))
    );
    assert_eq!(
        (key["alg"].as_str(), key["use"].as_str()),
        (Some("ES256"), Some("sig"))
    );
    assert!(key.get("d").is_none(), "private part must not be published");
    assert!(matches!(
        http.get_json(&format!("{base}/jwks")).await,
        Err(crate::auth::HttpError::Status(404))
    ));
    assert_eq!(dev.requests_served(), 5);

    stop.send(()).unwrap();
    server.await.unwrap();
    assert!(
        http.get_json(&format!("{base}/realms/dev/jwks"))
            .await
            .is_err()
    );
}
