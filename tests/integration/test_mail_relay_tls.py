"""Mail to a relay over TLS, through the command line as an operator runs it: STARTTLS and
implicit TLS verify the relay's certificate and host name (against `smtp_ca_file` here, a CA the
test made with trustme); a relay that cannot be verified gets nothing, not even the login, and
the notice waits with the reason; a verified one gets the mail, with the login when
`smtp_username` is set. `deliver` exits 3 while any notice could not be delivered."""
from __future__ import annotations

import pytest
import trustme

from tests.cli import open_application
from tests.mailserver import MailServer

ACCOUNT = {"ast-engine": "s3cret relay password"}

# aiosmtpd warns about AUTH without its own STARTTLS, which an implicit-TLS session has no need of.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def ca_file(ca, tmp_path):
    path = tmp_path / "relay-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def relay_env(server: MailServer, tls: str, ca_file: str, login: bool = True) -> dict:
    env = {"AST_ENGINE_DELIVERY_CHANNEL": "smtp", "AST_ENGINE_DELIVERY_SMTP_HOST": "127.0.0.1",
           "AST_ENGINE_DELIVERY_SMTP_PORT": str(server.port),
           "AST_ENGINE_DELIVERY_SMTP_TLS": tls, "AST_ENGINE_DELIVERY_SMTP_CA_FILE": ca_file}
    if login:
        (user, password), = ACCOUNT.items()
        env.update(AST_ENGINE_DELIVERY_SMTP_USERNAME=user, AST_ENGINE_SMTP_PASSWORD=password)
    return env


def notice_rows(cli) -> list[dict]:
    return cli.json("notices")


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_a_verified_relay_gets_the_mail_with_the_login(cli, ca, ca_file, tls):
    case = open_application(cli)
    with MailServer(tls=tls, certificate=ca.issue_cert("127.0.0.1", "localhost"),
                    accounts=ACCOUNT) as server:
        delivered = cli("deliver", env=relay_env(server, tls, ca_file))
        logins = list(server.recorder.logins)
        arrived = server.recorder.ids()
    assert delivered.returncode == 0, delivered.stdout + delivered.stderr
    assert "1 notice(s) sent, 0 to retry later, 0 failed" in delivered.stdout
    assert arrived == {f"<{case}.1.1@la.example.org>": 1}
    assert logins == list(ACCOUNT.items())
    assert [n["status"] for n in notice_rows(cli)] == ["sent"]


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_a_relay_whose_certificate_cannot_be_verified_gets_nothing_and_the_notice_waits(
        cli, ca_file, tls):
    case = open_application(cli)
    impostor = trustme.CA()   # a certificate for the right name, from a CA nobody trusts here
    with MailServer(tls=tls, certificate=impostor.issue_cert("127.0.0.1", "localhost"),
                    accounts=ACCOUNT) as server:
        delivered = cli("deliver", env=relay_env(server, tls, ca_file))
        logins, messages = list(server.recorder.logins), list(server.recorder.messages)
    assert delivered.returncode == 3
    assert f"notice {case}.1.1 not delivered (attempt 1 of 8)" in delivered.stdout
    assert "CERTIFICATE_VERIFY_FAILED" in delivered.stdout
    assert (logins, messages) == ([], [])
    waiting, = notice_rows(cli)
    assert waiting["status"] == "pending"
    assert "CERTIFICATE_VERIFY_FAILED" in waiting["last_error"]


def test_a_certificate_for_another_host_name_is_refused(cli, ca, ca_file):
    open_application(cli)
    with MailServer(tls="starttls", certificate=ca.issue_cert("mail.elsewhere.example.org"),
                    accounts=ACCOUNT) as server:
        delivered = cli("deliver", env=relay_env(server, "starttls", ca_file))
        logins, messages = list(server.recorder.logins), list(server.recorder.messages)
    assert delivered.returncode == 3
    assert "mismatch" in delivered.stdout   # "IP address mismatch, certificate is not valid"
    assert (logins, messages) == ([], [])


def test_retry_all_then_a_verified_relay_delivers_what_waited(cli, ca, ca_file):
    first = open_application(cli)
    second = open_application(cli, candidate={"name": "Bo Chan", "email": "bo@hill.example.org"})
    impostor = trustme.CA()
    with MailServer(tls="starttls", certificate=impostor.issue_cert("127.0.0.1")) as bad:
        assert cli("deliver", env=relay_env(bad, "starttls", ca_file)).returncode == 3
    assert {n["status"] for n in notice_rows(cli)} == {"pending"}

    retried = cli.ok("notices", "retry", "--all")
    assert "2 notice(s) queued again" in retried.stdout
    with MailServer(tls="starttls", certificate=ca.issue_cert("127.0.0.1"),
                    accounts=ACCOUNT) as good:
        delivered = cli("deliver", env=relay_env(good, "starttls", ca_file))
        arrived = good.recorder.ids()
    assert delivered.returncode == 0, delivered.stdout
    assert set(arrived) == {f"<{first}.1.1@la.example.org>", f"<{second}.1.1@la.example.org>"}


def test_deliver_exits_3_naming_each_notice_that_could_not_be_delivered(cli):
    from tests.mailserver import free_port
    case = open_application(cli)
    nobody = {"AST_ENGINE_DELIVERY_CHANNEL": "smtp",
              "AST_ENGINE_DELIVERY_SMTP_PORT": str(free_port()),   # nothing listens there
              "AST_ENGINE_DELIVERY_MAX_ATTEMPTS": "1"}
    delivered = cli("deliver", env=nobody)
    assert delivered.returncode == 3
    assert f"notice {case}.1.1 FAILED after 1 attempts" in delivered.stdout
    assert "0 notice(s) sent, 0 to retry later, 1 failed" in delivered.stdout
    as_json = cli("deliver", "--json", env=nobody)
    assert as_json.returncode == 0   # nothing left to try: the failed one waits for `retry`
    cli.ok("notices", "retry", "--all")
    again = cli("deliver", "--json", env=nobody)
    assert again.returncode == 3 and f'"{case}.1.1"' in again.stdout


def test_a_login_over_a_relay_without_tls_is_refused_at_start_up_and_nothing_is_sent(cli):
    # smtp_tls = "none" (the default) with smtp_username set sent AUTH PLAIN in clear (issue
    # 26, 6): the configuration is refused, naming both keys, before the relay is reached.
    case = open_application(cli)
    with MailServer(tls="none", accounts=ACCOUNT) as server:
        delivered = cli("deliver", env=relay_env(server, "none", ""))
        logins, messages = list(server.recorder.logins), list(server.recorder.messages)
    assert delivered.returncode == 2, delivered.stdout + delivered.stderr
    assert "smtp_username" in delivered.stderr and 'smtp_tls is "none"' in delivered.stderr
    assert len(delivered.stderr.strip().splitlines()) == 1
    assert (logins, messages) == ([], [])
    waiting, = notice_rows(cli)
    assert (waiting["id"], waiting["status"], waiting["attempts"]) == (f"{case}.1.1", "pending", 0)
