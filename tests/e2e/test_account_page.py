"""The account page (CONTRACT.md "HTTP", issue 7 point 5) in a real browser: headless Chromium
driven by selenium, signing in at the real `oidc-provider` through its interactive login
(devInteractions: a login form, then consent), as a confidential client whose ID token carries
no address (it comes from UserInfo). Then what a person does there: make an app password and
use it from imaplib, revoke it and watch the session end, download the Apple profile, and sign
out everywhere while an IDLE session and an IdP token are in use. Screenshots of every page
go to target/e2e-screenshots/."""

from __future__ import annotations

import plistlib
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

import tmproto
from tmbrowser import chromium, shot
from tmclient import expect_bye, raw_idle, start_idp, still_open
from tmproto import RawImap, fresh_source_ip, status_of
from tmserver import free_ports, issuer_block, run_cli

pytestmark = pytest.mark.slow

PORTAL_CLIENT = "tokenmail-portal"
PORTAL_SECRET = "portal-secret-for-tests"
USER = "alice@example.test"


@pytest.fixture(scope="module")
def ports():
    return free_ports(1)[0]


@pytest.fixture(scope="module")
def portal_idp(ports):
    """oidc-provider with the account page registered as a confidential client."""
    redirect = f"http://127.0.0.1:{ports}/account/callback"
    idp = start_idp("--portal", f"{PORTAL_CLIENT}:{PORTAL_SECRET}:{redirect}")
    yield idp
    idp.stop()


@pytest.fixture(scope="module")
def server(server_factory, portal_idp, ports):
    srv = server_factory(issuers=[issuer_block(portal_idp.issuer)], start=False)
    secret = srv.workdir / "portal.secret"
    secret.write_text(PORTAL_SECRET + "\n")
    srv.cfg["http"] = {"listen": [f"127.0.0.1:{ports}"], "public_url": f"http://127.0.0.1:{ports}"}
    srv.cfg["portal"] = {"issuer": portal_idp.issuer, "client_id": PORTAL_CLIENT,
                         "client_secret_file": str(secret)}
    srv.cfg["mail_clients"] = {"issuer": portal_idp.issuer, "client_id": "thunderbird"}
    srv.write_config()
    srv.start()
    srv.page = f"http://127.0.0.1:{ports}/account/"
    return srv


@pytest.fixture(scope="module")
def browser():
    d = chromium("en-US")
    yield d
    d.quit()


def css(d, selector: str):
    from selenium.webdriver.common.by import By
    return d.find_element(By.CSS_SELECTOR, selector)


def all_css(d, selector: str):
    from selenium.webdriver.common.by import By
    return d.find_elements(By.CSS_SELECTOR, selector)


def sign_in_at_idp(d, login: str, prefix: str, *, remembered: bool = False) -> None:
    """From the page's sign-in link through oidc-provider's login and consent pages; with
    `remembered`, the IdP still knows the person (its own session) and asks nothing."""
    css(d, "[data-tm=sign-in]").click()
    if remembered:
        assert "/interaction/" not in d.current_url, d.current_url
        return
    assert "/interaction/" in d.current_url, d.current_url
    shot(d, f"{prefix}-idp-login")
    css(d, "input[name=login]").send_keys(login)
    css(d, "input[name=password]").send_keys("any password")
    css(d, "button[type=submit]").click()
    if "/interaction/" in d.current_url:  # the consent page
        shot(d, f"{prefix}-idp-consent")
        css(d, "button[type=submit]").click()


def session_cookie(d) -> str:
    return next(c["value"] for c in d.get_cookies() if c["name"] == "tm_session")


def post(url: str, form: dict, cookie: str | None) -> tuple[int, object, bytes]:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if cookie:
        headers["Cookie"] = f"tm_session={cookie}"
    req = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def csrf_of(d) -> str:
    return css(d, "form[data-tm=app-password-create] input[name=csrf]").get_attribute("value")


# -- the tests, in the order a person goes ------------------------------------------------------


