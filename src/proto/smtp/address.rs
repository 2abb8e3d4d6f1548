//! The path and address grammar of RFC 5321 §4.1.2 and §4.1.3, widened by
//! RFC 6531 §3.3 to UTF-8 local parts and domains (SMTPUTF8).
//!
//! Each function parses one ABNF rule, quoted in its doc comment, over
//! `&str`: the command line has already been checked to be UTF-8.

use std::net::{Ipv4Addr, Ipv6Addr};

use nom::{
    IResult, Parser,
    branch::alt,
    bytes::complete::{tag, tag_no_case, take_while1},
    character::complete::{char, satisfy},
    combinator::{opt, recognize, verify},
    multi::many0_count,
    sequence::{delimited, preceded, terminated},
};

/// The longest Mailbox accepted: a path is at most 256 octets including
/// `<` and `>` (RFC 5321 §4.5.3.1.3).
pub const MAX_MAILBOX_LEN: usize = 254;

/// The longest domain accepted (RFC 5321 §4.5.3.1.2).
pub const MAX_DOMAIN_LEN: usize = 255;

/// `UTF8-non-ascii` (RFC 6531 §3.3, by reference to RFC 6532 §3.1): any
/// non-ASCII character, since the line is already valid UTF-8.
fn is_utf8_non_ascii(c: char) -> bool {
    !c.is_ascii()
}

/// `Let-dig = ALPHA / DIGIT` (RFC 5321 §4.1.2), plus the characters of a
/// `U-label` (RFC 6531 §3.3).
fn is_let_dig(c: char) -> bool {
    c.is_ascii_alphanumeric() || is_utf8_non_ascii(c)
}

/// `atext` (RFC 5322 §3.2.3) `=/ UTF8-non-ascii` (RFC 6531 §3.3).
fn is_atext(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || is_utf8_non_ascii(c)
}

/// `qtextSMTP = %d32-33 / %d35-91 / %d93-126` (RFC 5321 §4.1.2)
/// `=/ UTF8-non-ascii` (RFC 6531 §3.3).
fn is_qtext_smtp(c: char) -> bool {
    matches!(c, ' '..='!' | '#'..='[' | ']'..='~') || is_utf8_non_ascii(c)
}

/// `dcontent = %d33-90 / %d94-126` (RFC 5321 §4.1.3).
fn is_dcontent(c: char) -> bool {
    matches!(c, '!'..='Z' | '^'..='~')
}

/// `Ldh-str = *( ALPHA / DIGIT / "-" ) Let-dig` (RFC 5321 §4.1.2), here
/// together with the `Let-dig` before it, as in `sub-domain`: letters,
/// digits and hyphens, not starting or ending with a hyphen.
fn let_dig_ldh_str(i: &str) -> IResult<&str, &str> {
    verify(take_while1(|c| is_let_dig(c) || c == '-'), |s: &str| {
        !s.starts_with('-') && !s.ends_with('-')
    })
    .parse(i)
}

/// `sub-domain = Let-dig [Ldh-str]` (RFC 5321 §4.1.2; `U-label` allowed by
/// RFC 6531 §3.3).
fn sub_domain(i: &str) -> IResult<&str, &str> {
    let_dig_ldh_str(i)
}

/// `Domain = sub-domain *("." sub-domain)` (RFC 5321 §4.1.2), at most
/// [`MAX_DOMAIN_LEN`] octets.
pub(crate) fn domain(i: &str) -> IResult<&str, &str> {
    verify(
        recognize((sub_domain, many0_count(preceded(char('.'), sub_domain)))),
        |d: &str| d.len() <= MAX_DOMAIN_LEN,
    )
    .parse(i)
}

/// `address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
/// General-address-literal ) "]"` (RFC 5321 §4.1.3).
pub(crate) fn address_literal(i: &str) -> IResult<&str, &str> {
    recognize(delimited(
        char('['),
        alt((
            ipv6_address_literal,
            ipv4_address_literal,
            general_address_literal,
        )),
        char(']'),
    ))
    .parse(i)
}

