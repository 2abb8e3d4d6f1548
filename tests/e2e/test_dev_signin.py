"""The development issuer's sign-in (issue 7, CONTRACT.md "tokenmail dev"): an authorization
endpoint with a plain form and a token endpoint for the authorization code grant with PKCE and
refresh tokens, as Thunderbird and the account page use them; driven with urllib, then the
token logs in over IMAP."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import re
import secrets
import urllib.error
import urllib.parse
import urllib.request

from tmclient import imap_login, unique_user

REDIRECT = "https://localhost"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def discovery(server) -> dict:
    url = server.dev_issuer_url + "/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.load(r)


def sign_in(server, user: str, challenge: str, *, redirect: str = REDIRECT, state: str = "st-1"):
    """GET the form, POST it with `user`; (status, Location or page text)."""
    d = discovery(server)
    q = urllib.parse.urlencode({
        "response_type": "code", "client_id": "thunderbird", "redirect_uri": redirect,
        "scope": "openid email offline_access mail.read mail.send", "state": state,
        "code_challenge": challenge, "code_challenge_method": "S256", "login_hint": user,
        "nonce": "nonce-1",
    })
    try:
        page = urllib.request.urlopen(d["authorization_endpoint"] + "?" + q, timeout=10).read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    assert 'data-tm="dev-sign-in"' in page and user in page
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', page))
    fields = {k: v.replace("&amp;", "&").replace("&quot;", '"') for k, v in fields.items()}
    fields["user"] = user
    u = urllib.parse.urlparse(d["authorization_endpoint"])
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("POST", u.path, urllib.parse.urlencode(fields),
              {"Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    return r.status, r.getheader("Location") or r.read().decode()


def token(server, form: dict) -> tuple[int, dict]:
    req = urllib.request.Request(discovery(server)["token_endpoint"],
                                 data=urllib.parse.urlencode(form).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_discovery_names_the_endpoints(server):
    d = discovery(server)
    assert d["authorization_endpoint"].startswith(server.dev_issuer_url)
    assert d["token_endpoint"].startswith(server.dev_issuer_url)
    assert d["code_challenge_methods_supported"] == ["S256"]
    assert {"authorization_code", "refresh_token"} <= set(d["grant_types_supported"])


def test_code_flow_with_pkce_gives_tokens_that_log_in(server, ssl_ctx):
    user = unique_user("signin")
    verifier, challenge = pkce()
    status, location = sign_in(server, user, challenge)
    assert status == 302, location
    q = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)
    assert location.startswith(REDIRECT) and q["state"] == ["st-1"]
    assert q["iss"] == [server.dev_issuer_url], "RFC 9207 iss in the redirect"
    form = {"grant_type": "authorization_code", "code": q["code"][0], "client_id": "thunderbird",
            "redirect_uri": REDIRECT, "code_verifier": verifier}
    status, body = token(server, form)
    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert {"access_token", "refresh_token", "id_token"} <= set(body)
    claims = json.loads(base64.urlsafe_b64decode(body["id_token"].split(".")[1] + "=="))
    assert claims["aud"] == "thunderbird" and claims["email"] == user and claims["nonce"] == "nonce-1"
    imap = imap_login(server, ssl_ctx, user, body["access_token"])
    assert imap.select("INBOX")[0] == "OK"
    imap.logout()
    # The code works once.
    status, again = token(server, form)
    assert status == 400 and again["error"] == "invalid_grant"
    # The refresh token gives a new access token and is replaced (rotation).
    status, fresh = token(server, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
                                   "client_id": "thunderbird"})
    assert status == 200 and fresh["refresh_token"] != body["refresh_token"], fresh
    imap_login(server, ssl_ctx, user, fresh["access_token"]).logout()
    status, old = token(server, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert status == 400 and old["error"] == "invalid_grant"


def test_a_wrong_verifier_or_redirect_is_refused(server):
    user = unique_user("signin")
    verifier, challenge = pkce()
    status, location = sign_in(server, user, challenge)
    code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query)["code"][0]
    status, body = token(server, {"grant_type": "authorization_code", "code": code,
                                  "client_id": "thunderbird", "redirect_uri": REDIRECT,
                                  "code_verifier": pkce()[0]})
    assert status == 400 and body["error"] == "invalid_grant", body
    # A redirect off the machine is refused before any form is shown.
    status, page = sign_in(server, user, challenge, redirect="https://evil.example/cb")
    assert status == 400 and "loopback" in page
