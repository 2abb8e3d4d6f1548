//! Bytes that must never reach a log: passwords, access tokens, SASL responses.

use std::fmt;

/// A credential or SASL payload. `Debug` prints only its length, so a
/// `tracing` field or a panic message can never leak it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps bytes that are secret from now on.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// The secret bytes; call only where they are used, never to log them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Consumes the wrapper and returns the secret bytes.
    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_hides_the_bytes() {
        let s = Secret::new(b"eyJhbGciOi.secret".to_vec());
        let shown = format!("{s:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert_eq!(shown, "Secret(<17 bytes>)");
    }
}
