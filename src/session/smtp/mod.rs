//! The SMTP sessions (RFC 5321) as I/O-free state machines, in three
//! [`Role`]s: submission (RFC 6409, RFC 4954), the MX for `domains`, and
//! LMTP (RFC 2033). The driver in `server::smtp` feeds it command lines,
//! SASL lines, finished DATA and BDAT chunks, and writes what
//! [`SmtpSession::take_output`] returns.
//!
//! Submission: before TLS only EHLO/HELO, STARTTLS, NOOP, RSET, QUIT are
//! useful; after TLS, AUTH; after AUTH, mail transactions whose sender must
//! be the authenticated address. The MX: no AUTH; STARTTLS offered, not
//! required; any sender; recipients only existing accounts of `domains`;
//! CHUNKING (RFC 3030). LMTP: LHLO instead of EHLO, and one reply per
//! recipient after the message (RFC 2033 §4.2).

mod delivery;
pub mod sender_auth;

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use super::Shared;
use super::sasl::{AuthContext, SaslExchange, SaslStep};
use crate::auth::{Principal, Purpose};
use crate::proto::sasl::Mechanism;
use crate::proto::smtp::{Command, MailParams, Reply, ReversePath};
use crate::store::AccountId;

pub use delivery::Recipient;

/// Which SMTP service a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Submission from the account's own mail programs (RFC 6409).
    Submission,
    /// The MX: mail from other servers for `domains` (`[smtp_in]`).
    Inbound,
    /// LMTP from an MTA in front (`[lmtp]`, RFC 2033).
    Lmtp,
}

/// What the driver must do after a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpFlow {
    /// Read the next command line.
    Command,
    /// Read one SASL response line and pass it to [`SmtpSession::auth_line`].
    AuthLine,
    /// Perform the TLS handshake (after sending the output), then go on.
    StartTls,
    /// Read the message after `354` with a DATA reader bounded by `max_size`
    /// and pass the outcome to [`SmtpSession::data`].
    Data { max_size: u64 },
    /// Read a BDAT chunk of exactly `size` octets (RFC 3030 §2), keeping
    /// it when `keep`, and pass it to [`SmtpSession::chunk`].
    Chunk {
        /// Octets to read.
        size: u64,
        /// The last chunk of the message.
        last: bool,
        /// Whether the chunk is wanted (else it is read and dropped).
        keep: bool,
    },
    /// Send the output and close.
    Close,
}

/// How reading DATA ended.
#[derive(Debug)]
pub enum DataOutcome {
    /// The message, dot-unstuffed, CRLF line ends.
    Message(Vec<u8>),
    /// Larger than the limit (RFC 1870 §6.3: 552).
    TooLarge,
    /// A line longer than RFC 5321 §4.5.3.1.6 allows.
    LineTooLong,
}

/// An open mail transaction (RFC 5321 §3.3).
struct Transaction {
    from: String,
    recipients: Vec<Recipient>,
    /// The message so far, sent with BDAT.
    chunks: Vec<u8>,
    /// Whether BDAT started the message (DATA may not follow).
    chunking: bool,
}

/// One submission connection.
pub struct SmtpSession {
    shared: Arc<Shared>,
    role: Role,
    peer: SocketAddr,
    tls: bool,
    helo: Option<String>,
    principal: Option<Principal>,
    /// This session's place among the account's logged-in sessions.
    slot: Option<crate::session::slots::AccountSlot>,
    account: Option<AccountId>,
    sasl: Option<SaslExchange>,
    transaction: Option<Transaction>,
    out: Vec<u8>,
}

impl SmtpSession {
    /// A new session of `role`; `tls` is true on the implicit-TLS port.
    pub fn new(shared: Arc<Shared>, peer: SocketAddr, tls: bool, role: Role) -> Self {
        SmtpSession {
            shared,
            role,
            peer,
            tls,
            helo: None,
            principal: None,
            slot: None,
            account: None,
            sasl: None,
            transaction: None,
            out: Vec::new(),
        }
    }

