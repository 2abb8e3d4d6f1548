//! The `tokenmail` command line (CONTRACT.md): serve, dev, token,
//! check-config, account create|list|revoke, app-password create|list|revoke.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use tokenmail::account::control::{self, Request};
use tokenmail::auth::DevIssuer;
use tokenmail::config::Config;

#[derive(Parser)]
#[command(
    name = "tokenmail",
    version,
    about = "IMAP and SMTP submission with identity-provider access tokens"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the server in the foreground until SIGTERM or SIGINT.
    Serve {
        #[arg(long)]
        config: PathBuf,
    },
    /// A one-command trial on loopback with a built-in token issuer.
    Dev {
        #[arg(long, default_value = "./tokenmail-dev")]
        dir: PathBuf,
    },
    /// Print a token signed by the configured [dev_issuer].
    Token {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "mail.read mail.send")]
        scope: String,
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Validate a configuration file and print what would be served.
    CheckConfig {
        #[arg(long)]
        config: PathBuf,
    },
    /// Manage accounts (through the running server's control socket, or on
    /// the store of a stopped one).
    Account {
        #[command(subcommand)]
        action: AccountCmd,
    },
    /// Manage app passwords, for mail programs that cannot do OAuth.
    AppPassword {
        #[command(subcommand)]
        action: AppPasswordCmd,
    },
}

#[derive(Subcommand)]
enum AppPasswordCmd {
    /// Make an app password; prints it alone on the first line, `id: ID` on the second.
    Create {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
        /// Protocols it may log in to: imap,smtp,pop3 (default: all).
        #[arg(long)]
        scope: Option<String>,
        /// Seconds until it expires (default: never).
        #[arg(long)]
        ttl: Option<u64>,
    },
    /// One line per app password: id, name, scopes, created, expires, last used.
    List {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        user: String,
    },
    /// Revoke one; the sessions that logged in with it end.
    Revoke {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        user: String,
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum AccountCmd {
    /// Create an account with its standard mailboxes before its first login.
    Create {
        address: String,
        #[arg(long)]
        config: PathBuf,
    },
    /// One line per account: address, messages, bytes, created.
    List {
        #[arg(long)]
        config: PathBuf,
    },
    /// Sign out everywhere: end every session, revoke app passwords, refuse
    /// tokens issued before now.
    Revoke {
        address: String,
        #[arg(long)]
        config: PathBuf,
    },
}

/// mimalloc, tuned by `server::memory::tune_allocator`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    tokenmail::server::memory::tune_allocator();
    init_logging();
    match cli.command {
        Cmd::Serve { config } => serve(config),
        Cmd::Dev { dir } => dev(dir),
        Cmd::Token {
            config,
            user,
            scope,
            ttl,
        } => token(config, &user, &scope, ttl),
        Cmd::CheckConfig { config } => check_config(config),
        Cmd::Account { action } => match action {
            AccountCmd::Create { address, config } => {
                admin(&config, Request::AccountCreate { address })
            }
            AccountCmd::List { config } => admin(&config, Request::AccountList),
            AccountCmd::Revoke { address, config } => {
                admin(&config, Request::AccountRevoke { address })
            }
        },
        Cmd::AppPassword { action } => match action {
            AppPasswordCmd::Create {
                config,
                user,
                name,
                scope,
                ttl,
            } => admin(
                &config,
                Request::AppPasswordCreate {
                    user,
                    name,
                    scope,
                    ttl,
                },
            ),
            AppPasswordCmd::List { config, user } => {
                admin(&config, Request::AppPasswordList { user })
            }
            AppPasswordCmd::Revoke { config, user, id } => {
                admin(&config, Request::AppPasswordRevoke { user, id })
            }
        },
    }
}

/// The default log filter (`RUST_LOG` replaces it). rustls warns about what
/// clients send in their hello, such as an IP address as SNI (imaptest and
/// some phones do that on every connection): client behaviour, not a server
/// problem, so only its errors are shown.
const DEFAULT_LOG_FILTER: &str = "info,sled=warn,rustls=error";

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    // A panic (a bug) is logged like everything else, with its place, so the
    // admin finds it in the same log as the connection it ended.
    std::panic::set_hook(Box::new(|info| {
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            tracing::error!(%info, %backtrace, "panic");
        } else {
            tracing::error!(%info, "panic (RUST_BACKTRACE=1 logs the backtrace)");
        }
    }));
}

/// Prints one line and returns the exit code for a failure.
fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("tokenmail: {message}");
    ExitCode::FAILURE
}

fn load(path: &std::path::Path) -> Result<Config, ExitCode> {
    Config::load(path).map_err(|e| fail(format!("config error: {e}")))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .max_blocking_threads(tokenmail::server::memory::MAX_BLOCKING_THREADS)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

fn serve(path: PathBuf) -> ExitCode {
    let config = match load(&path) {
        Ok(c) => Arc::new(c),
        Err(code) => return code,
    };
    match runtime().block_on(tokenmail::server::run(config, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn dev(dir: PathBuf) -> ExitCode {
    match runtime().block_on(tokenmail::dev::run(&dir, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

fn token(path: PathBuf, user: &str, scope: &str, ttl: u64) -> ExitCode {
    let config = match load(&path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(dev) = &config.dev_issuer else {
        return fail(format!(
            "{}: no [dev_issuer] is configured, so there is no key to sign with",
            path.display()
        ));
    };
    let minted = DevIssuer::load_or_create(&dev.issuer, &dev.key, &dev.audience)
        .and_then(|issuer| issuer.mint(user.trim(), scope, ttl));
    match minted {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("dev issuer: {e}")),
    }
}

fn check_config(path: PathBuf) -> ExitCode {
    match load(&path) {
        Ok(config) => {
            println!("{}: OK\n{config}", path.display());
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// Runs an account command: through the control socket of the server on
/// this data_dir when one answers, else on the store directly.
fn admin(path: &std::path::Path, request: Request) -> ExitCode {
    let config = match load(path) {
        Ok(c) => Arc::new(c),
        Err(code) => return code,
    };
    let reply = match control::request(&config.data_dir, &request) {
        Ok(reply) => reply,
        Err(control::ClientError::Failed(e)) => return fail(e),
        Err(control::ClientError::NotRunning) => match offline(config, request) {
            Ok(reply) => reply,
            Err(e) => return fail(e),
        },
    };
    for line in &reply.lines {
        println!("{line}");
    }
    match reply.error {
        Some(e) => fail(e),
        None => ExitCode::SUCCESS,
    }
}

/// [`admin`] on a stopped server: opens the store (sled's lock refuses
/// this while a server holds it) and flushes it after.
fn offline(config: Arc<Config>, request: Request) -> Result<control::Reply, String> {
    let store = Arc::new(tokenmail::server::open_store(&config).map_err(|e| e.to_string())?);
    let accounts =
        tokenmail::account::Accounts::new(store.clone(), config).map_err(|e| e.to_string())?;
    let reply = runtime().block_on(control::execute(&accounts, request));
    store.flush_blocking().map_err(|e| e.to_string())?;
    Ok(reply)
}
