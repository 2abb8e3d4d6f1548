//! The world the whole-session fuzz checks run in, built once per process:
//! a development issuer on loopback (the validator fetches its keys over
//! HTTP, as from any IdP), a sled store in a temporary directory, the shared
//! session state, and a valid token for `fuzz@example.test`.

use std::sync::Arc;

use tokenmail::auth::{DevIssuer, HttpClient, LoginLimiter, Validator};
use tokenmail::config::Config;
use tokenmail::session::Shared;
use tokenmail::store::SledStore;

/// The account the token logs in as.
pub const USER: &str = "fuzz@example.test";

pub struct World {
    pub rt: tokio::runtime::Runtime,
    pub shared: Arc<Shared>,
    pub token: String,
}

/// Builds the world; `limits` are extra `[limits]` lines.
pub fn build(limits: &str) -> World {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = Box::leak(Box::new(tempfile::tempdir().unwrap()));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let issuer_url = format!("http://{}/dev", listener.local_addr().unwrap());
    let key = dir.path().join("dev.pem");
    let text = format!(
        "hostname = \"fuzz.example.test\"\ndomains = [\"example.test\"]\ndata_dir = {:?}\n\
         [dev_issuer]\nissuer = {issuer_url:?}\nkey = {key:?}\n\
         [limits]\nmax_message_size = 65536\n{limits}\
         [auth]\nfailure_delay_ms = 0\nmax_failure_delay_ms = 0\nmax_failures = 1000000\n",
        dir.path()
    );
    let config = Arc::new(Config::parse(&text, std::path::Path::new("fuzz.toml")).unwrap());
    let issuer = Arc::new(DevIssuer::load_or_create(&issuer_url, &key, "tokenmail").unwrap());
    rt.spawn(issuer.clone().serve(listener, std::future::pending()));
    let token = issuer
        .mint(USER, "mail.read mail.send", 365 * 86_400)
        .unwrap();
    let store = Arc::new(SledStore::open(&dir.path().join("store")).unwrap());
    let validator = Arc::new(Validator::new(
        config.trusted_issuers(),
        config.domains.clone(),
        HttpClient::new(None),
    ));
    let limiter = Arc::new(LoginLimiter::new(config.auth.limiter_settings()));
    let accounts = tokenmail::account::Accounts::new(store.clone(), config.clone()).unwrap();
    let shared = Arc::new(Shared::new(config, store, validator, limiter, accounts));
    World { rt, shared, token }
}
