"""The HTTP service (CONTRACT.md "HTTP"): autoconfig with OAuth from the real IdP's discovery
document (oidc-provider), Outlook autodiscover, RFC 9728 metadata, /healthz and /metrics,
over cleartext and TLS, read by urllib and curl."""

from __future__ import annotations

import json
import re
import ssl
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from tmclient import curl, imap_login
from tmserver import free_ports, issuer_block, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(server_factory, idp):
    srv = server_factory(issuers=[issuer_block(idp.issuer)], start=False)
    http, https = free_ports(2)
    srv.cfg["http"] = {
        "listen": [f"127.0.0.1:{http}"],
        "listen_tls": [f"127.0.0.1:{https}"],
        "public_url": f"https://127.0.0.1:{https}",
    }
    srv.cfg["mail_clients"] = {
        "issuer": idp.issuer,
        "client_id": "thunderbird",
        "scopes": "openid email offline_access mail.read mail.send",
    }
    srv.write_config()
    srv.http, srv.https = http, https
    srv.start()
    return srv


@pytest.fixture(scope="module")
def discovery(idp) -> dict:
    url = idp.issuer.rstrip("/") + "/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def get(url: str, ctx: ssl.SSLContext | None = None, data: bytes | None = None):
    req = urllib.request.Request(url, data=data, method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=10, context=ctx) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


@pytest.mark.parametrize("path", ["/.well-known/autoconfig/mail/config-v1.1.xml", "/mail/config-v1.1.xml"])
def test_autoconfig_carries_oauth(server, discovery, idp, path):
    url = f"http://127.0.0.1:{server.http}{path}?emailaddress=" + urllib.parse.quote("alice@example.test")
    status, headers, body = get(url)
    assert status == 200 and headers["Content-Type"].startswith("text/xml"), (status, headers)
    root = ET.fromstring(body)
    assert root.tag == "clientConfig" and root.get("version") == "1.1"
    provider = root.find("emailProvider")
    assert provider.findtext("domain") == "example.test"
    incoming = provider.findall("incomingServer")
    outgoing = provider.findall("outgoingServer")
    by = {(s.get("type"), s.findtext("socketType")): s for s in incoming + outgoing}
    assert by[("imap", "SSL")].findtext("port") == str(server.ports.imaps)
    assert by[("imap", "STARTTLS")].findtext("port") == str(server.ports.imap)
    assert by[("smtp", "SSL")].findtext("port") == str(server.ports.submissions)
    assert by[("smtp", "STARTTLS")].findtext("port") == str(server.ports.submission)
    for s in incoming + outgoing:
        assert [a.text for a in s.findall("authentication")] == ["OAuth2", "password-cleartext"]
        assert s.findtext("username") == "alice@example.test"
        assert s.findtext("hostname") == server.cfg["hostname"]
    oauth = root.find("oAuth2")
    assert oauth is not None, body.decode()
    assert oauth.findtext("issuer") == urllib.parse.urlparse(idp.issuer).hostname
    assert oauth.findtext("authURL") == discovery["authorization_endpoint"]
    assert oauth.findtext("tokenURL") == discovery["token_endpoint"]
    assert oauth.findtext("clientID") == "thunderbird"
    assert "mail.read" in oauth.findtext("scope").split()


def test_autoconfig_refuses_foreign_addresses(server):
    status, _, _ = get(f"http://127.0.0.1:{server.http}/mail/config-v1.1.xml?emailaddress=a@elsewhere.test")
    assert status == 404
    status, _, _ = get(f"http://127.0.0.1:{server.http}/no/such/page")
    assert status == 404


def test_autodiscover_over_tls(server, ssl_ctx):
    req = (b'<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com'
           b'/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>bob@example.test'
           b'</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover'
           b'/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>')
    status, headers, body = get(f"https://127.0.0.1:{server.https}/autodiscover/autodiscover.xml",
                                ssl_ctx, data=req)
    assert status == 200, body
    ns = {"r": "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"}
    root = ET.fromstring(body)
    protocols = root.findall(".//r:Protocol", ns)
    found = {(p.findtext("r:Type", namespaces=ns), p.findtext("r:Port", namespaces=ns)) for p in protocols}
    assert ("IMAP", str(server.ports.imaps)) in found and ("SMTP", str(server.ports.submissions)) in found
    assert {p.findtext("r:LoginName", namespaces=ns) for p in protocols} == {"bob@example.test"}
    status, _, _ = get(f"https://127.0.0.1:{server.https}/autodiscover/autodiscover.xml", ssl_ctx, data=b"junk")
    assert status == 400


