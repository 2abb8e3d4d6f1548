"""The command line (CONTRACT.md): check-config, token, serve and its signals."""

from __future__ import annotations

import copy
import json
import signal
import subprocess
import time
import urllib.request

import jwt
import pytest

import tmproto
from tmclient import imap_login, smtp_login, track, unique_user
from tmissuer import decode_unverified
from tmserver import JWT_RE, binary, port_open, render_toml, run_cli


@pytest.fixture(scope="module")
def spare(server_factory):
    """A server object that is never started: its config is the base for the bad ones."""
    return server_factory(start=False)


def _write(spare, tmp_path, cfg: dict | str) -> str:
    path = tmp_path / "tokenmail.toml"
    path.write_text(cfg if isinstance(cfg, str) else render_toml(cfg))
    return str(path)


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# Each bad config: (mutation of the good config, the key the error must name).
def _del(*path):
    def f(cfg):
        d = cfg
        for k in path[:-1]:
            d = d[k] if not isinstance(d, list) else d[int(k)]
        del d[path[-1]]
    return f


def _set(value, *path):
    def f(cfg):
        d = cfg
        for k in path[:-1]:
            d = d[int(k)] if isinstance(d, list) else d[k]
        d[path[-1]] = value
    return f


BAD_CONFIGS = {
    "domains_missing": (_del("domains"), "domains"),
    "domains_not_a_list": (_set("example.test", "domains"), "domains"),
    "issuer_plain_http_not_loopback": (_set("http://example.com/realms/mail", "issuer", 0, "issuer"), "issuer"),
    "jwks_uri_plain_http_not_loopback": (_set("http://example.com/certs", "issuer", 0, "jwks_uri"), "jwks_uri"),
    "dev_issuer_plain_http_not_loopback": (_set("http://example.com:8080/dev", "dev_issuer", "issuer"), "issuer"),
    "imap_listen_not_an_address": (_set(["not-an-address"], "imap", "listen"), "listen"),
    "submission_listen_tls_bad_port": (_set(["127.0.0.1:99999"], "submission", "listen_tls"), "listen_tls"),
    "tls_cert_file_missing": (_set("/nonexistent/tokenmail/cert.pem", "tls", "cert"), "cert"),
    "tls_key_file_missing": (_set("/nonexistent/tokenmail/key.pem", "tls", "key"), "key"),
    "tls_missing": (_del("tls"), "tls"),
}


def test_check_config_accepts_good_config(spare):
    proc = run_cli("check-config", "--config", str(spare.config_path))
    assert proc.returncode == 0, proc.stderr
    shown = proc.stdout + proc.stderr
    for port in spare.listen_ports():
        assert str(port) in shown, f"check-config does not show port {port}:\n{shown}"
    assert not spare.data_dir.exists() or spare.data_dir.is_dir()


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_check_config_refuses_bad_config_naming_the_key(spare, tmp_path, case):
    mutate, key = BAD_CONFIGS[case]
    cfg = copy.deepcopy(spare.cfg)
    mutate(cfg)
    proc = run_cli("check-config", "--config", _write(spare, tmp_path, cfg))
    assert proc.returncode != 0, f"accepted:\n{render_toml(cfg)}\n{proc.stdout}"
    lines = _lines(proc.stderr)
    assert len(lines) == 1, f"expected one error line, got:\n{proc.stderr}"
    assert key.lower() in lines[0].lower(), f"the error does not name `{key}`: {lines[0]}"


def test_check_config_refuses_toml_syntax_error_and_missing_file(spare, tmp_path):
    proc = run_cli("check-config", "--config", _write(spare, tmp_path, "domains = [\n"))
    assert proc.returncode != 0
    assert _lines(proc.stderr), "no error message"
    proc = run_cli("check-config", "--config", str(tmp_path / "absent.toml"))
    assert proc.returncode != 0
    assert _lines(proc.stderr)


def test_check_config_accepts_empty_and_absent_listener_lists(spare, tmp_path):
    cfg = copy.deepcopy(spare.cfg)
    cfg["submission"] = {"listen": []}
    del cfg["imap"]["listen"]
    proc = run_cli("check-config", "--config", _write(spare, tmp_path, cfg))
    assert proc.returncode == 0, proc.stderr


def test_token_refuses_config_without_dev_issuer(spare, tmp_path):
    cfg = copy.deepcopy(spare.cfg)
    del cfg["dev_issuer"]
    proc = run_cli("token", "--config", _write(spare, tmp_path, cfg), "--user", "alice@example.test")
    assert proc.returncode != 0
    assert not JWT_RE.search(proc.stdout), proc.stdout
    assert "dev_issuer" in proc.stderr, proc.stderr


def test_token_claims(server):
    user = unique_user("alice")
    header, claims = decode_unverified(server.token(user))
    assert header["alg"] in ("RS256", "PS256", "ES256", "EdDSA"), header
    assert header.get("kid"), header
    assert claims["iss"] == server.dev_issuer_url
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    assert "tokenmail" in aud
    assert claims["email"] == user
    assert set(claims["scope"].split()) == {"mail.read", "mail.send"}
    assert claims["exp"] > time.time() + 60

    _, claims = decode_unverified(server.token(user, scope="mail.read"))
    assert claims["scope"].split() == ["mail.read"]
    _, claims = decode_unverified(server.token(user, ttl=120))
    assert abs(claims["exp"] - time.time() - 120) <= 10, claims


