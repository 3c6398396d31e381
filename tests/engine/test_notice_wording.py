"""Each notice, rendered by the engine in every state in which it can be sent, states the case as
it stands (DOMAIN.md, "Notices"): a decision letter sent during a review invites no review,
written feedback after a review certified the candidate says so, a `deadline_missed` for an
agreed delay quotes its reason, a withdrawn deadline report says why, and in Wales no notice
speaks of England's core standards.

Dates: the walks of tests/builders.py (form received Fri 2026-12-18, assessment day
Wed 2027-02-10, a not-met decision letter on Fri 2027-02-12)."""
from __future__ import annotations

import pytest

from states import PROCESSES
from tests.builders import (AGENCY, ASSESSOR, HEADTEACHER, OFFICER, Driver, application_data,
                            appointment_data, recipients)
from workflows.core.config import Config
from workflows.engine import Engine

CANDIDATE = "candidate:ann"
COORDINATOR = "review_coordinator:rc"
FEEDBACK_NOT_MET = {"feedback": {"E3": "Planning lacked progression.", "A1": "No outreach yet."}}
REQUEST = {"grounds": ["relevant_evidence_ignored"], "explanation": "My portfolio was not read."}
HEAD_MAIL, POST_MAIL = "h.brown@hill.example.org", "office@hill.example.org"
LA_MAIL = "ast.coordinator@la.example.org"


def the(driver: Driver, case: str, template: str):
    """The one `template` notice of the case (the latest if it was sent more than once)."""
    found = [n for n in driver.notices(case) if n.template == template]
    assert found, [n.template for n in driver.notices(case)]
    return found[-1]


def review_of(driver: Driver, case: str) -> str:
    return driver.fire(case, "request_review", CANDIDATE, REQUEST, at="2027-02-11").linked[0].case


def decide(driver: Driver, review: str, how: str, at: str = "2027-03-01") -> None:
    driver.fire(review, "invite_assessor_comment", COORDINATOR, at=at)
    driver.fire(review, "assign_review_officer", COORDINATOR, {"review_officer": OFFICER}, at=at)
    driver.fire(review, how, "review_officer:ro-3", {"reasons": "Decided on the evidence."}, at=at)


# -- where the assessor's judgement stands when the letters go --------------------------------------

def letters_in(driver: Driver, state: str) -> str:
    """An assessed application in `state` whose decision letter and written feedback are still
    owed (sent next by the test)."""
    if state == "certified":
        return driver.to_certified()
    case = driver.to_not_met(letter=False)
    if state == "not_met":
        return case
    review = review_of(driver, case)   # before the letter: "any time before it is sent"
    if state == "under_review":
        return case
    decide(driver, review, "certify" if state == "certified_on_review" else "uphold")
    return case


@pytest.mark.parametrize("state", ["certified", "not_met", "under_review", "certified_on_review",
                                   "closed_not_met"])
def test_the_decision_letter_states_the_judgement_as_it_stands(driver: Driver, state):
    case = letters_in(driver, state)
    driver.fire(case, "send_decision_letter", AGENCY, at="2027-03-02")
    letter = the(driver, case, "decision_letter")
    body = letter.body
    assert recipients(letter) == ["ann.lee@hill.example.org"]
    assert "Wednesday 10 February 2027" in body and "Carol Assessor" in body
    invites = "You may ask for the assessment to be reviewed" in body
    assert invites == (state == "not_met")
    if state == "certified":
        assert "standards met" in letter.subject and "certified as\nan Advanced" in body
    else:
        assert "standards not met" in letter.subject and "E3, A1" in body
    if state == "not_met":
        # 40 working days after Tue 2027-03-02: Good Friday 26 Mar and Easter Monday 29 Mar
        # 2027 are bank holidays -> Thu 2027-04-29.
        assert "within 40 working days of this letter, that is by Thursday 29 April 2027" in body
    if state == "under_review":
        assert "already asked for this assessment to be reviewed" in body
        assert "Thursday 11 February 2027" in body
    if state == "certified_on_review":
        assert "Review Officer certified you" in body and "Monday 1 March 2027" in body
    if state == "closed_not_met":
        assert "original judgement stands" in body


@pytest.mark.parametrize("state", ["certified", "not_met", "under_review", "certified_on_review",
                                   "closed_not_met"])