/// `IPv4-address-literal = Snum 3("."  Snum)` (RFC 5321 §4.1.3); std's
/// parser refuses what `Snum` refuses (values over 255, empty parts).
fn ipv4_address_literal(i: &str) -> IResult<&str, &str> {
    verify(
        take_while1(|c: char| c.is_ascii_digit() || c == '.'),
        |s: &str| s.parse::<Ipv4Addr>().is_ok(),
    )
    .parse(i)
}

/// `IPv6-address-literal = "IPv6:" IPv6-addr` (RFC 5321 §4.1.3).
fn ipv6_address_literal(i: &str) -> IResult<&str, &str> {
    recognize(preceded(
        tag_no_case("IPv6:"),
        verify(
            take_while1(|c: char| c.is_ascii_hexdigit() || c == ':' || c == '.'),
            |s: &str| s.parse::<Ipv6Addr>().is_ok(),
        ),
    ))
    .parse(i)
}

/// `General-address-literal = Standardized-tag ":" 1*dcontent`,
/// `Standardized-tag = Ldh-str` (RFC 5321 §4.1.3). The tag `IPv6` is
/// taken by [`ipv6_address_literal`] and refused here.
fn general_address_literal(i: &str) -> IResult<&str, &str> {
    recognize((
        verify(let_dig_ldh_str, |t: &str| !t.eq_ignore_ascii_case("IPv6")),
        char(':'),
        take_while1(is_dcontent),
    ))
    .parse(i)
}

/// `Atom = 1*atext` (RFC 5321 §4.1.2).
fn atom(i: &str) -> IResult<&str, &str> {
    take_while1(is_atext).parse(i)
}

/// `Dot-string = Atom *("."  Atom)` (RFC 5321 §4.1.2).
fn dot_string(i: &str) -> IResult<&str, &str> {
    recognize((atom, many0_count(preceded(char('.'), atom)))).parse(i)
}

/// `quoted-pairSMTP = %d92 %d32-126` (RFC 5321 §4.1.2).
fn quoted_pair_smtp(i: &str) -> IResult<&str, &str> {
    recognize((char('\\'), satisfy(|c| matches!(c, ' '..='~')))).parse(i)
}

/// `QcontentSMTP = qtextSMTP / quoted-pairSMTP` (RFC 5321 §4.1.2).
fn qcontent_smtp(i: &str) -> IResult<&str, &str> {
    alt((take_while1(is_qtext_smtp), quoted_pair_smtp)).parse(i)
}

/// `Quoted-string = DQUOTE *QcontentSMTP DQUOTE` (RFC 5321 §4.1.2).
pub(crate) fn quoted_string(i: &str) -> IResult<&str, &str> {
    recognize(delimited(char('"'), many0_count(qcontent_smtp), char('"'))).parse(i)
}

