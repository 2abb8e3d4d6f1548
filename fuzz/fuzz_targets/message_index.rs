//! The `message_index` fuzz target: the check itself is `fuzz/checks/message_index.rs`, which
//! `tests/fuzz_regressions.rs` also runs on every committed input.
#![no_main]

#[path = "../checks/message_index.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
