"""The review of an assessment (DOMAIN.md section 2, Annex D of the guidance): opened by the
application's request_review, decided by the Review Co-ordinator and an independent review
officer, and moving its application to certified or closed_not_met in the same transaction.

Dates used throughout (the walk in tests/builders.py): the AST1 form was received on
Fri 2026-12-18, the assessment day was 2027-02-10, the decision letter went on Fri 2027-02-12 and
the Review Co-ordinator received the request on Mon 2027-03-01.

review_decision = 40 working days after Mon 2027-03-01 (England, no closure days):
  Mar 2-5 (4), 8-12 (9), 15-19 (14), 22-25 (18); Fri 26 Mar is Good Friday, Mon 29 Mar
  Easter Monday; Mar 30-Apr 2 (22), Apr 5-9 (27), 12-16 (32), 19-23 (37), 26, 27, 28 (40).
  -> due Wed 2027-04-28. It fires at 00:00 Europe/London on Thu 2027-04-29, which is BST
  (clocks went forward on Sun 2027-03-28): 2027-04-28T23:00:00+00:00.
"""
from __future__ import annotations

import json

import pytest

from tests.builders import (ASSESSOR, HEADTEACHER, OFFICER, Driver, application_data,
                            appointment_data, recipients,
                            refused)
from workflows.core.config import Config
from workflows.engine import Actor, Engine
from workflows.core.errors import (EffectiveTimeError, GuardFailedError, InvalidDataError,
                              NotAllowedInStateError, RefusedError, RoleNotAllowedError,
                              UnknownTriggerError)

CANDIDATE = "candidate:ann"
COORDINATOR = "review_coordinator:rc"
REVIEW_OFFICER = "review_officer:ro-3"
ORIGINAL_ASSESSOR = "assessor:as-17"

CANDIDATE_EMAIL = "ann.lee@hill.example.org"
HEAD_EMAIL = "h.brown@hill.example.org"
POST_SCHOOL_EMAIL = "office@hill.example.org"
REVIEW_COORDINATOR_EMAIL = "ast.reviews@agency.example.org"
LA_COORDINATOR_EMAIL = "ast.coordinator@la.example.org"

DUE = "2027-04-28"
FIRES_AT = "2027-04-28T23:00:00+00:00"
OPEN_STATES = ("requested", "assessor_commenting", "with_review_officer")


# -- helpers ----------------------------------------------------------------------------------

def data_of(driver: Driver, case: str) -> dict:
    """What the case was opened with."""
    return json.loads(driver.rows("SELECT data FROM cases WHERE id = :id", id=case)[0].data)


def record_of(driver: Driver, case: str, trigger: str) -> dict:
    """What `trigger` recorded on the case: its data, effective date and the engine's part."""
    return json.loads(driver.rows("SELECT records FROM cases WHERE id = :id",
                                  id=case)[0].records)[trigger]


def templates(driver: Driver, case: str) -> list[str]:
    return [n.template for n in driver.notices(case)]


def last_notice(driver: Driver, case: str):
    return driver.notices(case)[-1]


def to_commenting(driver: Driver) -> tuple[str, str]:
    application, review = driver.to_review()
    driver.fire(review, "invite_assessor_comment", COORDINATOR, at="2027-03-02")
    return application, review


def to_with_officer(driver: Driver) -> tuple[str, str]:
    application, review = to_commenting(driver)
    driver.fire(review, "record_assessor_comment", ORIGINAL_ASSESSOR,
                {"comment": "The portfolio was read; it showed no impact beyond the school."},
                at="2027-03-05")
    driver.fire(review, "assign_review_officer", COORDINATOR, {"review_officer": OFFICER},
                at="2027-03-08")
    return application, review


def to_state(driver: Driver, state: str) -> tuple[str, str]:
    return {"requested": driver.to_review, "assessor_commenting": lambda: to_commenting(driver),
            "with_review_officer": lambda: to_with_officer(driver)}[state]()


def fired_on(outcomes, case: str) -> list:
    return [o for o in outcomes if o.case == case]


# -- opening -----------------------------------------------------------------------------------

