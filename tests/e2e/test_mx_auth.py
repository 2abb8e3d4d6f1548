"""SPF, DKIM and DMARC on the MX (CONTRACT.md "Mail from and to other servers", issue 8 point 2)
against a real DNS server: Debian's dnsmasq on loopback, started here with the records of three
sending domains, and messages signed by Python's dkimpy, an implementation nobody here wrote."""

from __future__ import annotations

import getpass
import shutil
import smtplib
import subprocess
import time

import pytest

from tmclient import imap_login
from tmserver import free_ports, run_cli

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dkim_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64
    return pem, base64.b64encode(der).decode()


@pytest.fixture(scope="module")
def dns(dkim_key, tmp_path_factory):
    """dnsmasq answering for sender.test (SPF pass from 127.0.0.1, DKIM key, DMARC reject),
    spf-fail.test (SPF -all without us, DMARC reject) and quarantine.test (SPF ~all without
    us, DMARC quarantine)."""
    binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    if not shutil.which(binary):
        pytest.fail("dnsmasq is not installed (scripts/test installs dnsmasq-base)", pytrace=False)
    (port,) = free_ports(1)
    _, public = dkim_key
    parts = [public[i:i + 200] for i in range(0, len(public), 200)]
    key_record = ",".join([f'"v=DKIM1; k=rsa; p={parts[0]}"'] + [f'"{p}"' for p in parts[1:]])
    # In a file: dnsmasq takes the quotes off only there.
    conf = tmp_path_factory.mktemp("dns") / "dnsmasq.conf"
    conf.write_text("\n".join([
        # Names under test/ it has no record for: NXDOMAIN, as a zone's server says
        # (DMARC's tree walk asks for _dmarc.test too).
        "local=/test/",
        'txt-record=sender.test,"v=spf1 ip4:127.0.0.1 -all"',
        f"txt-record=tm1._domainkey.sender.test,{key_record}",
        'txt-record=_dmarc.sender.test,"v=DMARC1; p=reject"',
        'txt-record=spf-fail.test,"v=spf1 ip4:192.0.2.1 -all"',
        'txt-record=_dmarc.spf-fail.test,"v=DMARC1; p=reject"',
        'txt-record=quarantine.test,"v=spf1 ip4:192.0.2.1 ~all"',
        'txt-record=_dmarc.quarantine.test,"v=DMARC1; p=quarantine"',
    ]) + "\n")
    proc = subprocess.Popen(
        [binary, "--keep-in-foreground", "--no-resolv", "--no-hosts", f"--conf-file={conf}",
         f"--port={port}", "--listen-address=127.0.0.1", "--bind-interfaces", "--pid-file=",
         f"--user={getpass.getuser()}", "--log-facility=-"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    time.sleep(0.5)
    assert proc.poll() is None, proc.stdout.read().decode(errors="replace")
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def server(server_factory, dns):
    srv = server_factory(start=False)
    (srv.mx,) = free_ports(1)
    srv.cfg["smtp_in"] = {"listen": [f"127.0.0.1:{srv.mx}"]}
    srv.cfg["dns"] = {"nameservers": [f"127.0.0.1:{dns}"]}
    srv.write_config()
    srv.start()
    return srv


def mailbox(srv, ctx, user: str, name: str = "INBOX") -> list[bytes]:
    imap = imap_login(srv, ctx, user)
    imap.select(name)
    _, data = imap.search(None, "ALL")
    out = [imap.fetch(n, "(BODY.PEEK[])")[1][0][1] for n in data[0].split()]
    imap.logout()
    return out


def new_account(srv, new_user) -> str:
    user = new_user("auth")
    run_cli("account", "create", user, "--config", str(srv.config_path), check=True)
    return user


def signed(key_pem: bytes, sender: str, to: str, subject: str, extra: str = "") -> bytes:
    import dkim

    msg = (f"{extra}From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\n"
           f"Message-ID: <{time.monotonic_ns()}@sender.test>\r\n\r\nSigned body.\r\n").encode()
    sig = dkim.sign(msg, b"tm1", b"sender.test", key_pem,
                    include_headers=[b"from", b"to", b"subject", b"message-id"])
    return sig + msg


def authentication_results(msg: bytes, authserv_id: str) -> list[str]:
    import email
    parsed = email.message_from_bytes(msg)
    return [" ".join(v.split()) for v in parsed.get_all("Authentication-Results", [])
            if v.strip().lower().startswith(authserv_id.lower())]


def test_signed_mail_passes_spf_dkim_and_dmarc(server, ssl_ctx, dkim_key, new_user):
    user = new_account(server, new_user)
    host = server.cfg["hostname"]
    forged = f"Authentication-Results: {host}; dkim=pass; spf=pass; dmarc=pass\r\n"
    msg = signed(dkim_key[0], "news@sender.test", user, "signed", extra=forged)
    with smtplib.SMTP("127.0.0.1", server.mx, timeout=20) as s:
        s.ehlo("mta.sender.test")
        assert s.sendmail("bounces@sender.test", [user], msg) == {}
    got = mailbox(server, ssl_ctx, user)
    assert len(got) == 1
    results = authentication_results(got[0], host)
    assert len(results) == 1, f"the forged header is removed, ours added: {results}"
    r = results[0]
    assert "spf=pass" in r and "dkim=pass" in r and "dmarc=pass" in r, r
    # The DKIM signature still verifies after our changes (it covers what it signed).
    import dkim
    assert dkim.verify(got[0], dnsfunc=lambda *_a, **_k: b"v=DKIM1; k=rsa; p=" + dkim_key[1].encode())


def test_spf_fail_with_dmarc_reject_is_refused(server, new_user):
    user = new_account(server, new_user)
    msg = (f"From: boss@spf-fail.test\r\nTo: {user}\r\nSubject: wire money\r\n\r\nNow.\r\n").encode()
    with smtplib.SMTP("127.0.0.1", server.mx, timeout=20) as s:
        s.ehlo("mta.elsewhere.test")
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("boss@spf-fail.test", [user], msg)
        assert e.value.smtp_code == 550 and e.value.smtp_error.startswith(b"5.7.1"), e.value


def test_a_forged_dkim_signature_fails_dmarc(server, dkim_key, new_user):
    """Signed, then changed on the way: DKIM fails; SPF would pass, but the visible From domain
    is sender.test while the envelope is spf-fail.test, so nothing aligns: p=reject."""
    user = new_account(server, new_user)
    msg = signed(dkim_key[0], "news@sender.test", user, "original").replace(b"Signed body.",
                                                                          b"Changed body.")
    with smtplib.SMTP("127.0.0.1", server.mx, timeout=20) as s:
        s.ehlo("mta.elsewhere.test")
        with pytest.raises(smtplib.SMTPDataError) as e:
            s.sendmail("x@spf-fail.test", [user], msg)
        assert e.value.smtp_code == 550


def test_dmarc_quarantine_goes_to_junk(server, ssl_ctx, new_user):
    user = new_account(server, new_user)
    msg = (f"From: promo@quarantine.test\r\nTo: {user}\r\nSubject: offer\r\n\r\nBuy.\r\n").encode()
    with smtplib.SMTP("127.0.0.1", server.mx, timeout=20) as s:
        s.ehlo("mta.elsewhere.test")
        assert s.sendmail("promo@quarantine.test", [user], msg) == {}
    inbox = mailbox(server, ssl_ctx, user)
    assert inbox == [], authentication_results(inbox[0], server.cfg["hostname"])
    junk = mailbox(server, ssl_ctx, user, "Junk")
    assert len(junk) == 1
    r = authentication_results(junk[0], server.cfg["hostname"])
    assert r and "dmarc=fail" in r[0] and "spf=softfail" in r[0], r
