//! The COMPRESS=DEFLATE layer (RFC 4978): arbitrary compressed input from a
//! client is inflated in bounded steps without panicking, and anything the
//! server compresses inflates back to the same bytes.

use tokenmail::server::deflate::{Deflate, MAX_INFLATE};

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    let mut peer = Deflate::new();
    peer.input().extend_from_slice(data);
    let mut out = Vec::new();
    for _ in 0..64 {
        match peer.inflate(&mut out) {
            Ok(n) if n > 0 => assert!(n <= MAX_INFLATE),
            _ => break,
        }
        out.clear();
    }

    let mut server = Deflate::new();
    let mut client = Deflate::new();
    let wire = server.deflate(data);
    client.input().extend_from_slice(&wire);
    let mut got = Vec::new();
    while client.inflate(&mut got).is_ok_and(|n| n > 0) {}
    assert_eq!(got, data);
}