def test_request_review_opens_a_requested_review_in_the_same_transaction(driver: Driver):
    application, review = driver.to_review()
    assert driver.state(application) == "under_review"
    assert driver.state(review) == "requested"
    assert review.startswith("rev-")
    opened = driver.log(review)
    assert [(e.seq, e.trigger, e.source, e.dest) for e in opened] == [
        (1, "open", None, "requested")]
    assert opened[0].actor == CANDIDATE
    # Same effective time as the request on the application (09:00 GMT, before BST starts).
    request = driver.log(application)[-1]
    assert request.trigger == "request_review"
    assert opened[0].effective_at == request.effective_at == "2027-03-01T09:00:00+00:00"
    assert json.loads(request.engine)["opened"] == {"review": review}
    assert record_of(driver, application, "request_review")["engine"] == {
        "opened": {"review": review}}


def test_the_review_names_the_application_the_original_assessor_and_the_grounds(driver: Driver):
    application, review = driver.to_review()
    data = data_of(driver, review)
    assert data["application"] == application
    assert data["assessor"] == ASSESSOR
    assert data["grounds"] == ["relevant_evidence_ignored"]
    assert data["explanation"] == "My portfolio of outreach work was not read."
    assert data["candidate"]["email"] == CANDIDATE_EMAIL
    assert data["unmet_standards"] == ["E3", "A1"]


def test_the_review_decision_is_due_forty_working_days_after_receipt_firing_in_bst(
        driver: Driver):
    _, review = driver.to_review()
    assert driver.timers(review) == {"review_decision": (DUE, FIRES_AT, "pending")}


def test_the_review_window_of_the_application_is_cancelled_by_the_request(driver: Driver):
    application, _ = driver.to_review()
    assert driver.timers(application)["review_window"][2] == "cancelled"


def test_the_candidate_is_sent_an_acknowledgement(driver: Driver):
    _, review = driver.to_review()
    notices = driver.notices(review)
    assert [n.template for n in notices] == ["review_acknowledged"]
    assert recipients(notices[0]) == [CANDIDATE_EMAIL]
    assert review in notices[0].subject


def test_the_request_keeps_the_evidence_the_candidate_offers(driver: Driver):
    application = driver.to_not_met()
    outcome = driver.fire(application, "request_review", CANDIDATE,
                          {"grounds": ["bias_or_discrimination",
                                      "irrelevant_or_inaccurate_evidence"],
                           "explanation": "The assessor relied on a lesson I did not teach.",
                           "evidence": ["timetable.pdf", "letter from the deputy"]},
                          at="2027-03-01")
    data = data_of(driver, outcome.linked[0].case)
    assert data["grounds"] == ["bias_or_discrimination", "irrelevant_or_inaccurate_evidence"]
    assert data["evidence"] == ["timetable.pdf", "letter from the deputy"]


def test_an_operator_may_key_in_the_request_for_the_candidate(driver: Driver):
    application = driver.to_not_met()
    outcome = driver.fire(application, "request_review", "operator:it1",
                          {"grounds": ["relevant_evidence_ignored"], "explanation": "Paper form."},
                          at="2027-03-01", for_=CANDIDATE)
    review = outcome.linked[0].case
    opened = driver.log(review)[0]
    assert (opened.actor, opened.on_behalf_of) == ("operator:it1", CANDIDATE)
    assert driver.state(review) == "requested"


def test_a_review_cannot_be_opened_directly(driver: Driver):
    with refused(driver, RefusedError, "opened only by its application's request_review"):
        driver.engine.open("review", Actor.parse(CANDIDATE),
                           {"application": "app-x", "grounds": ["relevant_evidence_ignored"]})


def test_a_request_made_before_the_decision_letter_opens_a_review(driver: Driver):
    # No review_window runs yet: the 40 working days start with the letter.
    application = driver.to_not_met(letter=False)
    outcome = driver.fire(application, "request_review", CANDIDATE,
                          {"grounds": ["relevant_evidence_ignored"], "explanation": "Early."},
                          at="2027-02-11")
    assert driver.state(application) == "under_review"
    assert driver.state(outcome.linked[0].case) == "requested"


