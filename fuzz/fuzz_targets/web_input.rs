//! The `web_input` fuzz target: the check itself is `fuzz/checks/web_input.rs`,
//! which `tests/fuzz_regressions.rs` also runs on every committed input.
#![no_main]

#[path = "../checks/web_input.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::check(data));
