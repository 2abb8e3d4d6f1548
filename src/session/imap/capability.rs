//! The CAPABILITY list (RFC 9051 §7.2.2), which depends on TLS and login:
//! no authentication is offered before TLS (RFC 9051 §6.2.3, LOGINDISABLED).

/// The capabilities to announce.
pub fn list(tls: bool, authenticated: bool, max_message_size: u64) -> String {
    let mut caps = vec![
        "IMAP4rev1".to_string(),
        "LITERAL+".into(),
        "ID".into(),
        "ENABLE".into(),
        "IDLE".into(),
    ];
    if !tls {
        caps.push("STARTTLS".into());
        caps.push("LOGINDISABLED".into());
    } else if !authenticated {
        caps.push("SASL-IR".into());
        for mech in ["OAUTHBEARER", "XOAUTH2", "PLAIN"] {
            caps.push(format!("AUTH={mech}"));
        }
    }
    if authenticated {
        for c in [
            "NAMESPACE",
            "UIDPLUS",
            "UNSELECT",
            "CHILDREN",
            "SPECIAL-USE",
        ] {
            caps.push(c.into());
        }
        caps.push(format!("APPENDLIMIT={max_message_size}"));
    }
    caps.join(" ")
}

#[cfg(test)]
mod tests {
    use super::list;

    #[test]
    fn no_auth_before_tls() {
        let caps = list(false, false, 1);
        assert!(caps.contains("LOGINDISABLED") && caps.contains("STARTTLS"));
        assert!(!caps.contains("AUTH="));
        let caps = list(true, false, 1);
        assert!(caps.contains("AUTH=OAUTHBEARER") && caps.contains("SASL-IR"));
        assert!(!caps.contains("LOGINDISABLED") && !caps.contains("STARTTLS"));
    }
}
