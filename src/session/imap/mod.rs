//! The IMAP session (RFC 3501, RFC 9051): an I/O-free state machine. The
//! driver in `server::imap` frames commands, parses them, and calls
//! [`ImapSession::command`]; the returned [`ImapFlow`] tells it what to do
//! next (read the next command, a SASL line, switch to TLS or compression,
//! IDLE, write a long response in parts, close).
//!
//! The state enum carries its data, and [`allowed`] is the one table of
//! which command each state accepts (RFC 9051 §3, §6). Each command is
//! handled in its own file under `cmd/`; [`CommandError`] classifies what
//! went wrong and [`ImapSession::finish`] maps it to the wire in one place.
//!
//! ## Concurrency
//! Store calls are synchronous. Those that can be long (appends, copies,
//! expunges, scans) run through [`blocking`], which moves other tasks off
//! this worker thread while they run. No lock is held across an `.await`.

mod cmd;
mod fetch_render;
mod names;
mod notify_state;
mod response;
mod searcher;
mod selected;
mod uidmap;

use std::net::SocketAddr;
use std::sync::Arc;

use super::Shared;
use super::sasl::SaslExchange;
use crate::auth::Principal;
use crate::proto::imap::{Command, CommandBody};
use crate::store::{AccountId, StoreError};

pub use selected::Selected;
pub use uidmap::UidMap;

/// What the driver must do after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapFlow {
    /// Read the next command.
    Command,
    /// Read one SASL line (without CRLF) for [`ImapSession::auth_line`].
    AuthLine,
    /// Write the output, then perform the TLS handshake.
    StartTls,
    /// Write the output, then compress both directions (RFC 4978).
    Compress,
    /// Write the output, then call [`ImapSession::resume`]: a long response
    /// (FETCH of many messages) is produced in parts, so it is never held
    /// in memory whole.
    More,
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
    /// This session's place among the account's (`max_connections_per_account`).
    pub slot: crate::session::slots::AccountSlot,
}

/// Session state (RFC 9051 §3).
pub enum State {
    /// Before login.
    NotAuthenticated,
    /// Logged in, no mailbox selected.
    Authenticated(Login),
    /// Logged in with a mailbox selected.
    Selected(Login, Box<Selected>),
    /// After LOGOUT.
    Logout,
}

impl State {
    /// Leaves the selected mailbox, if any: CLOSE, UNSELECT, and every
    /// SELECT/EXAMINE, which deselects first even when it fails (RFC 9051
    /// §6.3.2). Returns whether a mailbox was selected.
    fn deselect(&mut self) -> bool {
        if let State::Selected(..) = self
            && let State::Selected(login, _) = std::mem::replace(self, State::Logout)
        {
            *self = State::Authenticated(login);
            return true;
        }
        false
    }

    /// Enters the Selected state; only a logged-in, deselected session can.
    fn enter(&mut self, selected: Selected) {
        if let State::Authenticated(_) = self
            && let State::Authenticated(login) = std::mem::replace(self, State::Logout)
        {
            *self = State::Selected(login, Box::new(selected));
        }
    }
}

/// Extensions the client turned on (RFC 5161 ENABLE, and the commands of
/// RFC 7162 §3.1 that enable CONDSTORE implicitly).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Enabled {
    /// CONDSTORE (RFC 7162 §3.1): MODSEQ in FETCH responses.
    pub condstore: bool,
    /// QRESYNC (RFC 7162 §3.2): VANISHED instead of EXPUNGE.
    pub qresync: bool,
    /// UTF8=ACCEPT (RFC 6855): mailbox names in UTF-8.
    pub utf8: bool,
    /// IMAP4rev2 (RFC 9051): no `\Recent`, ESEARCH answers.
    pub rev2: bool,
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
    enabled: Enabled,
    /// COMPRESS is active (RFC 4978 §3: only once per connection).
    compressed: bool,
    /// What NOTIFY asked for (RFC 5465), and what was last reported.
    notify: Option<notify_state::Notifier>,
    /// A long response in progress (see [`ImapFlow::More`]).
    job: Option<cmd::fetch::FetchJob>,
    /// The client's ID (RFC 2971) `name` and `version`, for the log.
    client: Option<String>,
}

