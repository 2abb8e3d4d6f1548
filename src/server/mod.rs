//! Listeners, connection tasks, and graceful shutdown (the mini-redis
//! shape: `run(config, shutdown)`, a broadcast to every connection, a
//! semaphore capping connections).
//!
//! A panic inside one connection ends that connection only, releasing what
//! it held, and is logged (`contain.rs`); the server goes on.

mod conn;
mod contain;
pub mod deflate;
mod fdlimit;
mod imap;
pub mod memory;
mod smtp;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tracing::Instrument;

use crate::auth::{DevIssuer, HttpClient, LoginLimiter, Validator};
use crate::config::Config;
use crate::session::Shared;
use crate::session::smtp::Role;
use crate::store::SledStore;
use tls::Stream;

/// Why the server could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// The data directory or database could not be opened.
    #[error("storage at {path}: {message}")]
    Storage { path: String, message: String },
    /// TLS material failed to load.
    #[error("{0}")]
    Tls(#[from] tls::TlsError),
    /// The development issuer failed.
    #[error("dev issuer: {0}")]
    DevIssuer(String),
    /// Reading CA certificates failed.
    #[error("auth.ca_file: {0}")]
    CaFile(std::io::Error),
    /// The account page could not be set up.
    #[error("{0}")]
    Portal(String),
}

/// Which protocol a listener speaks, and whether TLS starts at once.
#[derive(Debug, Clone, Copy)]
enum Service {
    Imap { implicit_tls: bool },
    Submission { implicit_tls: bool },
    /// The MX (`[smtp_in]`): cleartext, STARTTLS offered.
    Inbound,
    /// LMTP (`[lmtp]`, RFC 2033).
    Lmtp,
}

/// Opens the store where `config` says: `data_dir/store`.
pub fn open_store(config: &Config) -> Result<SledStore, ServerError> {
    let path = config.data_dir.join("store");
    let storage = |message: String| ServerError::Storage {
        path: path.display().to_string(),
        message,
    };
    std::fs::create_dir_all(&path).map_err(|e| storage(e.to_string()))?;
    SledStore::open_with(&path, config.store.cache_mb << 20)
        .map_err(|e| storage(format!("{e} (is another tokenmail using this data_dir?)")))
}

/// Runs every configured service until `shutdown` completes, then stops
/// accepting, lets sessions end (closing them after a grace period),
/// flushes storage and returns.
pub async fn run(
    config: Arc<Config>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    let store = Arc::new(open_store(&config)?);
    run_with_store(config, store, shutdown).await
}