def test_the_decision_is_due_forty_working_days_after_the_local_date_of_receipt(driver: Driver):
    # Received at 00:30 BST on Tue 2027-06-01, which is still Mon 2027-05-31 in UTC (a bank
    # holiday). 40 working days after Tue 2027-06-01: Jun 2-4 (3), 7-11 (8), 14-18 (13),
    # 21-25 (18), Jun 28-Jul 2 (23), 5-9 (28), 12-16 (33), 19-23 (38), 26, 27 (40)
    # -> due Tue 2027-07-27, firing at 00:00 BST on 07-28 = 2027-07-27T23:00:00+00:00.
    # (Counting from the UTC date 2027-05-31 would give Mon 2027-07-26.)
    application = driver.to_not_met(received="2027-03-22")   # letter on Mon 2027-05-17
    outcome = driver.fire(application, "request_review", CANDIDATE,
                          {"grounds": ["bias_or_discrimination"], "explanation": "Late night."},
                          at="2027-06-01T00:30")
    review = outcome.linked[0].case
    assert driver.log(review)[0].effective_at == "2027-05-31T23:30:00+00:00"
    assert driver.timers(review)["review_decision"][:2] == (
        "2027-07-27", "2027-07-27T23:00:00+00:00")


def test_a_request_on_the_last_day_of_the_review_window_opens_a_review(driver: Driver):
    # review_window = 40 working days after the letter of Fri 2027-02-12:
    # Feb 15-19 (5), 22-26 (10), Mar 1-5 (15), 8-12 (20), 15-19 (25), 22-25 (29), Easter
    # 26 and 29 Mar skipped, Mar 30-Apr 2 (33), Apr 5-9 (38), 12, 13 (40) -> due 2027-04-13.
    application = driver.to_not_met()
    assert driver.timers(application)["review_window"][0] == "2027-04-13"
    outcome = driver.fire(application, "request_review", CANDIDATE,
                          {"grounds": ["relevant_evidence_ignored"], "explanation": "Late."},
                          at="2027-04-13T18:00")
    assert driver.state(outcome.linked[0].case) == "requested"


def test_a_request_received_after_the_review_window_is_refused_and_opens_nothing(
        driver: Driver):
    application = driver.to_not_met()
    with refused(driver, GuardFailedError, "after the 40 working days that ended on 2027-04-13"):
        driver.fire(application, "request_review", CANDIDATE,
                    {"grounds": ["relevant_evidence_ignored"], "explanation": "Too late."},
                    at="2027-04-14")


@pytest.mark.parametrize("data, field", [
    ({"grounds": [], "explanation": "x"}, "grounds"),
    ({"grounds": ["the_assessor_was_rude"], "explanation": "x"}, "grounds"),
    ({"grounds": ["relevant_evidence_ignored"]}, "explanation"),
    ({"grounds": ["relevant_evidence_ignored"], "explanation": "   "}, "explanation"),
])
def test_a_request_without_valid_grounds_or_explanation_is_refused(driver: Driver, data, field):
    application = driver.to_not_met()
    with refused(driver, InvalidDataError, field) as caught:
        driver.fire(application, "request_review", CANDIDATE, data, at="2027-03-01")
    assert caught.value.field.startswith(field)


def test_only_the_candidate_requests_a_review(driver: Driver):
    application = driver.to_not_met()
    with refused(driver, RoleNotAllowedError, "role headteacher may not fire request_review"):
        driver.fire(application, "request_review", HEADTEACHER,
                    {"grounds": ["relevant_evidence_ignored"], "explanation": "x"},
                    at="2027-03-01")


# -- no one refuses a review (Annex D) ------------------------------------------------------------

@pytest.mark.parametrize("state", OPEN_STATES)
def test_no_one_may_refuse_a_review_in_any_state(driver: Driver, state):
    application, review = to_state(driver, state)
    for actor in (COORDINATOR, REVIEW_OFFICER):
        with refused(driver, UnknownTriggerError, "unknown trigger 'refuse' for a review case"):
            driver.fire(review, "refuse", actor, {"reasons": "No ground."}, at="2027-03-22")
    assert (driver.state(application), driver.state(review)) == ("under_review", state)


# -- the assessor's comment and the review officer ----------------------------------------------

def test_inviting_the_assessor_to_comment_writes_to_the_original_assessor(driver: Driver):
    _, review = to_commenting(driver)
    assert driver.state(review) == "assessor_commenting"
    notice = last_notice(driver, review)
    assert notice.template == "assessor_comment_invited"
    assert recipients(notice) == [ASSESSOR["email"]]
    assert driver.timers(review)["review_decision"][2] == "pending"


