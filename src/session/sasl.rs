//! The SASL exchange (RFC 4422 §3) both protocols share: OAUTHBEARER
//! (RFC 7628), XOAUTH2, PLAIN (RFC 4616) and LOGIN, each ending in a
//! validated [`Principal`] or a failure. I/O-free: the protocol session
//! feeds it client lines and frames its challenges (`+ ` in IMAP, `334 ` in
//! SMTP).

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::account::Accounts;
use crate::auth::{AuthError, LoginLimiter, Principal, Purpose, Validator};
use crate::proto::sasl::{
    self, LOGIN_PASSWORD_CHALLENGE, LOGIN_USERNAME_CHALLENGE, Mechanism, SaslError,
};
use crate::proto::secret::Secret;

/// What the session must do next.
#[derive(Debug)]
pub enum SaslStep {
    /// Send this challenge (raw bytes; the session base64-encodes them) and
    /// feed the client's next line to [`SaslExchange::step`].
    Challenge(Vec<u8>),
    /// Logged in.
    Success(Principal),
    /// Authentication failed (`NO` / `535 5.7.8`), or failed for a temporary
    /// reason (`NO [UNAVAILABLE]` / `454 4.7.0`).
    Failure(SaslFailure),
    /// The client sent `*` (RFC 4422 §3.5): `BAD` / `501 5.0.0`.
    Cancelled,
    /// The client's message could not be decoded: `BAD` / `501 5.5.2`.
    Malformed(SaslError),
}

/// Why a login failed; the text is safe to show the client.
#[derive(Debug)]
pub struct SaslFailure {
    /// The validator's reason, or None for a SASL-level mismatch.
    pub cause: Option<AuthError>,
    /// A retry later may succeed (IdP unreachable).
    pub temporary: bool,
}

/// Everything validation needs that is not in the client's message.
#[derive(Clone)]
pub struct AuthContext {
    /// Token validation.
    pub validator: Arc<Validator>,
    /// Failed-login throttle.
    pub limiter: Arc<LoginLimiter>,
    /// The client's address, for the throttle.
    pub peer: IpAddr,
    /// IMAP or submission: which scope is required.
    pub purpose: Purpose,
    /// App passwords and revocation.
    pub accounts: Arc<Accounts>,
}

impl AuthContext {
    /// Validates a token presented for `claimed_user` (when the client named
    /// one), applying the per-IP throttle. The claimed user must be the
    /// token's address (CONTRACT.md; RFC 7628 §3.1 `a=`).
    pub async fn login(
        &self,
        token: &Secret,
        claimed_user: Option<&str>,
    ) -> Result<Principal, SaslFailure> {
        self.limiter.before_attempt(self.peer).await;
        let token = String::from_utf8_lossy(token.expose());
        let result = match self.validator.validate(token.trim(), self.purpose).await {
            Ok(p) if claimed_user.is_none_or(|u| u.trim().eq_ignore_ascii_case(p.address())) => {
                self.admitted(p)
            }
            Ok(p) => {
                tracing::info!(
                    address = p.address(),
                    "SASL user does not match the token's address"
                );
                Err(SaslFailure {
                    cause: None,
                    temporary: false,
                })
            }
            Err(e) => {
                // The validator logged why, with the token's fingerprint.
                let temporary = e.is_temporary();
                Err(SaslFailure {
                    cause: Some(e),
                    temporary,
                })
            }
        };
        self.settle(result)
    }

    /// Tells the throttle how a login went: success clears the address's
    /// failures, a refusal counts as one, a temporary failure as neither.
    fn settle(&self, result: Result<Principal, SaslFailure>) -> Result<Principal, SaslFailure> {
        match &result {
            Ok(_) => self.limiter.record_success(self.peer),
            Err(f) if !f.temporary => self.limiter.record_failure(self.peer),
            Err(_) => {}
        }
        result
    }

    /// A validated token, unless it was issued before the account's last
    /// "sign out everywhere".
    fn admitted(&self, p: Principal) -> Result<Principal, SaslFailure> {
        match self.accounts.token_admitted(&p) {
            Ok(true) => Ok(p),
            Ok(false) => {
                tracing::info!(
                    address = p.address(),
                    jti = p.jti(),
                    "token issued before the account's revocation"
                );
                Err(SaslFailure {
                    cause: Some(AuthError::Revoked),
                    temporary: false,
                })
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the account's revocation");
                Err(SaslFailure {
                    cause: None,
                    temporary: true,
                })
            }
        }
    }

