//! Fuzzes the configuration loader on arbitrary TOML text: it either
//! returns a config or one error naming a key, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenmail::config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, std::path::Path::new("fuzz.toml")) {
        Ok(config) => assert!(!config.domains.is_empty()),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