    /// The greeting (RFC 5321 §4.2, code 220).
    pub fn greeting(&mut self) {
        let host = self.shared.config.hostname.clone();
        let kind = if self.role == Role::Lmtp { "LMTP" } else { "ESMTP" };
        self.reply(Reply::new(
            220,
            None,
            format!("{host} {kind} tokenmail ready"),
        ));
    }

    /// Output produced so far, for the driver to write.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// The authenticated address, for the connection's log span.
    pub fn address(&self) -> Option<&str> {
        self.principal.as_ref().map(Principal::address)
    }

    /// The login's principal, once logged in.
    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// The last second the login's token is valid (the driver ends the
    /// session then).
    pub fn valid_until(&self) -> Option<i64> {
        self.principal.as_ref().map(Principal::valid_until)
    }

    /// Tells the session the STARTTLS handshake finished: RFC 3207 §4.2
    /// says all state is forgotten, and the client must EHLO again.
    pub fn tls_started(&mut self) {
        self.tls = true;
        self.helo = None;
        self.transaction = None;
    }

    fn reply(&mut self, reply: Reply) {
        reply.write(&mut self.out);
    }

    fn simple(&mut self, code: u16, enhanced: (u8, u16, u16), text: &str) {
        self.reply(Reply::new(code, Some(enhanced), text.to_string()));
    }

    /// A line that is too long (RFC 5321 §4.5.3.1.4).
    pub fn line_too_long(&mut self) {
        self.simple(500, (5, 5, 6), "Line too long");
    }

    /// Handles one command line (without CRLF).
    pub async fn command(&mut self, line: &[u8]) -> SmtpFlow {
        let cmd = match crate::proto::smtp::parse_command(line) {
            Ok(cmd) => cmd,
            Err(e) => {
                self.simple(500, (5, 5, 2), &format!("Syntax error: {}", e.message));
                return SmtpFlow::Command;
            }
        };
        let lmtp = self.role == Role::Lmtp;
        match cmd {
            // RFC 2033 §4.1: LMTP greets with LHLO only, SMTP never with it.
            Command::Lhlo(host) if lmtp => self.ehlo(host, true),
            Command::Ehlo(_) | Command::Helo(_) if lmtp => {
                self.simple(500, (5, 5, 1), "This is LMTP: use LHLO")
            }
            Command::Lhlo(_) => self.simple(500, (5, 5, 1), "LHLO is for LMTP; use EHLO"),
            Command::Ehlo(host) => self.ehlo(host, true),
            Command::Helo(host) => self.ehlo(host, false),
            Command::StartTls if self.role == Role::Lmtp => {
                self.simple(502, (5, 5, 1), "STARTTLS is not offered on LMTP")
            }
            Command::StartTls => return self.starttls(),
            Command::Auth { .. } if self.role != Role::Submission => {
                self.simple(502, (5, 5, 1), "AUTH is for submission; this server takes mail for its own domains")
            }
            Command::Auth {
                mechanism,
                initial_response,
            } => return self.auth(&mechanism, initial_response).await,
            Command::MailFrom { path, params } => self.mail(path, params),
            Command::RcptTo { path, .. } => self.rcpt(&path),
            Command::Data => return self.data_start(),
            Command::Bdat { size, last } if self.role == Role::Inbound => return self.bdat(size, last),
            Command::Bdat { size, .. } => {
                self.simple(502, (5, 5, 1), "CHUNKING is not supported; use DATA");
                // RFC 3030 §2: the chunk follows whatever the reply.
                return SmtpFlow::Chunk { size, last: false, keep: false };
            }
            Command::Rset => {
                self.transaction = None;
                self.simple(250, (2, 0, 0), "Reset");
            }
            Command::Noop => self.simple(250, (2, 0, 0), "OK"),
            Command::Vrfy(_) => {
                self.simple(252, (2, 5, 0), "Cannot VRFY user, but will accept message")
            }
            Command::Help => self.simple(
                214,
                (2, 0, 0),
                "See RFC 6409; commands: EHLO STARTTLS AUTH MAIL RCPT DATA RSET NOOP QUIT",
            ),
            Command::Quit => {
                self.simple(221, (2, 0, 0), "Bye");
                return SmtpFlow::Close;
            }
        }
        SmtpFlow::Command
    }

