"""Which tokens open a mailbox, and which do not (CONTRACT.md "Tokens").

Tokens come from the Python test issuer (`tmissuer`), which signs whatever a case needs. Every
bad token is tried through every way a client can present it, over IMAP and SMTP; every check
connects from its own loopback source address with its own mailbox address, so the server's
throttling of failed logins cannot slow the others down.
"""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

import tmproto
from tmclient import unique_user
from tmissuer import decode_unverified, tamper_claims
from tmproto import RawImap, RawSmtp, enhanced, status_of

#: Seconds to wait for any one reply: answers come in milliseconds (each check connects from a
#: fresh address, so no throttling delay applies); a missing reply fails fast.
REPLY_TIMEOUT = 6.0

# -- token builders ------------------------------------------------------------------------


def big_token(realm, email: str, target: int = 10_240) -> str:
    """A valid token of about `target` characters (a large extra claim)."""
    base = realm.token(email)
    n = (target - len(base)) * 3 // 4 - 12
    return realm.token(email, blob="x" * max(n, 0))


def _now() -> int:
    return int(time.time())


def _foreign_user() -> str:
    return unique_user("mallory").replace("@example.test", "@elsewhere.test")


# Each bad case: (realm, direct_realm, address) -> (token, SASL user). The SASL user is what
# the client claims; for most cases it is the token's own address.
BAD_CASES = {
    "expired": lambda r, d, u: (r.token(u, exp=_now() - 600, iat=_now() - 1200), u),
    "nbf_in_future": lambda r, d, u: (r.token(u, nbf=_now() + 600), u),
    "iat_in_future": lambda r, d, u: (r.token(u, iat=_now() + 600, exp=_now() + 1200), u),
    "no_exp": lambda r, d, u: (r.token(u, exp=None), u),
    "wrong_aud": lambda r, d, u: (r.token(u, aud="another-api"), u),
    "aud_list_without_tokenmail": lambda r, d, u: (r.token(u, aud=["account", "web"]), u),
    "wrong_iss": lambda r, d, u: (r.token(u, iss=r.issuer.replace("/realms/test", "/realms/nope")), u),
    "alg_none": lambda r, d, u: (r.forge_none(r.claims(u)), u),
    "hs256_keyed_with_rsa_public_key": lambda r, d, u: (r.forge_hs256_with_public_key(r.claims(u)), u),
    "unknown_kid": lambda r, d, u: (
        r.sign(r.claims(u), kid="no-such-key",
               key=rsa.generate_private_key(public_exponent=65537, key_size=2048)), u),
    "other_issuers_key_same_kid": lambda r, d, u: (d.sign(r.claims(u)), u),
    "tampered_claims": lambda r, d, u: (
        tamper_claims(r.token(unique_user("victim")), email=u), u),
    "no_user_claim": lambda r, d, u: (r.token(None), u),
    "foreign_domain": lambda r, d, u: (lambda f: (r.token(f), f))(_foreign_user()),
    "sasl_user_not_token_address": lambda r, d, u: (r.token(unique_user("owner")), u),
    "garbage": lambda r, d, u: ("this-is-not-a-token", u),
    "garbage_jwt_shape": lambda r, d, u: ("eyJhbGciOiJSUzI1NiJ9.e30.AAAA", u),
    "direct_realm_without_upn": lambda r, d, u: (d.token(u), u),  # has `email`, lacks `upn`
}

# (protocol, how) pairs a bad token is presented through.
IMAP_WAYS = ["xoauth2-ir", "oauthbearer-ir", "oauthbearer-no-ir", "login", "plain"]
SMTP_WAYS = ["xoauth2-ir", "xoauth2-no-ir", "oauthbearer-ir", "plain", "login"]


def _check_error_challenges(challenges: list[bytes], *, required: bool) -> None:
    """RFC 7628 §3.2.2: the error challenge is a JSON object with a `status`."""
    if required:
        assert len(challenges) == 1, f"expected one error challenge, got {challenges!r}"
    for c in challenges:
        obj = tmproto.error_json(c)
        assert isinstance(obj.get("status"), str) and obj["status"], obj


