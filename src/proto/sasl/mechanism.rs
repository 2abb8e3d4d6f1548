//! The SASL mechanisms this server offers (RFC 4422 §3.1).

/// A SASL mechanism the codec understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `OAUTHBEARER` (RFC 7628 §3).
    OAuthBearer,
    /// `XOAUTH2`, Google's bearer-token format.
    XOAuth2,
    /// `PLAIN` (RFC 4616).
    Plain,
    /// `LOGIN`, two base64 lines (user name, then password).
    Login,
}

impl Mechanism {
    /// Every mechanism, in the order of preference to advertise.
    pub const ALL: [Mechanism; 4] = [
        Mechanism::OAuthBearer,
        Mechanism::XOAuth2,
        Mechanism::Plain,
        Mechanism::Login,
    ];

    /// Looks a mechanism up by name, in any case (RFC 4422 §3.1 names are
    /// upper case; RFC 7628 §4 tells servers to be case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// The registered name (RFC 4422 §3.1), as advertised in `AUTH=` and
    /// the EHLO `AUTH` line.
    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::OAuthBearer => "OAUTHBEARER",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Mechanism;

    #[test]
    fn names_round_trip() {
        for m in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(m.name()), Some(m));
            assert_eq!(Mechanism::from_name(&m.name().to_lowercase()), Some(m));
        }
        assert_eq!(Mechanism::from_name("XOAuth2"), Some(Mechanism::XOAuth2));
        assert_eq!(Mechanism::from_name("CRAM-MD5"), None);
        assert_eq!(Mechanism::from_name(""), None);
    }
}