    /// A user name and password (IMAP LOGIN, PLAIN, SMTP AUTH LOGIN): an
    /// app password of that account when it has the shape of one
    /// (docs/accounts.md), else an access token given as the password.
    pub async fn login_password(
        &self,
        password: &Secret,
        user: &str,
    ) -> Result<Principal, SaslFailure> {
        if crate::auth::app_password::normalize(password.expose()).is_none() {
            return self.login(password, Some(user)).await;
        }
        self.limiter.before_attempt(self.peer).await;
        let result = match self
            .accounts
            .password_login(user, password.expose(), self.purpose, self.peer)
            .await
        {
            Ok(Some(p)) => Ok(p),
            Ok(None) => {
                tracing::info!(user = user.trim(), "app password refused");
                Err(SaslFailure {
                    cause: None,
                    temporary: false,
                })
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot check an app password");
                Err(SaslFailure {
                    cause: None,
                    temporary: true,
                })
            }
        };
        self.settle(result)
    }

    /// Counts a failure that never reached the validator (a message that
    /// cannot be decoded, a PLAIN authzid of another user): guessing with
    /// broken messages is throttled like guessing with bad tokens.
    pub fn record_failure(&self) {
        self.limiter.record_failure(self.peer);
    }

    /// Counts a login's outcome for `/metrics`.
    pub fn count(&self, mechanism: &'static str, result: &Result<Principal, SaslFailure>) {
        use crate::metrics::Outcome;
        let protocol = match self.purpose {
            Purpose::Imap => "imap",
            Purpose::Submission => "smtp",
        };
        let outcome = match result {
            Ok(_) => Outcome::Success,
            Err(f) if f.temporary => Outcome::Temporary,
            Err(_) => Outcome::Failure,
        };
        crate::metrics::login(protocol, mechanism, outcome);
    }

    /// True when this client has failed too often to be heard at all.
    pub fn is_blocked(&self) -> bool {
        self.limiter.is_blocked(self.peer)
    }
}

#[derive(Debug)]
enum State {
    /// Waiting for the client's message (after an empty challenge).
    AwaitMessage,
    /// An error challenge was sent; whatever comes next ends the exchange.
    AwaitErrorAck(SaslFailure),
    /// LOGIN: waiting for the user name.
    AwaitUsername,
    /// LOGIN: waiting for the password.
    AwaitPassword(String),
    /// Finished.
    Done,
}

/// One authentication exchange in progress.
pub struct SaslExchange {
    mechanism: Mechanism,
    ctx: AuthContext,
    state: State,
}

impl SaslExchange {
    /// Starts `mechanism` with the optional initial response (base64 text
    /// as sent; `=` means empty, RFC 4959 §3 / RFC 4954 §4).
    pub async fn start(
        mechanism: Mechanism,
        initial: Option<Secret>,
        ctx: AuthContext,
    ) -> (SaslExchange, SaslStep) {
        let mut ex = SaslExchange {
            mechanism,
            ctx,
            state: State::AwaitMessage,
        };
        let step = match (mechanism, initial) {
            (Mechanism::Login, None) => {
                ex.state = State::AwaitUsername;
                SaslStep::Challenge(B64.decode(LOGIN_USERNAME_CHALLENGE).unwrap_or_default())
            }
            (Mechanism::Login, Some(user)) => {
                ex.state = State::AwaitUsername;
                ex.step(user.expose()).await
            }
            (_, None) => SaslStep::Challenge(Vec::new()),
            (_, Some(initial)) => ex.step(initial.expose()).await,
        };
        (ex, step)
    }

