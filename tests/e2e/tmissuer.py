"""A token issuer written in Python for the tests, and helpers to forge bad tokens.

`TestIssuer` runs a tiny `http.server` on 127.0.0.1 in a thread. It serves one or more
*realms*, each an OAuth issuer with its own keys:

- `GET <realm>/.well-known/openid-configuration`: OIDC discovery (`issuer`, `jwks_uri`), unless
  the realm was made with `discovery=False`;
- `GET <realm>/jwks`: the realm's public keys (RS256, PS256, ES256 and EdDSA, one key each,
  each JWK with `kid`, `alg` and `use`).

`Realm.token(...)` signs any claims with PyJWT; `forge_*` build what PyJWT refuses to make
(`alg: none`, HS256 keyed with the RSA public key PEM).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import os
import threading
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

AUDIENCE = "tokenmail"
READ_SCOPE = "mail.read"
SEND_SCOPE = "mail.send"
BOTH_SCOPES = f"{READ_SCOPE} {SEND_SCOPE}"

#: The algorithms every realm can sign with, one key each.
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_json(obj: Any) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def decode_unverified(token: str) -> tuple[dict, dict]:
    """The (header, claims) of a JWT, without checking anything."""
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def _new_key(alg: str):
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(alg)


def _public_jwk(alg: str, key, kid: str) -> dict:
    public = key.public_key()
    if alg in ("RS256", "PS256"):
        jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif alg == "ES256":
        jwk = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
    jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return jwk


class Realm:
    """One issuer: an issuer URL, its keys, and a token mint."""

    def __init__(self, base_url: str, path: str, *, discovery: bool = True, kid_prefix: str = "k"):
        self.path = path.rstrip("/")
        self.issuer = base_url + self.path
        self.discovery = discovery
        self.jwks_uri = f"{self.issuer}/jwks"
        # Same kid naming in every realm on purpose: a token signed by another realm's key under
        # a kid this realm also has must still fail the signature check.
        self.keys = {alg: (f"{kid_prefix}-{alg.lower()}", _new_key(alg)) for alg in ALGORITHMS}

    # -- keys ---------------------------------------------------------------------------
    def jwks(self) -> dict:
        return {"keys": [_public_jwk(alg, key, kid) for alg, (kid, key) in self.keys.items()]}

    def kid(self, alg: str = "RS256") -> str:
        return self.keys[alg][0]

    def rsa_public_pem(self) -> bytes:
        """The RS256 key's public half as a PEM (what an HMAC-confusion attacker would use)."""
        return self.keys["RS256"][1].public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def discovery_document(self) -> dict:
        return {
            "issuer": self.issuer,
            "jwks_uri": self.jwks_uri,
            "token_endpoint": f"{self.issuer}/token",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": list(ALGORITHMS),
        }

    # -- tokens -------------------------------------------------------------------------
    def claims(
        self,
        email: str | None,
        *,
        scope: str | None = BOTH_SCOPES,
        aud: Any = AUDIENCE,
        iss: str | None = None,
        ttl: int = 600,
        user_claim: str = "email",
        **extra: Any,
    ) -> dict:
        """Standard RFC 9068 claims for `email`; `extra` adds or (with value None) removes."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": iss if iss is not None else self.issuer,
            "sub": f"sub-{email}",
            "aud": aud,
            "iat": now,
            "exp": now + ttl,
            "jti": b64url(os.urandom(12)),
            "client_id": "tokenmail-tests",
        }
        if scope is not None:
            claims["scope"] = scope
        if email is not None:
            claims[user_claim] = email
        for k, v in extra.items():
            if v is None:
                claims.pop(k, None)
            else:
                claims[k] = v
        return claims

    def sign(self, claims: dict, *, alg: str = "RS256", typ: str | None = "at+jwt",
             kid: str | None = "default", key=None, headers: dict | None = None) -> str:
        """Signs `claims` with this realm's key for `alg` (or `key`), kid defaulting to the key's."""
        real_kid, real_key = self.keys[alg]
        hdr: dict[str, Any] = {}
        if typ is not None:
            hdr["typ"] = typ
        if kid == "default":
            hdr["kid"] = real_kid
        elif kid is not None:
            hdr["kid"] = kid
        hdr.update(headers or {})
        token = jwt.encode(claims, key if key is not None else real_key, algorithm=alg, headers=hdr)
        if kid is None and "kid" in jwt.get_unverified_header(token):
            raise AssertionError("PyJWT added a kid")
        return token

    def token(self, email: str | None, *, alg: str = "RS256", typ: str | None = "at+jwt",
              kid: str | None = "default", **claim_args: Any) -> str:
        """A token for `email`: `claim_args` go to `claims`, the rest to `sign`."""
        return self.sign(self.claims(email, **claim_args), alg=alg, typ=typ, kid=kid)

    # -- forgeries PyJWT refuses to make -----------------------------------------------
    def forge_none(self, claims: dict) -> str:
        """`alg: none`, empty signature (RFC 7519 §6 unsecured JWT)."""
        header = {"alg": "none", "typ": "JWT", "kid": self.kid("RS256")}
        return f"{b64url_json(header)}.{b64url_json(claims)}."

    def forge_hs256_with_public_key(self, claims: dict) -> str:
        """HS256 keyed with the RS256 public key PEM: the classic algorithm-confusion attack."""
        header = {"alg": "HS256", "typ": "JWT", "kid": self.kid("RS256")}
        signing_input = f"{b64url_json(header)}.{b64url_json(claims)}".encode("ascii")
        mac = hmac.new(self.rsa_public_pem(), signing_input, hashlib.sha256).digest()
        return f"{signing_input.decode('ascii')}.{b64url(mac)}"


def tamper_claims(token: str, **changes: Any) -> str:
    """The same header and signature over changed claims: the signature no longer matches."""
    h, p, s = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims.update(changes)
    return f"{h}.{b64url_json(claims)}.{s}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server_version = "tokenmail-test-issuer/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # keep pytest output clean
        pass

    def do_GET(self):  # noqa: N802 (http.server's naming)
        issuer: TestIssuer = self.server.issuer  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        with issuer.lock:
            issuer.requests.append(path)
        for realm in issuer.realms.values():
            if path == f"{realm.path}/.well-known/openid-configuration" and realm.discovery:
                return self._json(realm.discovery_document())
            if path == f"{realm.path}/jwks":
                return self._json(realm.jwks())
        self._json({"error": "not found"}, 404)

    def _json(self, obj: Any, status: int = 200):
        body = json.dumps(obj).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=300")
        self.end_headers()
        self.wfile.write(body)


class TestIssuer:
    """An HTTP server on 127.0.0.1 that serves several realms (issuers)."""

    __test__ = False  # not a pytest test class

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.realms: dict[str, Realm] = {}
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.issuer = self  # type: ignore[attr-defined]
        self.port = self.httpd.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="test-issuer", daemon=True)

    def add_realm(self, path: str, **kwargs: Any) -> Realm:
        realm = Realm(self.base_url, path, **kwargs)
        self.realms[realm.path] = realm
        return realm

    def start(self) -> "TestIssuer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