    /// RFC 5321 §4.1.1.1; the keywords depend on TLS and login (RFC 4954 §4).
    fn ehlo(&mut self, host: String, extended: bool) {
        self.helo = Some(host);
        self.transaction = None;
        let hostname = self.shared.config.hostname.clone();
        if !extended {
            self.reply(Reply::new(250, None, hostname));
            return;
        }
        let mut lines = vec![
            format!("{hostname} greets {}", self.peer.ip()),
            "PIPELINING".into(),
            format!("SIZE {}", self.shared.config.limits.max_message_size),
            "8BITMIME".into(),
            "SMTPUTF8".into(),
            "ENHANCEDSTATUSCODES".into(),
        ];
        match self.role {
            Role::Submission if !self.tls => lines.push("STARTTLS".into()),
            Role::Submission if self.principal.is_none() => {
                lines.push("AUTH OAUTHBEARER XOAUTH2 PLAIN LOGIN".into())
            }
            Role::Submission => {}
            Role::Inbound => {
                lines.push("CHUNKING".into());
                if !self.tls {
                    lines.push("STARTTLS".into());
                }
            }
            Role::Lmtp => {}
        }
        self.reply(Reply {
            code: 250,
            enhanced: None,
            lines,
        });
    }

    /// RFC 3207 §4.
    fn starttls(&mut self) -> SmtpFlow {
        if self.tls {
            self.simple(503, (5, 5, 1), "TLS already active");
            return SmtpFlow::Command;
        }
        self.simple(220, (2, 0, 0), "Ready to start TLS");
        SmtpFlow::StartTls
    }

    /// RFC 4954 §4: AUTH, with or without an initial response.
    async fn auth(
        &mut self,
        mechanism: &str,
        initial: Option<crate::proto::secret::Secret>,
    ) -> SmtpFlow {
        if !self.tls {
            self.simple(530, (5, 7, 0), "Must issue a STARTTLS command first");
            return SmtpFlow::Command;
        }
        if self.principal.is_some() {
            self.simple(503, (5, 5, 1), "Already authenticated");
            return SmtpFlow::Command;
        }
        if self.transaction.is_some() {
            self.simple(503, (5, 5, 1), "AUTH not allowed during a mail transaction");
            return SmtpFlow::Command;
        }
        let Some(mech) = Mechanism::from_name(mechanism) else {
            self.simple(504, (5, 5, 4), "Unrecognized authentication type");
            return SmtpFlow::Command;
        };
        let ctx = self.auth_context();
        if ctx.is_blocked() {
            self.simple(421, (4, 7, 0), "Too many failed logins; try later");
            return SmtpFlow::Close;
        }
        let (exchange, step) = SaslExchange::start(mech, initial, ctx).await;
        self.sasl = Some(exchange);
        self.sasl_step(step).await
    }

    /// A client line during AUTH.
    pub async fn auth_line(&mut self, line: &[u8]) -> SmtpFlow {
        let Some(exchange) = self.sasl.as_mut() else {
            return SmtpFlow::Command;
        };
        let step = exchange.step(line).await;
        self.sasl_step(step).await
    }

