//! The control socket: how `tokenmail account …` and `tokenmail
//! app-password …` reach a running server (docs/accounts.md).
//!
//! A Unix socket at `DATA_DIR/control/tokenmail.sock`, in a directory only
//! the server's user may enter (0700), the socket itself 0600, and each
//! peer's user id checked (`SO_PEERCRED`): root or the server's own user.
//! One request per connection, one JSON line each way. The command line
//! uses it when a server answers there, and otherwise opens the store
//! itself (sled's lock refuses that while a server holds the store): the
//! same [`execute`] runs either way.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::sync::watch;

use super::{AccountError, Accounts};
use crate::auth::app_password::Protocols;
use crate::time::rfc3339;

/// Longest request line.
const MAX_REQUEST: usize = 64 * 1024;

/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the command line waits for the server's answer (an Argon2id
/// hash, a disk flush and a revocation's wait for the next second).
const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// The socket of the server whose data directory is `data_dir`.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("control").join("tokenmail.sock")
}

/// One operation (CONTRACT.md's commands).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// `account create ADDRESS`.
    AccountCreate {
        /// The address.
        address: String,
    },
    /// `account list`.
    AccountList,
    /// `account revoke ADDRESS`.
    AccountRevoke {
        /// The address.
        address: String,
    },
    /// `app-password create --user --name [--scope] [--ttl]`.
    AppPasswordCreate {
        /// The account.
        user: String,
        /// Its name.
        name: String,
        /// `imap,smtp,pop3`, all when absent.
        scope: Option<String>,
        /// Seconds until it expires.
        ttl: Option<u64>,
    },
    /// `app-password list --user`.
    AppPasswordList {
        /// The account.
        user: String,
    },
    /// `app-password revoke --user --id`.
    AppPasswordRevoke {
        /// The account.
        user: String,
        /// The app password.
        id: String,
    },
}

/// The answer: lines for stdout, or an error line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Lines to print, in order.
    pub lines: Vec<String>,
    /// Why it failed, when it did.
    pub error: Option<String>,
}

impl Reply {
    fn ok(lines: Vec<String>) -> Reply {
        Reply { lines, error: None }
    }

    fn failed(e: &AccountError) -> Reply {
        Reply {
            lines: Vec::new(),
            error: Some(e.to_string()),
        }
    }
}

/// Runs `request` against `accounts`.
pub async fn execute(accounts: &Accounts, request: Request) -> Reply {
    match run(accounts, request).await {
        Ok(lines) => Reply::ok(lines),
        Err(e) => Reply::failed(&e),
    }
}

async fn run(accounts: &Accounts, request: Request) -> Result<Vec<String>, AccountError> {
    Ok(match request {
        Request::AccountCreate { address } => {
            let address = accounts.local_address(&address)?;
            if accounts.create(&address).await? {
                vec![format!("created {address}")]
            } else {
                vec![format!("{address} already exists")]
            }
        }
        Request::AccountList => accounts
            .list()?
            .into_iter()
            .map(|a| {
                format!(
                    "{}\t{} messages\t{} bytes\tcreated {}",
                    a.address,
                    a.messages,
                    a.bytes,
                    rfc3339(a.created)
                )
            })
            .collect(),
        Request::AccountRevoke { address } => {
            let address = accounts.local_address(&address)?;
            let sessions = accounts.sessions(&address);
            let at = accounts.revoke(&address).await?;
            vec![format!(
                "signed {address} out everywhere: {sessions} open session(s) ended, app passwords \
                 revoked, tokens issued before {} refused",
                rfc3339(at)
            )]
        }
        Request::AppPasswordCreate {
            user,
            name,
            scope,
            ttl,
        } => {
            let protocols = match scope.as_deref() {
                None => Protocols::ALL,
                Some(s) => Protocols::parse(s).map_err(AccountError::Invalid)?,
            };
            let new = accounts
                .create_app_password(&user, &name, protocols, ttl)
                .await?;
            vec![new.password, format!("id: {}", new.id)]
        }
        Request::AppPasswordList { user } => accounts
            .app_passwords(&user)?
            .into_iter()
            .map(|p| {
                [
                    p.id,
                    p.name,
                    Protocols(p.protocols).names(),
                    rfc3339(p.created),
                    p.expires.map_or_else(|| "-".into(), rfc3339),
                    p.last_used
                        .map_or_else(|| "-".into(), |(at, ip)| format!("{} {ip}", rfc3339(at))),
                ]
                .join("\t")
            })
            .collect(),
        Request::AppPasswordRevoke { user, id } => {
            let user = accounts.local_address(&user)?;
            accounts.revoke_app_password(&user, &id).await?;
            vec![format!("revoked app password {} of {user}", id.trim())]
        }
    })
}