def test_the_assessment_outcome_goes_to_the_headteacher_and_post_school_without_detail(
        driver: Driver, state):
    case = letters_in(driver, state)
    driver.fire(case, "send_decision_letter", AGENCY, at="2027-03-02")
    notice = the(driver, case, "assessment_outcome")
    assert recipients(notice) == [HEAD_MAIL, POST_MAIL]     # the post is the school's own
    assert "Ann Lee" in notice.subject and case in notice.subject
    assert "E3" not in notice.body and "A1" not in notice.body   # the outcome, no detail
    met = state in ("certified", "certified_on_review")
    assert ("standards met" in notice.subject) == (state == "certified")
    assert ("is certified" in notice.body or "was\ncertified" in notice.body
            or "certified as an Advanced" in notice.body) == met
    if state == "under_review":
        assert "asked for the assessment to be reviewed" in notice.body
    if state == "closed_not_met":
        assert "This judgement is final." in notice.body


@pytest.mark.parametrize("source, la_told", [("school_development_grant", True),
                                             ("local_formula", True), ("school", False)])
def test_the_la_coordinator_is_told_the_outcome_when_the_la_funds_the_post(
        driver: Driver, source, la_told):
    post = driver.open("appointment", appointment_data(funding_source=source),
                       actor="la_coordinator:lc", at="2026-12-01").case
    data = application_data(post={"school": "Vale Secondary School",
                                  "email": "office@vale.example.org",
                                  "advertisement": "internal", "appointment": post})
    case = driver.open(data=data, at="2026-12-18").case
    driver.fire(case, "support", HEADTEACHER, {"evaluation": "Ready."}, at="2027-01-05")
    declaration = {"funding_declaration": {"declared_by": "Someone", "source": source}}
    if la_told:
        driver.fire(case, "send_to_la", HEADTEACHER, at="2027-01-06")
        driver.fire(case, "submit_to_agency", "la_coordinator:lc", declaration, at="2027-01-07")
    else:
        driver.fire(case, "submit_to_agency", HEADTEACHER, declaration, at="2027-01-07")
    driver.fire(case, "agency_receive", AGENCY, at="2027-01-08")
    driver.fire(case, "schedule_assessment", AGENCY,
                {"assessment_date": "2027-02-10", "assessor": ASSESSOR}, at="2027-01-11")
    driver.fire(case, "judge_met", "assessor:as-17", at="2027-02-10T16:00")
    driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-11")
    expected = [HEAD_MAIL, "office@vale.example.org"] + ([LA_MAIL] if la_told else [])
    assert recipients(the(driver, case, "assessment_outcome")) == expected


@pytest.mark.parametrize("state", ["certified", "not_met", "under_review", "certified_on_review",
                                   "closed_not_met"])
def test_written_feedback_states_the_outcome_as_it_stands(driver: Driver, state):
    case = letters_in(driver, state)
    feedback = {"feedback": "Exemplary outreach."} if state == "certified" else FEEDBACK_NOT_MET
    driver.fire(case, "send_written_feedback", AGENCY, feedback, at="2027-03-02")
    notice = the(driver, case, "written_feedback")
    body = notice.body
    assert recipients(notice) == ["ann.lee@hill.example.org", HEAD_MAIL, POST_MAIL]
    if state == "certified":
        assert "Outcome: all applicable standards met." in body
        assert "Exemplary outreach." in body and "re-application" not in body
    else:
        assert "all applicable standards met" not in body
        assert "E3: Planning lacked progression." in body
    if state == "certified_on_review":
        assert "on review, the Review Officer certified\nAnn Lee" in body
        assert "re-application" not in body and "Monday 1 March 2027" in body
    if state in ("not_met", "closed_not_met"):
        assert "re-application" in body
    if state == "under_review":
        assert "review of this assessment was requested on Thursday 11 February 2027" in body
        assert "re-application" not in body


# -- deadline reports --------------------------------------------------------------------------------