def test_signing_in_creates_the_mailbox(server, browser):
    before = run_cli("account", "list", "--config", str(server.config_path), check=True).stdout
    assert USER not in before
    d = browser
    d.get(server.page)
    shot(d, "01-sign-in")
    assert css(d, "html").get_attribute("lang") == "en"
    sign_in_at_idp(d, "alice", "02")
    assert d.current_url == server.page, d.current_url
    assert css(d, "[data-tm=address]").text == USER
    shot(d, "03-account")
    after = run_cli("account", "list", "--config", str(server.config_path), check=True).stdout
    assert USER in after, after
    # The session cookie: Secure, HttpOnly, SameSite=Lax; the sign-in cookie is gone.
    cookies = {c["name"]: c for c in d.get_cookies()}
    s = cookies["tm_session"]
    assert s["secure"] and s["httpOnly"] and s["sameSite"] == "Lax", s
    assert "tm_login" not in cookies
    # Client settings for the servers of the config.
    servers = [r.text for r in all_css(d, "[data-tm=server]")]
    assert any(str(server.ports.imaps) in r and "SSL/TLS" in r for r in servers), servers
    assert any(str(server.ports.submission) in r and "STARTTLS" in r for r in servers), servers
    assert css(d, "[data-tm=addon]").get_attribute("href").endswith("/thunderbird/tokenmail-oauth.xpi")
    logins = [r.text for r in all_css(d, "[data-tm=login]")]
    assert logins and "WEB" in logins[0] and "OIDC" in logins[0] and "Chrom" in logins[0], logins


def test_the_page_allows_no_script_and_no_framing(server, browser):
    with urllib.request.urlopen(server.page, timeout=10) as r:
        csp = r.headers["Content-Security-Policy"]
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "script-src" not in csp
    # The page is complete without script: every form posts to this server.
    actions = {f.get_attribute("action") for f in all_css(browser, "form")}
    assert actions and all(a.startswith(server.page.rstrip("/")) for a in actions), actions


def test_a_form_without_its_csrf_token_is_refused(server, browser):
    cookie = session_cookie(browser)
    status, _, body = post(server.page + "app-passwords", {"name": "sneaky", "scope": "imap"}, cookie)
    assert status == 403, (status, body[:300])
    status, _, _ = post(server.page + "app-passwords",
                        {"name": "sneaky", "scope": "imap", "csrf": "x" * 43}, cookie)
    assert status == 403
    # Nor without the session, whatever the token.
    status, _, _ = post(server.page + "app-passwords",
                        {"name": "sneaky", "scope": "imap", "csrf": csrf_of(browser)}, None)
    assert status == 403
    browser.refresh()
    assert "sneaky" not in browser.page_source


def test_an_app_password_from_the_page_logs_in_and_its_revocation_ends_the_session(
        server, browser, ssl_ctx):
    d = browser
    form = css(d, "form[data-tm=app-password-create]")
    form.find_element("name", "name").send_keys("Old phone")
    for box in form.find_elements("css selector", "input[name=scope]"):
        if box.get_attribute("value") != "imap" and box.is_selected():
            box.click()
    form.find_element("css selector", "button[type=submit]").click()
    password = css(d, "[data-tm=new-app-password]").text
    shot(d, "04-new-app-password")
    assert len(password.replace("-", "").replace(" ", "")) * 5 >= 128, password
    rows = all_css(d, "[data-tm=app-password]")
    assert len(rows) == 1 and "Old phone" in rows[0].text and "IMAP" in rows[0].text, rows[0].text
    assert "SMTP" not in rows[0].text
    # imaplib logs in with it; the session idles.
    idle = raw_idle(server, ssl_ctx, USER, password=password)
    # Shown once: a reload does not show it again.
    d.get(server.page)
    assert not all_css(d, "[data-tm=new-app-password]")
    assert password not in d.page_source
    logins = [r.text for r in all_css(d, "[data-tm=login]")]
    assert any("IMAP" in r and "Old phone" in r for r in logins), logins
    assert "127.0.0.1" in all_css(d, "[data-tm=app-password]")[0].text  # last used
    # Revoke it: the IDLE session ends within a second.
    css(d, "[data-tm=app-password] [data-tm=revoke]").click()
    returned = time.monotonic()
    expect_bye(idle, within=1.0)
    assert time.monotonic() - returned <= 1.5
    assert not all_css(d, "[data-tm=app-password]")
    shot(d, "05-app-password-revoked")
    imap = RawImap(server.ports.imaps, ssl_ctx, source_ip=fresh_source_ip())
    _, tagged = imap.command(f'LOGIN "{USER}" "{password}"')
    assert status_of(tagged) == "NO", tagged


