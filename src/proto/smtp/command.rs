//! SMTP command lines to typed commands (RFC 5321 §4.1.1, RFC 6409,
//! RFC 4954 §4, RFC 3030 §2, RFC 3207 §4, RFC 2033 §4.1).
//!
//! The framing layer hands over one line without its CRLF, already cut to
//! the configured line limit. Verbs and keywords are case-insensitive
//! (RFC 5321 §2.4). Where real clients stray from the grammar in harmless
//! ways the parser lets them: a space after `MAIL FROM:` (Outlook), runs of
//! spaces between parameters, trailing spaces, any word after EHLO.

use std::fmt;

use nom::{
    IResult, Parser,
    bytes::complete::{tag_no_case, take_while1},
    character::complete::{digit1, space0, space1},
    combinator::{all_consuming, map_res, opt, verify},
    sequence::{preceded, terminated},
};

use super::address::{rcpt_path, reverse_path};
use super::params::{MailParams, esmtp_params, mail_params, rcpt_params};
use super::reply::Reply;
use crate::proto::secret::Secret;

/// One parsed SMTP command (RFC 5321 §4.1.1 and the extensions named on
/// each variant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `EHLO domain` (RFC 5321 §4.1.1.1); the argument as sent.
    Ehlo(String),
    /// `HELO domain` (RFC 5321 §4.1.1.1).
    Helo(String),
    /// `LHLO domain` (RFC 2033 §4.1).
    Lhlo(String),
    /// `MAIL FROM:<path> params` (RFC 5321 §4.1.1.2).
    MailFrom {
        /// The sender, or the null path `<>`.
        path: ReversePath,
        /// SIZE, BODY, SMTPUTF8, AUTH and the rest.
        params: MailParams,
    },
    /// `RCPT TO:<path> params` (RFC 5321 §4.1.1.3).
    RcptTo {
        /// `local@domain` as sent, without `<>` and without a source
        /// route; `Postmaster` alone for `<Postmaster>`.
        path: String,
        /// Parameters, keyword upper-cased, value as sent.
        params: Vec<(String, Option<String>)>,
    },
    /// `DATA` (RFC 5321 §4.1.1.4).
    Data,
    /// `BDAT size [LAST]` (RFC 3030 §2); `size` octets follow the line.
    Bdat {
        /// Octets in this chunk.
        size: u64,
        /// `LAST` was given: this chunk ends the message.
        last: bool,
    },
    /// `RSET` (RFC 5321 §4.1.1.5).
    Rset,
    /// `NOOP [string]` (RFC 5321 §4.1.1.9); the argument is ignored.
    Noop,
    /// `QUIT` (RFC 5321 §4.1.1.10).
    Quit,
    /// `STARTTLS` (RFC 3207 §4).
    StartTls,
    /// `VRFY string` (RFC 5321 §4.1.1.6); the rest of the line as sent.
    Vrfy(String),
    /// `HELP [string]` (RFC 5321 §4.1.1.8); the argument is ignored.
    Help,
    /// `AUTH mechanism [initial-response]` (RFC 4954 §4).
    Auth {
        /// The SASL mechanism name, upper-cased (RFC 4422 §3.1).
        mechanism: String,
        /// The initial response, base64 text as sent (`=` stays `=`),
        /// for `crate::proto::sasl::decode_base64`.
        initial_response: Option<Secret>,
    },
}

impl Command {
    /// The command's verb, upper-cased, for logs and state tables.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::Ehlo(_) => "EHLO",
            Command::Helo(_) => "HELO",
            Command::Lhlo(_) => "LHLO",
            Command::MailFrom { .. } => "MAIL",
            Command::RcptTo { .. } => "RCPT",
            Command::Data => "DATA",
            Command::Bdat { .. } => "BDAT",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::StartTls => "STARTTLS",
            Command::Vrfy(_) => "VRFY",
            Command::Help => "HELP",
            Command::Auth { .. } => "AUTH",
        }
    }
}

/// The reverse-path of MAIL (RFC 5321 §4.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReversePath {
    /// The null path `<>`, used for bounces (RFC 5321 §4.5.5).
    Null,
    /// `local@domain` as sent, without `<>` and without a source route.
    Address(String),
}

/// What was wrong with a command line, to choose the reply
/// (RFC 5321 §4.2.4, RFC 3463 §3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyntaxErrorKind {
    /// The verb is not one this parser knows: 500 5.5.2.
    UnknownCommand,
    /// The verb is known but its arguments are not: 501 5.5.4.
    BadArguments,
    /// The MAIL reverse-path is malformed: 501 5.1.7 (RFC 3463 X.1.7).
    BadSender,
    /// The RCPT forward-path is malformed: 501 5.1.3 (RFC 3463 X.1.3).
    BadRecipient,
}

