//! The IMAP session (RFC 3501, RFC 9051): an I/O-free state machine. The
//! driver in `server::imap` frames commands, parses them, and calls
//! [`ImapSession::command`]; the returned [`ImapFlow`] tells it what to do
//! next (read the next command, a SASL line, switch to TLS, IDLE, close).
//!
//! The state enum carries its data, and [`allowed`] is the one table of
//! which command each state accepts (RFC 9051 §3, §6).

mod append;
mod auth;
mod capability;
mod fetch;
mod mailbox;
mod response;
mod search;
mod selected;
mod store_cmd;

use std::net::SocketAddr;
use std::sync::Arc;

use super::Shared;
use super::sasl::SaslExchange;
use crate::auth::Principal;
use crate::proto::imap::{Command, CommandBody};
use crate::store::{AccountId, StoreError};

pub use selected::Selected;

/// What the driver must do after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapFlow {
    /// Read the next command.
    Command,
    /// Read one SASL line (without CRLF) for [`ImapSession::auth_line`].
    AuthLine,
    /// Write the output, then perform the TLS handshake.
    StartTls,
    /// Write the output, then wait for `DONE` while passing store changes
    /// to [`ImapSession::poll_updates`] (RFC 2177).
    Idle,
    /// Write the output and close.
    Close,
}

/// A logged-in user.
pub struct Login {
    /// The validated token's principal.
    pub principal: Principal,
    /// The store account.
    pub account: AccountId,
}

/// Session state (RFC 9051 §3).
pub enum State {
    /// Before login.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated(Login),
    /// Logged in with a mailbox selected.
    Selected(Login, Selected),
    /// After LOGOUT.
    Logout,
}

impl State {
    /// Leaves the selected mailbox, if any: CLOSE, UNSELECT, and every
    /// SELECT/EXAMINE, which deselects first even when it fails (RFC 9051 §6.3.2).
    fn deselect(&mut self) {
        if let State::Selected(..) = self
            && let State::Selected(login, _) = std::mem::replace(self, State::Logout)
        {
            *self = State::Authenticated(login);
        }
    }

    /// Enters the Selected state; only a logged-in, deselected session can.
    fn enter(&mut self, selected: Selected) {
        if let State::Authenticated(_) = self
            && let State::Authenticated(login) = std::mem::replace(self, State::Logout)
        {
            *self = State::Selected(login, selected);
        }
    }
}

/// One IMAP connection.
pub struct ImapSession {
    shared: Arc<Shared>,
    peer: SocketAddr,
    tls: bool,
    state: State,
    sasl: Option<(String, SaslExchange)>,
    idle_tag: Option<String>,
    out: Vec<u8>,
}

/// Who is at fault when a command does not succeed (the mox idea): the
/// client's syntax or state (`BAD`), a refusal (`NO [CODE]`), or the server
/// (`NO` with the cause logged, never shown).
#[derive(Debug)]
pub enum CommandError {
    /// `BAD text`.
    Bad(String),
    /// `NO [code] text`.
    No {
        code: Option<&'static str>,
        text: String,
    },
    /// `NO [SERVERBUG]`, cause logged.
    Server(StoreError),
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchMailbox => CommandError::No {
                code: Some("NONEXISTENT"),
                text: "No such mailbox".into(),
            },
            StoreError::MailboxExists => CommandError::No {
                code: Some("ALREADYEXISTS"),
                text: "Mailbox already exists".into(),
            },
            StoreError::NotAllowed(t) => CommandError::No {
                code: Some("CANNOT"),
                text: t.into(),
            },
            other => CommandError::Server(other),
        }
    }
}

/// Result of a command handler: `Ok` carries the tagged OK's optional
/// response code and text.
pub type CommandResult = Result<(Option<String>, String), CommandError>;

fn ok(text: &str) -> CommandResult {
    Ok((None, text.to_string()))
}

fn no(code: Option<&'static str>, text: impl Into<String>) -> CommandError {
    CommandError::No {
        code,
        text: text.into(),
    }
}