def test_the_assessor_comment_is_recorded_once_and_the_state_stays(driver: Driver):
    _, review = to_commenting(driver)
    outcome = driver.fire(review, "record_assessor_comment", ORIGINAL_ASSESSOR,
                          {"comment": "I stand by the judgement."}, at="2027-03-04")
    assert outcome.state == "assessor_commenting"
    assert record_of(driver, review, "record_assessor_comment")["data"]["comment"] == (
        "I stand by the judgement.")
    entry = driver.log(review)[-1]
    assert (entry.trigger, entry.source, entry.dest) == (
        "record_assessor_comment", "assessor_commenting", "assessor_commenting")


def test_a_second_assessor_comment_is_refused(driver: Driver):
    _, review = to_commenting(driver)
    driver.fire(review, "record_assessor_comment", ORIGINAL_ASSESSOR, {"comment": "First."},
                at="2027-03-04")
    with refused(driver, GuardFailedError, "already recorded on 2027-03-04"):
        driver.fire(review, "record_assessor_comment", ORIGINAL_ASSESSOR, {"comment": "Again."},
                    at="2027-03-05")


def test_the_assessor_cannot_comment_before_being_invited(driver: Driver):
    _, review = driver.to_review()
    with refused(driver, NotAllowedInStateError, "only from assessor_commenting"):
        driver.fire(review, "record_assessor_comment", ORIGINAL_ASSESSOR, {"comment": "Early."},
                    at="2027-03-02")


def test_the_original_assessor_cannot_be_the_review_officer(driver: Driver):
    application, review = to_commenting(driver)
    same_person = {**ASSESSOR, "email": "carol@home.example.org"}   # same id, other address
    with refused(driver, GuardFailedError, "review_officer: the review officer must not be "
                                           "the original assessor"):
        driver.fire(review, "assign_review_officer", COORDINATOR,
                    {"review_officer": same_person}, at="2027-03-08")
    assert driver.state(review) == "assessor_commenting"
    assert driver.state(application) == "under_review"


def test_another_person_is_assigned_and_told(driver: Driver):
    _, review = to_commenting(driver)
    outcome = driver.fire(review, "assign_review_officer", COORDINATOR,
                          {"review_officer": OFFICER}, at="2027-03-08")
    assert outcome.state == "with_review_officer"
    notice = last_notice(driver, review)
    assert notice.template == "review_assigned"
    assert recipients(notice) == [OFFICER["email"]]
    assert record_of(driver, review, "assign_review_officer")["data"]["review_officer"] == OFFICER


def test_the_review_officer_can_be_assigned_without_the_assessor_having_commented(
        driver: Driver):
    _, review = to_commenting(driver)
    driver.fire(review, "assign_review_officer", COORDINATOR, {"review_officer": OFFICER},
                at="2027-03-08")
    assert driver.state(review) == "with_review_officer"


def test_a_review_officer_needs_an_id(driver: Driver):
    _, review = to_commenting(driver)
    with refused(driver, InvalidDataError, "review_officer.id"):
        driver.fire(review, "assign_review_officer", COORDINATOR,
                    {"review_officer": {"name": "Raj Officer", "email": OFFICER["email"]}},
                    at="2027-03-08")


# -- the decision --------------------------------------------------------------------------------

def test_certifying_certifies_the_application_through_a_system_entry(driver: Driver):
    application, review = to_with_officer(driver)
    outcome = driver.fire(review, "certify", REVIEW_OFFICER,
                          {"reasons": "E3 and A1 are evidenced by the outreach portfolio."},
                          at="2027-03-22")
    assert outcome.state == "certified"
    assert driver.state(review) == "certified"
    assert driver.state(application) == "certified"
    entry = driver.log(application)[-1]
    assert (entry.trigger, entry.source, entry.dest, entry.actor) == (
        "review_certified", "under_review", "certified", "system")
    assert json.loads(entry.data) == {"review": review}