    /// The mechanism being run.
    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Feeds one client line (base64 text, without CRLF).
    pub async fn step(&mut self, line: &[u8]) -> SaslStep {
        if line == b"*" {
            self.state = State::Done;
            return SaslStep::Cancelled;
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::AwaitErrorAck(failure) => SaslStep::Failure(failure),
            State::Done => SaslStep::Cancelled,
            State::AwaitUsername => match sasl::decode_base64(line) {
                Ok(user) => {
                    self.state =
                        State::AwaitPassword(String::from_utf8_lossy(user.expose()).into_owned());
                    SaslStep::Challenge(B64.decode(LOGIN_PASSWORD_CHALLENGE).unwrap_or_default())
                }
                Err(e) => self.malformed(e),
            },
            State::AwaitPassword(user) => match sasl::decode_base64(line) {
                Ok(password) => self.finish(self.ctx.login_password(&password, &user).await),
                Err(e) => self.malformed(e),
            },
            State::AwaitMessage => match sasl::decode_base64(line) {
                Ok(message) => self.message(message).await,
                Err(e) => self.malformed(e),
            },
        }
    }

    /// The decoded client message of a single-message mechanism.
    async fn message(&mut self, message: Secret) -> SaslStep {
        match self.mechanism {
            Mechanism::OAuthBearer => match sasl::parse_oauthbearer(message.expose()) {
                Ok(m) => {
                    let result = self.ctx.login(&m.token, m.authzid.as_deref()).await;
                    self.finish_with_error_challenge(result, true)
                }
                Err(e) => self.malformed(e),
            },
            Mechanism::XOAuth2 => match sasl::parse_xoauth2(message.expose()) {
                Ok(m) => {
                    let user = (!m.user.is_empty()).then_some(m.user.as_str());
                    let result = self.ctx.login(&m.token, user).await;
                    self.finish_with_error_challenge(result, false)
                }
                Err(e) => self.malformed(e),
            },
            Mechanism::Plain => match sasl::parse_plain(message.expose()) {
                Ok(p) => {
                    if p.authzid
                        .as_deref()
                        .is_some_and(|z| !z.is_empty() && !z.eq_ignore_ascii_case(&p.authcid))
                    {
                        // Acting as another user is not supported (RFC 4616 §2).
                        self.ctx.record_failure();
                        return self.finish(Err(SaslFailure {
                            cause: None,
                            temporary: false,
                        }));
                    }
                    let result = self.ctx.login_password(&p.password, &p.authcid).await;
                    self.finish(result)
                }
                Err(e) => self.malformed(e),
            },
            Mechanism::Login => SaslStep::Cancelled,
        }
    }

    /// Counts the login's outcome (`/metrics`).
    fn count(&self, result: &Result<Principal, SaslFailure>) {
        self.ctx.count(self.mechanism.name(), result);
    }

    /// A client message that cannot be decoded: counted as a failed login.
    fn malformed(&mut self, e: SaslError) -> SaslStep {
        self.state = State::Done;
        self.count(&Err(SaslFailure {
            cause: None,
            temporary: false,
        }));
        self.ctx.record_failure();
        SaslStep::Malformed(e)
    }

    fn finish(&mut self, result: Result<Principal, SaslFailure>) -> SaslStep {
        self.state = State::Done;
        self.count(&result);
        match result {
            Ok(p) => SaslStep::Success(p),
            Err(f) => SaslStep::Failure(f),
        }
    }

    /// OAUTHBEARER (RFC 7628 §3.2.2) and XOAUTH2 answer a failure with an
    /// error challenge; the client's next line, whatever it is, ends the
    /// exchange with the failure.
    fn finish_with_error_challenge(
        &mut self,
        result: Result<Principal, SaslFailure>,
        oauthbearer: bool,
    ) -> SaslStep {
        match result {
            Ok(p) => self.finish(Ok(p)),
            Err(failure) => {
                self.count(&Err(SaslFailure {
                    cause: None,
                    temporary: failure.temporary,
                }));
                let scope = self.ctx.validator.required_scope(self.ctx.purpose);
                let json = if oauthbearer {
                    let status = match &failure.cause {
                        Some(e) => e.oauth_status(),
                        None => "invalid_token",
                    };
                    let discovery = self.ctx.validator.openid_configuration();
                    sasl::oauthbearer_error(status, Some(&scope), discovery.as_deref())
                } else {
                    sasl::xoauth2_error(&scope)
                };
                self.state = State::AwaitErrorAck(failure);
                SaslStep::Challenge(json.into_bytes())
            }
        }
    }
}

impl SaslFailure {
    /// A short client-safe reason, for the NO / 535 text.
    pub fn reason(&self) -> String {
        match &self.cause {
            Some(e) => e.to_string(),
            None => "the user name does not match the credentials".into(),
        }
    }
}
