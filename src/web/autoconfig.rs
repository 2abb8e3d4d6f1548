//! What mail programs are told about the servers: Mozilla autoconfig
//! (clientConfig 1.1, with the `<oAuth2>` element Thunderbird reads) and
//! Microsoft Outlook autodiscover (POX, the 2006 response schema). Pure:
//! the settings go in, the document comes out.

use crate::config::Config;
use crate::proto::markup::escape as xml_escape;

/// One server a mail program connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `imap`, `smtp` or `pop3`.
    pub protocol: &'static str,
    /// The host name people use.
    pub hostname: String,
    /// The port.
    pub port: u16,
    /// TLS from the first byte (`SSL`) or after STARTTLS.
    pub implicit_tls: bool,
}

/// The OAuth settings a mail program needs to sign in with the IdP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// The IdP's issuer URL.
    pub issuer: String,
    /// The scopes to ask for, space-separated.
    pub scope: String,
    /// Its authorization endpoint.
    pub auth_url: String,
    /// Its token endpoint.
    pub token_url: String,
    /// The client id mail programs present.
    pub client_id: String,
}

/// The servers of `config`, implicit TLS first within each protocol.
pub fn endpoints(config: &Config) -> Vec<Endpoint> {
    let mut out = Vec::new();
    let mut add = |protocol: &'static str, tls: &[std::net::SocketAddr], plain: &[std::net::SocketAddr]| {
        for (list, implicit_tls) in [(tls, true), (plain, false)] {
            if let Some(a) = list.first() {
                out.push(Endpoint {
                    protocol,
                    hostname: config.hostname.clone(),
                    port: a.port(),
                    implicit_tls,
                });
            }
        }
    };
    add("imap", &config.imap.listen_tls, &config.imap.listen);
    add("smtp", &config.submission.listen_tls, &config.submission.listen);
    out
}

/// The host of a URL (`https://id.example.test:8443/realms/x` ->
/// `id.example.test`): Thunderbird's autoconfig reader takes the `issuer`
/// element as a host name.
pub fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = host.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    host.split(':').next().unwrap_or(host)
}

/// Mozilla autoconfig for `email` in `domain` (clientConfig 1.1). OAuth2 is
/// listed first when `oauth` is known, then `password-cleartext` (app
/// passwords; over TLS only, as every listed server requires).
pub fn mozilla(domain: &str, email: Option<&str>, endpoints: &[Endpoint], oauth: Option<&OAuthClient>) -> String {
    let e = xml_escape;
    let username = email.map_or_else(|| "%EMAILADDRESS%".to_owned(), e);
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n");
    x += &format!("  <emailProvider id=\"{}\">\n", e(domain));
    x += &format!("    <domain>{}</domain>\n", e(domain));
    x += &format!("    <displayName>{} mail</displayName>\n", e(domain));
    x += &format!("    <displayShortName>{}</displayShortName>\n", e(domain));
    for ep in endpoints {
        let (open, close) = if ep.protocol == "smtp" {
            ("outgoingServer", "outgoingServer")
        } else {
            ("incomingServer", "incomingServer")
        };
        x += &format!("    <{open} type=\"{}\">\n", ep.protocol);
        x += &format!("      <hostname>{}</hostname>\n", e(&ep.hostname));
        x += &format!("      <port>{}</port>\n", ep.port);
        x += &format!(
            "      <socketType>{}</socketType>\n",
            if ep.implicit_tls { "SSL" } else { "STARTTLS" }
        );
        x += &format!("      <username>{username}</username>\n");
        if oauth.is_some() {
            x += "      <authentication>OAuth2</authentication>\n";
        }
        x += "      <authentication>password-cleartext</authentication>\n";
        x += &format!("    </{close}>\n");
    }
    x += "  </emailProvider>\n";
    if let Some(o) = oauth {
        x += "  <oAuth2>\n";
        x += &format!("    <issuer>{}</issuer>\n", e(url_host(&o.issuer)));
        x += &format!("    <scope>{}</scope>\n", e(&o.scope));
        x += &format!("    <authURL>{}</authURL>\n", e(&o.auth_url));
        x += &format!("    <tokenURL>{}</tokenURL>\n", e(&o.token_url));
        x += &format!("    <clientID>{}</clientID>\n", e(&o.client_id));
        x += "  </oAuth2>\n";
    }
    x += "</clientConfig>\n";
    x
}