/// Who is at fault when a command does not succeed (the mox idea): the
/// client's syntax or state (`BAD`), a refusal (`NO [CODE]`), or the server
/// (`NO` with the cause logged, never shown).
#[derive(Debug)]
pub enum CommandError {
    /// `BAD text`.
    Bad(String),
    /// `NO [code] text`.
    No { code: Option<String>, text: String },
    /// `NO [SERVERBUG]`, cause logged.
    Server(StoreError),
}

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NoSuchMailbox => no(Some("NONEXISTENT"), "No such mailbox"),
            StoreError::MailboxExists => no(Some("ALREADYEXISTS"), "Mailbox already exists"),
            StoreError::NotAllowed(t) => no(Some("CANNOT"), t),
            other => CommandError::Server(other),
        }
    }
}

impl From<names::NameError> for CommandError {
    fn from(e: names::NameError) -> Self {
        no(Some("CANNOT"), e.text())
    }
}

/// Result of a command handler: `Ok` carries the tagged OK's optional
/// response code and text.
pub type CommandResult = Result<(Option<String>, String), CommandError>;

fn ok(text: &str) -> CommandResult {
    Ok((None, text.to_string()))
}

fn ok_code(code: impl Into<String>, text: &str) -> CommandResult {
    Ok((Some(code.into()), text.to_string()))
}

fn no(code: Option<&str>, text: impl Into<String>) -> CommandError {
    CommandError::No {
        code: code.map(str::to_owned),
        text: text.into(),
    }
}

fn bad(text: impl Into<String>) -> CommandError {
    CommandError::Bad(text.into())
}

/// Store calls over at most this many messages run on the async worker
/// itself: they take microseconds, less than handing the worker's other
/// tasks to another thread would (measured under imaptest's stress mix:
/// 15 % more commands per second than `block_in_place` for every call).
pub const INLINE_MESSAGES: usize = 64;

/// Runs a store call over `messages` messages: inline when there are few
/// ([`INLINE_MESSAGES`]), else through [`blocking`].
pub fn blocking_for<T>(messages: usize, f: impl FnOnce() -> T) -> T {
    if messages <= INLINE_MESSAGES {
        f()
    } else {
        blocking(f)
    }
}

