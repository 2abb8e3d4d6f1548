//! Fuzzes the configuration loader on arbitrary TOML text: it either
//! returns a config or one error naming a key, and never panics.

use tokenmail::config::Config;

/// One input, as the fuzzer and the regression replay give it.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(text, std::path::Path::new("fuzz.toml")) {
        Ok(config) => assert!(!config.domains.is_empty()),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
