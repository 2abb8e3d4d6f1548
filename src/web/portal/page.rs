//! The account page's HTML: the sign-in page, the account page and the
//! notices, from plain values. Pure: no I/O, no clock.
//!
//! Readable without JavaScript and with none on the page (the
//! Content-Security-Policy allows no script); one stylesheet from this
//! server. Every value from outside (addresses, names, IPs, client
//! strings) goes through [`escape`]. The `data-tm` attributes are the
//! hooks CONTRACT.md "HTTP" names for automated checks.

use crate::proto::markup::escape;
use crate::store::{AppPasswordRecord, LoginRecord};
use crate::web::autoconfig::Endpoint;

use super::text::{Lang, Text};

/// What the account page shows.
pub struct AccountView<'a> {
    /// The language.
    pub lang: Lang,
    /// The server's host name, for the title.
    pub hostname: &'a str,
    /// The signed-in address.
    pub address: &'a str,
    /// The CSRF token every form carries.
    pub csrf: &'a str,
    /// The servers mail programs use.
    pub endpoints: &'a [Endpoint],
    /// Whether the Thunderbird add-on is served.
    pub addon: bool,
    /// The app passwords, oldest first.
    pub app_passwords: &'a [AppPasswordRecord],
    /// Recent logins, oldest first (shown newest first).
    pub logins: &'a [LoginRecord],
    /// A password just made: its name and the password, shown once.
    pub new_password: Option<(&'a str, &'a str)>,
    /// A line above everything: a notice or an error.
    pub notice: Option<Notice<'a>>,
    /// Unix seconds now, to mark expired app passwords.
    pub now: i64,
}

/// A line at the top of a page.
pub enum Notice<'a> {
    /// Something went well.
    Done(&'a str),
    /// Something did not work: a lead and the reason.
    Error(&'a str, &'a str),
}

/// `2026-12-02 19:40 UTC`.
fn when(t: i64) -> String {
    let s = crate::time::rfc3339(t);
    format!("{} {} UTC", &s[..10], &s[11..16])
}

/// The frame around every page.
fn frame(lang: Lang, title: &str, switch_to: Option<&str>, body: &str) -> String {
    let other = lang.other();
    let switch = switch_to.map_or(String::new(), |path| {
        format!(
            "<a class=\"lang\" href=\"{}?lang={}\" hreflang=\"{}\" lang=\"{}\">{}</a>",
            escape(path),
            other.tag(),
            other.tag(),
            other.tag(),
            other.text().lang_name
        )
    });
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/account/style.css\"></head>\
         <body><main>{switch}{body}</main></body></html>\n",
        lang = lang.tag(),
        title = escape(title),
    )
}

fn notice_html(n: &Option<Notice<'_>>) -> String {
    match n {
        None => String::new(),
        Some(Notice::Done(s)) => format!("<p class=\"notice\" data-tm=\"notice\">{}</p>", escape(s)),
        Some(Notice::Error(lead, why)) => format!(
            "<p class=\"error\" data-tm=\"error\" role=\"alert\">{} {}</p>",
            escape(lead),
            escape(why)
        ),
    }
}

/// The page for someone not signed in: one link that starts the sign-in.
pub fn sign_in(lang: Lang, hostname: &str, notice: Option<Notice<'_>>) -> String {
    let t = lang.text();
    let body = format!(
        "<h1>{title}</h1><p class=\"host\">{host}</p>{notice}<p>{intro}</p>\
         <p><a class=\"button\" data-tm=\"sign-in\" href=\"/account/login\">{sign_in}</a></p>",
        title = escape(t.title),
        host = escape(hostname),
        notice = notice_html(&notice),
        intro = escape(t.sign_in_intro),
        sign_in = escape(t.sign_in),
    );
    frame(lang, t.title, Some("/account/"), &body)
}

/// A page with one message and a way back to signing in.
pub fn message(lang: Lang, hostname: &str, text: &str, again: bool) -> String {
    let t = lang.text();
    let link = if again {
        format!(
            "<p><a class=\"button\" href=\"/account/\">{}</a></p>",
            escape(t.sign_in_again)
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>{}</h1><p class=\"host\">{}</p><p data-tm=\"message\">{}</p>{link}",
        escape(t.title),
        escape(hostname),
        escape(text)
    );
    frame(lang, t.title, None, &body)
}

fn hidden_csrf(csrf: &str) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", escape(csrf))
}

fn protocol_label(t: &Text, protocol: &str) -> String {
    match protocol {
        "imap" => format!("{} (IMAP)", t.incoming),
        "pop3" => format!("{} (POP3)", t.incoming),
        _ => format!("{} (SMTP)", t.outgoing),
    }
}