def imap_refuses(server, ctx, how: str, token: str, user: str) -> None:
    imap = RawImap(server.ports.imaps, ctx, source_ip=tmproto.fresh_source_ip(),
                   timeout=REPLY_TIMEOUT)
    try:
        if how == "login":
            _, tagged = imap.command(f'LOGIN "{user}" "{token}"')
            challenges = []
        elif how == "plain":
            _, tagged, challenges = imap.sasl("PLAIN", tmproto.plain(user, token))
        elif how == "xoauth2-ir":
            _, tagged, challenges = imap.sasl("XOAUTH2", tmproto.xoauth2(user, token))
            _check_error_challenges(challenges, required=False)
        elif how == "oauthbearer-ir":
            _, tagged, challenges = imap.sasl("OAUTHBEARER", tmproto.oauthbearer(token, user))
            _check_error_challenges(challenges, required=True)
        elif how == "oauthbearer-no-ir":
            _, tagged, challenges = imap.sasl("OAUTHBEARER", tmproto.oauthbearer(token, user), ir=False)
            _check_error_challenges(challenges, required=True)
        else:
            raise ValueError(how)
        assert status_of(tagged) == "NO", f"{how}: expected NO, got {tagged!r}"
        # still not authenticated, and the session goes on
        _, sel = imap.command("SELECT INBOX")
        assert status_of(sel) in ("NO", "BAD"), f"SELECT after a failed login: {sel!r}"
        _, noop = imap.command("NOOP")
        assert status_of(noop) == "OK", noop
    finally:
        imap.close()


def smtp_refuses(server, ctx, how: str, token: str, user: str) -> None:
    smtp = RawSmtp(server.ports.submissions, ctx, source_ip=tmproto.fresh_source_ip(),
                   timeout=REPLY_TIMEOUT)
    try:
        code, _ = smtp.cmd("EHLO client.example.test")
        assert code == 250
        if how == "xoauth2-ir":
            code, text, ch = smtp.auth("XOAUTH2", tmproto.xoauth2(user, token))
            _check_error_challenges(ch, required=False)
        elif how == "xoauth2-no-ir":
            code, text, ch = smtp.auth("XOAUTH2", tmproto.xoauth2(user, token), ir=False)
            _check_error_challenges(ch, required=False)
        elif how == "oauthbearer-ir":
            code, text, ch = smtp.auth("OAUTHBEARER", tmproto.oauthbearer(token, user))
            _check_error_challenges(ch, required=True)
        elif how == "plain":
            code, text, _ = smtp.auth("PLAIN", tmproto.plain(user, token))
        elif how == "login":
            code, text = smtp.cmd("AUTH LOGIN")
            assert code == 334, (code, text)
            code, text = smtp.cmd(tmproto.b64(user.encode()))
            assert code == 334, (code, text)
            code, text = smtp.cmd(tmproto.b64(token.encode()))
        else:
            raise ValueError(how)
        assert code == 535, f"{how}: expected 535, got {code} {text!r}"
        assert enhanced(text) == "5.7.8", f"{how}: expected 5.7.8, got {text!r}"
        code, text = smtp.cmd(f"MAIL FROM:<{user}>")
        assert code == 530, f"MAIL FROM after a failed AUTH: {code} {text!r}"
    finally:
        smtp.close()


def imap_accepts(server, ctx, token: str, user: str | None, *, mechanism: str = "XOAUTH2") -> None:
    imap = RawImap(server.ports.imaps, ctx, source_ip=tmproto.fresh_source_ip(),
                   timeout=REPLY_TIMEOUT)
    try:
        if mechanism == "XOAUTH2":
            _, tagged, ch = imap.sasl("XOAUTH2", tmproto.xoauth2(user, token))
        else:
            _, tagged, ch = imap.sasl("OAUTHBEARER", tmproto.oauthbearer(token, user), ir=False)
        assert status_of(tagged) == "OK", f"{mechanism}: {tagged!r} challenges={ch!r}"
        _, sel = imap.command("SELECT INBOX")
        assert status_of(sel) == "OK", sel
    finally:
        imap.close()


def smtp_accepts(server, ctx, token: str, user: str | None, *, mechanism: str = "XOAUTH2") -> None:
    smtp = RawSmtp(server.ports.submissions, ctx, source_ip=tmproto.fresh_source_ip(),
                   timeout=REPLY_TIMEOUT)
    try:
        assert smtp.cmd("EHLO client.example.test")[0] == 250
        if mechanism == "XOAUTH2":
            code, text, ch = smtp.auth("XOAUTH2", tmproto.xoauth2(user, token))
        else:
            code, text, ch = smtp.auth("OAUTHBEARER", tmproto.oauthbearer(token, user))
        assert code == 235, f"{mechanism}: {code} {text!r} challenges={ch!r}"
        assert enhanced(text) == "2.7.0", text
    finally:
        smtp.close()


# -- the bad-token matrix -----------------------------------------------------------------

@pytest.mark.parametrize("how", IMAP_WAYS)
@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_token_refused_over_imap(server, ssl_ctx, realm, direct_realm, case, how):
    token, user = BAD_CASES[case](realm, direct_realm, unique_user("bad"))
    imap_refuses(server, ssl_ctx, how, token, user)