/// A command line that does not parse (RFC 5321 §4.2.4). `message` is
/// short and safe to send; it never echoes the client's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Which reply fits.
    pub kind: SyntaxErrorKind,
    /// The reply text.
    pub message: String,
}

impl SyntaxError {
    /// An error of `kind` with a fixed, client-safe text.
    fn new(kind: SyntaxErrorKind, message: &str) -> Self {
        SyntaxError {
            kind,
            message: message.to_string(),
        }
    }

    /// A [`SyntaxErrorKind::BadArguments`] error.
    fn args(message: &str) -> Self {
        SyntaxError::new(SyntaxErrorKind::BadArguments, message)
    }

    /// The reply for this error (RFC 5321 §4.2.4, RFC 3463 §3.6, §3.2).
    pub fn reply(&self) -> Reply {
        let (code, enhanced) = match self.kind {
            SyntaxErrorKind::UnknownCommand => (500, (5, 5, 2)),
            SyntaxErrorKind::BadArguments => (501, (5, 5, 4)),
            SyntaxErrorKind::BadSender => (501, (5, 1, 7)),
            SyntaxErrorKind::BadRecipient => (501, (5, 1, 3)),
        };
        Reply::new(code, Some(enhanced), self.message.clone())
    }
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SyntaxError {}

/// Parses one command line, given without its CRLF (RFC 5321 §4.1.1).
pub fn parse_command(line: &[u8]) -> Result<Command, SyntaxError> {
    let line = trim_trailing_blanks(line);
    let (verb, args) = match line.iter().position(|&b| b == b' ') {
        Some(n) => (&line[..n], &line[n + 1..]),
        None => (line, &b""[..]),
    };
    let unknown = || SyntaxError::new(SyntaxErrorKind::UnknownCommand, "Command unrecognized");
    if verb.is_empty() || verb.len() > 8 || !verb.iter().all(u8::is_ascii_alphabetic) {
        return Err(unknown());
    }
    let args = std::str::from_utf8(args)
        .map_err(|_| SyntaxError::args("Invalid UTF-8 in command"))?
        .trim_start_matches([' ', '\t']);
    match verb.to_ascii_uppercase().as_slice() {
        b"EHLO" => helo_arg(args).map(Command::Ehlo),
        b"HELO" => helo_arg(args).map(Command::Helo),
        b"LHLO" => helo_arg(args).map(Command::Lhlo),
        b"MAIL" => mail(args),
        b"RCPT" => rcpt(args),
        b"DATA" => no_args(args, Command::Data),
        b"BDAT" => bdat(args),
        b"RSET" => no_args(args, Command::Rset),
        b"NOOP" => Ok(Command::Noop),
        b"QUIT" => no_args(args, Command::Quit),
        b"STARTTLS" => no_args(args, Command::StartTls),
        b"VRFY" => vrfy(args),
        b"HELP" => Ok(Command::Help),
        b"AUTH" => auth(args),
        _ => Err(unknown()),
    }
}

/// Drops trailing spaces and tabs, which some clients append.
fn trim_trailing_blanks(line: &[u8]) -> &[u8] {
    let end = line
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |n| n + 1);
    &line[..end]
}

/// `data = "DATA" CRLF` and the like (RFC 5321 §4.1.1): nothing may follow.
fn no_args(args: &str, command: Command) -> Result<Command, SyntaxError> {
    if args.is_empty() {
        Ok(command)
    } else {
        Err(SyntaxError::args("No parameters allowed"))
    }
}

/// `ehlo = "EHLO" SP ( Domain / address-literal ) CRLF` (RFC 5321
/// §4.1.1.1), widened to any one word of printable characters: RFC 5321
/// §4.1.4 forbids refusing a client for its EHLO argument, and Windows
/// clients send host names with `_`.
fn helo_word(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_graphic() || !c.is_ascii()).parse(i)
}

/// The argument of EHLO, HELO or LHLO, required.
fn helo_arg(args: &str) -> Result<String, SyntaxError> {
    all_consuming(helo_word)
        .parse(args)
        .map(|(_, word)| word.to_string())
        .map_err(|_| SyntaxError::args("Syntax: EHLO hostname"))
}

/// `"FROM:"` of `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters]
/// CRLF` (RFC 5321 §4.1.1.2), with optional spaces after it (Outlook).
fn from_colon(i: &str) -> IResult<&str, &str> {
    terminated(tag_no_case("FROM:"), space0).parse(i)
}

/// `"TO:"` of `rcpt = "RCPT TO:" ( ... / Forward-path ) [SP
/// Rcpt-parameters] CRLF` (RFC 5321 §4.1.1.3), with optional spaces.
fn to_colon(i: &str) -> IResult<&str, &str> {
    terminated(tag_no_case("TO:"), space0).parse(i)
}