/// The `EMailAddress` of an Outlook autodiscover request (POX), if any.
pub fn autodiscover_address(body: &str) -> Option<String> {
    let start = body.find("<EMailAddress>")? + "<EMailAddress>".len();
    let len = body[start..].find("</EMailAddress>")?;
    let addr = body[start..start + len].trim();
    (!addr.is_empty() && addr.len() <= 320 && addr.contains('@')).then(|| addr.to_owned())
}

/// Outlook autodiscover response (POX; the 2006 and 2006a schemas).
pub fn outlook(email: &str, endpoints: &[Endpoint]) -> String {
    let e = xml_escape;
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n\
         <Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n\
         \x20 <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n\
         \x20   <Account>\n\
         \x20     <AccountType>email</AccountType>\n\
         \x20     <Action>settings</Action>\n",
    );
    for ep in endpoints {
        x += "      <Protocol>\n";
        x += &format!("        <Type>{}</Type>\n", ep.protocol.to_ascii_uppercase());
        x += &format!("        <Server>{}</Server>\n", e(&ep.hostname));
        x += &format!("        <Port>{}</Port>\n", ep.port);
        x += "        <DomainRequired>off</DomainRequired>\n";
        x += &format!("        <LoginName>{}</LoginName>\n", e(email));
        x += "        <SPA>off</SPA>\n";
        if ep.implicit_tls {
            x += "        <SSL>on</SSL>\n";
        } else {
            x += "        <SSL>on</SSL>\n        <Encryption>TLS</Encryption>\n";
        }
        x += "        <AuthRequired>on</AuthRequired>\n";
        x += "      </Protocol>\n";
    }
    x += "    </Account>\n  </Response>\n</Autodiscover>\n";
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eps() -> Vec<Endpoint> {
        vec![
            Endpoint { protocol: "imap", hostname: "mail.example.test".into(), port: 993, implicit_tls: true },
            Endpoint { protocol: "smtp", hostname: "mail.example.test".into(), port: 587, implicit_tls: false },
        ]
    }

    #[test]
    fn mozilla_lists_oauth2_first_and_the_oauth_element() {
        let o = OAuthClient {
            issuer: "https://id.example.test:8443/realms/mail".into(),
            scope: "openid mail.read".into(),
            auth_url: "https://id.example.test/auth?a=1&b=2".into(),
            token_url: "https://id.example.test/token".into(),
            client_id: "thunderbird".into(),
        };
        let x = mozilla("example.test", Some("a@example.test"), &eps(), Some(&o));
        let imap = &x[x.find("<incomingServer").unwrap()..x.find("</incomingServer>").unwrap()];
        assert!(imap.contains("<port>993</port>") && imap.contains("<socketType>SSL</socketType>"));
        let oauth_at = imap.find("OAuth2").unwrap();
        assert!(oauth_at < imap.find("password-cleartext").unwrap());
        assert!(x.contains("<outgoingServer type=\"smtp\">") && x.contains("STARTTLS"));
        assert!(x.contains("<issuer>id.example.test</issuer>"));
        assert!(x.contains("<authURL>https://id.example.test/auth?a=1&amp;b=2</authURL>"));
        assert!(x.contains("<clientID>thunderbird</clientID>"));
        let none = mozilla("example.test", None, &eps(), None);
        assert!(!none.contains("OAuth2") && none.contains("%EMAILADDRESS%"));
    }

    #[test]
    fn escaping_keeps_the_document_well_formed() {
        let x = mozilla("ex<ample>.test", Some("a\"&'@x"), &eps(), None);
        assert!(!x.contains("ex<ample"));
        assert!(x.contains("a&quot;&amp;&apos;@x"));
    }

    #[test]
    fn autodiscover_reads_the_address_and_answers_pox() {
        let req = "<?xml version=\"1.0\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request><EMailAddress> a@example.test </EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>";
        assert_eq!(autodiscover_address(req).as_deref(), Some("a@example.test"));
        assert_eq!(autodiscover_address("<EMailAddress></EMailAddress>"), None);
        let x = outlook("a@example.test", &eps());
        assert!(x.contains("<Type>IMAP</Type>") && x.contains("<Type>SMTP</Type>"));
        assert!(x.contains("<Encryption>TLS</Encryption>"));
    }

    #[test]
    fn url_host_takes_the_host() {
        assert_eq!(url_host("https://id.example.test:8443/realms/x"), "id.example.test");
        assert_eq!(url_host("http://127.0.0.1:8080/dev"), "127.0.0.1");
        assert_eq!(url_host("https://[::1]:9/x"), "::1");
    }
}