@pytest.mark.parametrize("how", SMTP_WAYS)
@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_token_refused_over_smtp(server, ssl_ctx, realm, direct_realm, case, how):
    token, user = BAD_CASES[case](realm, direct_realm, unique_user("bad"))
    smtp_refuses(server, ssl_ctx, how, token, user)


@pytest.mark.parametrize("how", IMAP_WAYS)
def test_token_without_read_scope_refused_over_imap_but_sends(server, ssl_ctx, realm, how):
    user = unique_user("sendonly")
    token = realm.token(user, scope="mail.send")
    imap_refuses(server, ssl_ctx, how, token, user)
    smtp_accepts(server, ssl_ctx, token, user)


@pytest.mark.parametrize("how", SMTP_WAYS)
def test_token_without_send_scope_refused_over_smtp_but_reads(server, ssl_ctx, realm, how):
    user = unique_user("readonly")
    token = realm.token(user, scope="mail.read")
    smtp_refuses(server, ssl_ctx, how, token, user)
    imap_accepts(server, ssl_ctx, token, user)


def test_oauthbearer_error_challenge_is_json_with_status(server, ssl_ctx, realm):
    """The exact RFC 7628 exchange: `+ B64(JSON)`, client `AQ==`, then NO; likewise 334/535."""
    user = unique_user("bearer")
    token = realm.token(user, exp=_now() - 3600)
    imap = RawImap(server.ports.imaps, ssl_ctx, source_ip=tmproto.fresh_source_ip())
    try:
        tag = imap.tag()
        imap.send(f"{tag} AUTHENTICATE OAUTHBEARER {tmproto.b64(tmproto.oauthbearer(token, user))}\r\n".encode())
        line = imap.readline()
        assert line.startswith(b"+ "), line
        obj = tmproto.error_json(tmproto.unb64(line[2:].strip()))
        assert obj["status"] in ("invalid_token", "invalid_request", "insufficient_scope", "401", "400"), obj
        imap.send(b"AQ==\r\n")
        _, tagged = imap.read_until_tagged(tag)
        assert status_of(tagged) == "NO", tagged
    finally:
        imap.close()
    smtp = RawSmtp(server.ports.submissions, ssl_ctx, source_ip=tmproto.fresh_source_ip())
    try:
        smtp.cmd("EHLO client.example.test")
        code, text = smtp.cmd(f"AUTH OAUTHBEARER {tmproto.b64(tmproto.oauthbearer(token, user))}")
        assert code == 334, (code, text)
        obj = tmproto.error_json(tmproto.unb64(text[0].strip()))
        assert isinstance(obj.get("status"), str), obj
        code, text = smtp.cmd("AQ==")
        assert (code, enhanced(text)) == (535, "5.7.8"), (code, text)
    finally:
        smtp.close()


# -- good tokens --------------------------------------------------------------------------

GOOD_CASES = {
    "rs256": lambda r, d, u: (r.token(u, alg="RS256"), u),
    "ps256": lambda r, d, u: (r.token(u, alg="PS256"), u),
    "es256": lambda r, d, u: (r.token(u, alg="ES256"), u),
    "eddsa": lambda r, d, u: (r.token(u, alg="EdDSA"), u),
    "scp_array": lambda r, d, u: (r.token(u, scope=None, scp=["mail.read", "mail.send"]), u),
    "scope_among_others": lambda r, d, u: (r.token(u, scope="openid profile mail.send email mail.read"), u),
    "typ_JWT": lambda r, d, u: (r.token(u, typ="JWT"), u),
    "no_typ": lambda r, d, u: (r.token(u, typ=None), u),
    "aud_list": lambda r, d, u: (r.token(u, aud=["account", "tokenmail"]), u),
    "nbf_and_iat_in_past": lambda r, d, u: (r.token(u, nbf=_now() - 60, iat=_now() - 60), u),
    "ten_kilobytes": lambda r, d, u: (big_token(r, u), u),
    "direct_realm_upn_no_scope": lambda r, d, u: (d.token(None, scope=None, upn=u), u),
}


@pytest.mark.parametrize("case", sorted(GOOD_CASES))
def test_good_token_accepted(server, ssl_ctx, realm, direct_realm, case):
    token, user = GOOD_CASES[case](realm, direct_realm, unique_user("good"))
    imap_accepts(server, ssl_ctx, token, user, mechanism="XOAUTH2")
    imap_accepts(server, ssl_ctx, token, user, mechanism="OAUTHBEARER")
    smtp_accepts(server, ssl_ctx, token, user, mechanism="XOAUTH2")
    smtp_accepts(server, ssl_ctx, token, user, mechanism="OAUTHBEARER")


