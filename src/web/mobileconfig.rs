//! An Apple configuration profile (`.mobileconfig`, an XML property list)
//! that sets up Mail on iPhone, iPad and Mac with an IMAP account and SMTP
//! submission, signed in with an app password: Apple Mail signs in with
//! OAuth only at Google and Microsoft. Unsigned: the device shows it as
//! "not verified" and asks before installing. Pure.
//!
//! Keys from Apple's "Mail" payload (`com.apple.mail.managed`) of the
//! Configuration Profile Reference.

use crate::proto::markup::escape;
use crate::web::autoconfig::Endpoint;

/// What goes into a profile.
pub struct Profile<'a> {
    /// The account's address, also the user name.
    pub address: &'a str,
    /// The app password.
    pub password: &'a str,
    /// The incoming (IMAP) server.
    pub imap: &'a Endpoint,
    /// The outgoing (SMTP submission) server.
    pub smtp: &'a Endpoint,
    /// Reverse-DNS identifier root, from the server's host name.
    pub hostname: &'a str,
    /// Two random UUIDs: the profile's and the payload's.
    pub uuids: [String; 2],
}

/// A random (version 4, RFC 9562 §5.4) UUID in its text form.
pub fn random_uuid() -> String {
    let mut b = [0u8; 16];
    // The system RNG failing leaves zeros: the UUID only has to differ
    // from other profiles on the device, which the app password's id does.
    let _ = aws_lc_rs::rand::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02X}")).collect();
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn string(key: &str, value: &str) -> String {
    format!("<key>{key}</key><string>{}</string>\n", escape(value))
}

fn integer(key: &str, value: u16) -> String {
    format!("<key>{key}</key><integer>{value}</integer>\n")
}

fn boolean(key: &str, value: bool) -> String {
    format!("<key>{key}</key><{}/>\n", if value { "true" } else { "false" })
}

/// The profile document.
pub fn profile(p: &Profile<'_>) -> String {
    let id_root: String = p.hostname.split('.').rev().collect::<Vec<_>>().join(".");
    let mail = [
        string("EmailAccountDescription", &format!("{} ({})", p.address, p.hostname)),
        string("EmailAccountName", p.address),
        string("EmailAccountType", "EmailTypeIMAP"),
        string("EmailAddress", p.address),
        string("IncomingMailServerAuthentication", "EmailAuthPassword"),
        string("IncomingMailServerHostName", &p.imap.hostname),
        integer("IncomingMailServerPortNumber", p.imap.port),
        // Mail uses TLS from the first byte on 993 and STARTTLS on 143 when set.
        boolean("IncomingMailServerUseSSL", true),
        string("IncomingMailServerUsername", p.address),
        string("IncomingPassword", p.password),
        string("OutgoingMailServerAuthentication", "EmailAuthPassword"),
        string("OutgoingMailServerHostName", &p.smtp.hostname),
        integer("OutgoingMailServerPortNumber", p.smtp.port),
        boolean("OutgoingMailServerUseSSL", true),
        string("OutgoingMailServerUsername", p.address),
        boolean("OutgoingPasswordSameAsIncomingPassword", true),
        string("PayloadDisplayName", &format!("Mail: {}", p.address)),
        string("PayloadIdentifier", &format!("{id_root}.tokenmail.mail.{}", p.uuids[1])),
        string("PayloadType", "com.apple.mail.managed"),
        string("PayloadUUID", &p.uuids[1]),
        integer("PayloadVersion", 1),
        boolean("PreventMove", false),
        boolean("SMIMEEnabled", false),
    ]
    .concat();
    let outer = [
        string("PayloadDescription", &format!("Mail for {}", p.address)),
        string("PayloadDisplayName", &format!("{} mail", p.hostname)),
        string("PayloadIdentifier", &format!("{id_root}.tokenmail.{}", p.uuids[0])),
        boolean("PayloadRemovalDisallowed", false),
        string("PayloadType", "Configuration"),
        string("PayloadUUID", &p.uuids[0]),
        integer("PayloadVersion", 1),
    ]
    .concat();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <plist version=\"1.0\"><dict>\n<key>PayloadContent</key><array><dict>\n{mail}</dict></array>\n{outer}</dict></plist>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_carries_the_servers_and_password() {
        let imap = Endpoint { protocol: "imap", hostname: "mail.example.test".into(), port: 993, implicit_tls: true };
        let smtp = Endpoint { protocol: "smtp", hostname: "mail.example.test".into(), port: 465, implicit_tls: true };
        let u = random_uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(u, random_uuid());
        let doc = profile(&Profile {
            address: "alice@example.test",
            password: "abcd efgh",
            imap: &imap,
            smtp: &smtp,
            hostname: "mail.example.test",
            uuids: [u.clone(), random_uuid()],
        });
        assert!(doc.contains("<key>IncomingPassword</key><string>abcd efgh</string>"));
        assert!(doc.contains("<key>OutgoingMailServerPortNumber</key><integer>465</integer>"));
        assert!(doc.contains("test.example.mail.tokenmail."));
        assert!(doc.contains(&format!("<key>PayloadUUID</key><string>{u}</string>")));
    }
}