/// Runs a store call that may be long (many records, large values, an
/// fsync) off the async worker: on the multi-threaded runtime,
/// `block_in_place` hands this worker's other tasks to another thread
/// while it runs.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
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
        // RFC 5161 §3.1: ENABLE only in the authenticated state.
        C::Enable(_) if selected => Err("ENABLE is not allowed with a mailbox selected"),
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
        | C::Idle
        | C::GetQuota { .. }
        | C::GetQuotaRoot { .. }
        | C::SetQuota { .. }
        | C::Compress(_)
        | C::Notify(_) => Ok(()),
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
            enabled: Enabled::default(),
            compressed: false,
            notify: None,
            job: None,
            client: None,
        }
    }

    /// The greeting (RFC 9051 §7.1.1), with capabilities so clients can
    /// skip a CAPABILITY round trip.
    pub fn greeting(&mut self) {
        let caps = self.capabilities();
        self.untagged(&format!(
            "OK [CAPABILITY {caps}] {} tokenmail ready",
            self.shared.config.hostname
        ));
    }

    /// Output produced so far, for the driver to write.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// How much output is waiting.
    pub fn pending_output(&self) -> usize {
        self.out.len()
    }

    /// The logged-in address, for the connection's log span.
    pub fn address(&self) -> Option<&str> {
        self.login().map(|l| l.principal.address())
    }

    /// The last second the login's token is valid (the driver ends the
    /// session then).
    pub fn valid_until(&self) -> Option<i64> {
        self.login().map(|l| l.principal.valid_until())
    }

    /// The login's principal, once logged in.
    pub fn principal(&self) -> Option<&Principal> {
        self.login().map(|l| &l.principal)
    }

    /// True once logged in (the driver uses the longer idle timeout).
    pub fn is_authenticated(&self) -> bool {
        self.login().is_some()
    }

    /// The account whose changes IDLE and NOTIFY should watch.
    pub fn account(&self) -> Option<AccountId> {
        self.login().map(|l| l.account)
    }

    /// Whether NOTIFY asked for unsolicited responses even outside IDLE.
    pub fn wants_notifications(&self) -> bool {
        self.notify.is_some()
    }

    fn login(&self) -> Option<&Login> {
        match &self.state {
            State::Authenticated(l) | State::Selected(l, _) => Some(l),
            _ => None,
        }
    }

    /// The login of a command that `allowed` admitted only when logged in.
    fn logged_in(&self) -> &Login {
        // Invariant: `allowed` admits these commands only after login.
        self.login()
            .expect("allowed() admits this command only after login")
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
        if flow == ImapFlow::Command || flow == ImapFlow::Compress {
            self.after_command(expunge_ok);
        }
        if let Some(result) = result {
            self.finish(&tag, result);
        }
        if matches!(self.state, State::Logout) && flow == ImapFlow::Command {
            return ImapFlow::Close;
        }
        flow
    }

    /// Continues a long response (see [`ImapFlow::More`]).
    pub async fn resume(&mut self) -> ImapFlow {
        let Some(mut job) = self.job.take() else {
            return ImapFlow::Command;
        };
        match self.fetch_step(&mut job) {
            Ok(false) => {
                self.job = Some(job);
                ImapFlow::More
            }
            Ok(true) => {
                if job.changed_flags()
                    && let Err(e) = self.shared.store.sync().await
                {
                    let tag = job.tag().to_owned();
                    self.finish(&tag, Err(e.into()));
                    return ImapFlow::Command;
                }
                let expunge_ok = job.expunge_ok();
                self.after_command(expunge_ok);
                let (tag, result) = job.finish();
                self.finish(&tag, result);
                self.flow_after_idle()
            }
            Err(e) => {
                let tag = job.tag().to_owned();
                self.finish(&tag, Err(e));
                ImapFlow::Command
            }
        }
    }

    /// `Close` when the session ended meanwhile (a `BYE` for a deleted
    /// mailbox), else `Command`.
    pub fn flow_after_idle(&self) -> ImapFlow {
        if matches!(self.state, State::Logout) {
            ImapFlow::Close
        } else {
            ImapFlow::Command
        }
    }

    /// What every command ends with: pending changes of the selected
    /// mailbox, and NOTIFY events.
    fn after_command(&mut self, expunge_ok: bool) {
        if let Err(e) = self.poll_updates(expunge_ok) {
            tracing::error!(error = %e, "cannot read mailbox changes");
        }
        self.poll_notify();
    }

    /// Runs a command; `None` as result means the handler answers later.
    async fn dispatch(
        &mut self,
        tag: &str,
        body: CommandBody,
    ) -> (ImapFlow, Option<CommandResult>) {
        use CommandBody as C;
        let done = |r: CommandResult| (ImapFlow::Command, Some(r));
        match body {
            C::Capability => done(self.cmd_capability()),
            C::Noop => done(ok("NOOP completed")),
            C::Check => done(self.cmd_check().await),
            C::Logout => done(self.cmd_logout()),
            C::Id(params) => done(self.cmd_id(params)),
            C::StartTls => self.cmd_starttls(),
            C::Login { username, password } => done(self.login_command(&username, password).await),
            C::Authenticate {
                mechanism,
                initial_response,
            } => self.authenticate(tag, &mechanism, initial_response).await,
            C::Enable(caps) => done(self.cmd_enable(&caps)),
            C::Namespace => done(self.cmd_namespace()),
            C::Select { mailbox, params } => done(self.cmd_select(&mailbox, &params, false).await),
            C::Examine { mailbox, params } => done(self.cmd_select(&mailbox, &params, true).await),
            C::Create {
                mailbox,
                special_use,
            } => done(self.cmd_create(&mailbox, &special_use).await),
            C::Delete { mailbox } => done(self.cmd_delete(&mailbox).await),
            C::Rename { from, to } => done(self.cmd_rename(&from, &to).await),
            C::Subscribe { mailbox } => done(self.cmd_subscribe(&mailbox, true).await),
            C::Unsubscribe { mailbox } => done(self.cmd_subscribe(&mailbox, false).await),
            C::List {
                reference,
                patterns,
                select,
                ret,
                extended,
            } => done(self.cmd_list(&reference, &patterns, &select, &ret, extended)),
            C::Lsub { reference, pattern } => done(self.cmd_lsub(&reference, &pattern)),
            C::Status { mailbox, items } => done(self.cmd_status(&mailbox, &items)),
            C::Append { mailbox, messages } => done(self.cmd_append(&mailbox, messages).await),
            C::Idle => {
                self.idle_tag = Some(tag.to_string());
                self.out.extend_from_slice(b"+ idling\r\n");
                (ImapFlow::Idle, None)
            }
            C::Close => done(self.cmd_close(true).await),
            C::Unselect => done(self.cmd_close(false).await),
            C::Expunge => done(self.cmd_expunge(None).await),
            C::UidExpunge(set) => done(self.cmd_expunge(Some(&set)).await),
            C::Fetch {
                uid,
                set,
                items,
                changed_since,
                vanished,
            } => self.cmd_fetch(tag, uid, &set, items, changed_since, vanished),
            C::Store {
                uid,
                set,
                mode,
                silent,
                flags,
                unchanged_since,
            } => done(
                self.cmd_store(uid, &set, mode, silent, &flags, unchanged_since)
                    .await,
            ),
            C::Search {
                uid,
                charset,
                criteria,
                ret,
            } => done(self.cmd_search(tag, uid, charset.as_deref(), criteria, ret)),
            C::Sort {
                uid,
                ret,
                criteria,
                charset,
                search,
            } => done(self.cmd_sort(tag, uid, ret, &criteria, &charset, search)),
            C::Thread {
                uid,
                algorithm,
                charset,
                search,
            } => done(self.cmd_thread(uid, algorithm, &charset, search)),
            C::CancelUpdate(tags) => done(self.cmd_cancel_update(&tags)),
            C::Copy { uid, set, mailbox } => done(self.cmd_copy(uid, &set, &mailbox, false).await),
            C::Move { uid, set, mailbox } => done(self.cmd_copy(uid, &set, &mailbox, true).await),
            C::GetQuota { root } => done(self.cmd_getquota(&root)),
            C::GetQuotaRoot { mailbox } => done(self.cmd_getquotaroot(&mailbox)),
            C::SetQuota { .. } => done(Err(no(
                Some("CANNOT"),
                "Quotas are set by the administrator",
            ))),
            C::Compress(algorithm) => self.cmd_compress(&algorithm),
            C::Notify(spec) => done(self.cmd_notify(spec)),
        }
    }

    /// Writes the tagged completion for `result`: the one place errors
    /// meet the wire.
    fn finish(&mut self, tag: &str, result: CommandResult) {
        match result {
            Ok((code, text)) => self.tagged(tag, "OK", code.as_deref(), &text),
            Err(CommandError::Bad(text)) => self.tagged(tag, "BAD", None, &text),
            Err(CommandError::No { code, text }) => self.tagged(tag, "NO", code.as_deref(), &text),
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