def test_oauthbearer_without_authzid_and_with_host_port(server, ssl_ctx, realm):
    user = unique_user("bare")
    token = realm.token(user)
    for initial in (tmproto.oauthbearer(token),
                    tmproto.oauthbearer(token, user, host="127.0.0.1", port=server.ports.imaps),
                    tmproto.oauthbearer(token, host="localhost", port=993)):
        imap = RawImap(server.ports.imaps, ssl_ctx)
        try:
            _, tagged, ch = imap.sasl("OAUTHBEARER", initial)
            assert status_of(tagged) == "OK", (initial, tagged, ch)
        finally:
            imap.close()


def test_upper_case_email_is_lower_cased(server, ssl_ctx, realm):
    """`Carol@Example.TEST` in the token names the mailbox carol@example.test."""
    lower = unique_user("carol")
    upper = lower.split("@")[0].upper() + "@Example.TEST"
    up_token = realm.token(upper)
    assert decode_unverified(up_token)[1]["email"] == upper
    msg = (f"From: {lower}\r\nTo: {lower}\r\nSubject: case test\r\n"
           f"Message-ID: <case-{lower}>\r\n\r\nbody\r\n").encode()
    imap = RawImap(server.ports.imaps, ssl_ctx)
    try:
        _, tagged, _ = imap.sasl("OAUTHBEARER", tmproto.oauthbearer(up_token))
        assert status_of(tagged) == "OK", tagged
        tag = imap.tag()
        imap.send(f"{tag} APPEND INBOX {{{len(msg)}}}\r\n".encode())
        assert imap.readline().startswith(b"+")
        imap.send(msg + b"\r\n")
        _, tagged = imap.read_until_tagged(tag)
        assert status_of(tagged) == "OK", tagged
    finally:
        imap.close()
    # the lower-case address sees the same mailbox
    imap = RawImap(server.ports.imaps, ssl_ctx)
    try:
        _, tagged, _ = imap.sasl("XOAUTH2", tmproto.xoauth2(lower, realm.token(lower)))
        assert status_of(tagged) == "OK", tagged
        untagged, tagged = imap.command("SELECT INBOX")
        assert status_of(tagged) == "OK"
        assert b"* 1 EXISTS" in untagged, untagged
    finally:
        imap.close()
    # and SMTP accepts the upper-case token with the lower-case SASL user
    smtp_accepts(server, ssl_ctx, up_token, lower)


# -- throttling of failed logins ----------------------------------------------------------

@pytest.mark.slow
def test_repeated_failures_are_slowed_and_server_keeps_running(server_factory, ssl_ctx, realm):
    srv = server_factory()  # its own server: its throttle state is untouched
    user = unique_user("victim")
    good = realm.token(user)
    bad = realm.token(user, exp=_now() - 3600)

    def attempt(token: str, source: str | None) -> tuple[float, bytes]:
        t0 = time.monotonic()
        try:
            imap = RawImap(srv.ports.imaps, ssl_ctx, source_ip=source, timeout=40)
        except (OSError, EOFError) as e:
            return time.monotonic() - t0, f"connect: {e}".encode()
        try:
            _, tagged, _ = imap.sasl("XOAUTH2", tmproto.xoauth2(user, token))
            return time.monotonic() - t0, tagged
        except (OSError, EOFError) as e:
            return time.monotonic() - t0, f"closed: {e}".encode()
        finally:
            imap.close()

    for source in ("127.9.9.9", "127.9.9.10"):  # the second is warm (keys fetched)
        baseline, res = attempt(good, source)
        assert status_of(res) == "OK", res
    times = []
    for _ in range(20):
        took, res = attempt(bad, "127.0.0.1")
        assert status_of(res) == "NO" or res.startswith(b"closed"), res
        times.append(took)
        if took >= 1.0 and len(times) >= 3:
            break
    print("failed-login latencies (s):", [round(t, 3) for t in times], "good:", round(baseline, 3))
    assert max(times) >= 0.5, f"20 failed logins from one address were never slowed: {times}"
    assert max(times) >= 5 * baseline, (times, baseline)
    assert srv.alive(), "the server died under repeated failed logins"
    # another address is not punished
    took, res = attempt(good, "127.8.8.8")
    assert status_of(res) == "OK" and took < 2.0, (took, res)
    # and the throttled address is slowed, not banned: a good token still gets in
    took, res = attempt(good, "127.0.0.1")
    assert status_of(res) == "OK", (took, res)
    assert srv.alive()