/// Serves the control socket until `stop`. Failing to bind is logged, not
/// fatal: the commands then say the server cannot be reached.
pub async fn serve(data_dir: PathBuf, accounts: Arc<Accounts>, mut stop: watch::Receiver<bool>) {
    let path = socket_path(&data_dir);
    let listener = match bind(&path) {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e,
                "cannot open the control socket; account commands need a stopped server");
            return;
        }
    };
    tracing::info!(path = %path.display(), "control socket");
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let accounts = accounts.clone();
                tokio::spawn(async move { one(stream, &accounts).await });
            }
            _ = stop.changed() => break,
        }
    }
    let _ = std::fs::remove_file(&path);
}

fn bind(path: &Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    // A socket left by a server that was killed: nobody answers on it.
    if path.exists() && std::os::unix::net::UnixStream::connect(path).is_err() {
        std::fs::remove_file(path)?;
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

async fn one(stream: tokio::net::UnixStream, accounts: &Accounts) {
    // SAFETY: geteuid has no preconditions.
    let me = unsafe { libc::geteuid() };
    match stream.peer_cred() {
        Ok(c) if c.uid() == me || c.uid() == 0 => {}
        _ => return tracing::warn!("control socket: refused a peer of another user"),
    }
    let (read, mut write) = stream.into_split();
    let mut line = Vec::new();
    let mut reader = tokio::io::BufReader::new(read).take(MAX_REQUEST as u64);
    let read = tokio::time::timeout(REQUEST_TIMEOUT, reader.read_until(b'\n', &mut line)).await;
    let reply = match read {
        Ok(Ok(_)) => match serde_json::from_slice::<Request>(&line) {
            Ok(request) => execute(accounts, request).await,
            Err(e) => Reply {
                lines: Vec::new(),
                error: Some(format!("bad request: {e}")),
            },
        },
        _ => return,
    };
    let mut out = serde_json::to_vec(&reply).unwrap_or_default();
    out.push(b'\n');
    let _ = write.write_all(&out).await;
}

/// Why the command line could not use the socket.
#[derive(Debug)]
pub enum ClientError {
    /// No server answers there: open the store directly.
    NotRunning,
    /// A server is there but the exchange failed.
    Failed(String),
}

/// Sends `request` to the server of `data_dir`.
pub fn request(data_dir: &Path, request: &Request) -> Result<Reply, ClientError> {
    use std::io::ErrorKind;
    let path = socket_path(data_dir);
    let mut stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            return Err(ClientError::NotRunning);
        }
        Err(e) => return Err(ClientError::Failed(format!("{}: {e}", path.display()))),
    };
    let failed = |e: std::io::Error| ClientError::Failed(format!("control socket: {e}"));
    stream.set_read_timeout(Some(REPLY_TIMEOUT)).map_err(failed)?;
    let mut line = serde_json::to_vec(request).map_err(|e| ClientError::Failed(e.to_string()))?;
    line.push(b'\n');
    stream.write_all(&line).map_err(failed)?;
    let mut answer = String::new();
    BufReader::new(stream).read_line(&mut answer).map_err(failed)?;
    serde_json::from_str(&answer)
        .map_err(|e| ClientError::Failed(format!("the server's answer: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_tagged_json() {
        let r = Request::AppPasswordCreate {
            user: "a@x".into(),
            name: "Phone".into(),
            scope: Some("imap".into()),
            ttl: None,
        };
        let text = serde_json::to_string(&r).unwrap();
        assert!(text.starts_with(r#"{"op":"app-password-create""#), "{text}");
        assert_eq!(serde_json::from_str::<Request>(&text).unwrap(), r);
        assert!(serde_json::from_str::<Request>(r#"{"op":"format-disk"}"#).is_err());
    }
}