def test_the_apple_profile_carries_a_working_app_password(server, browser, ssl_ctx):
    d = browser
    d.get(server.page)
    csrf = css(d, "form[data-tm=mobileconfig] input[name=csrf]").get_attribute("value")
    status, headers, body = post(server.page + "mobileconfig", {"csrf": csrf}, session_cookie(d))
    assert status == 200, body[:300]
    assert headers["Content-Type"] == "application/x-apple-aspen-config"
    assert ".mobileconfig" in headers["Content-Disposition"]
    profile = plistlib.loads(body)
    assert profile["PayloadType"] == "Configuration"
    mail = profile["PayloadContent"][0]
    assert mail["PayloadType"] == "com.apple.mail.managed"
    assert mail["EmailAddress"] == USER and mail["IncomingMailServerUsername"] == USER
    assert mail["IncomingMailServerPortNumber"] == server.ports.imaps
    assert mail["IncomingMailServerUseSSL"] is True
    imap = RawImap(server.ports.imaps, ssl_ctx)
    _, tagged = imap.command(f'LOGIN "{USER}" "{mail["IncomingPassword"]}"')
    assert status_of(tagged) == "OK", tagged
    imap.command("LOGOUT")
    d.get(server.page)
    assert any("Apple Mail profile" in r.text for r in all_css(d, "[data-tm=app-password]"))


def test_sign_out_everywhere_ends_sessions_and_refuses_old_tokens(server, browser, portal_idp,
                                                                  ssl_ctx):
    d = browser
    d.get(server.page)
    old_token = portal_idp.token("alice")
    idle = raw_idle(server, ssl_ctx, USER, token=old_token)
    shot(d, "06-before-sign-out-everywhere")
    css(d, "form[data-tm=revoke-all] button[type=submit]").click()
    returned = time.monotonic()
    expect_bye(idle, within=1.0)
    assert time.monotonic() - returned <= 1.5
    shot(d, "07-signed-out-everywhere")
    assert "signed out everywhere" in css(d, "[data-tm=message]").text
    # The token issued before is refused; a new one works.
    imap = RawImap(server.ports.imaps, ssl_ctx, source_ip=fresh_source_ip())
    _, tagged, _ = imap.sasl("XOAUTH2", tmproto.xoauth2(USER, old_token))
    assert status_of(tagged) == "NO", tagged
    fresh = raw_idle(server, ssl_ctx, USER, token=portal_idp.token("alice"))
    assert still_open(fresh)
    # The page's own session ended too, also for a copy of the old cookie.
    d.get(server.page)
    assert not all_css(d, "[data-tm=address]") and all_css(d, "[data-tm=sign-in]")
    # Signing in again works: the IdP still has its own session, so it asks nothing.
    sign_in_at_idp(d, "alice", "08", remembered=True)
    assert css(d, "[data-tm=address]").text == USER
    assert not all_css(d, "[data-tm=app-password]"), "sign out everywhere revoked them all"


def test_russian_by_accept_language(server):
    d = chromium("ru-RU")
    try:
        d.get(server.page)
        assert css(d, "html").get_attribute("lang") == "ru"
        assert css(d, "[data-tm=sign-in]").text == "Войти"
        shot(d, "09-sign-in-ru")
        sign_in_at_idp(d, "bob", "10")
        assert css(d, "[data-tm=address]").text == "bob@example.test"
        assert "Настройка почтовой программы" in d.page_source
        shot(d, "11-account-ru")
        # The link to English switches and remembers it.
        css(d, "a.lang").click()
        assert css(d, "html").get_attribute("lang") == "en"
        d.get(server.page)
        assert css(d, "html").get_attribute("lang") == "en"
    finally:
        d.quit()


def test_a_stale_or_forged_callback_is_refused(server):
    url = server.page + "callback?" + urllib.parse.urlencode({"code": "x", "state": "y"})
    try:
        urllib.request.urlopen(url, timeout=10)
        raise AssertionError("a callback without its sign-in cookie was accepted")
    except urllib.error.HTTPError as e:
        assert e.code == 400
        assert re.search(r'data-tm="error"', e.read().decode())