/// [`run`] with a store the caller opened (`tokenmail dev` prepares it).
pub async fn run_with_store(
    config: Arc<Config>,
    store: Arc<SledStore>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServerError> {
    crate::message::set_limits(config.limits.max_mime_depth, config.limits.max_mime_parts);
    let extra_ca = match &config.auth.ca_file {
        Some(p) => Some(std::fs::read(p).map_err(ServerError::CaFile)?),
        None => None,
    };
    let validator = Arc::new(Validator::new(
        config.trusted_issuers(),
        config.domains.clone(),
        HttpClient::new(extra_ca.clone()),
    ));
    let limiter = Arc::new(LoginLimiter::new(config.auth.limiter_settings()));
    let accounts = crate::account::Accounts::new(store.clone(), config.clone()).map_err(|e| {
        ServerError::Storage {
            path: config.data_dir.display().to_string(),
            message: e.to_string(),
        }
    })?;
    let shared = Arc::new(Shared::new(
        config.clone(),
        store.clone(),
        validator,
        limiter,
        accounts.clone(),
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let control = tokio::spawn(crate::account::control::serve(
        config.data_dir.clone(),
        accounts,
        stop_rx.clone(),
    ));
    let refresher = tokio::spawn(refresh_keys(shared.validator.clone(), stop_rx.clone()));

    let issuer_task = start_dev_issuer(&config, stop_rx.clone()).await?;
    let acceptor = match &config.tls {
        Some(t) => Some(tokio_rustls::TlsAcceptor::from(tls::load_server_config(
            &t.cert, &t.key,
        )?)),
        None => None,
    };
    let listeners = bind_all(&config).await?;
    let limit = Arc::new(Semaphore::new(config.limits.max_connections));
    let mut accept_tasks = Vec::new();
    let web_listeners = crate::web::bind(&config).await.map_err(|source| ServerError::Bind {
        addr: config
            .http
            .listeners
            .listen
            .first()
            .or(config.http.listeners.listen_tls.first())
            .copied()
            .unwrap_or_else(|| ([127, 0, 0, 1], 0).into()),
        source,
    })?;
    let web = crate::web::Web::new(
        config.clone(),
        store.clone(),
        HttpClient::new(extra_ca.clone()),
        shared.accounts.clone(),
        shared.validator.clone(),
    )
    .map_err(ServerError::Portal)?;
    for (listener, tls) in web_listeners {
        let acceptor = if tls { acceptor.clone() } else { None };
        accept_tasks.push(tokio::spawn(crate::web::serve(
            listener,
            acceptor,
            web.clone(),
            stop_rx.clone(),
        )));
    }
    for (listener, service) in listeners {
        let Some(acceptor) = acceptor.clone() else {
            continue;
        };
        let ctx = AcceptContext {
            shared: shared.clone(),
            acceptor,
            limit: limit.clone(),
            stop: stop_rx.clone(),
        };
        accept_tasks.push(tokio::spawn(accept_loop(listener, service, ctx)));
    }
    match fdlimit::raise() {
        Some(nofile) => {
            let room = fdlimit::connections_for(nofile);
            let max = config.limits.max_connections as u64;
            if room < max {
                tracing::warn!(
                    open_files = nofile,
                    connections = room,
                    max_connections = max,
                    "the open-file limit holds fewer connections than [limits] max_connections; raise the hard limit (systemd LimitNOFILE=)"
                );
            } else {
                tracing::info!(
                    open_files = nofile,
                    connections = max,
                    "connection capacity"
                );
            }
        }
        None => tracing::warn!("cannot read the open-file limit"),
    }
    tracing::info!(hostname = %config.hostname, "tokenmail is serving");

    shutdown.await;
    tracing::info!("shutting down: no new connections; closing sessions");
    let _ = stop_tx.send(true);
    for t in accept_tasks {
        let _ = t.await;
    }
    let _ = refresher.await;
    let _ = control.await;
    // Sessions see the signal at their next read and say BYE; give the
    // ones in the middle of a command a little time.
    let all = config.limits.max_connections as u32;
    let _ = tokio::time::timeout(Duration::from_secs(10), limit.acquire_many(all)).await;
    if let Some(t) = issuer_task {
        let _ = tokio::time::timeout(Duration::from_secs(2), t).await;
    }
    store.flush_blocking().map_err(|e| ServerError::Storage {
        path: config.data_dir.display().to_string(),
        message: e.to_string(),
    })?;
    let (flushes, syncs) = crate::store::MailStore::flush_stats(store.as_ref());
    tracing::info!(flushes, syncs, "storage flushed; bye");
    Ok(())
}

/// Serves the dev issuer's discovery document and JWKS, when configured.
async fn start_dev_issuer(
    config: &Config,
    mut stop: watch::Receiver<bool>,
) -> Result<Option<tokio::task::JoinHandle<()>>, ServerError> {
    let Some(dev) = &config.dev_issuer else {
        return Ok(None);
    };
    let issuer = DevIssuer::load_or_create(&dev.issuer, &dev.key, &dev.audience)
        .map_err(|e| ServerError::DevIssuer(e.to_string()))?;
    let addr = issuer
        .listen_addr()
        .map_err(|e| ServerError::DevIssuer(e.to_string()))?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    tracing::info!(issuer = %dev.issuer, %addr, "development issuer serving discovery and JWKS");
    let shutdown = async move { stopped(&mut stop).await };
    Ok(Some(tokio::spawn(
        Arc::new(issuer).serve(listener, shutdown),
    )))
}

/// Completes once the shutdown signal is raised (or its sender is gone).
/// Every 30 s, refreshes the issuers' key sets that are past their
/// freshness (`auth/jwks.rs`), until shutdown.
async fn refresh_keys(validator: Arc<Validator>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(30)) => {}
            () = stopped(&mut stop) => return,
        }
        validator.refresh_stale_keys().await;
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`; drop it here.
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

async fn bind_all(config: &Config) -> Result<Vec<(TcpListener, Service)>, ServerError> {
    let mut out = Vec::new();
    let groups = [
        (
            &config.imap.listen,
            Service::Imap {
                implicit_tls: false,
            },
        ),
        (
            &config.imap.listen_tls,
            Service::Imap { implicit_tls: true },
        ),
        (
            &config.submission.listen,
            Service::Submission {
                implicit_tls: false,
            },
        ),
        (
            &config.submission.listen_tls,
            Service::Submission { implicit_tls: true },
        ),
    ];
    let groups = groups
        .into_iter()
        .chain([(&config.smtp_in.listen, Service::Inbound), (&config.lmtp, Service::Lmtp)]);
    for (addrs, service) in groups {
        for &addr in addrs {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|source| ServerError::Bind { addr, source })?;
            tracing::info!(%addr, ?service, "listening");
            out.push((l, service));
        }
    }
    Ok(out)
}

struct AcceptContext {
    shared: Arc<Shared>,
    acceptor: tokio_rustls::TlsAcceptor,
    limit: Arc<Semaphore>,
    stop: watch::Receiver<bool>,
}

async fn accept_loop(listener: TcpListener, service: Service, ctx: AcceptContext) {
    let mut stop = ctx.stop.clone();
    loop {
        let permit = tokio::select! {
            p = ctx.limit.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            _ = stopped(&mut stop) => return,
        };
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => return,
        };
        let _ = tcp.set_nodelay(true);
        let shared = ctx.shared.clone();
        let acceptor = ctx.acceptor.clone();
        let stop = ctx.stop.clone();
        let slot = shared.slots.connect(peer.ip());
        tokio::spawn(async move {
            let ended = contain::contain(async move {
                // Owned here, so a panic below releases them as well.
                let _held = permit;
                match slot {
                    Some(slot) => {
                        let _slot = slot;
                        connection(tcp, peer, service, shared, acceptor, stop).await;
                    }
                    None => refuse(tcp, peer, service).await,
                }
            })
            .await;
            if let contain::Ended::Panicked(panic) = ended {
                tracing::error!(%peer, ?service, %panic, "internal error: the session panicked; its connection is closed, the others go on");
            }
        });
    }
}

async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    service: Service,
    shared: Arc<Shared>,
    acceptor: tokio_rustls::TlsAcceptor,
    stop: watch::Receiver<bool>,
) {
    let (protocol, implicit_tls) = match service {
        Service::Imap { implicit_tls } => ("imap", implicit_tls),
        Service::Submission { implicit_tls } => ("submission", implicit_tls),
        Service::Inbound => ("smtp_in", false),
        Service::Lmtp => ("lmtp", false),
    };
    let span = tracing::info_span!("conn", %peer, protocol, tls = implicit_tls, user = tracing::field::Empty);
    let _gauge = crate::metrics::SessionGauge::open(protocol == "imap");
    async move {
        let timeouts = conn::Timeouts::of(&shared.config.limits);
        let Some(stream) = handshake(tcp, implicit_tls, &acceptor, timeouts).await else {
            return;
        };
        let conn = conn::Connection::new(stream, stop, timeouts);
        tracing::debug!("connected");
        match service {
            Service::Imap { .. } => imap::drive(conn, shared, peer, acceptor).await,
            Service::Submission { .. } => smtp::drive(conn, shared, peer, acceptor, Role::Submission).await,
            Service::Inbound => smtp::drive(conn, shared, peer, acceptor, Role::Inbound).await,
            Service::Lmtp => smtp::drive(conn, shared, peer, acceptor, Role::Lmtp).await,
        }
        tracing::debug!("disconnected");
    }
    .instrument(span)
    .await
}

/// The stream of a new connection: TLS at once on the implicit-TLS ports
/// (RFC 8314), within `tls_handshake_secs`; `None` when that fails.
async fn handshake(
    tcp: TcpStream,
    implicit_tls: bool,
    acceptor: &tokio_rustls::TlsAcceptor,
    timeouts: conn::Timeouts,
) -> Option<Stream> {
    if !implicit_tls {
        return Some(Stream::Plain(tcp));
    }
    match tokio::time::timeout(timeouts.handshake, acceptor.accept(tcp)).await {
        Ok(Ok(s)) => Some(Stream::Tls(Box::new(s))),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!("TLS handshake timed out");
            None
        }
    }
}

/// A connection from an address that already holds
/// `max_connections_per_ip`: on a cleartext port told why (RFC 9051 §7.1.5
/// BYE as the greeting, RFC 5321 §3.1 a 421 greeting), on an implicit-TLS
/// port closed at once (a handshake would let the address tie up the
/// server's time after all); then closed.
async fn refuse(tcp: TcpStream, peer: SocketAddr, service: Service) {
    tracing::info!(%peer, "connection refused: the address has max_connections_per_ip connections");
    let line: &[u8] = match service {
        Service::Imap {
            implicit_tls: false,
        } => b"* BYE [UNAVAILABLE] Too many connections from your address\r\n",
        Service::Submission {
            implicit_tls: false,
        }
        | Service::Inbound
        | Service::Lmtp => b"421 4.7.0 Too many connections from your address\r\n",
        _ => return,
    };
    let mut tcp = tcp;
    let write = tokio::io::AsyncWriteExt::write_all(&mut tcp, line);
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
    let _ = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::io::AsyncWriteExt::shutdown(&mut tcp),
    )
    .await;
}
