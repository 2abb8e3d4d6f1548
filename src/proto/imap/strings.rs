//! Strings: quoted, literal, literal8, astring, nstring, and the text
//! forms built on them (mailbox names, LIST patterns) (RFC 9051 §4.3, §9).

use nom::bytes::complete::{tag, take_while1};

use super::primitives::{
    PError, PResult, crlf, fail, is_astring_char, is_list_char, mismatch, nil, number64,
};

/// `quoted = DQUOTE *QUOTED-CHAR DQUOTE`
///
/// `QUOTED-CHAR = <any TEXT-CHAR except quoted-specials> / "\" quoted-specials / UTF8-2 / UTF8-3 / UTF8-4`
/// (RFC 9051 §9). 8-bit bytes are kept; callers needing text check UTF-8.
pub(crate) fn quoted(i: &[u8]) -> PResult<'_, Vec<u8>> {
    let (mut rest, _) = tag("\"")(i)?;
    let mut out = Vec::new();
    loop {
        match rest {
            [b'"', tail @ ..] => return Ok((tail, out)),
            [b'\\', c @ (b'"' | b'\\'), tail @ ..] => {
                out.push(*c);
                rest = tail;
            }
            [b'\\', ..] => return fail(rest, "Invalid escape in quoted string"),
            [0 | b'\r' | b'\n', ..] | [] => return fail(rest, "Unterminated quoted string"),
            [c, tail @ ..] => {
                out.push(*c);
                rest = tail;
            }
        }
    }
}

/// The `{n}` or `{n+}` header of a literal, after its opening brace was
/// matched; returns the length and consumes the CRLF.
fn literal_header(i: &[u8], allow_plus: bool) -> PResult<'_, u64> {
    let (i, n) = match number64(i) {
        Ok(v) => v,
        Err(nom::Err::Error(_)) => return fail(i, "Invalid literal length"),
        Err(e) => return Err(e),
    };
    let i = if allow_plus {
        i.strip_prefix(b"+").unwrap_or(i)
    } else {
        i
    };
    let Some(i) = i.strip_prefix(b"}") else {
        return fail(i, "Invalid literal");
    };
    match crlf(i) {
        Ok((i, ())) => Ok((i, n)),
        Err(_) => fail(i, "Literal must be followed by CRLF"),
    }
}

/// Takes the `n` literal bytes that follow a literal header.
fn literal_bytes(i: &[u8], n: u64) -> PResult<'_, &[u8]> {
    match usize::try_from(n) {
        Ok(n) if n <= i.len() => Ok((&i[n..], &i[..n])),
        _ => fail(i, "Literal is longer than the command"),
    }
}

/// `literal = "{" number64 ["+"] "}" CRLF *CHAR8` (RFC 9051 §9; `+` is
/// LITERAL+, RFC 7888). NUL bytes are not rejected here.
pub(crate) fn literal(i: &[u8]) -> PResult<'_, &[u8]> {
    let (i, _) = tag("{")(i)?;
    let (i, n) = literal_header(i, true)?;
    literal_bytes(i, n)
}

/// `literal8 = "~{" number64 ["+"] "}" CRLF *OCTET` (RFC 9051 §9, RFC 3516 §4.2,
/// `+` per RFC 4466 §2.1).
pub(crate) fn literal8(i: &[u8]) -> PResult<'_, &[u8]> {
    let (i, _) = tag("~{")(i)?;
    let (i, n) = literal_header(i, true)?;
    literal_bytes(i, n)
}

/// `string = quoted / literal` (RFC 9051 §9).
pub(crate) fn string(i: &[u8]) -> PResult<'_, Vec<u8>> {
    match i.first() {
        Some(b'"') => quoted(i),
        Some(b'{') => literal(i).map(|(rest, s)| (rest, s.to_vec())),
        _ => mismatch(i),
    }
}

/// `astring = 1*ASTRING-CHAR / string` (RFC 9051 §9).
pub(crate) fn astring(i: &[u8]) -> PResult<'_, Vec<u8>> {
    match i.first() {
        Some(b'"' | b'{') => string(i),
        _ => take_while1(is_astring_char)(i).map(|(rest, s)| (rest, s.to_vec())),
    }
}