fn settings(v: &AccountView<'_>) -> String {
    let t = v.lang.text();
    let mut rows = String::new();
    for e in v.endpoints {
        rows += &format!(
            "<tr data-tm=\"server\"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&protocol_label(t, e.protocol)),
            escape(&e.hostname),
            e.port,
            if e.implicit_tls { t.ssl_tls } else { t.starttls },
        );
    }
    let thunderbird = if v.addon {
        format!(
            "<li><b>Thunderbird</b>: {} <a href=\"/thunderbird/tokenmail-oauth.xpi\" data-tm=\"addon\">{}</a> {}</li>",
            escape(t.thunderbird_1),
            escape(t.thunderbird_link),
            escape(t.thunderbird_2)
        )
    } else {
        String::new()
    };
    format!(
        "<section><h2>{heading}</h2><p>{intro}</p>\
         <table class=\"servers\"><thead><tr><th></th><th>{server}</th><th>{port}</th><th>{security}</th></tr></thead>\
         <tbody>{rows}</tbody></table><p>{user}: <code>{address}</code><br>{method}: {methods}</p>\
         <ul class=\"clients\">{thunderbird}<li><b>Outlook</b>: {outlook}</li>\
         <li><b>iPhone, iPad, Mac</b>: {apple}\
          <form method=\"post\" action=\"/account/mobileconfig\" data-tm=\"mobileconfig\" class=\"inline\">{csrf}\
         <button type=\"submit\">{apple_button}</button></form></li>\
         <li><b>Android</b>: {android}</li></ul></section>",
        heading = escape(t.settings),
        intro = escape(t.settings_intro),
        server = escape(t.server),
        port = escape(t.port),
        security = escape(t.security),
        method = escape(t.method),
        methods = escape(t.oauth_or_app_password),
        user = escape(t.user_name.split(':').next().unwrap_or(t.user_name)),
        address = escape(v.address),
        outlook = escape(t.outlook),
        apple = escape(t.apple),
        csrf = hidden_csrf(v.csrf),
        apple_button = escape(t.apple_button),
        android = escape(t.android),
    )
}

/// `IMAP, SMTP`.
fn protocol_names(bits: u8) -> String {
    crate::auth::app_password::Protocols(bits)
        .names()
        .split(',')
        .map(str::to_uppercase)
        .collect::<Vec<_>>()
        .join(", ")
}

fn app_passwords(v: &AccountView<'_>) -> String {
    let t = v.lang.text();
    let fresh = match v.new_password {
        Some((name, password)) => format!(
            "<div class=\"new-password\"><h3>{heading}: {name}</h3>\
             <p><code class=\"password\" data-tm=\"new-app-password\">{password}</code></p><p>{note}</p></div>",
            heading = escape(t.new_password),
            name = escape(name),
            password = escape(password),
            note = escape(t.new_password_note),
        ),
        None => String::new(),
    };
    let mut rows = String::new();
    for p in v.app_passwords {
        let expires = match p.expires {
            None => escape(t.never),
            Some(e) if e <= v.now => format!("<s>{}</s>", when(e)),
            Some(e) => when(e),
        };
        let used = match &p.last_used {
            None => escape(t.never),
            Some((at, ip)) => format!("{}, {}", when(*at), escape(ip)),
        };
        rows += &format!(
            "<tr data-tm=\"app-password\" data-id=\"{id}\"><td>{name}</td><td>{scopes}</td><td>{created}</td>\
             <td>{expires}</td><td>{used}</td><td><form method=\"post\" action=\"/account/app-passwords/revoke\">{csrf}\
             <input type=\"hidden\" name=\"id\" value=\"{id}\">\
             <button type=\"submit\" data-tm=\"revoke\">{revoke}</button></form></td></tr>",
            id = escape(&p.id),
            name = escape(&p.name),
            scopes = escape(&protocol_names(p.protocols)),
            created = when(p.created),
            csrf = hidden_csrf(v.csrf),
            revoke = escape(t.revoke),
        );
    }
    let list = if v.app_passwords.is_empty() {
        format!("<p class=\"empty\">{}</p>", escape(t.no_app_passwords))
    } else {
        format!(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead><tbody>{rows}</tbody></table>",
            escape(t.name),
            escape(t.for_protocols),
            escape(t.created),
            escape(t.expires),
            escape(t.last_used)
        )
    };
    let boxes: String = ["imap", "smtp", "pop3"]
        .iter()
        .map(|p| {
            format!(
                "<label class=\"check\"><input type=\"checkbox\" name=\"scope\" value=\"{p}\" checked> {}</label>",
                p.to_uppercase()
            )
        })
        .collect();
    format!(
        "<section id=\"app-passwords\"><h2>{heading}</h2><p>{intro}</p>{fresh}{list}\
         <form method=\"post\" action=\"/account/app-passwords\" data-tm=\"app-password-create\">{csrf}\
         <label>{name} <input type=\"text\" name=\"name\" maxlength=\"64\" required placeholder=\"{hint}\"></label>\
         <fieldset><legend>{for_}</legend>{boxes}</fieldset>\
         <button type=\"submit\">{create}</button></form></section>",
        heading = escape(t.app_passwords),
        intro = escape(t.app_passwords_intro),
        csrf = hidden_csrf(v.csrf),
        name = escape(t.name),
        hint = escape(t.name_hint),
        for_ = escape(t.for_protocols),
        create = escape(t.create),
    )
}