def test_a_deadline_missed_for_an_agreed_delay_quotes_its_reason(driver: Driver):
    case = driver.open(at="2026-12-18").case
    driver.fire(case, "support", HEADTEACHER, {"evaluation": "Ready."}, at="2027-01-05")
    driver.fire(case, "submit_to_agency", HEADTEACHER,
                {"funding_declaration": {"declared_by": "Hugh Brown", "source": "school"}},
                at="2027-01-06")
    driver.fire(case, "agency_receive", AGENCY, at="2027-01-08")   # six weeks: due 2027-02-19
    driver.fire(case, "schedule_assessment", AGENCY,
                {"assessment_date": "2027-03-03", "assessor": ASSESSOR,
                 "delay_reason": "The candidate is on maternity leave until March."},
                at="2027-01-11")
    driver.tick("2027-02-21")
    notice = the(driver, case, "deadline_missed")
    assert '"The candidate is on maternity leave until March."' in notice.body
    assert "Wednesday 3 March 2027" in notice.body and "Friday 19 February 2027" in notice.body
    assert "Please follow this up" not in notice.body


def test_a_deadline_missed_without_an_agreed_delay_asks_for_follow_up(driver: Driver):
    case = driver.open(at="2026-12-18").case
    driver.tick("2027-01-21T08:00")
    notice = the(driver, case, "deadline_missed")
    assert "Please follow this up" in notice.body and "delay agreed" not in notice.body


@pytest.mark.parametrize("kind", ["application", "review", "appointment"])
def test_a_withdrawn_deadline_report_says_the_action_was_in_time_and_keyed_late(
        driver: Driver, kind):
    if kind == "application":
        case = driver.open(at="2026-12-18").case                 # due Wed 2027-01-20
        driver.tick("2027-01-25T10:00")
        driver.fire(case, "reject", HEADTEACHER, {"reasons": "Unsigned."}, at="2027-01-19")
        expected, duty = [LA_MAIL], "the headteacher's decision on the application"
    elif kind == "review":
        _, case = driver.to_review(at="2027-03-01")              # due Wed 2027-04-28
        driver.fire(case, "invite_assessor_comment", COORDINATOR, at="2027-03-02")
        driver.fire(case, "assign_review_officer", COORDINATOR, {"review_officer": OFFICER},
                    at="2027-03-03")
        driver.tick("2027-05-03")
        driver.fire(case, "certify", "review_officer:ro-3", {"reasons": "Met."}, at="2027-04-27")
        expected = ["ast.reviews@agency.example.org", LA_MAIL]
        duty = PROCESSES["review"].timer("review_decision").duty
    else:
        post = driver.open("appointment", appointment_data(), actor="headteacher:v.vale",
                           at="2027-03-01").case
        driver.fire(post, "secure_funding", "headteacher:v.vale", at="2027-03-02")
        driver.fire(post, "advertise", "headteacher:v.vale", {"closing_date": "2027-03-12"},
                    at="2027-03-03")
        certified = driver.to_certified()
        driver.fire(post, "close_applications", "post_school:vale",
                    {"shortlist": [{"candidate": "Ann Lee", "application": certified}]},
                    at="2027-03-12")
        driver.fire(post, "appoint", "post_school:vale",
                    {"candidate": "Ann Lee", "certified_application": certified,
                     "start_date": "2027-04-19", "spine_point": 5}, at="2027-03-15")
        driver.tick("2027-04-05")                                  # due Wed 2027-03-31
        driver.fire(post, "submit_ast2", "post_school:vale", at="2027-03-30")
        case, expected = post, [LA_MAIL]
        duty = PROCESSES["appointment"].timer("ast2_notification").duty
    missed = the(driver, case, "deadline_missed")
    withdrawn = the(driver, case, "deadline_missed_withdrawn")
    assert recipients(withdrawn) == recipients(missed) == expected
    assert "not missed after all" in withdrawn.subject and duty in withdrawn.subject
    assert "Please disregard" in withdrawn.body and "keyed in only on" in withdrawn.body


# -- Wales -------------------------------------------------------------------------------------------

def test_no_notice_in_wales_speaks_of_englands_core_standards(db, clock):
    from tests.engine.test_every_notice_is_rendered import walk_every_notice
    driver = Driver(Engine(db, Config(calendar={"nation": "wales"}), clock=clock), clock)
    walk_every_notice(driver)
    bodies = driver.rows("SELECT template, subject, body FROM notices")
    assert len({r.template for r in bodies}) == 23
    for row in bodies:
        text = (row.subject + row.body).lower()
        assert "core standard" not in text and "post-threshold standard" not in text, row.template
