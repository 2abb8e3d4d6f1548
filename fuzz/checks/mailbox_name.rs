//! Mailbox names in modified UTF-7 (RFC 3501 §5.1.3): decoding arbitrary
//! text never panics, and whatever decodes re-encodes to a name that decodes
//! the same; encoding any string decodes back to it.

use tokenmail::proto::imap::mutf7;

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(name) = mutf7::decode(&text) {
        let again = mutf7::encode(&name);
        assert_eq!(mutf7::decode(&again).as_deref(), Ok(name.as_str()));
    }
    assert_eq!(
        mutf7::decode(&mutf7::encode(&text)).as_deref(),
        Ok(text.as_ref())
    );
}