    async fn sasl_step(&mut self, step: SaslStep) -> SmtpFlow {
        match step {
            SaslStep::Challenge(bytes) => {
                // RFC 4954 §4: "334" SP base64; an empty challenge keeps the space.
                self.out.extend_from_slice(b"334 ");
                self.out.extend_from_slice(B64.encode(bytes).as_bytes());
                self.out.extend_from_slice(b"\r\n");
                return SmtpFlow::AuthLine;
            }
            SaslStep::Success(principal) => {
                let mechanism = self.sasl.as_ref().map_or("AUTH", |e| e.mechanism().name());
                self.logged_in(principal, mechanism).await
            }
            SaslStep::Failure(f) if f.temporary => {
                self.simple(454, (4, 7, 0), "Temporary authentication failure");
            }
            SaslStep::Failure(_) | SaslStep::Malformed(_) if self.auth_context().is_blocked() => {
                // This failure was one too many: the address is not heard any more.
                tracing::info!("closing: too many failed logins from this address");
                self.sasl = None;
                self.simple(421, (4, 7, 0), "Too many failed logins; closing");
                return SmtpFlow::Close;
            }
            SaslStep::Failure(f) => {
                tracing::info!(reason = %f.reason(), "AUTH failed");
                self.simple(535, (5, 7, 8), "Authentication credentials invalid");
            }
            SaslStep::Cancelled => self.simple(501, (5, 0, 0), "Authentication cancelled"),
            SaslStep::Malformed(e) => {
                self.simple(501, (5, 5, 2), &format!("Cannot decode response: {e}"))
            }
        }
        self.sasl = None;
        SmtpFlow::Command
    }

    async fn logged_in(&mut self, principal: Principal, mechanism: &str) {
        match self.shared.open_account(&principal).await {
            Ok(account) => {
                let Some(slot) = self.shared.slots.login(account) else {
                    tracing::info!(
                        address = principal.address(),
                        "login refused: the account has max_connections_per_account sessions"
                    );
                    return self.simple(
                        454,
                        (4, 7, 0),
                        "Too many sessions of this account are open; try later",
                    );
                };
                self.slot = Some(slot);
                tracing::info!(
                    address = principal.address(),
                    jti = principal.jti(),
                    "logged in"
                );
                self.shared.accounts.record_login(
                    account,
                    &principal,
                    "smtp",
                    mechanism,
                    None,
                    self.peer.ip(),
                );
                self.account = Some(account);
                self.principal = Some(principal);
                self.simple(235, (2, 7, 0), "Authentication successful");
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot open account");
                self.simple(454, (4, 7, 0), "Temporary authentication failure");
            }
        }
    }

    fn auth_context(&self) -> AuthContext {
        AuthContext {
            validator: self.shared.validator.clone(),
            limiter: self.shared.limiter.clone(),
            accounts: self.shared.accounts.clone(),
            peer: self.peer.ip(),
            purpose: Purpose::Submission,
        }
    }

    /// RFC 5321 §4.1.1.2; on submission the sender must be the logged-in
    /// address (RFC 6409 §6.1), on the MX and LMTP any sender, also the
    /// null one of a bounce.
    fn mail(&mut self, path: ReversePath, params: MailParams) {
        if self.role == Role::Inbound && !self.shared.inbound_rate.allow(self.peer.ip()) {
            tracing::info!(peer = %self.peer, "message refused: smtp_in.max_messages_per_minute");
            self.simple(451, (4, 7, 1), "Too many messages from your address; try again later");
            return;
        }
        if self.role != Role::Submission {
            return self.open_transaction(path, params);
        }
        let Some(principal) = &self.principal else {
            let text = if self.tls {
                "Authentication required"
            } else {
                "Must issue a STARTTLS command first"
            };
            self.simple(530, (5, 7, 0), text);
            return;
        };
        if self.helo.is_none() {
            self.simple(503, (5, 5, 1), "Send EHLO first");
            return;
        }
        if self.transaction.is_some() {
            self.simple(503, (5, 5, 1), "Nested MAIL command");
            return;
        }
        match &path {
            ReversePath::Address(a) if a.eq_ignore_ascii_case(principal.address()) => {}
            _ => {
                let text = format!("Sender address must be {}", principal.address());
                self.simple(553, (5, 7, 1), &text);
                return;
            }
        }
        self.open_transaction(path, params);
    }

