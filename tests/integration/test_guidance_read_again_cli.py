"""The guidance read again (tests/engine/test_guidance_read_again.py) through the command line,
run as a real process: an AST2 for a certificate holder exits 0 and is delivered, a party's
refusal exits 2 naming the party, and a post is cancelled though an application naming it was
erased."""
from __future__ import annotations

import json

from tests.builders import appointment_data
from tests.cli import open_application
from tests.engine.test_guidance_read_again import (AGENCY_MAIL, CANDIDATE, CANDIDATE_MAIL,
                                                   CERTIFICATE, LA, LA_MAIL, VALE)


def test_the_ast2_of_a_certificate_holder_through_the_cli_exits_0(cli):
    def fire(case, trigger, actor, data=None, now="2027-03-01"):
        args = ["fire", case, trigger, "--actor", actor]
        if data is not None:
            args += ["--data", json.dumps(data)]
        return cli.ok(*args, now=now)
    post = cli.ok("open", "appointment", "--actor", "headteacher:v.vale", "--data",
                  json.dumps(appointment_data()), now="2027-03-01").stdout.strip()
    fire(post, "secure_funding", "headteacher:v.vale")
    fire(post, "advertise", "headteacher:v.vale", {"closing_date": "2027-03-01"})
    fire(post, "close_applications", VALE,
         {"shortlist": [{"candidate": "Ann Lee", "certificate": CERTIFICATE}]})
    fire(post, "appoint", VALE, {"candidate": "Ann Lee", "email": CANDIDATE_MAIL,
                                 "certificate": CERTIFICATE, "start_date": "2027-04-19",
                                 "spine_point": 5}, now="2027-03-02")
    fire(post, "submit_ast2", VALE, now="2027-03-05")
    shown = cli.json("show", post)
    assert shown["state"] == "filled"
    (form,) = [n for n in shown["notices"] if n["template"] == "ast2_form"]
    assert form["to"] == [AGENCY_MAIL, LA_MAIL]
    cli.ok("deliver", now="2027-03-05")
    sent = [p.read_text() for p in cli.folder.rglob("*.eml") if form["id"] in p.read_text()]
    assert len(sent) == 1 and "NAA-2019-0042" in sent[0]


def test_a_party_refusal_through_the_cli_exits_2_naming_the_party(cli):
    case = open_application(cli)
    result = cli("fire", case, "support", "--actor", "headteacher:x.other", "--data",
                 '{"evaluation": "Fine."}', now="2027-01-05")
    assert result.returncode == 2
    assert "Hugh Brown (headteacher:h.brown)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert cli.json("show", case)["state"] == "received"


def test_a_post_is_cancelled_though_an_application_naming_it_was_erased(cli):
    post = cli.ok("open", "appointment", "--actor", "headteacher:v.vale", "--data",
                  json.dumps(appointment_data()), now="2026-12-18").stdout.strip()
    case = open_application(cli, post={"school": "Vale Secondary School",
                                       "email": "office@vale.example.org",
                                       "advertisement": "external", "appointment": post})
    cli.ok("fire", case, "withdraw", "--actor", CANDIDATE, now="2026-12-19")
    cli.ok("deliver", now="2026-12-19")
    cli.ok("fire", case, "erase_personal_data", "--actor", LA, "--data",
           '{"reason": "the candidate asked"}', now="2026-12-21")

    result = cli("fire", post, "cancel", "--actor", LA, "--data", '{"reason": "No budget."}',
                 now="2026-12-22")

    assert result.returncode == 0, result.stderr
    shown = cli.json("show", post)
    assert [n["to"] for n in shown["notices"] if n["template"] == "post_cancelled"] == [[LA_MAIL]]
