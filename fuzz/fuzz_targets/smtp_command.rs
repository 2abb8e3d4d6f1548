//! The `smtp_command` fuzz target: the check itself is `fuzz/checks/smtp_command.rs`, which
//! `tests/fuzz_regressions.rs` also runs on every committed input.
#![no_main]

#[path = "../checks/smtp_command.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
