"""Checks of the test harness itself; they need no tokenmail binary.

They prove that what the other tests rely on works: the Python issuer serves discovery and
keys, its tokens verify against its JWKS and the forged ones do not, the IMAP parser reads real
responses, the TOML writer's output parses, and the Node IdP issues JWT access tokens.
"""

import base64
import hashlib
import hmac
import json
import time
import tomllib
import urllib.error
import urllib.request

import jwt
import pytest

import tmproto
from tmissuer import AUDIENCE, decode_unverified, tamper_claims
from tmserver import JWT_RE, make_config, render_toml, issuer_block


def _get(url):
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)


def _verify(realm, token, **kw):
    """Verifies like a strict resource server would: key by kid from the realm's JWKS."""
    header = jwt.get_unverified_header(token)
    keys = {k["kid"]: k for k in _get(realm.jwks_uri)["keys"]}
    jwk = keys[header["kid"]]
    key = jwt.PyJWK(jwk).key
    return jwt.decode(token, key, algorithms=[jwk["alg"]], audience=AUDIENCE,
                      issuer=realm.issuer, **kw)


def test_discovery_and_jwks(py_issuer, realm, direct_realm):
    doc = _get(realm.issuer + "/.well-known/openid-configuration")
    assert doc["issuer"] == realm.issuer
    assert doc["jwks_uri"] == realm.jwks_uri
    algs = sorted(k["alg"] for k in _get(doc["jwks_uri"])["keys"])
    assert algs == ["ES256", "EdDSA", "PS256", "RS256"]
    with pytest.raises(urllib.error.HTTPError):
        _get(direct_realm.issuer + "/.well-known/openid-configuration")
    assert len(_get(direct_realm.jwks_uri)["keys"]) == 4


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_good_tokens_verify(realm, alg):
    claims = _verify(realm, realm.token("alice@example.test", alg=alg))
    assert claims["email"] == "alice@example.test"
    assert claims["scope"] == "mail.read mail.send"