/// `Local-part = Dot-string / Quoted-string` (RFC 5321 §4.1.2).
fn local_part(i: &str) -> IResult<&str, &str> {
    alt((dot_string, quoted_string)).parse(i)
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )`
/// (RFC 5321 §4.1.2), at most [`MAX_MAILBOX_LEN`] octets. Returned as
/// sent, a quoted local part keeping its quotes.
pub(crate) fn mailbox(i: &str) -> IResult<&str, &str> {
    verify(
        recognize((local_part, char('@'), alt((domain, address_literal)))),
        |m: &str| m.len() <= MAX_MAILBOX_LEN,
    )
    .parse(i)
}

/// `At-domain = "@" Domain` (RFC 5321 §4.1.2).
fn at_domain(i: &str) -> IResult<&str, &str> {
    recognize(preceded(char('@'), domain)).parse(i)
}

/// `A-d-l = At-domain *( "," At-domain )` (RFC 5321 §4.1.2), the
/// obsolete source route.
fn a_d_l(i: &str) -> IResult<&str, &str> {
    recognize((at_domain, many0_count(preceded(char(','), at_domain)))).parse(i)
}

/// `Path = "<" [ A-d-l ":" ] Mailbox ">"` (RFC 5321 §4.1.2). Returns the
/// Mailbox: a source route is accepted and dropped, as RFC 5321 §4.1.1.3
/// and Appendix C tell servers to do.
pub(crate) fn path(i: &str) -> IResult<&str, &str> {
    delimited(
        char('<'),
        preceded(opt(terminated(a_d_l, char(':'))), mailbox),
        char('>'),
    )
    .parse(i)
}

/// `Reverse-path = Path / "<>"` (RFC 5321 §4.1.2); `None` for the null
/// path `<>`.
pub(crate) fn reverse_path(i: &str) -> IResult<&str, Option<&str>> {
    alt((path.map(Some), tag("<>").map(|_| None))).parse(i)
}

/// `( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path )`, the
/// recipient of `RCPT` (RFC 5321 §4.1.1.3); `Forward-path = Path`.
/// `<Postmaster>` (any case) yields `Postmaster` as sent; the form with a
/// domain is an ordinary Path.
pub(crate) fn rcpt_path(i: &str) -> IResult<&str, &str> {
    alt((
        delimited(char('<'), tag_no_case("Postmaster"), char('>')),
        path,
    ))
    .parse(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nom::combinator::all_consuming;

    fn full<'a>(p: fn(&'a str) -> IResult<&'a str, &'a str>, s: &'a str) -> Option<&'a str> {
        all_consuming(p).parse(s).ok().map(|(_, o)| o)
    }

    #[test]
    fn domains() {
        assert_eq!(full(domain, "example.com"), Some("example.com"));
        assert_eq!(full(domain, "a-b.c1"), Some("a-b.c1"));
        assert_eq!(full(domain, "пример.рф"), Some("пример.рф"));
        assert_eq!(full(domain, "-a.com"), None);
        assert_eq!(full(domain, "a-.com"), None);
        assert_eq!(full(domain, "a..com"), None);
        assert_eq!(full(domain, "a.com."), None);
        assert_eq!(full(domain, "a_b.com"), None);
        let long = format!("{}.com", "a".repeat(252));
        assert_eq!(full(domain, &long), None);
    }

    #[test]
    fn address_literals() {
        assert!(full(address_literal, "[192.0.2.1]").is_some());
        assert!(full(address_literal, "[IPv6:2001:db8::1]").is_some());
        assert!(full(address_literal, "[ipv6:::1]").is_some());
        assert!(full(address_literal, "[x-tag:anything]").is_some());
        assert!(full(address_literal, "[256.0.0.1]").is_none());
        assert!(full(address_literal, "[IPv6:zz]").is_none());
        assert!(full(address_literal, "[1.2.3]").is_none());
        assert!(full(address_literal, "[]").is_none());
    }

    #[test]
    fn mailboxes() {
        assert!(full(mailbox, "user@example.com").is_some());
        assert!(full(mailbox, "first.last+tag@example.com").is_some());
        assert!(full(mailbox, "\"john doe\"@example.com").is_some());
        assert!(full(mailbox, "\"a\\\"b\"@example.com").is_some());
        assert!(full(mailbox, "用户@例子.广告").is_some());
        assert!(full(mailbox, "user@[192.0.2.1]").is_some());
        assert!(full(mailbox, "user").is_none());
        assert!(full(mailbox, "a..b@example.com").is_none());
        assert!(full(mailbox, ".a@example.com").is_none());
        assert!(full(mailbox, "a b@example.com").is_none());
        assert!(full(mailbox, "\"unterminated@example.com").is_none());
        let long = format!("{}@example.com", "a".repeat(250));
        assert!(full(mailbox, &long).is_none());
    }

    #[test]
    fn paths_drop_source_routes() {
        assert_eq!(
            full(path, "<@hosta.int,@jkl.org:userc@d.bar.org>"),
            Some("userc@d.bar.org")
        );
        assert_eq!(full(path, "<a@b>"), Some("a@b"));
        assert_eq!(full(path, "<@a:>"), None);
        assert_eq!(full(path, "a@b"), None);
    }

    #[test]
    fn postmaster() {
        assert_eq!(full(rcpt_path, "<Postmaster>"), Some("Postmaster"));
        assert_eq!(full(rcpt_path, "<postmaster>"), Some("postmaster"));
        assert_eq!(
            full(rcpt_path, "<Postmaster@example.com>"),
            Some("Postmaster@example.com")
        );
        assert_eq!(full(rcpt_path, "<someone>"), None);
    }
}
