//! The lexical rules every command shares: atoms, strings, literals,
//! numbers, flags and mailbox names (RFC 9051 §4 and §9).
//!
//! All parsers take the complete command (literal bytes inline) and use
//! nom's `complete` flavour: running out of input is a syntax error here,
//! because the framer (`super::framing`) only hands over whole commands.

use nom::IResult;
use nom::bytes::complete::{tag, tag_no_case, take_while1};
use nom::error::{ErrorKind, ParseError};

use super::items::Flag;

/// The parsers' error: where it happened and, when a rule knows better than
/// "syntax error", a short message that is safe to send to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PError<'a> {
    /// The input remaining where the rule failed.
    pub input: &'a [u8],
    /// A client-safe explanation; `None` for a plain syntax error.
    pub message: Option<&'static str>,
}

impl<'a> ParseError<&'a [u8]> for PError<'a> {
    fn from_error_kind(input: &'a [u8], _kind: ErrorKind) -> Self {
        PError {
            input,
            message: None,
        }
    }

    fn append(_input: &'a [u8], _kind: ErrorKind, other: Self) -> Self {
        other
    }

    fn or(self, other: Self) -> Self {
        // Keep whichever branch had something specific to say.
        if other.message.is_none() && self.message.is_some() {
            self
        } else {
            other
        }
    }
}

/// The result of every parser in this module tree.
pub(crate) type PResult<'a, T> = IResult<&'a [u8], T, PError<'a>>;

/// A hard error (no backtracking) with a client-safe message.
pub(crate) fn fail<'a, T>(input: &'a [u8], message: &'static str) -> PResult<'a, T> {
    Err(nom::Err::Failure(PError {
        input,
        message: Some(message),
    }))
}

/// A plain, recoverable syntax error.
pub(crate) fn mismatch<T>(input: &[u8]) -> PResult<'_, T> {
    Err(nom::Err::Error(PError {
        input,
        message: None,
    }))
}

/// `ATOM-CHAR = <any CHAR except atom-specials>`
///
/// `atom-specials = "(" / ")" / "{" / SP / CTL / list-wildcards / quoted-specials / resp-specials`
/// (RFC 9051 §9).
pub(crate) fn is_atom_char(c: u8) -> bool {
    matches!(c, 0x21..=0x7e) && !matches!(c, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b']')
}

/// `ASTRING-CHAR = ATOM-CHAR / resp-specials` (RFC 9051 §9).
pub(crate) fn is_astring_char(c: u8) -> bool {
    is_atom_char(c) || c == b']'
}

/// `tag = 1*<any ASTRING-CHAR except "+">` (RFC 9051 §9).
pub(crate) fn is_tag_char(c: u8) -> bool {
    is_astring_char(c) && c != b'+'
}

/// `list-char = ATOM-CHAR / list-wildcards / resp-specials` (RFC 9051 §9).
pub(crate) fn is_list_char(c: u8) -> bool {
    is_atom_char(c) || matches!(c, b'%' | b'*' | b']')
}

/// `SP = %x20`
pub(crate) fn sp(i: &[u8]) -> PResult<'_, ()> {
    let (i, _) = tag(" ")(i)?;
    Ok((i, ()))
}

/// `CRLF = CR LF`; a bare LF is accepted too (RFC 9051 §2.2 asks for CRLF,
/// but some clients and test tools send LF alone).
pub(crate) fn crlf(i: &[u8]) -> PResult<'_, ()> {
    let i = i.strip_prefix(b"\r").unwrap_or(i);
    let (i, _) = tag("\n")(i)?;
    Ok((i, ()))
}

/// `atom = 1*ATOM-CHAR` (RFC 9051 §9).
pub(crate) fn atom(i: &[u8]) -> PResult<'_, &[u8]> {
    take_while1(is_atom_char)(i)
}

/// An atom, upper-cased: for case-insensitive names (capabilities, options).
/// Atoms are 7-bit, so the result is always valid UTF-8.
pub(crate) fn atom_upper(i: &[u8]) -> PResult<'_, String> {
    let (rest, a) = atom(i)?;
    Ok((rest, ascii_string(a).to_ascii_uppercase()))
}

/// Converts bytes known to be ASCII (atoms, tags) to a `String`.
pub(crate) fn ascii_string(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// `nil = "NIL"` (RFC 9051 §9), not followed by more atom characters.
pub(crate) fn nil(i: &[u8]) -> PResult<'_, ()> {
    let (rest, _) = tag_no_case("NIL")(i)?;
    if rest.first().is_some_and(|&c| is_astring_char(c)) {
        return mismatch(i);
    }
    Ok((rest, ()))
}

