//! LOGIN (RFC 9051 §6.2.3) and AUTHENTICATE (RFC 9051 §6.2.2, SASL-IR
//! RFC 4959) with OAUTHBEARER, XOAUTH2 and PLAIN; the token is the password.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::auth::{Principal, Purpose};
use crate::proto::sasl::Mechanism;
use crate::proto::secret::Secret;
use crate::session::imap::{CommandError, CommandResult, ImapFlow, ImapSession, Login, State, no};
use crate::session::sasl::{AuthContext, SaslExchange, SaslFailure, SaslStep};

impl ImapSession {
    fn auth_context(&self) -> AuthContext {
        AuthContext {
            validator: self.shared.validator.clone(),
            limiter: self.shared.limiter.clone(),
            accounts: self.shared.accounts.clone(),
            peer: self.peer.ip(),
            purpose: Purpose::Imap,
        }
    }

    /// LOGIN user token: only over TLS (LOGINDISABLED before it).
    pub(in crate::session::imap) async fn login_command(
        &mut self,
        username: &str,
        password: Secret,
    ) -> CommandResult {
        if !self.tls {
            return Err(no(
                Some("PRIVACYREQUIRED"),
                "LOGIN is disabled before STARTTLS",
            ));
        }
        let ctx = self.auth_context();
        if ctx.is_blocked() {
            return Err(self.end_blocked());
        }
        let result = ctx.login_password(&password, username).await;
        ctx.count("LOGIN", &result);
        match result {
            Ok(principal) => self.start_session(principal, "LOGIN").await,
            Err(_) if ctx.is_blocked() => Err(self.end_blocked()),
            Err(failure) => Err(login_failure(&failure)),
        }
    }

    /// AUTHENTICATE mechanism [initial-response].
    pub(in crate::session::imap) async fn authenticate(
        &mut self,
        tag: &str,
        mechanism: &str,
        initial: Option<Secret>,
    ) -> (ImapFlow, Option<CommandResult>) {
        let refuse = |e: CommandError| (ImapFlow::Command, Some(Err(e)));
        if !self.tls {
            return refuse(no(
                Some("PRIVACYREQUIRED"),
                "Authentication is disabled before STARTTLS",
            ));
        }
        let Some(mech) = Mechanism::from_name(mechanism).filter(|m| *m != Mechanism::Login) else {
            return refuse(no(Some("CANNOT"), "Unsupported authentication mechanism"));
        };
        let ctx = self.auth_context();
        if ctx.is_blocked() {
            let e = self.end_blocked();
            return refuse(e);
        }
        let (exchange, step) = SaslExchange::start(mech, initial, ctx).await;
        self.sasl = Some((tag.to_string(), exchange));
        let (flow, result) = self.sasl_step(step).await;
        if result.is_some() {
            // Finished at once (SASL-IR): the command's own tag completes it.
            self.sasl = None;
        }
        (flow, result)
    }

    /// One client line during AUTHENTICATE.
    pub async fn auth_line(&mut self, line: &[u8]) -> ImapFlow {
        let Some((_, exchange)) = self.sasl.as_mut() else {
            return ImapFlow::Command;
        };
        let step = exchange.step(line).await;
        let (flow, result) = self.sasl_step(step).await;
        // A continued exchange completes with the AUTHENTICATE command's
        // tag; a challenge keeps the exchange for the next line.
        if let Some(result) = result
            && let Some((tag, _)) = self.sasl.take()
        {
            self.finish(&tag, result);
        }
        if matches!(self.state, State::Logout) {
            return ImapFlow::Close;
        }
        flow
    }

    async fn sasl_step(&mut self, step: SaslStep) -> (ImapFlow, Option<CommandResult>) {
        let result = match step {
            SaslStep::Challenge(bytes) => {
                // RFC 9051 §7.5: "+" SP base64 (an empty challenge is "+ ").
                self.out.extend_from_slice(b"+ ");
                self.out.extend_from_slice(B64.encode(bytes).as_bytes());
                self.out.extend_from_slice(b"\r\n");
                return (ImapFlow::AuthLine, None);
            }
            SaslStep::Success(principal) => {
                let mechanism = self
                    .sasl
                    .as_ref()
                    .map_or("AUTHENTICATE", |(_, e)| e.mechanism().name());
                self.start_session(principal, mechanism).await
            }
            SaslStep::Failure(_) | SaslStep::Malformed(_) if self.auth_context().is_blocked() => {
                Err(self.end_blocked())
            }
            SaslStep::Failure(f) => Err(login_failure(&f)),
            SaslStep::Cancelled => Err(CommandError::Bad("Authentication cancelled".into())),
            SaslStep::Malformed(e) => {
                Err(CommandError::Bad(format!("Cannot decode response: {e}")))
            }
        };
        (ImapFlow::Command, Some(result))
    }

    async fn start_session(&mut self, principal: Principal, mechanism: &str) -> CommandResult {
        let account = self.shared.open_account(&principal).await?;
        let Some(slot) = self.shared.slots.login(account) else {
            tracing::info!(
                address = principal.address(),
                "login refused: the account has max_connections_per_account sessions"
            );
            // RFC 5530 §3: LIMIT, an implementation limit was reached.
            return Err(no(
                Some("LIMIT"),
                "Too many sessions of this account are open",
            ));
        };
        tracing::info!(
            address = principal.address(),
            jti = principal.jti(),
            "logged in"
        );
        self.shared.accounts.record_login(
            account,
            &principal,
            "imap",
            mechanism,
            self.client.clone(),
            self.peer.ip(),
        );
        self.state = State::Authenticated(Login {
            principal,
            account,
            slot,
        });
        let caps = self.capabilities();
        Ok((Some(format!("CAPABILITY {caps}")), "Logged in".into()))
    }
}

impl ImapSession {
    /// An address that has failed too often (`[auth] max_failures`) is not
    /// heard any more: `BYE` (RFC 9051 §7.1.5), the tagged `NO
    /// [UNAVAILABLE]`, and the connection closes.
    fn end_blocked(&mut self) -> CommandError {
        tracing::info!("closing: too many failed logins from this address");
        self.untagged("BYE Too many failed logins from your address; try later");
        self.state = State::Logout;
        no(Some("UNAVAILABLE"), "Too many failed logins; try later")
    }
}

/// `NO [AUTHENTICATIONFAILED]`, or `NO [UNAVAILABLE]` when the identity
/// provider could not be reached (RFC 5530).
fn login_failure(f: &SaslFailure) -> CommandError {
    tracing::info!(reason = %f.reason(), "login failed");
    if f.temporary {
        no(
            Some("UNAVAILABLE"),
            "Cannot verify the token right now; try again",
        )
    } else {
        no(Some("AUTHENTICATIONFAILED"), "Invalid credentials")
    }
}