def test_the_decision_with_reasons_goes_to_candidate_and_assessor_the_outcome_to_the_others(
        driver: Driver):
    _, review = to_with_officer(driver)
    driver.fire(review, "certify", REVIEW_OFFICER, {"reasons": "The portfolio meets E3."},
                at="2027-03-22")
    assert driver.timers(review)["review_decision"][2] == "cancelled"
    decision, outcome = driver.notices(review)[-2:]
    assert decision.template == "review_decision"
    assert recipients(decision) == [CANDIDATE_EMAIL, ASSESSOR["email"]]
    assert "candidate certified" in decision.subject
    assert "The portfolio meets E3." in decision.body
    # The headteacher and the post school are told the decision, never the reasons (they may
    # discuss an allegation of bias). The post is paid by the school: the LA is not told.
    assert outcome.template == "review_outcome"
    assert recipients(outcome) == [HEAD_EMAIL, POST_SCHOOL_EMAIL]
    assert "certified" in outcome.body and "The portfolio meets E3." not in outcome.body


def test_the_la_is_told_a_review_outcome_for_a_post_it_funds(driver: Driver):
    post = driver.open("appointment", appointment_data(funding_source="school_development_grant"),
                       actor="la_coordinator:lc", at="2026-12-01").case
    data = application_data()
    data["post"]["appointment"] = post
    application = driver.open(data=data, at="2026-12-18").case
    driver.fire(application, "support", HEADTEACHER, {"evaluation": "Meets E and A"},
                at="2027-01-05")
    driver.fire(application, "send_to_la", HEADTEACHER, at="2027-01-06")
    driver.fire(application, "submit_to_agency", "la_coordinator:lc",
                {"funding_declaration": {"declared_by": "LA", "source":
                                         "school_development_grant"}}, at="2027-01-07")
    driver.fire(application, "agency_receive", "agency:naa", at="2027-01-08")
    driver.fire(application, "schedule_assessment", "agency:naa",
                {"assessment_date": "2027-02-10", "assessor": ASSESSOR}, at="2027-01-11")
    driver.fire(application, "judge_not_met", ORIGINAL_ASSESSOR, {"unmet_standards": ["A1"]},
                at="2027-02-10T16:00")
    review = driver.fire(application, "request_review", CANDIDATE,
                         {"grounds": ["bias_or_discrimination"], "explanation": "Biased."},
                         at="2027-02-11").linked[0].case
    driver.fire(review, "invite_assessor_comment", COORDINATOR, at="2027-02-12")
    driver.fire(review, "assign_review_officer", COORDINATOR, {"review_officer": OFFICER},
                at="2027-02-15")
    driver.fire(review, "uphold", REVIEW_OFFICER, {"reasons": "No sign of bias."},
                at="2027-02-22")
    outcome = driver.notices(review)[-1]
    assert outcome.template == "review_outcome"
    assert recipients(outcome) == [HEAD_EMAIL, POST_SCHOOL_EMAIL, LA_COORDINATOR_EMAIL]
    assert "No sign of bias" not in outcome.body and "original assessment stands" in outcome.body


def test_upholding_lets_the_original_judgement_stand_and_closes_the_application(
        driver: Driver):
    application, review = to_with_officer(driver)
    outcome = driver.fire(review, "uphold", REVIEW_OFFICER,
                          {"reasons": "The evidence was weighed properly."}, at="2027-03-22")
    assert outcome.state == "original_stands"
    assert driver.state(application) == "closed_not_met"
    entry = driver.log(application)[-1]
    assert (entry.trigger, entry.actor, entry.dest) == ("review_upheld", "system",
                                                        "closed_not_met")
    assert driver.timers(review)["review_decision"][2] == "cancelled"
    notice = driver.notices(review)[-2]
    assert notice.template == "review_decision"
    assert recipients(notice) == [CANDIDATE_EMAIL, ASSESSOR["email"]]
    assert "original assessment stands" in notice.subject
    assert "would have been certified" in notice.body   # Annex D's test, stated


@pytest.mark.parametrize("trigger", ["certify", "uphold"])
def test_a_decision_needs_reasons(driver: Driver, trigger):
    _, review = to_with_officer(driver)
    with refused(driver, InvalidDataError, "reasons"):
        driver.fire(review, trigger, REVIEW_OFFICER, {"reasons": ""}, at="2027-03-22")


