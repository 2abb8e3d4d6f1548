//! Modified UTF-7 mailbox names (RFC 3501 §5.1.3, RFC 9051 §5.1.3).
//!
//! Printable US-ASCII other than `&` stands for itself; `&-` is `&`; any
//! other run of characters is `&`, the modified BASE64 (`,` instead of
//! `/`, no padding) of its UTF-16BE form, and `-`. Mailboxes are stored in
//! UTF-8; a client that has not enabled UTF8=ACCEPT (RFC 6855) sees and
//! sends names in this form.

/// The modified BASE64 alphabet (RFC 3501 §5.1.3: `,` replaces `/`).
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Why a name is not valid modified UTF-7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidMutf7;

/// Encodes a UTF-8 name as modified UTF-7.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut out, &mut pending);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut out, &mut pending);
    out
}

fn flush(out: &mut String, units: &mut Vec<u16>) {
    if units.is_empty() {
        return;
    }
    out.push('&');
    let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_be_bytes()).collect();
    for chunk in bytes.chunks(3) {
        let n = chunk.len();
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=n {
            out.push(char::from(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out.push('-');
    units.clear();
}

/// Decodes a modified UTF-7 name, strictly: a shift sequence must end in
/// `-`, must not encode printable ASCII, must use whole UTF-16 units with
/// zero padding bits, and surrogates must pair.
pub fn decode(name: &str) -> Result<String, InvalidMutf7> {
    let bytes = name.as_bytes();
    let mut out = String::with_capacity(name.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(0x20..=0x7e).contains(&b) {
            return Err(InvalidMutf7);
        }
        if b != b'&' {
            out.push(char::from(b));
            i += 1;
            continue;
        }
        let end = bytes[i + 1..]
            .iter()
            .position(|&c| c == b'-')
            .map(|p| i + 1 + p)
            .ok_or(InvalidMutf7)?;
        let run = &bytes[i + 1..end];
        if run.is_empty() {
            out.push('&');
        } else {
            decode_run(run, &mut out)?;
        }
        i = end + 1;
    }
    Ok(out)
}

fn decode_run(run: &[u8], out: &mut String) -> Result<(), InvalidMutf7> {
    let mut bits: u32 = 0;
    let mut nbits = 0;
    let mut units = Vec::with_capacity(run.len() * 6 / 16);
    for &c in run {
        let v = ALPHABET.iter().position(|&a| a == c).ok_or(InvalidMutf7)? as u32;
        bits = (bits << 6) | v;
        nbits += 6;
        if nbits >= 16 {
            nbits -= 16;
            units.push((bits >> nbits) as u16);
            bits &= (1 << nbits) - 1;
        }
    }
    // Leftover bits must be padding: fewer than 6, all zero.
    if nbits >= 6 || bits != 0 || units.is_empty() {
        return Err(InvalidMutf7);
    }
    for c in char::decode_utf16(units) {
        let c = c.map_err(|_| InvalidMutf7)?;
        // Printable ASCII must not be encoded (RFC 3501 §5.1.3).
        if (' '..='~').contains(&c) {
            return Err(InvalidMutf7);
        }
        out.push(c);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3501_examples() {
        // RFC 3501 §5.1.3: "~peter/mail/台北/日本語".
        let name = "~peter/mail/\u{53f0}\u{5317}/\u{65e5}\u{672c}\u{8a9e}";
        let wire = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
        assert_eq!(encode(name), wire);
        assert_eq!(decode(wire).unwrap(), name);
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(decode("Entw&APw-rfe").unwrap(), "Entwürfe");
        assert_eq!(encode("a&b"), "a&-b");
        assert_eq!(decode("a&-b").unwrap(), "a&b");
        assert_eq!(decode("p&AOQA5A-").unwrap(), "pää");
        assert_eq!(encode("😀"), "&2D3eAA-");
        assert_eq!(decode("&2D3eAA-").unwrap(), "😀");
    }

    #[test]
    fn rejects_invalid() {
        for bad in [
            "&",
            "a&b",
            "&AGE-",     // encodes printable "a"
            "&U,BTF2-",  // non-zero padding bits
            "&2D0-",     // lone surrogate
            "&Jjo!-",    // not base64
            "caf\u{e9}", // 8-bit
            "&AOQ-&AOQ", // unterminated
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn round_trips() {
        for s in [
            "",
            "INBOX",
            "a/b",
            "Черновики",
            "x&y&z",
            "日本語 and ascii",
            "ü&ü",
        ] {
            assert_eq!(decode(&encode(s)).unwrap(), s);
        }
    }
}