    fn open_transaction(&mut self, path: ReversePath, params: MailParams) {
        if self.helo.is_none() {
            let hello = if self.role == Role::Lmtp { "LHLO" } else { "EHLO" };
            self.simple(503, (5, 5, 1), &format!("Send {hello} first"));
            return;
        }
        if self.transaction.is_some() {
            self.simple(503, (5, 5, 1), "Nested MAIL command");
            return;
        }
        let from = match path {
            ReversePath::Address(a) => a,
            ReversePath::Null => String::new(),
        };
        let limit = self.shared.config.limits.max_message_size;
        if params.size.is_some_and(|s| s > limit) {
            self.simple(
                552,
                (5, 3, 4),
                "Message size exceeds fixed maximum message size",
            );
            return;
        }
        self.transaction = Some(Transaction {
            from,
            recipients: Vec::new(),
            chunks: Vec::new(),
            chunking: false,
        });
        self.simple(250, (2, 1, 0), "Sender OK");
    }

    /// RFC 5321 §4.1.1.3: only local recipients with an account, for now.
    fn rcpt(&mut self, path: &str) {
        let Some(tx) = &self.transaction else {
            self.simple(503, (5, 5, 1), "Need MAIL before RCPT");
            return;
        };
        if tx.recipients.len() >= self.shared.config.limits.max_recipients {
            self.simple(452, (4, 5, 3), "Too many recipients");
            return;
        }
        match delivery::resolve_recipient(&self.shared, path, self.role) {
            Ok(rcpt) => {
                let lmtp = self.role == Role::Lmtp;
                let tx = self.transaction.as_mut().expect("checked above");
                // LMTP answers each accepted RCPT after the message
                // (RFC 2033 §4.2), so each one is kept.
                if lmtp || !tx.recipients.iter().any(|r| r.account == rcpt.account) {
                    tx.recipients.push(rcpt);
                }
                self.simple(250, (2, 1, 5), "Recipient OK");
            }
            Err(reply) => self.reply(reply),
        }
    }

    /// RFC 5321 §4.1.1.4.
    fn data_start(&mut self) -> SmtpFlow {
        match &self.transaction {
            None => self.simple(503, (5, 5, 1), "Need MAIL command"),
            Some(tx) if tx.chunking => {
                self.simple(503, (5, 5, 1), "DATA cannot follow BDAT in one message")
            }
            Some(tx) if tx.recipients.is_empty() => {
                self.simple(554, (5, 5, 1), "No valid recipients")
            }
            Some(_) => {
                self.reply(Reply::new(
                    354,
                    None,
                    "Start mail input; end with <CRLF>.<CRLF>",
                ));
                return SmtpFlow::Data {
                    max_size: self.shared.config.limits.max_message_size,
                };
            }
        }
        SmtpFlow::Command
    }

    /// The end of DATA: deliver, and answer 250 only once it is on disk.
    pub async fn data(&mut self, outcome: DataOutcome) -> SmtpFlow {
        let Some(tx) = self.transaction.take() else {
            return SmtpFlow::Command;
        };
        let message = match outcome {
            DataOutcome::Message(m) => m,
            DataOutcome::TooLarge => {
                self.simple(
                    552,
                    (5, 3, 4),
                    "Message size exceeds fixed maximum message size",
                );
                return SmtpFlow::Command;
            }
            DataOutcome::LineTooLong => {
                self.simple(
                    500,
                    (5, 5, 6),
                    "Message has a line longer than 998 characters",
                );
                return SmtpFlow::Command;
            }
        };
        self.finish(tx, message).await;
        SmtpFlow::Command
    }

    /// RFC 3030 §2: BDAT on the MX. The chunk is read whatever the reply;
    /// a refused chunk ends the transaction.
    fn bdat(&mut self, size: u64, last: bool) -> SmtpFlow {
        let limit = self.shared.config.limits.max_message_size;
        let refuse = match &self.transaction {
            None => Some((503, (5, 5, 1), "Need MAIL command")),
            Some(tx) if tx.recipients.is_empty() => Some((554, (5, 5, 1), "No valid recipients")),
            Some(tx) if tx.chunks.len() as u64 + size > limit => {
                Some((552, (5, 3, 4), "Message size exceeds fixed maximum message size"))
            }
            Some(_) => None,
        };
        match refuse {
            Some((code, enhanced, text)) => {
                self.transaction = None;
                self.simple(code, enhanced, text);
                SmtpFlow::Chunk { size, last, keep: false }
            }
            None => {
                if let Some(tx) = self.transaction.as_mut() {
                    tx.chunking = true;
                }
                SmtpFlow::Chunk { size, last, keep: true }
            }
        }
    }