/// `nstring = string / nil` (RFC 9051 §9).
pub(crate) fn nstring(i: &[u8]) -> PResult<'_, Option<Vec<u8>>> {
    match i.first() {
        Some(b'"' | b'{') => string(i).map(|(rest, s)| (rest, Some(s))),
        _ => nil(i).map(|(rest, ())| (rest, None)),
    }
}

/// Text from a string that must be UTF-8 (RFC 9051 §9 allows only UTF-8
/// beyond ASCII in quoted strings; literals are held to the same rule).
pub(crate) fn utf8<'a>(at: &'a [u8], bytes: Vec<u8>) -> Result<String, nom::Err<PError<'a>>> {
    String::from_utf8(bytes).map_err(|_| {
        nom::Err::Failure(PError {
            input: at,
            message: Some("Invalid UTF-8 in string"),
        })
    })
}

/// An astring that must be UTF-8 text.
pub(crate) fn astring_utf8(i: &[u8]) -> PResult<'_, String> {
    let (rest, bytes) = astring(i)?;
    Ok((rest, utf8(i, bytes)?))
}

/// An astring as text, invalid UTF-8 replaced (search text, ID values).
pub(crate) fn astring_lossy(i: &[u8]) -> PResult<'_, String> {
    let (rest, bytes) = astring(i)?;
    Ok((rest, String::from_utf8_lossy(&bytes).into_owned()))
}

/// `mailbox = "INBOX" / astring` ; INBOX is case-insensitive (RFC 9051 §9,
/// §5.1). Modified UTF-7 names are left as sent.
pub(crate) fn mailbox(i: &[u8]) -> PResult<'_, String> {
    let (rest, name) = astring_utf8(i)?;
    if name.eq_ignore_ascii_case("INBOX") {
        return Ok((rest, "INBOX".to_owned()));
    }
    Ok((rest, name))
}

/// `list-mailbox = 1*list-char / string` (RFC 9051 §9).
pub(crate) fn list_mailbox(i: &[u8]) -> PResult<'_, String> {
    let (rest, bytes) = match i.first() {
        Some(b'"' | b'{') => string(i)?,
        _ => take_while1(is_list_char)(i).map(|(rest, s)| (rest, s.to_vec()))?,
    };
    Ok((rest, utf8(i, bytes)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn astring_forms() {
        assert_eq!(
            astring(b"foo bar").unwrap(),
            (&b" bar"[..], b"foo".to_vec())
        );
        assert_eq!(astring(b"a]b ").unwrap().1, b"a]b".to_vec());
        assert_eq!(
            astring(b"\"a \\\"b\\\\\"x").unwrap(),
            (&b"x"[..], b"a \"b\\".to_vec())
        );
        assert_eq!(
            astring(b"{3}\r\nabcd").unwrap(),
            (&b"d"[..], b"abc".to_vec())
        );
        assert_eq!(astring(b"{3+}\nabc").unwrap().1, b"abc".to_vec());
        assert_eq!(astring(b"{0}\r\n").unwrap().1, b"".to_vec());
        assert!(astring(b"(x").is_err());
        assert!(astring(b"").is_err());
        assert!(astring(b"{5}\r\nabc").is_err());
        assert!(astring(b"{99999999999999999999}\r\n").is_err());
        assert!(astring(b"\"abc").is_err());
        assert!(astring(b"\"a\\b\"").is_err());
        assert!(astring(b"\"a\rb\"").is_err());
    }

    #[test]
    fn mailbox_inbox_normalized() {
        assert_eq!(mailbox(b"inBox").unwrap().1, "INBOX");
        assert_eq!(mailbox(b"\"INBOX\"").unwrap().1, "INBOX");
        assert_eq!(mailbox(b"inbox.x").unwrap().1, "inbox.x");
        assert_eq!(mailbox(b"&AOk-t&AOk-").unwrap().1, "&AOk-t&AOk-");
        assert!(mailbox(b"{2}\r\n\xc3\x28").is_err());
    }
}