def test_a_review_certified_candidate_can_then_be_appointed(driver: Driver):
    application, review = to_with_officer(driver)
    driver.fire(review, "certify", REVIEW_OFFICER, {"reasons": "Met."}, at="2027-03-22")
    post = driver.open("appointment", appointment_data(), actor="headteacher:v.vale",
                       at="2027-03-23").case
    driver.fire(post, "secure_funding", "headteacher:v.vale", at="2027-03-23")
    driver.fire(post, "advertise", "headteacher:v.vale", {"closing_date": "2027-04-09"},
                at="2027-03-23")
    driver.fire(post, "close_applications", "post_school:vale",
                {"shortlist": [{"candidate": "Ann Lee", "application": application}]},
                at="2027-04-12")
    outcome = driver.fire(post, "appoint", "post_school:vale",
                          {"candidate": "Ann Lee", "certified_application": application,
                           "start_date": "2027-09-01", "spine_point": 5}, at="2027-04-13")
    assert outcome.state == "appointed"


# -- withdrawal --------------------------------------------------------------------------------

@pytest.mark.parametrize("state", OPEN_STATES)
def test_a_review_withdrawn_while_the_window_is_open_returns_the_application_to_not_met(
        driver: Driver, state):
    application, review = to_state(driver, state)
    assert driver.state(review) == state
    outcome = driver.fire(review, "withdraw", CANDIDATE, at="2027-03-10")
    assert outcome.state == "withdrawn"
    assert {name: status for name, (_, _, status) in driver.timers(review).items()} == {
        "review_decision": "cancelled"}
    # The letter went on Fri 2027-02-12: its 40 working days end on Tue 2027-04-13, after the
    # withdrawal. The application is back in not_met, with a window ending that same day.
    assert driver.state(application) == "not_met"
    entry = driver.log(application)[-1]
    assert (entry.trigger, entry.actor, entry.dest) == ("review_withdrawn", "system", "not_met")
    assert driver.timers(application)["review_window"] == (
        "2027-04-13", "2027-04-13T23:00:00+00:00", "pending")
    confirmed, outcome_notice = driver.notices(review)[-2:]
    assert confirmed.template == "withdrawal_confirmed"
    assert recipients(confirmed) == [CANDIDATE_EMAIL]
    assert "you may ask again" in confirmed.body and "Tuesday 13 April 2027" in confirmed.body
    assert outcome_notice.template == "review_outcome"
    # Those a decision informs: the assessor too, who was invited to comment.
    assert recipients(outcome_notice) == [ASSESSOR["email"], HEAD_EMAIL, POST_SCHOOL_EMAIL]
    assert "withdrew" in outcome_notice.body
    # The candidate may ask again within the same window.
    again = driver.fire(application, "request_review", CANDIDATE,
                        {"grounds": ["relevant_evidence_ignored"], "explanation": "Again."},
                        at="2027-04-12")
    assert driver.state(application) == "under_review" and again.linked[0].case != review


def test_a_review_withdrawn_after_the_window_ended_closes_the_application(driver: Driver):
    application = driver.to_not_met()   # letter Fri 2027-02-12: window ends Tue 2027-04-13
    review = driver.fire(application, "request_review", CANDIDATE,
                         {"grounds": ["relevant_evidence_ignored"], "explanation": "Unread."},
                         at="2027-04-13").linked[0].case
    driver.fire(review, "withdraw", CANDIDATE, at="2027-04-20")
    assert driver.state(application) == "closed_not_met"
    entry = driver.log(application)[-1]
    assert (entry.trigger, entry.dest) == ("review_withdrawn", "closed_not_met")
    assert driver.timers(application)["review_window"][2] == "cancelled"   # not started again
    confirmed = [n for n in driver.notices(review) if n.template == "withdrawal_confirmed"][0]
    assert "ended on\nTuesday 13 April 2027: the judgement is now final" in confirmed.body


def test_the_application_cannot_be_withdrawn_while_its_review_is_open(driver: Driver):
    application, review = driver.to_review()
    with refused(driver, GuardFailedError, "withdraw the review case instead"):
        driver.fire(application, "withdraw", CANDIDATE, at="2027-03-02")


@pytest.mark.parametrize("decided_by", ["certify", "uphold", "withdraw"])
def test_nothing_more_happens_to_a_decided_review(driver: Driver, decided_by):
    application, review = (driver.to_review() if decided_by == "withdraw"
                           else to_with_officer(driver))
    actor = CANDIDATE if decided_by == "withdraw" else REVIEW_OFFICER
    data = None if decided_by == "withdraw" else {"reasons": "Decided."}
    driver.fire(review, decided_by, actor, data, at="2027-03-22")
    before = driver.snapshot()
    with pytest.raises(NotAllowedInStateError, match="not allowed in state"):
        driver.fire(review, "withdraw", CANDIDATE, at="2027-03-23")
    with pytest.raises(NotAllowedInStateError, match="not allowed in state"):
        driver.fire(review, "certify", REVIEW_OFFICER, {"reasons": "Again."}, at="2027-03-23")
    assert driver.snapshot() == before


