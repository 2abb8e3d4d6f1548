//! The Thunderbird add-on (`GET /thunderbird/tokenmail-oauth.xpi`): a
//! WebExtension whose manifest registers the IdP as an OAuth provider
//! (the `oauth_provider` key, Thunderbird 140+), generated from
//! `[mail_clients]` and the IdP's discovery document, so Thunderbird signs
//! in to this server's IMAP and SMTP with the organization's IdP. Pure:
//! the settings in, the `.xpi` (a ZIP archive) out.

use serde_json::json;

use super::autoconfig::{OAuthClient, url_host};

/// Where Thunderbird catches the IdP's redirect: its own login window
/// intercepts it (register this redirect URI for the mail client at the
/// IdP). `http://localhost` is turned into https and fails.
pub const REDIRECTION_ENDPOINT: &str = "https://localhost";

/// The add-on's id: stable for one server, so a new download updates the
/// installed add-on instead of adding a second one.
pub fn addon_id(hostname: &str) -> String {
    format!("tokenmail-oauth@{hostname}")
}

/// The server names the add-on registers the IdP for: `hostname`, and the
/// addresses of loopback listeners (a trial on one machine). Thunderbird
/// looks a server's name up only while it contains a dot, trying its
/// parent domains in turn (`OAuth2Providers._getHostnameDetails`), so a
/// name like `localhost` never matches: on loopback, the account's server
/// must be `127.0.0.1`.
pub fn hostnames(config: &crate::config::Config) -> Vec<String> {
    let mut out = vec![config.hostname.clone()];
    let listeners = [&config.imap, &config.submission];
    for addr in listeners
        .iter()
        .flat_map(|l| l.listen.iter().chain(l.listen_tls.iter()))
    {
        let ip = addr.ip().to_string();
        if addr.ip().is_loopback() && !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

/// `manifest.json` for the mail servers at `hostnames`.
pub fn manifest(hostname: &str, hostnames: &[String], oauth: &OAuthClient) -> String {
    let doc = json!({
        "manifest_version": 2,
        "name": format!("Sign in to {hostname}"),
        "description": format!(
            "Lets Thunderbird sign in to the mail server {hostname} with {}.",
            url_host(&oauth.issuer)
        ),
        "version": "1.0",
        "browser_specific_settings": {
            "gecko": {"id": addon_id(hostname), "strict_min_version": "140.0"}
        },
        "oauth_provider": {
            "issuer": url_host(&oauth.issuer),
            "issuerIdentifier": oauth.issuer,
            "clientId": oauth.client_id,
            "authorizationEndpoint": oauth.auth_url,
            "tokenEndpoint": oauth.token_url,
            "redirectionEndpoint": REDIRECTION_ENDPOINT,
            "usePKCE": true,
            "useExternalBrowser": false,
            "hostnames": hostnames,
            "scopes": oauth.scope,
        }
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The `.xpi`: a ZIP archive (APPNOTE 6.3.6) of `manifest.json`.
pub fn xpi(hostname: &str, hostnames: &[String], oauth: &OAuthClient) -> Vec<u8> {
    zip_stored(&[("manifest.json", manifest(hostname, hostnames, oauth).as_bytes())])
}

/// A ZIP archive of `files`, stored without compression (APPNOTE 6.3.6
/// §4.3: local headers, central directory, end record). Files are small
/// and few; names are ASCII.
pub fn zip_stored(files: &[(&str, &[u8])]) -> Vec<u8> {
    // 1980-01-01 00:00 in MS-DOS date and time: a fixed time, so the same
    // config gives the same bytes.
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = (1 << 5) | 1;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let crc = crc.sum();
        let offset = out.len() as u32;
        let size = data.len() as u32;
        let name = name.as_bytes();
        // Local file header (§4.3.7).
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&20u16.to_le_bytes()); // version needed
        out.extend_from_slice(&0u16.to_le_bytes()); // flags
        out.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        out.extend_from_slice(&DOS_TIME.to_le_bytes());
        out.extend_from_slice(&DOS_DATE.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&size.to_le_bytes());
        out.extend_from_slice(&(name.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // extra length
        out.extend_from_slice(name);
        out.extend_from_slice(data);
        // Central directory header (§4.3.12).
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&20u16.to_le_bytes()); // made by
        central.extend_from_slice(&20u16.to_le_bytes()); // needed
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes());
        central.extend_from_slice(&DOS_TIME.to_le_bytes());
        central.extend_from_slice(&DOS_DATE.to_le_bytes());
        central.extend_from_slice(&crc.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&size.to_le_bytes());
        central.extend_from_slice(&(name.len() as u16).to_le_bytes());
        central.extend_from_slice(&0u16.to_le_bytes()); // extra
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let central_at = out.len() as u32;
    let central_len = central.len() as u32;
    out.extend_from_slice(&central);
    // End of central directory record (§4.3.16).
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&(files.len() as u16).to_le_bytes());
    out.extend_from_slice(&central_len.to_le_bytes());
    out.extend_from_slice(&central_at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth() -> OAuthClient {
        OAuthClient {
            issuer: "https://id.example.test/realms/mail".into(),
            scope: "openid mail.read mail.send".into(),
            auth_url: "https://id.example.test/auth".into(),
            token_url: "https://id.example.test/token".into(),
            client_id: "thunderbird".into(),
        }
    }

    #[test]
    fn the_manifest_registers_the_provider_for_our_hosts() {
        let m: serde_json::Value =
            serde_json::from_str(&manifest("mail.example.test", &["mail.example.test".into()], &oauth()))
                .unwrap();
        let p = &m["oauth_provider"];
        assert_eq!(p["issuer"], "id.example.test");
        assert_eq!(p["clientId"], "thunderbird");
        assert_eq!(p["usePKCE"], true);
        assert_eq!(p["hostnames"][0], "mail.example.test");
        assert_eq!(m["browser_specific_settings"]["gecko"]["id"], "tokenmail-oauth@mail.example.test");
    }

    #[test]
    fn the_archive_has_the_zip_structure() {
        let z = zip_stored(&[("a.txt", b"hello"), ("b.json", b"{}")]);
        assert_eq!(&z[..4], b"PK\x03\x04");
        let end = &z[z.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
        let mut crc = flate2::Crc::new();
        crc.update(b"hello");
        assert_eq!(&z[14..18], &crc.sum().to_le_bytes());
    }
}
