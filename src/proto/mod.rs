//! Pure protocol codecs: bytes in, typed values out, and back. No tokio,
//! no storage, no I/O, so they can be fuzzed in isolation.

pub mod imap;
pub mod markup;
pub mod sasl;
pub mod secret;
pub mod smtp;
pub mod urlencoded;