def test_forgeries_do_not_verify(realm, direct_realm):
    claims = realm.claims("alice@example.test")
    none = realm.forge_none(claims)
    assert jwt.get_unverified_header(none)["alg"] == "none" and none.endswith(".")
    hs = realm.forge_hs256_with_public_key(claims)
    h, p, s = hs.split(".")
    mac = hmac.new(realm.rsa_public_pem(), f"{h}.{p}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(s + "==") == mac
    for bad in (none, hs, tamper_claims(realm.token("alice@example.test"), email="bob@example.test")):
        with pytest.raises(Exception):
            _verify(realm, bad)
    # another realm's key under a kid this realm also has: signature must fail
    other = direct_realm.sign(claims)
    assert jwt.get_unverified_header(other)["kid"] == realm.kid()
    with pytest.raises(jwt.InvalidSignatureError):
        _verify(realm, other)
    with pytest.raises(jwt.ExpiredSignatureError):
        _verify(realm, realm.token("a@example.test", exp=int(time.time()) - 600))


def test_big_token_size(realm):
    from test_tokens import big_token
    tok = big_token(realm, "alice@example.test")
    assert 9_500 <= len(tok) <= 10_700
    line = "A AUTHENTICATE XOAUTH2 " + tmproto.b64(tmproto.xoauth2("alice@example.test", tok))
    assert len(line) < 16 * 1024
    _verify(realm, tok)


def test_sasl_formats():
    assert tmproto.oauthbearer("T", "u@x") == b"n,a=u@x,\x01auth=Bearer T\x01\x01"
    assert tmproto.oauthbearer("T") == b"n,,\x01auth=Bearer T\x01\x01"
    assert tmproto.oauthbearer("T", host="h", port=1) == b"n,,\x01host=h\x01port=1\x01auth=Bearer T\x01\x01"
    assert tmproto.xoauth2("u@x", "T") == b"user=u@x\x01auth=Bearer T\x01\x01"


def test_imap_parser():
    raw = (b'12 (UID 7 FLAGS (\\Seen \\Flagged) RFC822.SIZE 44 INTERNALDATE "02-Jan-2006 15:04:05 +0000" '
           b'ENVELOPE ("Mon, 02 Jan 2006 15:04:05 +0000" "Hi \\"there\\"" (("Alice" NIL "alice" "example.test")) '
           b'NIL NIL NIL NIL NIL NIL "<m@x>") BODY[HEADER.FIELDS (SUBJECT)] {12}\r\nSubject: x\r\n '
           b'BODY[TEXT]<0> "Hello" BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 25 2 NIL NIL NIL NIL))')
    seq, attrs = tmproto.parse_imap(raw)
    assert seq == "12"
    m = tmproto.pairs(attrs)
    assert m["UID"] == "7" and m["FLAGS"] == ["\\Seen", "\\Flagged"]
    assert m["ENVELOPE"][1] == b'Hi "there"' and m["ENVELOPE"][2] == [[b"Alice", None, b"alice", b"example.test"]]
    assert m["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: x\r\n"
    assert m["BODY[TEXT]<0>"] == b"Hello"
    assert m["BODYSTRUCTURE"][:3] == [b"TEXT", b"PLAIN", [b"CHARSET", b"us-ascii"]]
    data = [(b'1 (UID 3 BODY[] {5}', b'hello'), b' FLAGS (\\Seen))', b'2 (UID 4 FLAGS ())']
    fm = tmproto.fetch_map(data)
    assert fm[1]["BODY[]"] == b"hello" and fm[1]["FLAGS"] == ["\\Seen"] and fm[2]["UID"] == "4"
    assert tmproto.response_code(b"[APPENDUID 38505 3955] APPEND completed") == ["APPENDUID", "38505", "3955"]


def test_config_renders_as_toml(tmp_path, realm):
    cfg = make_config(tmp_path, tmp_path / "c.pem", tmp_path / "k.pem",
                      issuers=[issuer_block(realm.issuer), issuer_block("http://127.0.0.1:9/x", jwks_uri="http://127.0.0.1:9/k")])
    parsed = tomllib.loads(render_toml(cfg))
    assert parsed["domains"] == ["example.test"]
    assert parsed["issuer"][0]["issuer"] == realm.issuer and parsed["issuer"][0]["read_scope"] == "mail.read"
    assert parsed["issuer"][1]["jwks_uri"] == "http://127.0.0.1:9/k"
    assert parsed["dev_issuer"]["issuer"].startswith("http://127.0.0.1:")
    assert parsed["imap"]["listen_tls"][0].startswith("127.0.0.1:")


def test_source_addresses_are_loopback_and_distinct():
    seen = {tmproto.fresh_source_ip() for _ in range(600)}
    assert len(seen) == 600
    assert all(ip.startswith("127.") for ip in seen)


@pytest.mark.slow
def test_node_idp_issues_jwt_access_tokens(idp):
    doc = _get(idp.issuer + "/.well-known/openid-configuration")
    assert doc["issuer"] == idp.issuer
    token = idp.token("alice")
    assert JWT_RE.fullmatch(token)
    header, claims = decode_unverified(token)
    print("IdP token header:", header)
    print("IdP token claims:", claims)
    assert header["alg"] == "RS256" and header["typ"] == "at+jwt" and header["kid"]
    assert claims["iss"] == idp.issuer
    assert claims["aud"] == "tokenmail"
    assert claims["email"] == "alice@example.test"
    assert claims["scope"] == "mail.read mail.send"
    assert claims["exp"] > time.time()
    keys = {k["kid"]: k for k in _get(doc["jwks_uri"])["keys"]}
    verified = jwt.decode(token, jwt.PyJWK(keys[header["kid"]]).key, algorithms=["RS256"],
                          audience="tokenmail", issuer=idp.issuer)
    assert verified["client_id"] == "alice"
    assert decode_unverified(idp.token("bob", scope="mail.read"))[1]["scope"] == "mail.read"
    assert decode_unverified(idp.token("bob"))[1]["email"] == "bob@example.test"
    assert decode_unverified(idp.token("mallory"))[1]["email"] == "mallory@elsewhere.test"