def test_protected_resource_metadata(server, idp):
    status, headers, body = get(f"http://127.0.0.1:{server.http}/.well-known/oauth-protected-resource")
    assert status == 200 and headers["Content-Type"] == "application/json"
    doc = json.loads(body)
    assert doc["resource"] == f"https://127.0.0.1:{server.https}"
    assert idp.issuer in doc["authorization_servers"]
    assert set(doc["scopes_supported"]) >= {"mail.read", "mail.send"}
    assert "bearer_methods_supported" in doc


def test_healthz_with_curl_over_tls(server, tls_files):
    r = curl("--cacert", str(tls_files[0]), f"https://127.0.0.1:{server.https}/healthz")
    assert r.returncode == 0 and r.stdout.strip() == b"ok", r


def test_metrics_count_logins_and_sessions(server, ssl_ctx, idp):
    imap = imap_login(server, ssl_ctx, "alice@example.test", idp.token("alice"))
    status, headers, body = get(f"http://127.0.0.1:{server.http}/metrics")
    imap.logout()
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = body.decode()
    m = re.search(r'^tokenmail_logins_total\{protocol="imap",mechanism="XOAUTH2",outcome="success"\} (\d+)$',
                  text, re.M)
    assert m and int(m.group(1)) >= 1, text
    m = re.search(r'^tokenmail_sessions_open\{protocol="imap"\} (\d+)$', text, re.M)
    assert m and int(m.group(1)) >= 1, text
    assert re.search(r"^tokenmail_store_flushes_total \d+$", text, re.M)
    for line in text.splitlines():
        assert line.startswith("#") or re.fullmatch(r'[a-z_]+(\{[^}]*\})? -?\d+', line), line


def test_check_config_names_bad_http_keys(server, tmp_path):
    good = server.config_path.read_text()
    assert run_cli("check-config", "--config", str(server.config_path)).returncode == 0
    for bad, key in [
        (good.replace('client_id = "thunderbird"', 'client_id = ""'), "mail_clients.client_id"),
        (good + '\n[portal]\nissuer = "https://unknown.example.test"\nclient_id = "p"\n', "portal.issuer"),
    ]:
        path = tmp_path / "bad.toml"
        path.write_text(bad)
        r = run_cli("check-config", "--config", str(path))
        assert r.returncode != 0 and key in r.stderr, (key, r.stderr)


def test_thunderbird_addon_registers_the_idp(server, discovery, idp, ssl_ctx):
    import io
    import zipfile
    status, headers, body = get(f"https://127.0.0.1:{server.https}/thunderbird/tokenmail-oauth.xpi", ssl_ctx)
    assert status == 200 and headers["Content-Type"] == "application/x-xpinstall", (status, headers)
    z = zipfile.ZipFile(io.BytesIO(body))
    assert z.testzip() is None, "every member's CRC is right"
    assert z.namelist() == ["manifest.json"]
    m = json.loads(z.read("manifest.json"))
    assert m["manifest_version"] == 2
    gecko = m["browser_specific_settings"]["gecko"]
    assert gecko["id"] == f"tokenmail-oauth@{server.cfg['hostname']}"
    assert int(gecko["strict_min_version"].split(".")[0]) >= 140
    p = m["oauth_provider"]
    assert p["clientId"] == "thunderbird"
    assert p["authorizationEndpoint"] == discovery["authorization_endpoint"]
    assert p["tokenEndpoint"] == discovery["token_endpoint"]
    assert p["issuerIdentifier"] == idp.issuer
    assert p["usePKCE"] is True and p["redirectionEndpoint"].startswith("https://")
    assert p["hostnames"] == [server.cfg["hostname"], "127.0.0.1"], "the name, and loopback listeners"
    assert "mail.read" in p["scopes"].split()
    # The same config gives the same bytes: an installed add-on is not replaced needlessly.
    assert get(f"https://127.0.0.1:{server.https}/thunderbird/tokenmail-oauth.xpi", ssl_ctx)[2] == body