# -- the review_decision timer ------------------------------------------------------------------

def test_the_decision_timer_does_not_fire_a_second_before_it_is_due(driver: Driver):
    _, review = driver.to_review()
    outcomes = driver.tick("2027-04-28T22:59:59+00:00")
    assert fired_on(outcomes, review) == []
    assert driver.timers(review)["review_decision"][2] == "pending"


@pytest.mark.parametrize("state", OPEN_STATES)
def test_a_missed_review_decision_reports_and_leaves_the_review_where_it_is(
        driver: Driver, state):
    application, review = to_state(driver, state)
    outcomes = fired_on(driver.tick(FIRES_AT), review)
    assert [(o.trigger, o.state) for o in outcomes] == [("timer:review_decision", state)]
    assert driver.state(review) == state
    assert driver.state(application) == "under_review"
    entry = driver.log(review)[-1]
    assert (entry.trigger, entry.source, entry.dest, entry.actor, entry.effective_at) == (
        "timer:review_decision", state, state, "system", FIRES_AT)
    assert json.loads(entry.data)["due"] == DUE
    notice = last_notice(driver, review)
    assert notice.template == "deadline_missed"
    assert recipients(notice) == [REVIEW_COORDINATOR_EMAIL, LA_COORDINATOR_EMAIL]
    assert driver.timers(review)["review_decision"][2] == "fired"


def test_a_timer_noticed_after_a_later_event_keeps_its_own_fires_at(driver: Driver):
    _, review = to_commenting(driver)
    # The comment is keyed for Fri 2027-04-30 09:00 BST, after the timer's instant, before
    # any tick noticed the timer.
    driver.fire(review, "record_assessor_comment", ORIGINAL_ASSESSOR, {"comment": "Late."},
                at="2027-04-30")
    driver.tick("2027-04-30T10:00")
    entry = driver.log(review)[-1]
    assert entry.trigger == "timer:review_decision"
    assert entry.effective_at == FIRES_AT
    assert json.loads(entry.data)["due"] == DUE


def test_the_decision_timer_fires_once_only(driver: Driver):
    _, review = driver.to_review()
    driver.tick(FIRES_AT)
    assert fired_on(driver.tick("2027-05-30"), review) == []
    assert templates(driver, review).count("deadline_missed") == 1


def test_a_late_decision_is_still_taken_after_the_timer_fired(driver: Driver):
    application, review = to_with_officer(driver)
    driver.tick(FIRES_AT)
    driver.fire(review, "certify", REVIEW_OFFICER, {"reasons": "Met, late."}, at="2027-04-30")
    assert driver.state(review) == "certified"
    assert driver.state(application) == "certified"


@pytest.mark.parametrize("decided_by", ["certify", "uphold"])
def test_the_decision_timer_does_not_fire_after_a_decision(driver: Driver, decided_by):
    _, review = to_with_officer(driver)
    driver.fire(review, decided_by, REVIEW_OFFICER, {"reasons": "Decided."}, at="2027-03-22")
    assert fired_on(driver.tick("2027-05-10"), review) == []
    assert "deadline_missed" not in templates(driver, review)
    assert [e.trigger for e in driver.log(review)][-1] == decided_by


def test_the_contacts_of_a_missed_decision_come_from_the_configuration(db, clock):
    config = Config(contacts={"review_coordinator": "reviews@other.example.org",
                              "la_coordinator": "asts@other-la.example.org"})
    driver = Driver(Engine(db, config, clock=clock), clock)
    _, review = driver.to_review()
    driver.tick(FIRES_AT)
    assert recipients(last_notice(driver, review)) == ["reviews@other.example.org",
                                                       "asts@other-la.example.org"]


# -- wrong roles, wrong states: nothing written ---------------------------------------------------

