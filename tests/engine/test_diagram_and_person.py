"""The process diagrams (workflows/read/diagram.py) and the subject access export of one person's data
(workflows/read/person.py)."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from states import PROCESSES
from tests.builders import ASSESSOR, Driver, appointment_data, application_data
from workflows.read import diagram
from workflows.read.diagram import GraphvizMissingError, mermaid, svg
from workflows.read.person import export_person

EDGE = re.compile(r"^\s*(\S+) --> (\S+)(?: : (.+))?$")


def edges(text: str) -> set[tuple[str, str, str | None]]:
    """(source, dest, label) of every arrow, entity codes (`#58;` for ':') decoded."""
    found = set()
    for line in text.splitlines():
        m = EDGE.match(line)
        if m:
            label = m.group(3)
            if label is not None:
                label = re.sub(r"#(\d+);", lambda e: chr(int(e.group(1))), label)
            found.add((m.group(1), m.group(2), label))
    return found


def raw_labels(text: str) -> list[str]:
    return [m.group(3) for m in map(EDGE.match, text.splitlines()) if m and m.group(3)]


# -- what DOMAIN.md draws, table by table ---------------------------------------------------------

APPLICATION_OPEN = ["received", "supported", "awaiting_shortlist", "shortlisted", "with_la",
                    "submitted", "with_agency", "assessment_scheduled", "not_met",
                    "under_review"]
APPLICATION = {
    ("received", "rejected", "reject"),
    ("received", "not_supported", "decline_support"),
    ("received", "supported", "support"),
    ("supported", "awaiting_shortlist", "forward_to_post_school"),
    ("awaiting_shortlist", "shortlisted", "shortlist"),
    ("awaiting_shortlist", "not_shortlisted", "decline_shortlist"),
    ("supported", "submitted", "submit_to_agency"),
    ("supported", "with_la", "send_to_la"),
    ("with_la", "submitted", "submit_to_agency"),
    ("shortlisted", "submitted", "submit_to_agency"),
    ("submitted", "with_agency", "agency_receive"),
    ("with_agency", "assessment_scheduled", "schedule_assessment"),
    ("assessment_scheduled", "assessment_scheduled", "schedule_assessment"),
    ("assessment_scheduled", "certified", "judge_met"),
    ("assessment_scheduled", "not_met", "judge_not_met"),
    ("certified", "certified", "send_decision_letter"),
    ("not_met", "not_met", "send_decision_letter"),
    ("certified", "certified", "send_written_feedback"),
    ("not_met", "not_met", "send_written_feedback"),
    ("not_met", "under_review", "request_review"),
    ("under_review", "certified", "review_certified"),
    ("under_review", "closed_not_met", "review_upheld"),
    ("not_met", "closed_not_met", "timer:review_window"),
    *((s, "withdrawn", "withdraw") for s in APPLICATION_OPEN),
}
REVIEW = {
    ("requested", "assessor_commenting", "invite_assessor_comment"),
    ("assessor_commenting", "assessor_commenting", "record_assessor_comment"),
    ("assessor_commenting", "with_review_officer", "assign_review_officer"),
    ("with_review_officer", "certified", "certify"),
    ("with_review_officer", "original_stands", "uphold"),
    *((s, "withdrawn", "withdraw")
      for s in ("requested", "assessor_commenting", "with_review_officer")),
}
APPOINTMENT = {
    ("post_agreed", "funding_secured", "secure_funding"),
    ("funding_secured", "advertised", "advertise"),
    ("advertised", "shortlisting", "close_applications"),
    ("shortlisting", "appointed", "appoint"),
    ("appointed", "ast2_submitted", "submit_ast2"),
    ("appointed", "filled", "submit_ast2"),
    ("ast2_submitted", "filled", "confirm_funding"),
    *((s, "vacated", "vacate") for s in ("appointed", "ast2_submitted", "filled")),
    *((s, "cancelled", "cancel") for s in ("post_agreed", "funding_secured", "advertised",
                                           "shortlisting", "appointed", "ast2_submitted")),
}
DOMAIN = {
    "application": ("received", APPLICATION,
                    {"rejected", "not_supported", "not_shortlisted", "certified",
                     "closed_not_met", "withdrawn"},
                    ["headteacher_deadline", "assessment_window", "decision_letter",
                     "written_feedback"]),
    "review": ("requested", REVIEW, {"certified", "original_stands", "withdrawn"},
               ["review_decision"]),
    "appointment": ("post_agreed", APPOINTMENT, {"vacated", "cancelled"}, ["ast2_notification"]),
}


@pytest.mark.parametrize("kind", list(DOMAIN))
def test_the_mermaid_diagram_draws_every_transition_of_the_domain(kind):
    _, expected, _, _ = DOMAIN[kind]
    text = mermaid(kind)
    assert text.startswith("stateDiagram-v2\n")
    assert expected <= edges(text)


def test_the_application_diagram_shows_review_and_the_review_window_as_written():
    drawn = edges(mermaid("application"))
    assert ("not_met", "under_review", "request_review") in drawn
    assert ("under_review", "certified", "review_certified") in drawn
    assert ("not_met", "closed_not_met", "timer:review_window") in drawn


@pytest.mark.parametrize("kind", list(DOMAIN))
def test_the_mermaid_diagram_names_every_state(kind):
    drawn = edges(mermaid(kind))
    named = {s for s, _, _ in drawn} | {d for _, d, _ in drawn}
    process = PROCESSES[kind]
    assert {s.value for s in process.states if s not in process.retired_states} <= named


@pytest.mark.parametrize("kind", list(DOMAIN))
def test_the_mermaid_diagram_starts_at_the_initial_state_and_ends_the_final_states(kind):
    initial, _, finals, _ = DOMAIN[kind]
    drawn = edges(mermaid(kind))
    assert {d for s, d, _ in drawn if s == "[*]"} == {initial}
    assert {s for s, d, _ in drawn if d == "[*]"} == finals


@pytest.mark.parametrize("kind", list(DOMAIN))
def test_every_state_changing_row_of_the_process_data_is_drawn(kind):
    process = PROCESSES[kind]
    drawn = edges(mermaid(kind))
    for row in process.all_transitions():
        if row.dest is None or row.internal or row.retired:
            continue
        for source in row.sources:
            assert (source.value, row.dest.value, row.trigger) in drawn


@pytest.mark.parametrize("kind", list(DOMAIN))
def test_retired_and_internal_rows_are_not_drawn(kind):
    text = mermaid(kind)
    assert "refuse" not in {t for _, _, t in edges(text)}
    assert "refused" not in {s for s, _, _ in edges(text)} | {d for _, d, _ in edges(text)}
    assert "timer_superseded" not in {t for _, _, t in edges(text)}


@pytest.mark.parametrize("kind", list(DOMAIN))
def test_duty_timers_are_listed_in_a_note_not_drawn_from_every_state(kind):
    _, _, _, duty = DOMAIN[kind]
    text = mermaid(kind)
    drawn = edges(text)
    note = text[text.index("note right of"):text.index("end note")]
    for name in duty:
        assert f"timer:{name}" in note
        assert not any(label == f"timer:{name}" for _, _, label in drawn)


@pytest.mark.parametrize("kind", list(DOMAIN))
def test_edge_labels_carry_no_bare_colon_or_semicolon_for_mermaid(kind):
    # Older Mermaid lexers end a state-diagram label at ':' or ';': both go as entity codes.
    labels = [re.sub(r"#\d+;", "", label) for label in raw_labels(mermaid(kind))]
    assert labels and all(":" not in label and ";" not in label for label in labels)
    assert "timer#58;review_window" in mermaid("application")


def test_an_unknown_kind_is_refused_naming_the_known_kinds():
    with pytest.raises(ValueError) as refused:
        mermaid("complaint")
    assert "complaint" in str(refused.value)
    for kind in ("application", "review", "appointment"):
        assert kind in str(refused.value)
    with pytest.raises(ValueError):
        svg("complaint")


@pytest.mark.parametrize("kind", list(DOMAIN))
def test_svg_is_drawn_by_graphviz_or_asks_for_it(kind):
    if shutil.which("dot"):
        drawing = svg(kind)
        assert b"<svg" in drawing
        for state in PROCESSES[kind].states:
            assert state.value.encode() in drawing
    else:
        with pytest.raises(GraphvizMissingError, match="apt-get install graphviz"):
            svg(kind)


def test_without_dot_svg_says_to_install_graphviz(monkeypatch):
    monkeypatch.setattr(diagram.shutil, "which", lambda name: None)
    with pytest.raises(GraphvizMissingError, match="apt-get install graphviz"):
        svg("application")


def test_the_dot_text_draws_the_same_transitions():
    text = diagram.dot("application")
    assert '"not_met" -> "closed_not_met" [label="timer:review_window"]' in text
    assert '"not_met" -> "under_review" [label="request_review"]' in text
    assert '"certified" [label="certified", peripheries=2]' in text


# -- export_person ---------------------------------------------------------------------------------

ANN = "ann.lee@hill.example.org"
NOW = "2027-03-05T12:00:00+00:00"


def ids(rows) -> set[str]:
    return {r["case"] for r in rows}


def other_candidate(driver: Driver, name: str, email: str) -> str:
    return driver.open(data=application_data(candidate={"name": name, "email": email})).case


def test_the_export_for_a_candidate_holds_their_cases_logs_timers_and_notices(driver: Driver):
    application, review = driver.to_review()
    bob = other_candidate(driver, "Bob Other", "bob.other@dale.example.org")
    joann = other_candidate(driver, "Jo Ann Lee", "joann.lee@hill.example.org")
    post = driver.open("appointment", appointment_data(), actor="headteacher:v.vale").case

    export = export_person(driver.engine.db, "Ann.Lee@HILL.example.org", NOW)

    assert export["email"] == "Ann.Lee@HILL.example.org"
    assert export["exported_at"] == NOW
    assert ids(export["cases"]) == {application, review}
    by_id = {c["case"]: c for c in export["cases"]}
    assert by_id[application]["kind"] == "application"
    assert by_id[application]["state"] == "under_review"
    assert by_id[review]["kind"] == "review" and by_id[review]["state"] == "requested"
    assert by_id[application]["data"]["candidate"]["email"] == ANN
    assert by_id[application]["version"] == len(driver.log(application))

    log = export["log"]
    assert [e["global_seq"] for e in log] == sorted(e["global_seq"] for e in log)
    assert len({e["global_seq"] for e in log}) == len(log)
    assert [(e["seq"], e["trigger"]) for e in log if e["case"] == application] == [
        (r.seq, r.trigger) for r in driver.log(application)]
    assert [(e["seq"], e["trigger"]) for e in log if e["case"] == review] == [
        (r.seq, r.trigger) for r in driver.log(review)]
    assert all(isinstance(e["data"], dict) for e in log)
    request = next(e for e in log if e["trigger"] == "request_review")
    assert request["data"]["grounds"] == ["relevant_evidence_ignored"]

    assert ids(export["timers"]) == {application, review}
    assert {(t["case"], t["name"]) for t in export["timers"]} == (
        {(application, name) for name in driver.timers(application)}
        | {(review, name) for name in driver.timers(review)})

    notices = {n["id"]: n for n in export["notices"]}
    expected = {r.id for r in driver.notices(application) + driver.notices(review)}
    assert set(notices) == expected
    templates = {n["template"] for n in notices.values()}
    assert {"application_received", "decision_letter", "review_acknowledged"} <= templates
    for notice in notices.values():
        assert notice["subject"] and notice["body"]
    assert all(n["case"] not in {bob, joann, post} for n in export["notices"])
    assert not {bob, joann, post} & ids(export["log"])

    json.dumps(export)


def test_a_longer_address_containing_the_email_is_not_the_same_person(driver: Driver):
    joann = other_candidate(driver, "Jo Ann Lee", "joann.lee@hill.example.org")
    export = export_person(driver.engine.db, ANN, NOW)
    assert export["cases"] == [] and export["notices"] == []
    assert ids(export_person(driver.engine.db, "JoAnn.Lee@hill.example.org", NOW)["cases"]) == {
        joann}


def test_the_export_for_the_assessor_finds_the_cases_naming_the_assessor(driver: Driver):
    application, review = driver.to_review()
    unassessed = other_candidate(driver, "Bob Other", "bob.other@dale.example.org")
    driver.fire(review, "invite_assessor_comment", "review_coordinator:rc", at="2027-03-02")

    export = export_person(driver.engine.db, ASSESSOR["email"].upper(), NOW)

    assert ids(export["cases"]) == {application, review}
    assert unassessed not in ids(export["log"])
    invited = [n for n in export["notices"] if n["template"] == "assessor_comment_invited"]
    assert len(invited) == 1 and ASSESSOR["email"] in invited[0]["to"]
    json.dumps(export)


def test_a_case_naming_the_headteacher_is_in_the_headteachers_export(driver: Driver):
    application, review = driver.to_review()
    export = export_person(driver.engine.db, "h.brown@hill.example.org", NOW)
    assert ids(export["cases"]) == {application, review}   # the review copies the headteacher
    arranged = [n for n in export["notices"] if n["template"] == "assessment_arranged"]
    assert arranged and all("h.brown@hill.example.org" in n["to"] for n in arranged)


def test_notices_addressed_to_a_person_are_exported_though_no_case_names_them(driver: Driver):
    case = driver.open(at="2026-12-18").case
    driver.tick("2027-01-21T00:00:00+00:00")   # the headteacher's 20 working days ran out
    coordinator = driver.engine.config.contacts.la_coordinator
    export = export_person(driver.engine.db, coordinator, NOW)
    assert export["cases"] == [] and export["log"] == [] and export["timers"] == []
    assert [(n["case"], n["template"]) for n in export["notices"]] == [(case, "deadline_missed")]
    assert coordinator in export["notices"][0]["to"]


def test_an_unknown_email_gives_empty_lists(driver: Driver):
    driver.to_review()
    export = export_person(driver.engine.db, "nobody@nowhere.example.org", NOW)
    assert export == {"email": "nobody@nowhere.example.org", "exported_at": NOW,
                      "cases": [], "log": [], "timers": [], "notices": []}
    json.dumps(export)


def test_an_empty_email_is_refused(db):
    with pytest.raises(ValueError):
        export_person(db, "  ", NOW)


def test_the_export_reads_an_empty_database(db):
    export = export_person(db, ANN, NOW)
    assert export["cases"] == export["log"] == export["timers"] == export["notices"] == []