    /// A BDAT chunk has been read: its reply, and the delivery after the
    /// last one.
    pub async fn chunk(&mut self, chunk: Vec<u8>, last: bool) -> SmtpFlow {
        let Some(tx) = self.transaction.as_mut().filter(|tx| tx.chunking) else {
            // Read for a refused BDAT; its reply is out already.
            return SmtpFlow::Command;
        };
        tx.chunks.extend_from_slice(&chunk);
        if !last {
            let n = chunk.len();
            self.simple(250, (2, 0, 0), &format!("{n} octets received"));
            return SmtpFlow::Command;
        }
        let mut tx = self.transaction.take().expect("checked above");
        let message = std::mem::take(&mut tx.chunks);
        self.finish(tx, message).await;
        SmtpFlow::Command
    }

    /// Delivers a whole message: 250 only once it is on disk in every
    /// recipient's INBOX; for LMTP one reply per recipient.
    async fn finish(&mut self, tx: Transaction, message: Vec<u8>) {
        // RFC 9208 §5.1, RFC 3463 §3.3: the message does not fit.
        let full: Vec<bool> = tx
            .recipients
            .iter()
            .map(|r| {
                delivery::over_quota(&self.shared, r.account, Some(message.len() as u64))
                    .unwrap_or(false)
            })
            .collect();
        let lmtp = self.role == Role::Lmtp;
        if !lmtp && full.iter().any(|f| *f) {
            return self.simple(552, (5, 2, 2), "Mailbox full: the message exceeds the quota");
        }
        let fits: Vec<Recipient> = tx
            .recipients
            .iter()
            .zip(&full)
            .filter(|(_, f)| !**f)
            .map(|(r, _)| r.clone())
            .collect();
        let helo = self.helo.clone().unwrap_or_else(|| "unknown".into());
        let mut message = message;
        let mut trace = String::new();
        let mut mailbox = "INBOX";
        if self.role == Role::Inbound
            && let Some(checker) = self.shared.sender_auth.as_ref()
        {
            let host = &self.shared.config.hostname;
            message = sender_auth::strip_ours(&message, host);
            let verdict = checker.check(host, &message, self.peer.ip(), &helo, &tx.from).await;
            match verdict.action {
                sender_auth::Action::Reject => {
                    tracing::info!(peer = %self.peer, from = tx.from, "refused by SPF or DMARC policy");
                    return self.simple(550, (5, 7, 1), "Message refused by the sender domain's SPF or DMARC policy");
                }
                sender_auth::Action::Quarantine => mailbox = "Junk",
                sender_auth::Action::Deliver => {}
            }
            trace = verdict.header;
        }
        let result = if fits.is_empty() {
            Ok(String::new())
        } else {
            let envelope = delivery::Envelope {
                helo: &helo,
                peer: self.peer,
                tls: self.tls,
                role: self.role,
                from: &tx.from,
                recipients: &fits,
                mailbox,
                trace: &trace,
            };
            delivery::deliver(&self.shared, &envelope, message).await
        };
        if let Err(e) = &result {
            tracing::error!(error = %e, "delivery failed");
        }
        if !lmtp {
            return match result {
                Ok(id) => self.simple(250, (2, 0, 0), &format!("OK, delivered as {id}")),
                Err(_) => self.simple(451, (4, 3, 0), "Local error in processing; try again"),
            };
        }
        for (r, over) in tx.recipients.iter().zip(&full) {
            let text;
            let (code, enhanced, line) = match (&result, over) {
                (_, true) => (552, (5, 2, 2), "Mailbox full: the message exceeds the quota"),
                (Ok(id), false) => {
                    text = format!("<{}> delivered as {id}", r.address);
                    (250, (2, 0, 0), text.as_str())
                }
                (Err(_), false) => (451, (4, 3, 0), "Local error in processing; try again"),
            };
            self.simple(code, enhanced, line);
        }
    }
}
