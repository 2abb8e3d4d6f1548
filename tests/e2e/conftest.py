"""Fixtures for tokenmail's end-to-end tests.

Everything runs on loopback. A module gets its own `tokenmail serve` (fixture `server`) with a
fresh data_dir, a self-signed certificate, the development issuer and two realms of the Python
test issuer. Tests give each scenario its own mailbox addresses (`new_user`) so that they do not
see each other's mail.

Helpers live in modules beside this file: `tmserver` (the binary, config, start/stop),
`tmissuer` (the Python issuer and forged tokens), `tmproto` (SASL, IMAP parsing, raw
clients), `tmclient` (logins, curl, the Node IdP), `tmcerts` (the certificate).
"""

from __future__ import annotations

import itertools
import ssl
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from tmcerts import make_self_signed  # noqa: E402
from tmclient import start_idp, track, unique_user, untrack  # noqa: E402
from tmissuer import TestIssuer  # noqa: E402
from tmserver import REPO, RUNNING, Server, issuer_block  # noqa: E402


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failing test's report shows the stderr of every server running at the time."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for srv in list(RUNNING):
            report.sections.append((f"tokenmail serve ({srv.workdir.name})", srv.stderr()))


# -- certificates and the Python test issuer ---------------------------------------------

@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    return make_self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def ssl_ctx(tls_files) -> ssl.SSLContext:
    """Trusts only the test certificate and checks the name (127.0.0.1 is in its SANs)."""
    return ssl.create_default_context(cafile=str(tls_files[0]))


@pytest.fixture(scope="session")
def py_issuer():
    """The Python issuer with two realms:

    - `/realms/test`: found by OIDC discovery, user claim `email`, scopes mail.read/mail.send;
    - `/realms/direct`: no discovery document, configured by `jwks_uri`, user claim `upn`, and
      no scope required ("").
    """
    iss = TestIssuer()
    iss.add_realm("/realms/test", kid_prefix="k")
    iss.add_realm("/realms/direct", discovery=False, kid_prefix="k")
    iss.start()
    yield iss
    iss.stop()


@pytest.fixture(scope="session")
def realm(py_issuer):
    return py_issuer.realms["/realms/test"]


@pytest.fixture(scope="session")
def direct_realm(py_issuer):
    return py_issuer.realms["/realms/direct"]


@pytest.fixture(scope="session")
def issuer_blocks(realm, direct_realm) -> list[dict]:
    return [
        issuer_block(realm.issuer),
        issuer_block(direct_realm.issuer, jwks_uri=direct_realm.jwks_uri, user_claim="upn",
                     read_scope="", send_scope=""),
    ]


# -- servers ------------------------------------------------------------------------------

_server_seq = itertools.count()


@pytest.fixture(scope="module")
def server_factory(tmp_path_factory, tls_files, issuer_blocks):
    """`make(issuers=None, dev_issuer=True, start=True)` -> a Server; all stop at module end.

    `issuers=None` means the Python issuer's two realms.
    """
    made: list[Server] = []

    def make(*, issuers: list[dict] | None = None, dev_issuer: bool = True,
             start: bool = True) -> Server:
        workdir = tmp_path_factory.mktemp(f"server{next(_server_seq)}")
        srv = Server(workdir, *tls_files,
                     issuers=issuer_blocks if issuers is None else issuers,
                     dev_issuer=dev_issuer)
        made.append(srv)
        if start:
            try:
                srv.start()
            except FileNotFoundError as e:
                pytest.fail(str(e), pytrace=False)
            track(srv)
        return srv

    yield make
    for srv in made:
        untrack(srv)
        if srv.alive():
            try:
                srv.stop()
            except AssertionError as e:  # did not stop in time; stop() killed it
                print(e, file=sys.stderr)


@pytest.fixture(scope="module")
def server(server_factory) -> Server:
    """A running `tokenmail serve` for the whole module."""
    return server_factory()


@pytest.fixture
def new_user():
    """`new_user(prefix="user")` -> a mailbox address that no other test uses."""
    return unique_user


# -- the real identity provider (oidc-provider on Node) -----------------------------------

@pytest.fixture(scope="session")
def idp():
    """`node tests/idp/idp.mjs --port 0`, running for the session."""
    running = start_idp()
    yield running
    running.stop()
