"""A real OpenID provider (oidc-provider 9 on Node, tests/idp/idp.mjs) as the token issuer.

The server trusts it by discovery at `http://127.0.0.1:N/.well-known/openid-configuration`; the
tokens are RFC 9068 JWT access tokens (`typ: at+jwt`) from the client credentials grant, with
`aud: tokenmail`, `scope` and an `email` claim.
"""

from __future__ import annotations

import imaplib

import pytest

import tmproto
from tmclient import imap_login
from tmissuer import decode_unverified
from tmproto import RawSmtp, enhanced, fetch_map
from tmserver import issuer_block

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(server_factory, idp):
    return server_factory(issuers=[issuer_block(idp.issuer)], dev_issuer=False)


def test_idp_token_shape(idp):
    header, claims = decode_unverified(idp.token("alice"))
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256"
    assert claims["aud"] == "tokenmail" and claims["email"] == "alice@example.test"


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_imap_login_with_idp_token(server, ssl_ctx, idp, mechanism):
    imap = imap_login(server, ssl_ctx, "alice@example.test", idp.token("alice"), mechanism=mechanism)
    try:
        typ, _ = imap.select("INBOX")
        assert typ == "OK"
    finally:
        imap.logout()


def test_starttls_xoauth2_with_idp_token(server, ssl_ctx, idp):
    imap = imaplib.IMAP4("127.0.0.1", server.ports.imap, timeout=15)
    try:
        imap.starttls(ssl_context=ssl_ctx)
        typ, _ = imap.authenticate("XOAUTH2", tmproto.sasl_callback(
            "XOAUTH2", tmproto.xoauth2("alice@example.test", idp.token("alice"))))
        assert typ == "OK"
    finally:
        imap.logout()


def test_send_with_idp_token_and_read(server, ssl_ctx, idp):
    alice, bob = "alice@example.test", "bob@example.test"
    bob_token = idp.token("bob")
    imap_login(server, ssl_ctx, bob, bob_token).logout()  # creates bob's mailbox
    msg = (f"From: {alice}\r\nTo: {bob}\r\nSubject: via oidc-provider\r\n"
           f"Message-ID: <idp-1@example.test>\r\n\r\nSigned in by a real IdP.\r\n").encode()
    smtp = tmproto.smtp_client(server.ports.submission, ssl_ctx, tls=False)
    try:
        code, text = smtp.auth("OAUTHBEARER", tmproto.smtp_oauthbearer_cb(idp.token("alice"), alice),
                               initial_response_ok=True)
        assert code == 235, text
        assert smtp.sendmail(alice, [bob], msg) == {}
    finally:
        smtp.quit()
    imap = imap_login(server, ssl_ctx, bob, bob_token, mechanism="OAUTHBEARER")
    try:
        typ, data = imap.select("INBOX")
        assert typ == "OK"
        typ, data = imap.fetch("1:*", "(BODY.PEEK[])")
        bodies = [v["BODY[]"] for v in fetch_map(data).values()]
        assert sum(b.endswith(msg) for b in bodies) == 1, bodies
    finally:
        imap.logout()


def test_idp_token_without_send_scope_cannot_send(server, ssl_ctx, idp):
    token = idp.token("alice", scope="mail.read")
    smtp = RawSmtp(server.ports.submissions, ssl_ctx, source_ip=tmproto.fresh_source_ip())
    try:
        smtp.cmd("EHLO client.example.test")
        code, text, _ = smtp.auth("XOAUTH2", tmproto.xoauth2("alice@example.test", token))
        assert (code, enhanced(text)) == (535, "5.7.8"), (code, text)
    finally:
        smtp.close()
    imap_login(server, ssl_ctx, "alice@example.test", token).logout()  # but it can read


def test_idp_token_for_foreign_domain_is_refused(server, ssl_ctx, idp):
    token = idp.token("mallory")
    imap = tmproto.RawImap(server.ports.imaps, ssl_ctx, source_ip=tmproto.fresh_source_ip())
    try:
        _, tagged, ch = imap.sasl("OAUTHBEARER", tmproto.oauthbearer(token))
        assert tmproto.status_of(tagged) == "NO", tagged
        assert len(ch) == 1 and "status" in tmproto.error_json(ch[0])
    finally:
        imap.close()