/// `[SP Mail-parameters]` or `[SP Rcpt-parameters]` up to the end of line.
fn trailing_params(rest: &str) -> Result<Vec<(&str, Option<&str>)>, SyntaxError> {
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    all_consuming(preceded(space1, esmtp_params))
        .parse(rest)
        .map(|(_, params)| params)
        .map_err(|_| SyntaxError::args("Syntax error in parameters"))
}

/// `mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF`
/// (RFC 5321 §4.1.1.2).
fn mail(args: &str) -> Result<Command, SyntaxError> {
    let (rest, _) =
        from_colon(args).map_err(|_| SyntaxError::args("Syntax: MAIL FROM:<address>"))?;
    let (rest, path) = reverse_path(rest)
        .map_err(|_| SyntaxError::new(SyntaxErrorKind::BadSender, "Bad sender address syntax"))?;
    let params = mail_params(&trailing_params(rest)?).map_err(SyntaxError::args)?;
    let path = path.map_or(ReversePath::Null, |p| ReversePath::Address(p.to_string()));
    Ok(Command::MailFrom { path, params })
}

/// `rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
/// Forward-path ) [SP Rcpt-parameters] CRLF` (RFC 5321 §4.1.1.3).
fn rcpt(args: &str) -> Result<Command, SyntaxError> {
    let (rest, _) = to_colon(args).map_err(|_| SyntaxError::args("Syntax: RCPT TO:<address>"))?;
    let (rest, path) = rcpt_path(rest).map_err(|_| {
        SyntaxError::new(
            SyntaxErrorKind::BadRecipient,
            "Bad recipient address syntax",
        )
    })?;
    let params = rcpt_params(&trailing_params(rest)?);
    Ok(Command::RcptTo {
        path: path.to_string(),
        params,
    })
}

/// `chunk-size ::= 1*DIGIT` (RFC 3030 §2), as a `u64`.
fn chunk_size(i: &str) -> IResult<&str, u64> {
    map_res(digit1, str::parse::<u64>).parse(i)
}

/// `bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CRLF`,
/// `end-marker ::= "LAST"` (RFC 3030 §2).
fn bdat_args(i: &str) -> IResult<&str, (u64, bool)> {
    (
        chunk_size,
        opt(preceded(space1, tag_no_case("LAST"))).map(|l| l.is_some()),
    )
        .parse(i)
}

/// BDAT's arguments (RFC 3030 §2).
fn bdat(args: &str) -> Result<Command, SyntaxError> {
    all_consuming(bdat_args)
        .parse(args)
        .map(|(_, (size, last))| Command::Bdat { size, last })
        .map_err(|_| SyntaxError::args("Syntax: BDAT size [LAST]"))
}

/// `vrfy = "VRFY" SP String CRLF` (RFC 5321 §4.1.1.6), widened to the rest
/// of the line: clients send `<user@domain>` and bare addresses too.
fn vrfy(args: &str) -> Result<Command, SyntaxError> {
    if args.is_empty() {
        return Err(SyntaxError::args("Syntax: VRFY address"));
    }
    Ok(Command::Vrfy(args.to_string()))
}

/// `sasl-mech = 1*20mech-char`, `mech-char = UPPER-ALPHA / DIGIT / HYPHEN
/// / UNDERSCORE` (RFC 4422 §3.1, RFC 4954 §4); lower case is accepted.
fn sasl_mech(i: &str) -> IResult<&str, &str> {
    verify(
        take_while1(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        |m: &str| m.len() <= 20,
    )
    .parse(i)
}

/// `initial-response = base64 / "="` (RFC 4954 §4). Only the alphabet is
/// checked here; the SASL decoder checks the rest.
fn initial_response(i: &str) -> IResult<&str, &str> {
    take_while1(|c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')).parse(i)
}

/// `auth-command = "AUTH" SP sasl-mech [SP initial-response]` (RFC 4954 §4).
fn auth_args(i: &str) -> IResult<&str, (&str, Option<&str>)> {
    (sasl_mech, opt(preceded(space1, initial_response))).parse(i)
}

/// AUTH's arguments (RFC 4954 §4).
fn auth(args: &str) -> Result<Command, SyntaxError> {
    let (_, (mechanism, initial)) = all_consuming(auth_args)
        .parse(args)
        .map_err(|_| SyntaxError::args("Syntax: AUTH mechanism [initial-response]"))?;
    Ok(Command::Auth {
        mechanism: mechanism.to_ascii_uppercase(),
        initial_response: initial.map(|r| Secret::new(r.as_bytes())),
    })
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