fn logins(v: &AccountView<'_>) -> String {
    let t = v.lang.text();
    if v.logins.is_empty() {
        return format!(
            "<section><h2>{}</h2><p class=\"empty\">{}</p></section>",
            escape(t.logins),
            escape(t.no_logins)
        );
    }
    let rows: String = v
        .logins
        .iter()
        .rev()
        .map(|l| {
            format!(
                "<tr data-tm=\"login\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                when(l.at),
                escape(&l.ip),
                escape(&l.protocol.to_uppercase()),
                escape(&l.mechanism),
                escape(l.client.as_deref().unwrap_or("—"))
            )
        })
        .collect();
    format!(
        "<section><h2>{}</h2><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead>\
         <tbody>{rows}</tbody></table></section>",
        escape(t.logins),
        escape(t.time),
        escape(t.address),
        escape(t.protocol),
        escape(t.method),
        escape(t.client)
    )
}

/// The account page of a signed-in person.
pub fn account(v: &AccountView<'_>) -> String {
    let t = v.lang.text();
    let body = format!(
        "<header><h1>{title}</h1><p class=\"host\">{host}</p>\
         <p>{signed_in_as} <strong data-tm=\"address\">{address}</strong></p>\
         <form method=\"post\" action=\"/account/sign-out\" class=\"inline\">{csrf}<button type=\"submit\" data-tm=\"sign-out\">{sign_out}</button></form></header>\
         {notice}{settings}{passwords}{logins}\
         <section class=\"danger\"><h2>{everywhere}</h2><p>{everywhere_intro}</p>\
         <form method=\"post\" action=\"/account/sign-out-everywhere\" data-tm=\"revoke-all\">{csrf}\
         <button type=\"submit\" class=\"danger\">{everywhere}</button></form></section>",
        title = escape(t.title),
        host = escape(v.hostname),
        signed_in_as = escape(t.signed_in_as),
        address = escape(v.address),
        csrf = hidden_csrf(v.csrf),
        sign_out = escape(t.sign_out),
        notice = notice_html(&v.notice),
        settings = settings(v),
        passwords = app_passwords(v),
        logins = logins(v),
        everywhere = escape(t.everywhere),
        everywhere_intro = escape(t.everywhere_intro),
    );
    frame(v.lang, t.title, Some("/account/"), &body)
}

/// The stylesheet.
pub const STYLE: &str = include_str!("style.css");

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints() -> Vec<Endpoint> {
        vec![Endpoint {
            protocol: "imap",
            hostname: "mail.example.test".into(),
            port: 993,
            implicit_tls: true,
        }]
    }

    #[test]
    fn outside_values_are_escaped_and_hooks_present() {
        let pw = AppPasswordRecord {
            id: "ab12".into(),
            name: "<script>x</script>".into(),
            protocols: 3,
            created: 0,
            expires: None,
            fingerprint: 0,
            hash: String::new(),
            last_used: Some((60, "127.0.0.1".into())),
        };
        let login = LoginRecord {
            at: 0,
            ip: "127.0.0.1".into(),
            protocol: "imap".into(),
            mechanism: "XOAUTH2".into(),
            client: Some("\"><img src=x>".into()),
        };
        let eps = endpoints();
        let html = account(&AccountView {
            lang: Lang::En,
            hostname: "mail.example.test",
            address: "alice@example.test",
            csrf: "tok",
            endpoints: &eps,
            addon: true,
            app_passwords: std::slice::from_ref(&pw),
            logins: std::slice::from_ref(&login),
            new_password: Some(("Phone", "abcd efgh")),
            notice: None,
            now: 0,
        });
        assert!(!html.contains("<script>"));
        assert!(!html.contains("<img"));
        for hook in [
            "data-tm=\"address\">alice@example.test<",
            "data-tm=\"app-password-create\"",
            "name=\"scope\" value=\"pop3\"",
            "data-tm=\"new-app-password\">abcd efgh<",
            "data-tm=\"app-password\"",
            "data-tm=\"revoke\"",
            "data-tm=\"revoke-all\"",
            "data-tm=\"login\"",
            "/thunderbird/tokenmail-oauth.xpi",
            "name=\"csrf\" value=\"tok\"",
            "1970-01-01 00:01 UTC, 127.0.0.1",
        ] {
            assert!(html.contains(hook), "{hook}");
        }
        assert_eq!(html.matches("name=\"csrf\"").count(), 5);
    }

    #[test]
    fn russian_page() {
        let html = sign_in(Lang::Ru, "mail.example.test", None);
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"ru\">"));
        assert!(html.contains("Войти"));
        assert!(html.contains("?lang=en"));
    }
}