/// RFC 9051 §6: which commands each state accepts. `Err` is the reason
/// for a `BAD`.
pub fn allowed(state: &State, body: &CommandBody) -> Result<(), &'static str> {
    use CommandBody as C;
    let authenticated = matches!(state, State::Authenticated(_) | State::Selected(..));
    let selected = matches!(state, State::Selected(..));
    match body {
        C::Capability | C::Noop | C::Logout | C::Id(_) => Ok(()),
        C::StartTls | C::Authenticate { .. } | C::Login { .. } if authenticated => {
            Err("Already authenticated")
        }
        C::StartTls | C::Authenticate { .. } | C::Login { .. } => Ok(()),
        _ if !authenticated => Err("Log in first"),
        C::Enable(_)
        | C::Select { .. }
        | C::Examine { .. }
        | C::Create { .. }
        | C::Delete { .. }
        | C::Rename { .. }
        | C::Subscribe { .. }
        | C::Unsubscribe { .. }
        | C::List { .. }
        | C::Lsub { .. }
        | C::Namespace
        | C::Status { .. }
        | C::Append { .. }
        | C::Idle => Ok(()),
        _ if !selected => Err("Select a mailbox first"),
        _ => Ok(()),
    }
}

impl ImapSession {
    /// A new session; `tls` is true on the implicit-TLS port.
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, tls: bool) -> Self {
        ImapSession {
            shared,
            peer,
            tls,
            state: State::NotAuthenticated,
            sasl: None,
            idle_tag: None,
            out: Vec::new(),
        }
    }

    /// The greeting (RFC 9051 §7.1.1), with capabilities so clients can
    /// skip a CAPABILITY round trip.
    pub fn greeting(&mut self) {
        let caps = capability::list(self.tls, false, self.shared.config.limits.max_message_size);
        self.untagged(&format!(
            "OK [CAPABILITY {caps}] {} tokenmail ready",
            self.shared.config.hostname
        ));
    }

    /// Output produced so far, for the driver to write.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// The logged-in address, for the connection's log span.
    pub fn address(&self) -> Option<&str> {
        self.login().map(|l| l.principal.address())
    }

    /// True once logged in (the driver uses the longer idle timeout).
    pub fn is_authenticated(&self) -> bool {
        self.login().is_some()
    }

    /// The account whose changes IDLE should watch.
    pub fn account(&self) -> Option<AccountId> {
        self.login().map(|l| l.account)
    }

    fn login(&self) -> Option<&Login> {
        match &self.state {
            State::Authenticated(l) | State::Selected(l, _) => Some(l),
            _ => None,
        }
    }

    /// Tells the session the TLS handshake finished (RFC 9051 §6.2.1).
    pub fn tls_started(&mut self) {
        self.tls = true;
    }

    /// Handles one parsed command.
    pub async fn command(&mut self, cmd: Command) -> ImapFlow {
        let Command { tag, body } = cmd;
        if let Err(reason) = allowed(&self.state, &body) {
            self.tagged(&tag, "BAD", None, reason);
            return ImapFlow::Command;
        }
        let expunge_ok = selected::may_send_expunge(&body);
        let (flow, result) = self.dispatch(&tag, body).await;
        if flow == ImapFlow::Command
            && let Err(e) = self.poll_updates(expunge_ok)
        {
            tracing::error!(error = %e, "cannot read mailbox changes");
        }
        if let Some(result) = result {
            self.finish(&tag, result);
        }
        flow
    }

    /// Runs a command; `None` as result means the handler already answered.
    async fn dispatch(
        &mut self,
        tag: &str,
        body: CommandBody,
    ) -> (ImapFlow, Option<CommandResult>) {
        use CommandBody as C;
        let done = |r: CommandResult| (ImapFlow::Command, Some(r));
        match body {
            C::Capability => done(self.capability()),
            C::Noop | C::Check => done(ok("NOOP completed")),
            C::Logout => {
                self.untagged("BYE Logging out");
                self.state = State::Logout;
                (ImapFlow::Close, Some(ok("LOGOUT completed")))
            }
            C::Id(_) => done(self.id()),
            C::StartTls => self.starttls(),
            C::Login { username, password } => done(self.login_command(&username, password).await),
            C::Authenticate {
                mechanism,
                initial_response,
            } => self.authenticate(tag, &mechanism, initial_response).await,
            C::Enable(_) => done(self.enable()),
            C::Namespace => {
                self.untagged("NAMESPACE ((\"\" \"/\")) NIL NIL");
                done(ok("NAMESPACE completed"))
            }
            C::Select { mailbox, .. } => done(self.select(&mailbox, false)),
            C::Examine { mailbox, .. } => done(self.select(&mailbox, true)),
            C::Create {
                mailbox,
                special_use,
            } => done(self.create(&mailbox, &special_use)),
            C::Delete { .. } | C::Rename { .. } => done(Err(no(
                Some("CANNOT"),
                "DELETE and RENAME are not supported yet",
            ))),
            C::Subscribe { mailbox } => done(self.subscribe(&mailbox, true)),
            C::Unsubscribe { mailbox } => done(self.subscribe(&mailbox, false)),
            C::List {
                reference,
                patterns,
                ..
            } => done(self.list(&reference, &patterns, false)),
            C::Lsub { reference, pattern } => done(self.list(&reference, &[pattern], true)),
            C::Status { mailbox, items } => done(self.status(&mailbox, &items)),
            C::Append {
                mailbox,
                flags,
                date,
                message,
            } => done(self.append(&mailbox, &flags, date, message).await),
            C::Idle => {
                self.idle_tag = Some(tag.to_string());
                self.out.extend_from_slice(b"+ idling\r\n");
                (ImapFlow::Idle, None)
            }
            C::Close => done(self.close(true).await),
            C::Unselect => done(self.close(false).await),
            C::Expunge => done(self.expunge(None).await),
            C::UidExpunge(set) => done(self.expunge(Some(&set)).await),
            C::Fetch {
                uid, set, items, ..
            } => done(self.fetch(uid, &set, &items).await),
            C::Store {
                uid,
                set,
                mode,
                silent,
                flags,
                unchanged_since,
            } => done(
                self.store(uid, &set, mode, silent, &flags, unchanged_since)
                    .await,
            ),
            C::Search {
                uid,
                charset,
                criteria,
                ret: _,
            } => done(self.search(uid, charset.as_deref(), &criteria).await),
            C::Copy { .. } | C::Move { .. } => done(Err(no(
                Some("CANNOT"),
                "COPY and MOVE are not supported yet",
            ))),
        }
    }

    /// Writes the tagged completion for `result`.
    fn finish(&mut self, tag: &str, result: CommandResult) {
        match result {
            Ok((code, text)) => self.tagged(tag, "OK", code.as_deref(), &text),
            Err(CommandError::Bad(text)) => self.tagged(tag, "BAD", None, &text),
            Err(CommandError::No { code, text }) => self.tagged(tag, "NO", code, &text),
            Err(CommandError::Server(e)) => {
                tracing::error!(error = %e, "command failed");
                self.tagged(
                    tag,
                    "NO",
                    Some("SERVERBUG"),
                    "Internal error; the event was logged",
                );
            }
        }
    }

    fn capability(&mut self) -> CommandResult {
        let caps = capability::list(
            self.tls,
            self.is_authenticated(),
            self.shared.config.limits.max_message_size,
        );
        self.untagged(&format!("CAPABILITY {caps}"));
        ok("CAPABILITY completed")
    }

    /// RFC 2971.
    fn id(&mut self) -> CommandResult {
        self.untagged(&format!(
            "ID (\"name\" \"tokenmail\" \"version\" \"{}\")",
            env!("CARGO_PKG_VERSION")
        ));
        ok("ID completed")
    }

    /// RFC 5161: nothing optional is enabled yet, so the list is empty.
    fn enable(&mut self) -> CommandResult {
        self.untagged("ENABLED");
        ok("ENABLE completed")
    }

    /// RFC 9051 §6.2.1.
    fn starttls(&mut self) -> (ImapFlow, Option<CommandResult>) {
        if self.tls {
            return (
                ImapFlow::Command,
                Some(Err(CommandError::Bad("TLS is already active".into()))),
            );
        }
        (ImapFlow::StartTls, Some(ok("Begin TLS negotiation now")))
    }

    /// The end of IDLE (RFC 2177 §3): the client sent `DONE`, or something
    /// else, which is a protocol error.
    pub fn idle_done(&mut self, line: &[u8]) {
        let tag = self.idle_tag.take().unwrap_or_else(|| "*".into());
        if line.eq_ignore_ascii_case(b"DONE") {
            self.tagged(&tag, "OK", None, "IDLE terminated");
        } else {
            self.tagged(&tag, "BAD", None, "Expected DONE");
        }
    }
}