@pytest.mark.parametrize("state, trigger, actor, data", [
    ("requested", "invite_assessor_comment", REVIEW_OFFICER, None),
    ("requested", "invite_assessor_comment", CANDIDATE, None),
    ("requested", "invite_assessor_comment", ORIGINAL_ASSESSOR, None),
    ("assessor_commenting", "record_assessor_comment", COORDINATOR, {"comment": "x"}),
    ("assessor_commenting", "assign_review_officer", REVIEW_OFFICER,
     {"review_officer": OFFICER}),
    ("with_review_officer", "certify", COORDINATOR, {"reasons": "x"}),
    ("with_review_officer", "uphold", ORIGINAL_ASSESSOR, {"reasons": "x"}),
    ("with_review_officer", "withdraw", HEADTEACHER, None),
    ("with_review_officer", "certify", "auditor:a1", {"reasons": "x"}),
])
def test_a_role_not_allowed_is_refused_and_writes_nothing_on_either_case(
        driver: Driver, state, trigger, actor, data):
    application, review = to_state(driver, state)
    with refused(driver, RoleNotAllowedError, f"may not fire {trigger}"):
        driver.fire(review, trigger, actor, data, at="2027-03-22")
    assert (driver.state(application), driver.state(review)) == ("under_review", state)


@pytest.mark.parametrize("state, trigger, actor, data", [
    ("requested", "assign_review_officer", COORDINATOR, {"review_officer": OFFICER}),
    ("requested", "certify", REVIEW_OFFICER, {"reasons": "x"}),
    ("assessor_commenting", "invite_assessor_comment", COORDINATOR, None),
    ("assessor_commenting", "uphold", REVIEW_OFFICER, {"reasons": "x"}),
    ("with_review_officer", "invite_assessor_comment", COORDINATOR, None),
    ("with_review_officer", "record_assessor_comment", ORIGINAL_ASSESSOR, {"comment": "x"}),
    ("with_review_officer", "assign_review_officer", COORDINATOR, {"review_officer": OFFICER}),
])
def test_a_trigger_in_the_wrong_state_is_refused_and_writes_nothing(
        driver: Driver, state, trigger, actor, data):
    application, review = to_state(driver, state)
    with refused(driver, NotAllowedInStateError, f"{trigger} is not allowed in state {state}"):
        driver.fire(review, trigger, actor, data, at="2027-03-22")


@pytest.mark.parametrize("trigger", ["review_certified", "review_upheld"])
def test_no_person_moves_the_application_for_the_review(driver: Driver, trigger):
    application, review = driver.to_review()
    before = driver.snapshot()
    for actor in (CANDIDATE, "system:me"):
        with pytest.raises(RoleNotAllowedError, match=f"may not fire {trigger}"):
            driver.fire(application, trigger, actor, {"review": review}, at="2027-03-02")
    with pytest.raises(RoleNotAllowedError, match="operator may not act for system"):
        driver.fire(application, trigger, "operator:it1", {"review": review}, at="2027-03-02",
                    for_="system:x")
    assert driver.snapshot() == before


def test_a_person_cannot_fire_the_review_timer(driver: Driver):
    _, review = driver.to_review()
    with refused(driver, RoleNotAllowedError, "may not fire timer:review_decision"):
        driver.fire(review, "timer:review_decision", COORDINATOR, {"due": DUE}, at="2027-03-02")


def test_an_unknown_trigger_on_a_review_is_refused(driver: Driver):
    _, review = driver.to_review()
    with refused(driver, UnknownTriggerError, "unknown trigger 'reject' for a review case"):
        driver.fire(review, "reject", COORDINATOR, {"reasons": "x"}, at="2027-03-02")


def test_a_decision_dated_before_the_review_opened_is_refused(driver: Driver):
    application, review = driver.to_review()
    with refused(driver, EffectiveTimeError, f"before case {review} was opened"):
        driver.fire(review, "invite_assessor_comment", COORDINATOR, at="2027-02-26")


def test_only_the_original_assessor_records_the_comment(driver: Driver):
    _, review = to_commenting(driver)
    with refused(driver, RoleNotAllowedError, r"assessor:zz-99 may not fire record_assessor_comment"
                 r".*the case expects the original assessor, Carol Assessor \(assessor:as-17\)"):
        driver.fire(review, "record_assessor_comment", "assessor:zz-99",
                    {"comment": "I was not there."}, at="2027-03-03")