def test_dev_issuer_serves_discovery_and_keys(server):
    token = server.token(unique_user("alice"))
    url = server.dev_issuer_url + "/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=5) as r:
        doc = json.load(r)
    assert doc["issuer"] == server.dev_issuer_url
    assert doc["jwks_uri"].startswith("http://127.0.0.1:")
    with urllib.request.urlopen(doc["jwks_uri"], timeout=5) as r:
        keys = {k["kid"]: k for k in json.load(r)["keys"]}
    header = jwt.get_unverified_header(token)
    assert header["kid"] in keys
    jwt.decode(token, jwt.PyJWK(keys[header["kid"]]).key, algorithms=[header["alg"]],
               audience="tokenmail", issuer=server.dev_issuer_url)


def test_data_dir_is_created(server):
    assert server.data_dir.is_dir()


@pytest.mark.parametrize("case", ["domains_missing", "tls_cert_file_missing", "issuer_plain_http_not_loopback"])
def test_serve_exits_at_once_on_bad_config(spare, tmp_path, case):
    mutate, key = BAD_CONFIGS[case]
    cfg = copy.deepcopy(spare.cfg)
    mutate(cfg)
    path = _write(spare, tmp_path, cfg)
    t0 = time.monotonic()
    proc = subprocess.run([str(binary()), "serve", "--config", path], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=15)
    took = time.monotonic() - t0
    assert proc.returncode != 0
    assert took < 5, f"took {took:.1f}s to refuse a bad config"
    assert any(key in line for line in _lines(proc.stderr)), proc.stderr
    assert not any(port_open(p) for p in spare.listen_ports())


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_stops_serve_with_exit_0(server_factory, ssl_ctx, sig):
    srv = server_factory()
    user = unique_user("alice")
    imap = imap_login(srv, ssl_ctx, user)  # an authenticated, idle session
    imap.select("INBOX")
    smtp = smtp_login(srv, ssl_ctx, user)
    raw = tmproto.RawImap(srv.ports.imap, ssl_ctx, tls=False)  # a cleartext one
    try:
        srv.proc.send_signal(sig)
        try:
            code = srv.proc.wait(15)
        except subprocess.TimeoutExpired:
            srv.kill()
            pytest.fail(f"serve still running 15s after {sig.name}\n{srv.stderr()}")
        assert code == 0, f"exit code {code} after {sig.name}\n{srv.stderr()}"
        for port in srv.listen_ports():
            assert not port_open(port), f"port {port} still open after exit"
    finally:
        raw.close()
        for closer in (imap.shutdown, smtp.close):
            try:
                closer()
            except OSError:
                pass


def test_serve_with_only_imap_tls(server_factory, ssl_ctx):
    srv = server_factory(start=False, dev_issuer=True)
    srv.cfg["submission"] = {"listen": [], "listen_tls": []}
    srv.cfg["imap"] = {"listen_tls": srv.cfg["imap"]["listen_tls"]}
    srv.write_config()
    srv.start()
    track(srv)
    user = unique_user("alice")
    imap_login(srv, ssl_ctx, user).logout()
    for port in (srv.ports.imap, srv.ports.submission, srv.ports.submissions):
        assert not port_open(port), f"port {port} served though not configured"
    assert srv.stop() == 0


def test_account_create_lets_mail_arrive_before_first_login(server_factory, ssl_ctx):
    """`tokenmail account create` (issue 2): an address pre-created while the server is stopped
    receives mail before its owner ever logs in; without it, RCPT gets 550 5.1.1."""
    srv = server_factory(start=False)
    carol, dave = unique_user("carol"), unique_user("dave")
    cfg = str(srv.config_path)
    made = run_cli("account", "create", carol, "--config", cfg)
    assert made.returncode == 0 and "created" in made.stdout, (made.stdout, made.stderr)
    again = run_cli("account", "create", carol.upper(), "--config", cfg)
    assert again.returncode == 0 and "already exists" in again.stdout, (again.stdout, again.stderr)
    foreign = run_cli("account", "create", "eve@elsewhere.test", "--config", cfg)
    assert foreign.returncode != 0 and "elsewhere.test" in foreign.stderr, foreign.stderr
    srv.start()
    try:
        sender = unique_user("alice")
        s = smtp_login(srv, ssl_ctx, sender)
        try:
            s.mail(sender)
            assert s.rcpt(carol)[0] == 250
            code, text = s.rcpt(dave)
            assert code == 550 and b"5.1.1" in text, (code, text)
            s.rset()
            s.sendmail(sender, [carol], f"From: {sender}\r\nTo: {carol}\r\nSubject: early\r\n\r\nhi\r\n")
        finally:
            s.quit()
        imap = imap_login(srv, ssl_ctx, carol)
        try:
            typ, data = imap.select("INBOX")
            assert typ == "OK" and data[0] == b"1", data
        finally:
            imap.logout()
        # While the server runs the command goes through its control socket (issue 7).
        live = run_cli("account", "create", dave, "--config", cfg, timeout=20)
        assert live.returncode == 0 and "created" in live.stdout, (live.stdout, live.stderr)
        s = smtp_login(srv, ssl_ctx, sender)
        try:
            assert s.rcpt(dave)[0] == 250 if s.mail(sender)[0] == 250 else False
        finally:
            s.quit()
    finally:
        srv.stop()