/// Decimal digits to a number no larger than `max`; `None` on overflow.
fn digits_value(digits: &[u8], max: u64) -> Option<u64> {
    let mut n: u64 = 0;
    for &d in digits {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    (n <= max).then_some(n)
}

/// `number = 1*DIGIT` ; Unsigned 32-bit integer (RFC 9051 §9).
pub(crate) fn number(i: &[u8]) -> PResult<'_, u32> {
    let (rest, digits) = take_while1(|c: u8| c.is_ascii_digit())(i)?;
    match digits_value(digits, u64::from(u32::MAX)) {
        Some(n) => Ok((rest, n as u32)),
        None => fail(i, "Number out of range"),
    }
}

/// `nz-number = digit-nz *DIGIT` ; Non-zero unsigned 32-bit integer (RFC 9051 §9).
pub(crate) fn nz_number(i: &[u8]) -> PResult<'_, u32> {
    let (rest, n) = number(i)?;
    if n == 0 {
        return fail(i, "Zero is not allowed here");
    }
    Ok((rest, n))
}

/// `number64 = 1*DIGIT` ; Unsigned 63-bit integer (RFC 9051 §9). Also used
/// for `mod-sequence-value` and `mod-sequence-valzer` (RFC 7162 §7).
pub(crate) fn number64(i: &[u8]) -> PResult<'_, u64> {
    let (rest, digits) = take_while1(|c: u8| c.is_ascii_digit())(i)?;
    match digits_value(digits, i64::MAX as u64) {
        Some(n) => Ok((rest, n)),
        None => fail(i, "Number out of range"),
    }
}

/// `flag = "\Answered" / "\Flagged" / "\Deleted" / "\Seen" / "\Draft" / flag-keyword / flag-extension`
///
/// `flag-extension = "\" atom`, `flag-keyword = ... / atom` (RFC 9051 §9).
/// `\Recent` is parsed too (RFC 3501 `flag-fetch`) so the session can refuse it.
pub(crate) fn flag(i: &[u8]) -> PResult<'_, Flag> {
    if let Some(after) = i.strip_prefix(b"\\") {
        let (rest, name) = atom(after)?;
        let name = ascii_string(name);
        let f = match name.to_ascii_uppercase().as_str() {
            "SEEN" => Flag::Seen,
            "ANSWERED" => Flag::Answered,
            "FLAGGED" => Flag::Flagged,
            "DELETED" => Flag::Deleted,
            "DRAFT" => Flag::Draft,
            "RECENT" => Flag::Recent,
            _ => Flag::Extension(format!("\\{name}")),
        };
        return Ok((rest, f));
    }
    let (rest, name) = atom(i)?;
    Ok((rest, Flag::Keyword(ascii_string(name))))
}

/// `flag-list = "(" [flag *(SP flag)] ")"` (RFC 9051 §9).
pub(crate) fn flag_list(i: &[u8]) -> PResult<'_, Vec<Flag>> {
    paren_list(i, true, flag)
}

/// `"(" [item *(SP item)] ")"`: the parenthesized list shape used by many
/// rules; `allow_empty` for `[...]` forms, otherwise at least one item.
pub(crate) fn paren_list<'a, T>(
    i: &'a [u8],
    allow_empty: bool,
    mut item: impl FnMut(&'a [u8]) -> PResult<'a, T>,
) -> PResult<'a, Vec<T>> {
    let (mut i, _) = tag("(")(i)?;
    let mut items = Vec::new();
    if let Some(rest) = i.strip_prefix(b")") {
        return if allow_empty {
            Ok((rest, items))
        } else {
            fail(i, "Empty list")
        };
    }
    loop {
        let (rest, v) = item(i)?;
        items.push(v);
        match rest {
            [b')', tail @ ..] => return Ok((tail, items)),
            [b' ', tail @ ..] => i = tail,
            _ => return mismatch(rest),
        }
    }
}

/// Matches a case-insensitive keyword that must end at a non-atom byte
/// (so `ALL` does not match `ALLX`).
pub(crate) fn keyword<'a>(word: &'static str) -> impl Fn(&'a [u8]) -> PResult<'a, ()> {
    move |i| {
        let (rest, _) = tag_no_case(word)(i)?;
        if rest.first().is_some_and(|&c| is_astring_char(c)) {
            return mismatch(i);
        }
        Ok((rest, ()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(number(b"4294967295").unwrap().1, u32::MAX);
        assert!(number(b"4294967296").is_err());
        assert!(nz_number(b"0").is_err());
        assert_eq!(number64(b"9223372036854775807").unwrap().1, i64::MAX as u64);
        assert!(number64(b"9223372036854775808").is_err());
    }

    #[test]
    fn flags() {
        let (_, f) = flag_list(b"(\\seen $Forwarded \\X-Foo \\Recent)").unwrap();
        assert_eq!(
            f,
            vec![
                Flag::Seen,
                Flag::Keyword("$forwarded".into()),
                Flag::Extension("\\X-Foo".into()),
                Flag::Recent
            ]
        );
        assert_eq!(f[1].as_str(), "$Forwarded");
        assert_eq!(flag_list(b"()").unwrap().1, vec![]);
        assert!(flag_list(b"(\\Seen ").is_err());
        assert!(flag_list(b"(\\)").is_err());
    }
}
