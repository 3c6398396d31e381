"""Behaviour of the application process (DOMAIN.md section 1): what each trigger does from each of
its source states, what the engine refuses (and that a refusal writes nothing), the deadlines and
what happens when they pass, and the early re-application warning.

Dates used throughout (England; worked out by hand, see the comments where they are used):
the AST1 form reaches the headteacher on Fri 2026-12-18; the walks in tests/builders.py then
support it on 2027-01-05, submit it on 2027-01-06, the agency receives it on 2027-01-08 and the
assessment day is Wed 2027-02-10; a not-met decision letter goes on Fri 2027-02-12.
"""
from __future__ import annotations

import json

import pytest

from tests.builders import (AGENCY, ASSESSOR, FUNDING, HEADTEACHER, OFFICER, Driver,
                            appointment_data, application_data, recipients, refused)
from workflows.engine import Actor
from workflows.core.errors import (EffectiveTimeError, GuardFailedError, InvalidDataError,
                              NotAllowedInStateError, RoleNotAllowedError, UnknownCaseError,
                              UnknownTriggerError)
from workflows.core.times import parse_instant

CANDIDATE = "candidate:ann"
JUDGE = "assessor:as-17"
OPERATOR = "operator:it.jones"

CANDIDATE_MAIL = "ann.lee@hill.example.org"
HEAD_MAIL = "h.brown@hill.example.org"
HILL_OFFICE = "office@hill.example.org"          # the post school of an internal post
VALE_OFFICE = "office@vale.example.org"          # the post school of the external post
LA_MAIL = "ast.coordinator@la.example.org"       # configuration defaults (CLI.md)
AGENCY_MAIL = "ast.assessment@agency.example.org"

EXTERNAL_POST = {"school": "Vale Secondary School", "email": VALE_OFFICE,
                 "advertisement": "external", "appointment": None}
EVALUATION = {"evaluation": "Meets E and A standards"}
NOT_MET_FEEDBACK = {"feedback": {"E3": "Planning did not show progression.",
                                 "A1": "Outreach work was not yet evidenced."}}


# -- reading back and asserting ---------------------------------------------------------------

def statuses(driver: Driver, case: str) -> dict[str, str]:
    """timer name -> status."""
    return {name: status for name, (_, _, status) in driver.timers(case).items()}


def notices_of(driver: Driver, case: str, template: str) -> list:
    return [n for n in driver.notices(case) if n.template == template]


def assert_notice(driver: Driver, case: str, template: str, to: list[str], *mentions: str):
    """Exactly one `template` notice on the case, to exactly `to`; its subject names the case
    and its body (or subject) names each of `mentions`."""
    found = notices_of(driver, case, template)
    assert len(found) == 1, [n.template for n in driver.notices(case)]
    notice = found[0]
    assert recipients(notice) == to
    assert case in notice.subject
    for text in mentions:
        assert text in notice.body or text in notice.subject, (text, notice.body)
    return notice


def last_entry(driver: Driver, case: str):
    return driver.log(case)[-1]


def data_of(entry) -> dict:
    return json.loads(entry.data)


def assert_refused(driver: Driver, error: type[Exception], match: str, action):
    """`action` is refused with `error` (message matching `match`) and nothing at all changed."""
    with refused(driver, error, match) as caught:
        action()
    return caught.value


# -- walks to each state (the builders' walks plus the external-post route) --------------------

def external_application() -> dict:
    return application_data("external", post=EXTERNAL_POST)


def to_received(driver: Driver, data: dict | None = None) -> str:
    return driver.open(data=data, at="2026-12-18").case


def to_supported(driver: Driver, data: dict | None = None) -> str:
    case = to_received(driver, data)
    driver.fire(case, "support", HEADTEACHER, EVALUATION, at="2027-01-05")
    return case


def to_awaiting_shortlist(driver: Driver) -> str:
    case = to_supported(driver, external_application())
    driver.fire(case, "forward_to_post_school", HEADTEACHER, at="2027-01-06")
    return case


def to_shortlisted(driver: Driver) -> str:
    case = to_awaiting_shortlist(driver)
    driver.fire(case, "shortlist", "post_school:vale", at="2027-01-08")
    return case


def to_submitted(driver: Driver) -> str:
    case = to_supported(driver)
    driver.fire(case, "submit_to_agency", HEADTEACHER, FUNDING, at="2027-01-06")
    return case


def to_with_agency(driver: Driver) -> str:
    case = to_submitted(driver)
    driver.fire(case, "agency_receive", AGENCY, at="2027-01-08")
    return case


WALKS = {
    "received": to_received,
    "supported": to_supported,
    "awaiting_shortlist": to_awaiting_shortlist,
    "shortlisted": to_shortlisted,
    "submitted": to_submitted,
    "with_agency": to_with_agency,
    "assessment_scheduled": lambda d: d.to_assessment_scheduled(),
    "certified": lambda d: d.to_certified(),
    "not_met": lambda d: d.to_not_met(),
    "not_met_before_letter": lambda d: d.to_not_met(letter=False),
    "under_review": lambda d: d.to_review()[0],
}


def walk(driver: Driver, state: str) -> str:
    case = WALKS[state](driver)
    assert driver.state(case) == state.removesuffix("_before_letter")
    return case


# == 1. Each trigger from each of its source states =============================================

def test_opening_an_application_starts_the_headteacher_deadline_and_tells_the_candidate(driver):
    outcome = driver.open(at="2026-12-18")
    case = outcome.case

    assert (outcome.state, outcome.version, outcome.warnings) == ("received", 1, [])
    # 20 working days after Fri 2026-12-18 (England): 21-24 Dec (4); 25 and 28 Dec bank
    # holidays; 29-31 Dec (7); 1 Jan bank holiday; 4-8 Jan (12); 11-15 Jan (17); 18-20 Jan (20).
    # Fires at 00:00 London the next day, GMT in winter.
    assert driver.timers(case) == {
        "headteacher_deadline": ("2027-01-20", "2027-01-21T00:00:00+00:00", "pending")}
    timer = driver.rows("SELECT counted_from, nation, closures FROM timers WHERE case_id = :id",
                        id=case)[0]
    assert (timer.counted_from, timer.nation, json.loads(timer.closures)) == (
        "2026-12-18", "england", [])
    assert_notice(driver, case, "application_received", [CANDIDATE_MAIL],
                  "Friday 18 December 2026", "Wednesday 20 January 2027")
    entry = last_entry(driver, case)
    assert (entry.trigger, entry.source, entry.dest, entry.actor, entry.on_behalf_of) == (
        "open", None, "received", HEADTEACHER, None)
    assert entry.effective_at == "2026-12-18T09:00:00+00:00"


def test_an_operator_keys_in_an_application_for_the_headteacher_and_the_log_says_for_whom(driver):
    case = driver.open(actor=OPERATOR, for_=HEADTEACHER, at="2026-12-18").case

    assert driver.state(case) == "received"
    entry = last_entry(driver, case)
    assert (entry.actor, entry.on_behalf_of) == (OPERATOR, HEADTEACHER)


def test_the_headteacher_rejects_with_reasons_which_cancels_the_deadline_and_tells_why(driver):
    case = to_received(driver)
    reasons = "The evidence against core standard C12 is not yet secure."

    outcome = driver.fire(case, "reject", HEADTEACHER, {"reasons": reasons}, at="2027-01-04")

    assert outcome.state == "rejected"
    assert statuses(driver, case) == {"headteacher_deadline": "cancelled"}
    assert_notice(driver, case, "headteacher_rejection", [CANDIDATE_MAIL], reasons,
                  "Monday 4 January 2027")
    assert data_of(last_entry(driver, case)) == {"reasons": reasons}


def test_the_headteacher_declines_support_with_feedback_which_cancels_the_deadline(driver):
    case = to_received(driver)
    feedback = "Build a year of outreach work with another school first."

    outcome = driver.fire(case, "decline_support", HEADTEACHER, {"feedback": feedback},
                          at="2027-01-04")

    assert outcome.state == "not_supported"
    assert statuses(driver, case) == {"headteacher_deadline": "cancelled"}
    assert_notice(driver, case, "headteacher_feedback", [CANDIDATE_MAIL], feedback)


def test_support_keeps_the_headteacher_deadline_running_and_sends_nothing(driver):
    case = to_received(driver)

    outcome = driver.fire(case, "support", HEADTEACHER, EVALUATION, at="2027-01-05")

    assert outcome.state == "supported"
    assert driver.timers(case) == {
        "headteacher_deadline": ("2027-01-20", "2027-01-21T00:00:00+00:00", "pending")}
    assert [n.template for n in driver.notices(case)] == ["application_received"]
    assert data_of(last_entry(driver, case)) == EVALUATION


def test_an_external_application_is_forwarded_to_the_post_school_and_the_deadline_ends(driver):
    case = to_supported(driver, external_application())

    outcome = driver.fire(case, "forward_to_post_school", HEADTEACHER, at="2027-01-06")

    assert outcome.state == "awaiting_shortlist"
    assert statuses(driver, case) == {"headteacher_deadline": "cancelled"}
    assert_notice(driver, case, "application_forwarded", [VALE_OFFICE], "Ann Lee",
                  "Wednesday 6 January 2027")


@pytest.mark.parametrize("actor", ["post_school:vale", "la_coordinator:lc"])
def test_the_post_school_or_the_la_coordinator_shortlists_quietly(driver, actor):
    case = to_awaiting_shortlist(driver)
    sent = len(driver.notices(case))

    outcome = driver.fire(case, "shortlist", actor, at="2027-01-08")

    assert outcome.state == "shortlisted"
    assert len(driver.notices(case)) == sent


@pytest.mark.parametrize("actor", ["post_school:vale", "la_coordinator:lc"])
def test_an_application_not_shortlisted_is_told_so(driver, actor):
    case = to_awaiting_shortlist(driver)

    outcome = driver.fire(case, "decline_shortlist", actor, at="2027-01-08")

    assert outcome.state == "not_shortlisted"
    assert_notice(driver, case, "not_shortlisted", [CANDIDATE_MAIL], "Vale Secondary School",
                  "Friday 8 January 2027")
    # DOMAIN.md, Notices: signed by the body whose act it reports.
    signature = driver.notices(case)[-1].body.split("Yours sincerely,")[1]
    by_la = actor.startswith("la_coordinator")
    assert ("LA AST Co-ordinator" in signature) == by_la
    assert ("Vale Secondary School" in signature) == (not by_la)


def test_the_headteacher_submits_an_internal_application_with_the_funding_declaration(driver):
    case = to_supported(driver)

    outcome = driver.fire(case, "submit_to_agency", HEADTEACHER, FUNDING, at="2027-01-06")

    assert outcome.state == "submitted"
    assert statuses(driver, case) == {"headteacher_deadline": "cancelled"}
    assert data_of(last_entry(driver, case)) == FUNDING
    assert [n.template for n in driver.notices(case)] == ["application_received"]


@pytest.mark.parametrize("actor", ["post_school:vale", "la_coordinator:lc"])
def test_a_shortlisted_application_is_submitted_by_the_post_school_or_the_la(driver, actor):
    case = to_shortlisted(driver)
    declaration = {"funding_declaration": {"declared_by": "Vera Vale", "source": "school"}}

    outcome = driver.fire(case, "submit_to_agency", actor, declaration, at="2027-01-11")

    assert outcome.state == "submitted"
    assert data_of(last_entry(driver, case)) == declaration
    assert statuses(driver, case) == {"headteacher_deadline": "cancelled"}


def test_an_la_funded_post_goes_to_the_agency_via_the_la_which_completes_the_declaration(
        driver):
    post = driver.open("appointment", data=appointment_data(
        funding_source="school_development_grant"), actor="la_coordinator:lc").case
    case = to_supported(driver, application_data(post={
        "school": "Hill Primary School", "email": HILL_OFFICE, "advertisement": "internal",
        "appointment": post}))
    declaration = {"funding_declaration": {"declared_by": "LA AST Co-ordinator",
                                           "source": "school_development_grant"}}

    assert_refused(driver, GuardFailedError, "goes to the agency via the LA.*use send_to_la",
                   lambda: driver.fire(case, "submit_to_agency", HEADTEACHER, declaration))
    sent = driver.fire(case, "send_to_la", HEADTEACHER, at="2027-01-06")
    assert (sent.state, statuses(driver, case)) == (
        "with_la", {"headteacher_deadline": "cancelled"})
    assert_refused(driver, RoleNotAllowedError, "la_coordinator",
                   lambda: driver.fire(case, "submit_to_agency", HEADTEACHER, declaration))
    outcome = driver.fire(case, "submit_to_agency", "la_coordinator:lc", declaration,
                          at="2027-01-07")

    assert outcome.state == "submitted"
    assert data_of(last_entry(driver, case))["funding_declaration"]["declared_by"] == \
        "LA AST Co-ordinator"


def test_a_declared_source_other_than_the_posts_is_refused(driver):
    post = driver.open("appointment", data=appointment_data(
        funding_source="school_development_grant"), actor="la_coordinator:lc").case
    case = to_supported(driver, application_data(post={
        "school": "Hill Primary School", "email": HILL_OFFICE, "advertisement": "internal",
        "appointment": post}))
    driver.fire(case, "send_to_la", HEADTEACHER, at="2027-01-06")

    error = assert_refused(
        driver, GuardFailedError, f"funding_declaration.source: the post \\({post}\\) is funded "
        "by school_development_grant, not school",
        lambda: driver.fire(case, "submit_to_agency", "la_coordinator:lc", FUNDING))
    assert "school_development_grant" in str(error)


def test_a_post_the_school_funds_is_submitted_by_the_headteacher_and_send_to_la_needs_an_internal_post(
        driver):
    post = driver.open("appointment", data=appointment_data(funding_source="school"),
                       actor="la_coordinator:lc").case
    case = to_supported(driver, application_data(post={
        "school": "Hill Primary School", "email": HILL_OFFICE, "advertisement": "internal",
        "appointment": post}))

    assert driver.fire(case, "submit_to_agency", HEADTEACHER, FUNDING,
                       at="2027-01-06").state == "submitted"
    external = to_supported(driver, external_application())
    assert_refused(driver, GuardFailedError, "advertised externally",
                   lambda: driver.fire(external, "send_to_la", HEADTEACHER))


def test_the_agency_receiving_the_application_starts_the_six_week_window(driver):
    case = to_submitted(driver)

    outcome = driver.fire(case, "agency_receive", AGENCY, at="2027-01-08")

    assert outcome.state == "with_agency"
    # Six weeks after Fri 2027-01-08 = 2027-01-08 + 42 days = Fri 2027-02-19 (no adjustment).
    assert driver.timers(case)["assessment_window"] == (
        "2027-02-19", "2027-02-20T00:00:00+00:00", "pending")
    assert_notice(driver, case, "application_with_agency", [CANDIDATE_MAIL, HEAD_MAIL],
                  "Friday 8 January 2027", "Friday 19 February 2027")


def test_scheduling_the_assessment_tells_the_candidate_and_headteacher_the_day_and_assessor(
        driver):
    case = to_with_agency(driver)

    outcome = driver.fire(case, "schedule_assessment", AGENCY,
                          {"assessment_date": "2027-02-10", "assessor": ASSESSOR},
                          at="2027-01-11")

    assert outcome.state == "assessment_scheduled"
    notice = assert_notice(driver, case, "assessment_arranged",
                           [CANDIDATE_MAIL, HEAD_MAIL, ASSESSOR["email"]],
                           "Wednesday 10 February 2027", "Carol Assessor")
    assert "replaces" not in notice.body
    assert "Wednesday 10 February 2027" in notice.subject
    assert statuses(driver, case)["assessment_window"] == "pending"


def test_rescheduling_sends_a_new_notice_and_the_new_day_is_the_one_letters_count_from(driver):
    case = driver.to_assessment_scheduled()

    outcome = driver.fire(case, "schedule_assessment", AGENCY,
                          {"assessment_date": "2027-02-17", "assessor": ASSESSOR},
                          at="2027-01-20")
    driver.fire(case, "judge_met", JUDGE, at="2027-02-17T16:00")

    assert outcome.state == "assessment_scheduled"
    arranged = notices_of(driver, case, "assessment_arranged")
    assert ["Wednesday 17 February 2027" in n.subject for n in arranged] == [False, True]
    # The new date says which it replaces; the assessor is told too.
    assert "replaces Wednesday 10 February 2027" in arranged[1].subject
    assert "This replaces the assessment arranged for Wednesday 10 February 2027" in \
        arranged[1].body
    assert ASSESSOR["email"] in recipients(arranged[1])
    timers = driver.timers(case)
    # 3 working days after Wed 2027-02-17: 18, 19, 22 Feb -> Mon 2027-02-22.
    assert timers["decision_letter"][:2] == ("2027-02-22", "2027-02-23T00:00:00+00:00")
    # 15 working days after 2027-02-17: 18-19 (2), 22-26 (7), 1-5 Mar (12), 8-10 Mar (15).
    assert timers["written_feedback"][:2] == ("2027-03-10", "2027-03-11T00:00:00+00:00")


def test_a_new_assessor_replaces_the_old_one_who_is_told_not_to_travel(driver):
    case = driver.to_assessment_scheduled()
    other = {"id": "as-40", "name": "Dan Other", "email": "dan.other@agency.example.org"}

    driver.fire(case, "schedule_assessment", AGENCY,
                {"assessment_date": "2027-02-17", "assessor": other}, at="2027-01-20")

    latest = notices_of(driver, case, "assessment_arranged")[-1]
    assert recipients(latest) == [CANDIDATE_MAIL, HEAD_MAIL, other["email"], ASSESSOR["email"]]
    assert "assessor arranged for it (carol.assessor@agency.example.org) is told too and will " \
        "not attend" in " ".join(latest.body.split())
    # The assessor bound to the case is now the new one.
    with refused(driver, RoleNotAllowedError, "the case expects the assessor of the current "
                 r"schedule, Dan Other \(assessor:as-40\)"):
        driver.fire(case, "judge_met", JUDGE, at="2027-02-17T16:00")
    assert driver.fire(case, "judge_met", "assessor:as-40", at="2027-02-17T16:00").state == \
        "certified"


@pytest.mark.parametrize("actor", [JUDGE, AGENCY])
def test_judging_the_standards_met_certifies_and_starts_the_letter_deadlines(driver, actor):
    case = driver.to_assessment_scheduled()

    outcome = driver.fire(case, "judge_met", actor, at="2027-02-10T16:00")

    assert outcome.state == "certified"
    # Assessment day Wed 2027-02-10. Decision letter: 3 working days after it = 11, 12, 15 Feb
    # -> Mon 2027-02-15. Written feedback: 15 working days = 11-12 Feb (2), 15-19 (7),
    # 22-26 (12), 1-3 Mar (15) -> Wed 2027-03-03. No bank holidays in between.
    assert driver.timers(case) == {
        "headteacher_deadline": ("2027-01-20", "2027-01-21T00:00:00+00:00", "cancelled"),
        "assessment_window": ("2027-02-19", "2027-02-20T00:00:00+00:00", "cancelled"),
        "decision_letter": ("2027-02-15", "2027-02-16T00:00:00+00:00", "pending"),
        "written_feedback": ("2027-03-03", "2027-03-04T00:00:00+00:00", "pending")}


@pytest.mark.parametrize("actor", [JUDGE, AGENCY])
def test_judging_standards_not_met_names_them_and_starts_the_same_deadlines(driver, actor):
    case = driver.to_assessment_scheduled()

    outcome = driver.fire(case, "judge_not_met", actor, {"unmet_standards": ["E3", "A1"]},
                          at="2027-02-10T16:00")

    assert outcome.state == "not_met"
    assert data_of(last_entry(driver, case)) == {"unmet_standards": ["E3", "A1"]}
    timers = driver.timers(case)
    assert timers["assessment_window"][2] == "cancelled"
    assert timers["decision_letter"] == ("2027-02-15", "2027-02-16T00:00:00+00:00", "pending")
    assert timers["written_feedback"] == ("2027-03-03", "2027-03-04T00:00:00+00:00", "pending")


def test_the_decision_letter_to_a_certified_candidate_opens_no_review_window(driver):
    case = driver.to_certified()

    outcome = driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-11")

    assert outcome.state == "certified"
    assert statuses(driver, case) == {
        "headteacher_deadline": "cancelled", "assessment_window": "cancelled",
        "decision_letter": "cancelled", "written_feedback": "pending"}
    notice = assert_notice(driver, case, "decision_letter", [CANDIDATE_MAIL],
                           "Wednesday 10 February 2027",   # the assessment day
                           "Wednesday 3 March 2027")       # written feedback due
    assert "standards met" in notice.subject
    assert "40 working days" not in notice.body


def test_the_not_met_decision_letter_opens_the_40_working_day_review_window(driver):
    case = driver.to_not_met(letter=False)

    outcome = driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-12")

    assert outcome.state == "not_met"
    # 40 working days after Fri 2027-02-12: 15 Feb-19 Mar (25), 22-25 Mar (29); Good Friday
    # 26 Mar and Easter Monday 29 Mar are bank holidays; 30 Mar-2 Apr (33), 5-9 Apr (38),
    # 12-13 Apr (40) -> Tue 2027-04-13. Midnight London on 14 April is BST: 23:00 UTC.
    timers = driver.timers(case)
    assert timers["review_window"] == ("2027-04-13", "2027-04-13T23:00:00+00:00", "pending")
    assert timers["decision_letter"][2] == "cancelled"
    notice = assert_notice(driver, case, "decision_letter", [CANDIDATE_MAIL],
                           "E3, A1", "Tuesday 13 April 2027", "Friday 12 February 2027")
    assert "standards not met" in notice.subject


def test_written_feedback_to_a_certified_candidate_goes_to_candidate_head_and_post_school(
        driver):
    case = driver.to_certified()
    feedback = "Outstanding outreach work with two partner schools."

    outcome = driver.fire(case, "send_written_feedback", AGENCY, {"feedback": feedback},
                          at="2027-02-20")

    assert outcome.state == "certified"
    assert statuses(driver, case)["written_feedback"] == "cancelled"
    assert statuses(driver, case)["decision_letter"] == "pending"
    assert_notice(driver, case, "written_feedback", [CANDIDATE_MAIL, HEAD_MAIL, HILL_OFFICE],
                  feedback, "all applicable standards met")


def test_written_feedback_on_a_not_met_judgement_gives_a_paragraph_per_unmet_standard(driver):
    case = driver.to_not_met()

    driver.fire(case, "send_written_feedback", AGENCY, NOT_MET_FEEDBACK, at="2027-02-20")

    assert driver.state(case) == "not_met"
    assert statuses(driver, case)["written_feedback"] == "cancelled"
    assert statuses(driver, case)["review_window"] == "pending"
    assert_notice(driver, case, "written_feedback", [CANDIDATE_MAIL, HEAD_MAIL, HILL_OFFICE],
                  "E3: Planning did not show progression.",
                  "A1: Outreach work was not yet evidenced.")


def test_a_review_requested_on_the_last_day_opens_a_review_case_in_the_same_transaction(driver):
    case = driver.to_not_met()

    outcome = driver.fire(case, "request_review", CANDIDATE,
                          {"grounds": ["relevant_evidence_ignored"],
                           "explanation": "My portfolio was not read."},
                          at="2027-04-13T17:00")   # the window's due date

    assert outcome.state == "under_review"
    review = outcome.linked[0]
    assert (review.kind, review.state) == ("review", "requested")
    assert statuses(driver, case)["review_window"] == "cancelled"
    # The engine's own record of the entry names the review it opened, apart from the data.
    assert json.loads(last_entry(driver, case).engine)["opened"] == {"review": review.case}
    assert "review" not in data_of(last_entry(driver, case))
    stored = driver.rows("SELECT data FROM cases WHERE id = :id", id=review.case)[0]
    assert json.loads(stored.data)["application"] == case
    # the review case's own log starts in the same transaction, at the same effective time
    assert last_entry(driver, review.case).effective_at == last_entry(driver, case).effective_at
    assert_notice(driver, review.case, "review_acknowledged", [CANDIDATE_MAIL],
                  "Tuesday 13 April 2027")


def test_a_review_may_be_requested_before_the_decision_letter_is_sent(driver):
    case = driver.to_not_met(letter=False)

    outcome = driver.fire(case, "request_review", CANDIDATE,
                          {"grounds": ["bias_or_discrimination"], "explanation": "Unfair."},
                          at="2027-02-11")

    assert outcome.state == "under_review"
    assert len(outcome.linked) == 1


def test_a_review_that_certifies_moves_the_application_to_certified_as_system(driver):
    case, review = driver.to_review(at="2027-03-01")
    driver.fire(review, "invite_assessor_comment", "review_coordinator:rc", at="2027-03-02")
    driver.fire(review, "assign_review_officer", "review_coordinator:rc",
                {"review_officer": OFFICER}, at="2027-03-03")

    driver.fire(review, "certify", "review_officer:ro-3", {"reasons": "Evidence was ignored."},
                at="2027-03-10")

    assert driver.state(case) == "certified"
    entry = last_entry(driver, case)
    assert (entry.trigger, entry.actor, entry.source, entry.dest) == (
        "review_certified", "system", "under_review", "certified")
    assert data_of(entry) == {"review": review}


def test_no_one_can_refuse_a_review(driver):
    case, review = driver.to_review(at="2027-03-01")

    error = assert_refused(driver, UnknownTriggerError, "unknown trigger 'refuse'",
                           lambda: driver.fire(review, "refuse", "review_coordinator:rc",
                                               {"reasons": "No ground is made out."}))
    assert "refuse," not in str(error).split("triggers:")[1]
    assert driver.state(case) == "under_review"


def test_when_the_review_window_passes_the_not_met_judgement_becomes_final(driver):
    case = driver.to_not_met()
    driver.fire(case, "send_written_feedback", AGENCY, NOT_MET_FEEDBACK, at="2027-02-20")

    fired = driver.tick("2027-04-14")

    assert [(o.case, o.trigger, o.state) for o in fired] == [
        (case, "timer:review_window", "closed_not_met")]
    assert driver.state(case) == "closed_not_met"
    assert statuses(driver, case)["review_window"] == "fired"
    entry = last_entry(driver, case)
    assert (entry.trigger, entry.actor, entry.on_behalf_of, entry.source, entry.dest) == (
        "timer:review_window", "system", None, "not_met", "closed_not_met")
    assert entry.effective_at == "2027-04-13T23:00:00+00:00"   # its fires_at
    assert data_of(entry) == {"due": "2027-04-13"}


# Whom a withdrawal is copied to, by how far the case got (the walk's post is internal, paid
# by the school, and names no appointment: neither the post school nor the LA is involved).
INVOLVED = {
    "received": [HEAD_MAIL],
    "supported": [HEAD_MAIL],
    "with_agency": [HEAD_MAIL, AGENCY_MAIL],
    "assessment_scheduled": [HEAD_MAIL, AGENCY_MAIL, ASSESSOR["email"]],
    "not_met_before_letter": [HEAD_MAIL, AGENCY_MAIL, ASSESSOR["email"]],
    "not_met": [HEAD_MAIL, AGENCY_MAIL, ASSESSOR["email"]],
}


@pytest.mark.parametrize("state", list(INVOLVED))
def test_the_candidate_withdraws_from_a_non_final_state_and_every_timer_is_cancelled(
        driver, state):
    case = walk(driver, state)
    pending = {name for name, status in statuses(driver, case).items() if status == "pending"}

    outcome = driver.fire(case, "withdraw", CANDIDATE)

    assert outcome.state == "withdrawn"
    assert pending and all(statuses(driver, case)[name] == "cancelled" for name in pending)
    assert "pending" not in statuses(driver, case).values()
    mine, copy = notices_of(driver, case, "withdrawal_confirmed")
    assert recipients(mine) == [CANDIDATE_MAIL] and "Dear Ann Lee" in mine.body
    # Everyone the case has involved so far is told, the assessor too (who must not travel).
    assert recipients(copy) == INVOLVED[state]
    assert "Ann Lee" in copy.body and "withdrew" in copy.body and case in copy.subject
    # An assessment still ahead will not take place; one already held is not spoken of so.
    ahead = state == "assessment_scheduled"
    assert ("Wednesday 10 February 2027 will not take place" in copy.body.replace("\n", " ")) \
        is ahead


def test_a_withdrawal_is_copied_to_the_post_school_and_the_la_once_they_are_involved(driver):
    """An external post forwarded to its school and shortlisted, funded through the LA: the
    post school and the LA co-ordinator are told, with the headteacher and the agency."""
    post = driver.open("appointment", appointment_data(funding_source="local_formula"),
                       actor="la_coordinator:lc").case
    case = driver.open(data=application_data(
        post={**EXTERNAL_POST, "appointment": post}), at="2026-12-18").case
    driver.fire(case, "support", HEADTEACHER, EVALUATION, at="2027-01-05")
    driver.fire(case, "forward_to_post_school", HEADTEACHER, at="2027-01-06")
    driver.fire(case, "shortlist", "post_school:vale", at="2027-01-07")
    driver.fire(case, "submit_to_agency", "la_coordinator:lc",
                {"funding_declaration": {"declared_by": "LA", "source": "local_formula"}},
                at="2027-01-08")

    driver.fire(case, "withdraw", CANDIDATE, at="2027-01-11")

    _, copy = notices_of(driver, case, "withdrawal_confirmed")
    assert recipients(copy) == [HEAD_MAIL, VALE_OFFICE, LA_MAIL, AGENCY_MAIL]


# == 2. Refusals: each one writes nothing ========================================================

@pytest.mark.parametrize("state, trigger, actor", [
    ("supported", "reject", HEADTEACHER),
    ("received", "forward_to_post_school", HEADTEACHER),
    ("supported", "shortlist", "post_school:vale"),
    ("awaiting_shortlist", "submit_to_agency", HEADTEACHER),
    ("received", "agency_receive", AGENCY),
    ("with_agency", "judge_met", JUDGE),
    ("assessment_scheduled", "send_decision_letter", AGENCY),
    ("certified", "request_review", CANDIDATE),
    ("certified", "withdraw", CANDIDATE),
    ("not_met", "review_certified", "system:x"),
])
def test_a_trigger_is_refused_outside_its_source_states(driver, state, trigger, actor):
    case = walk(driver, state)

    assert_refused(driver, NotAllowedInStateError,
                   f"{trigger} is not allowed in state {state} of case {case}",
                   lambda: driver.fire(case, trigger, actor))


@pytest.mark.parametrize("state, trigger, actor, data", [
    ("received", "support", CANDIDATE, EVALUATION),
    ("received", "reject", "la_coordinator:lc", {"reasons": "x"}),
    ("supported", "submit_to_agency", "post_school:hill", FUNDING),
    ("awaiting_shortlist", "shortlist", HEADTEACHER, None),
    ("submitted", "agency_receive", HEADTEACHER, None),
    ("assessment_scheduled", "judge_met", CANDIDATE, None),
    ("certified", "send_decision_letter", JUDGE, None),
    ("not_met", "request_review", HEADTEACHER,
     {"grounds": ["bias_or_discrimination"], "explanation": "x"}),
    ("received", "withdraw", HEADTEACHER, None),
    ("received", "support", "auditor:au", EVALUATION),
    ("not_met", "timer:review_window", AGENCY, {"due": "2027-04-13"}),
])
def test_a_trigger_is_refused_to_a_role_that_may_not_fire_it(driver, state, trigger, actor,
                                                              data):
    case = walk(driver, state)
    role = actor.split(":")[0]

    assert_refused(driver, RoleNotAllowedError, f"role {role} may not fire {trigger}",
                   lambda: driver.fire(case, trigger, actor, data))


@pytest.mark.parametrize("actor, for_", [(CANDIDATE, None), (AGENCY, None),
                                         (OPERATOR, "system:x"), ("system:x", None)])
def test_only_the_system_fires_review_certified_and_review_upheld(driver, actor, for_):
    case = walk(driver, "under_review")

    for trigger in ("review_certified", "review_upheld"):
        assert_refused(driver, RoleNotAllowedError, "system",
                       lambda: driver.fire(case, trigger, actor, {"review": "rev-x"}, for_=for_))


def test_the_candidate_may_not_open_an_application_themselves(driver):
    assert_refused(driver, RoleNotAllowedError, "role candidate may not open .*allowed: headteacher",
                   lambda: driver.open(actor=CANDIDATE, at="2026-12-18"))


def test_an_operator_must_say_whom_it_acts_for(driver):
    case = to_received(driver)

    assert_refused(driver, RoleNotAllowedError, "--for",
                   lambda: driver.fire(case, "support", OPERATOR, EVALUATION))
    assert_refused(driver, RoleNotAllowedError, "--for",
                   lambda: driver.open(actor=OPERATOR, at="2026-12-18"))


def test_an_operator_is_refused_when_the_role_it_acts_for_may_not_fire_the_trigger(driver):
    case = to_received(driver)

    assert_refused(driver, RoleNotAllowedError, "role candidate may not fire support",
                   lambda: driver.fire(case, "support", OPERATOR, EVALUATION, for_=CANDIDATE))


def test_only_an_operator_acts_for_someone_else(driver):
    case = to_received(driver)

    assert_refused(driver, RoleNotAllowedError, "only an operator acts for someone else",
                   lambda: driver.fire(case, "support", "la_coordinator:lc", EVALUATION,
                                       for_=HEADTEACHER))


@pytest.mark.parametrize("trigger, for_, data, state", [
    ("support", HEADTEACHER, EVALUATION, "supported"),
    ("withdraw", CANDIDATE, None, "withdrawn"),
])
def test_an_operator_keying_in_a_paper_form_is_recorded_with_whom_it_acted_for(
        driver, trigger, for_, data, state):
    case = to_received(driver)

    outcome = driver.fire(case, trigger, OPERATOR, data, for_=for_, at="2027-01-05")

    assert outcome.state == state
    entry = last_entry(driver, case)
    assert (entry.trigger, entry.actor, entry.on_behalf_of) == (trigger, OPERATOR, for_)


@pytest.mark.parametrize("state, trigger, actor, data, field", [
    ("received", "reject", HEADTEACHER, {}, "reasons"),
    ("received", "reject", HEADTEACHER, {"reasons": "   "}, "reasons"),
    ("received", "decline_support", HEADTEACHER, {}, "feedback"),
    ("received", "support", HEADTEACHER, {}, "evaluation"),
    ("supported", "submit_to_agency", HEADTEACHER, {}, "funding_declaration"),
    ("supported", "submit_to_agency", HEADTEACHER,
     {"funding_declaration": {"declared_by": "Hugh Brown"}}, "funding_declaration.source"),
    ("with_agency", "schedule_assessment", AGENCY, {"assessor": ASSESSOR}, "assessment_date"),
    ("with_agency", "schedule_assessment", AGENCY, {"assessment_date": "2027-02-10"},
     "assessor"),
    ("assessment_scheduled", "judge_not_met", JUDGE, {}, "unmet_standards"),
    ("assessment_scheduled", "judge_not_met", JUDGE, {"unmet_standards": []},
     "unmet_standards"),
    ("certified", "send_written_feedback", AGENCY, {}, "feedback"),
    ("not_met", "request_review", CANDIDATE, {"explanation": "x"}, "grounds"),
    ("not_met", "request_review", CANDIDATE, {"grounds": ["relevant_evidence_ignored"]},
     "explanation"),
])
def test_missing_or_invalid_data_is_refused_naming_the_field(driver, state, trigger, actor,
                                                             data, field):
    case = walk(driver, state)

    error = assert_refused(driver, InvalidDataError, field,
                           lambda: driver.fire(case, trigger, actor, data))
    assert error.field == field


def test_a_not_met_judgement_naming_a_code_outside_annex_a_is_refused(driver):
    # The engine treats an unknown code as invalid data (the model's validator), not as a guard.
    case = driver.to_assessment_scheduled()

    error = assert_refused(driver, InvalidDataError, "not standard codes of Annex A: X9",
                           lambda: driver.fire(case, "judge_not_met", JUDGE,
                                               {"unmet_standards": ["E3", "X9"]}))
    assert error.field == "unmet_standards"


def test_a_not_met_judgement_naming_a_standard_not_assessed_at_the_candidates_stage_is_refused(
        driver):
    case = driver.to_assessment_scheduled()   # a post_threshold candidate: P1-P10 are the head's

    assert_refused(driver, GuardFailedError,
                   "unmet_standards: P3 are not assessed externally for a post_threshold",
                   lambda: driver.fire(case, "judge_not_met", JUDGE,
                                       {"unmet_standards": ["E3", "P3"]}, at="2027-02-10T16:00"))


def test_a_main_scale_candidate_may_be_judged_not_to_meet_a_post_threshold_standard(driver):
    case = driver.to_assessment_scheduled(data=application_data(career_stage="main_scale"))

    outcome = driver.fire(case, "judge_not_met", JUDGE, {"unmet_standards": ["P3"]},
                          at="2027-02-10T16:00")

    assert outcome.state == "not_met"


def test_a_judgement_cannot_take_effect_before_the_assessment_day(driver):
    case = driver.to_assessment_scheduled()   # assessment day Wed 2027-02-10

    assert_refused(driver, GuardFailedError, "before the assessment day 2027-02-10",
                   lambda: driver.fire(case, "judge_met", JUDGE, at="2027-02-09T16:00"))


def test_an_internal_post_cannot_be_forwarded_to_a_post_school(driver):
    case = to_supported(driver)

    assert_refused(driver, GuardFailedError, "advertised internally",
                   lambda: driver.fire(case, "forward_to_post_school", HEADTEACHER))


def test_the_headteacher_cannot_submit_an_application_for_an_external_post_directly(driver):
    case = to_supported(driver, external_application())

    assert_refused(driver, GuardFailedError, "advertised externally.*forward_to_post_school",
                   lambda: driver.fire(case, "submit_to_agency", HEADTEACHER, FUNDING))


def test_an_assessment_after_the_six_week_window_needs_a_delay_reason(driver):
    case = to_with_agency(driver)   # window due Fri 2027-02-19
    late = {"assessment_date": "2027-02-22", "assessor": ASSESSOR}

    assert_refused(driver, GuardFailedError,
                   "delay_reason: the assessment date 2027-02-22 is after the six-week window "
                   "ends on 2027-02-19",
                   lambda: driver.fire(case, "schedule_assessment", AGENCY, late))

    reason = "The candidate was on sick leave in February."
    outcome = driver.fire(case, "schedule_assessment", AGENCY, {**late, "delay_reason": reason},
                          at="2027-01-12")
    assert outcome.state == "assessment_scheduled"
    assert_notice(driver, case, "assessment_arranged",
                  [CANDIDATE_MAIL, HEAD_MAIL, ASSESSOR["email"]], reason,
                  "Monday 22 February 2027")


def test_an_assessment_on_the_last_day_of_the_window_needs_no_reason(driver):
    case = to_with_agency(driver)

    outcome = driver.fire(case, "schedule_assessment", AGENCY,
                          {"assessment_date": "2027-02-19", "assessor": ASSESSOR})

    assert outcome.state == "assessment_scheduled"


def test_the_decision_letter_is_sent_only_once(driver):
    case = driver.to_not_met()   # letter sent on 2027-02-12

    assert_refused(driver, GuardFailedError, "decision letter was already sent on 2027-02-12",
                   lambda: driver.fire(case, "send_decision_letter", AGENCY))


def test_the_written_feedback_is_sent_only_once(driver):
    case = driver.to_certified()
    driver.fire(case, "send_written_feedback", AGENCY, {"feedback": "Well done."},
                at="2027-02-20")

    assert_refused(driver, GuardFailedError, "written feedback was already sent on 2027-02-20",
                   lambda: driver.fire(case, "send_written_feedback", AGENCY,
                                       {"feedback": "Again."}))


@pytest.mark.parametrize("feedback, missing", [
    ("Several standards were not met.", "E3, A1"),
    ({"E3": "Planning did not show progression."}, "A1"),
    ("E3: planning did not show progression. A10 was not seen.", "A1"),   # A10 is not A1
])
def test_not_met_feedback_must_cover_each_unmet_standard(driver, feedback, missing):
    case = driver.to_not_met()

    assert_refused(driver, GuardFailedError, f"feedback per unmet standard; missing {missing}",
                   lambda: driver.fire(case, "send_written_feedback", AGENCY,
                                       {"feedback": feedback}))


def test_not_met_feedback_may_be_a_text_that_names_each_unmet_standard(driver):
    case = driver.to_not_met()
    text = "E3: planning did not show progression. A1: no outreach yet."
    outcome = driver.fire(case, "send_written_feedback", AGENCY, {"feedback": text})
    assert outcome.state == "not_met"
    assert text in driver.notices(case)[-1].body


def test_feedback_to_a_certified_candidate_is_at_most_one_side_of_a4(driver):
    case = driver.to_certified()

    assert_refused(driver, GuardFailedError, "501 words.*at most one side of A4",
                   lambda: driver.fire(case, "send_written_feedback", AGENCY,
                                       {"feedback": "good " * 501}))
    outcome = driver.fire(case, "send_written_feedback", AGENCY, {"feedback": "good " * 500})
    assert outcome.state == "certified"


def test_a_review_request_received_after_the_window_is_refused(driver):
    case = driver.to_not_met()   # review window due Tue 2027-04-13 (not yet ticked)

    assert_refused(driver, GuardFailedError,
                   "received on 2027-04-14, after the 40 working days that ended on 2027-04-13",
                   lambda: driver.fire(case, "request_review", CANDIDATE,
                                       {"grounds": ["relevant_evidence_ignored"],
                                        "explanation": "x"}, at="2027-04-14"))


def test_the_candidate_cannot_withdraw_an_application_under_review(driver):
    case = walk(driver, "under_review")

    assert_refused(driver, GuardFailedError, "under review: withdraw the review case instead",
                   lambda: driver.fire(case, "withdraw", CANDIDATE))


def test_an_unknown_trigger_is_refused(driver):
    case = to_received(driver)

    assert_refused(driver, UnknownTriggerError, "unknown trigger 'promote'",
                   lambda: driver.fire(case, "promote", HEADTEACHER))
    assert_refused(driver, UnknownTriggerError, "already open",
                   lambda: driver.fire(case, "open", HEADTEACHER, application_data()))


def test_an_unknown_case_is_refused(driver):
    to_received(driver)

    assert_refused(driver, UnknownCaseError, "no case 'app-0000000000'",
                   lambda: driver.fire("app-0000000000", "support", HEADTEACHER, EVALUATION))


def test_an_effective_time_in_the_future_of_the_clock_is_refused(driver, engine, clock):
    case = to_received(driver)   # the clock stands at 2026-12-18 09:00
    tomorrow = parse_instant("2026-12-19")

    assert_refused(driver, EffectiveTimeError, "in the future of the engine's clock",
                   lambda: engine.fire(case, "support", Actor.parse(HEADTEACHER), EVALUATION,
                                       tomorrow))
    assert_refused(driver, EffectiveTimeError, "in the future of the engine's clock",
                   lambda: engine.open("application", Actor.parse(HEADTEACHER),
                                       application_data(), tomorrow))


def test_an_effective_time_before_another_persons_entry_is_refused_naming_it(driver):
    case = to_supported(driver)   # latest event: support, 2027-01-05 09:00

    assert_refused(driver, EffectiveTimeError,
                   "before entry 2 of case .* \\(support by headteacher:h.brown, effective "
                   "2027-01-05T09:00:00\\+00:00\\)",
                   lambda: driver.fire(case, "submit_to_agency", HEADTEACHER, FUNDING,
                                       at="2027-01-04"))


def test_an_event_at_the_same_instant_as_the_latest_one_is_accepted(driver):
    case = to_supported(driver)

    outcome = driver.fire(case, "submit_to_agency", HEADTEACHER, FUNDING, at="2027-01-05")

    assert outcome.state == "submitted"


def test_a_reapplication_without_the_headteachers_supporting_evidence_is_refused(driver):
    previous = driver.to_not_met()

    error = assert_refused(driver, InvalidDataError, "supporting_evidence",
                           lambda: driver.open(data=application_data(
                               previous_application=previous), at="2027-09-01"))
    assert error.field == "supporting_evidence"


# == 3. Deadlines ================================================================================

def test_the_headteacher_deadline_fires_at_midnight_after_its_due_date_and_only_reports(driver):
    case = to_received(driver)

    assert driver.tick("2027-01-20T23:59:59+00:00") == []   # the due date itself is in time
    fired = driver.tick("2027-01-21T00:00:00+00:00")

    assert [(o.case, o.trigger, o.state) for o in fired] == [
        (case, "timer:headteacher_deadline", "received")]
    assert driver.state(case) == "received"
    assert statuses(driver, case) == {"headteacher_deadline": "fired"}
    entry = last_entry(driver, case)
    assert (entry.trigger, entry.actor, entry.source, entry.dest, entry.effective_at) == (
        "timer:headteacher_deadline", "system", "received", "received",
        "2027-01-21T00:00:00+00:00")
    assert data_of(entry) == {"due": "2027-01-20"}
    notice = assert_notice(driver, case, "deadline_missed", [LA_MAIL],
                           "Wednesday 20 January 2027", "the headteacher")
    assert "deadline missed" in notice.subject


def test_the_headteacher_deadline_still_fires_after_support_if_the_form_never_left(driver):
    case = to_supported(driver)

    fired = driver.tick("2027-01-21")

    assert [o.trigger for o in fired] == ["timer:headteacher_deadline"]
    assert driver.state(case) == "supported"
    assert_notice(driver, case, "deadline_missed", [LA_MAIL], "Wednesday 20 January 2027")


def test_submitting_to_the_agency_stops_the_headteacher_deadline_from_firing(driver):
    case = to_submitted(driver)

    assert driver.tick("2027-01-22") == []
    assert statuses(driver, case) == {"headteacher_deadline": "cancelled"}
    assert notices_of(driver, case, "deadline_missed") == []


def test_a_missed_assessment_window_is_reported_to_the_la_and_the_agency(driver):
    case = to_with_agency(driver)   # window: 2027-01-08 + 42 days = 2027-02-19

    assert driver.tick("2027-02-19T23:59") == []
    fired = driver.tick("2027-02-20T00:00:00+00:00")

    assert [o.trigger for o in fired] == ["timer:assessment_window"]
    assert driver.state(case) == "with_agency"
    entry = last_entry(driver, case)
    assert (entry.actor, entry.effective_at, data_of(entry)) == (
        "system", "2027-02-20T00:00:00+00:00", {"due": "2027-02-19"})
    assert_notice(driver, case, "deadline_missed", [LA_MAIL, AGENCY_MAIL],
                  "Friday 19 February 2027", "the agency")


def test_overdue_letters_to_a_certified_candidate_only_report_and_leave_it_certified(driver):
    case = driver.to_certified()

    fired = driver.tick("2027-03-04T00:00:00+00:00")

    # decision_letter due 2027-02-15 fires 2027-02-16T00:00Z; written_feedback due
    # 2027-03-03 fires 2027-03-04T00:00Z (both GMT).
    assert [(o.trigger, o.state, o.effective_at.isoformat()) for o in fired] == [
        ("timer:decision_letter", "certified", "2027-02-16T00:00:00+00:00"),
        ("timer:written_feedback", "certified", "2027-03-04T00:00:00+00:00")]
    assert driver.state(case) == "certified"
    assert [data_of(e) for e in driver.log(case)[-2:]] == [
        {"due": "2027-02-15"}, {"due": "2027-03-03"}]
    missed = notices_of(driver, case, "deadline_missed")
    assert [recipients(n) for n in missed] == [[LA_MAIL, AGENCY_MAIL]] * 2
    assert "Monday 15 February 2027" in missed[0].body
    assert "decision letter" in missed[0].subject
    assert "Wednesday 3 March 2027" in missed[1].body
    assert "written feedback" in missed[1].subject


def test_a_timer_noticed_late_keeps_its_own_fires_at(driver):
    case = to_received(driver)
    # The support form of 22 January is keyed in before anyone ran tick: the deadline (fires
    # 2027-01-21T00:00Z) fires after it in the log, effective at its own fires_at all the same.
    driver.fire(case, "support", HEADTEACHER, EVALUATION, at="2027-01-22")

    fired = driver.tick("2027-01-22T10:00")

    assert [o.trigger for o in fired] == ["timer:headteacher_deadline"]
    support, timer = driver.log(case)[-2:]
    assert (support.trigger, timer.trigger) == ("support", "timer:headteacher_deadline")
    assert support.effective_at == "2027-01-22T09:00:00+00:00"
    assert timer.effective_at == "2027-01-21T00:00:00+00:00"
    assert data_of(timer) == {"due": "2027-01-20"}


def test_tick_fires_due_timers_across_cases_in_fires_at_order_and_each_only_once(driver):
    friday = driver.open(at="2026-12-18").case     # due 2027-01-20, fires 2027-01-21T00:00Z
    # 20 working days after Thu 2026-12-17: 18 Dec (1), 21-24 (5), 29-31 (8), 4-8 Jan (13),
    # 11-15 (18), 18-19 (20) -> Tue 2027-01-19, fires 2027-01-20T00:00Z: earlier, though opened
    # second.
    thursday = driver.open(at="2026-12-17").case
    # Received Mon 2027-01-04: due well after the tick below.
    later = driver.open(at="2027-01-04").case

    fired = driver.tick("2027-01-22")

    assert [(o.case, o.trigger) for o in fired] == [
        (thursday, "timer:headteacher_deadline"), (friday, "timer:headteacher_deadline")]
    assert driver.tick("2027-01-22T12:00") == []
    assert [len(notices_of(driver, c, "deadline_missed")) for c in (thursday, friday, later)] \
        == [1, 1, 0]
    assert statuses(driver, later) == {"headteacher_deadline": "pending"}


# == 4. Re-applications ==========================================================================

def reapplication(previous: str) -> dict:
    return application_data(previous_application=previous,
                            supporting_evidence="A year of new outreach work, observed by me.")


def test_a_reapplication_within_26_weeks_of_the_assessment_day_is_warned_but_accepted(driver):
    previous = driver.to_not_met()   # assessment day Wed 2027-02-10; + 26 weeks = 2027-08-11

    outcome = driver.open(data=reapplication(previous), at="2027-08-10")

    assert outcome.state == "received"
    assert outcome.warnings == [
        "early_reapplication: the previous assessment day was 2027-02-10, less than 26 weeks "
        "(two terms) before 2027-08-10"]


def test_the_early_reapplication_warning_is_recorded_in_the_log(driver):
    previous = driver.to_not_met()

    outcome = driver.open(data=reapplication(previous), at="2027-08-10")

    entry = last_entry(driver, outcome.case)
    assert json.loads(entry.engine)["warnings"] == outcome.warnings
    assert "warnings" not in data_of(entry)


def test_a_reapplication_26_weeks_or_more_after_the_assessment_day_is_not_warned(driver):
    previous = driver.to_not_met()

    outcome = driver.open(data=reapplication(previous), at="2027-08-11")

    assert outcome.warnings == []
    assert "warnings" not in data_of(last_entry(driver, outcome.case))
    assert data_of(last_entry(driver, outcome.case))["previous_application"] == previous


def test_a_reapplication_must_name_an_existing_application(driver):
    driver.to_not_met()
    appointment = driver.open("appointment", data=appointment_data(),
                              actor="la_coordinator:lc").case

    for missing in ("app-0000000000", appointment):
        assert_refused(driver, GuardFailedError,
                       f"previous_application: no application case '{missing}'",
                       lambda: driver.open(data=reapplication(missing), at="2027-09-01"))


def test_letters_still_owed_after_a_review_was_requested_can_be_sent(driver):
    """DOMAIN lets the candidate ask for a review before the decision letter went out; the
    agency still owes the letter and the feedback, and sending them stops their timers."""
    case = driver.to_not_met(letter=False)                       # assessment day 2027-02-10
    driver.fire(case, "request_review", CANDIDATE,
                {"grounds": ["bias_or_discrimination"], "explanation": "Unfair questioning."},
                at="2027-02-11")
    driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-12")
    driver.fire(case, "send_written_feedback", AGENCY,
                {"feedback": {"E3": "Not evidenced.", "A1": "Not evidenced."}}, at="2027-02-15")

    assert driver.state(case) == "under_review"
    timers = driver.timers(case)
    assert timers["decision_letter"][2] == timers["written_feedback"][2] == "cancelled"
    assert "review_window" not in timers     # the review is already under way
    assert [o for o in driver.tick("2027-04-01") if o.case == case] == []   # nothing missed


def test_a_reapplication_must_follow_an_assessed_application(driver):
    previous = driver.to_assessment_scheduled()
    driver.fire(previous, "withdraw", CANDIDATE, at="2027-01-20")

    assert_refused(driver, GuardFailedError,
                   f"previous_application: {previous} was never assessed \\(withdrawn\\)",
                   lambda: driver.open(data=reapplication(previous), at="2027-03-01"))


def test_a_reapplication_must_follow_the_same_candidates_application(driver):
    previous = driver.to_not_met()
    other = reapplication(previous)
    other["candidate"] = {"name": "Bea Cole", "email": "bea.cole@hill.example.org"}

    assert_refused(driver, GuardFailedError,
                   f"previous_application: {previous} is another candidate's application",
                   lambda: driver.open(data=other, at="2027-09-01"))


def test_an_assessment_arranged_after_the_missed_window_still_needs_a_delay_reason(driver):
    case = to_with_agency(driver)                 # window due Fri 2027-02-19
    driver.tick("2027-02-21")                     # and reported missed
    assert driver.timers(case)["assessment_window"][2] == "fired"

    assert_refused(driver, GuardFailedError, "delay_reason: the assessment date 2027-04-30",
                   lambda: driver.fire(case, "schedule_assessment", AGENCY,
                                       {"assessment_date": "2027-04-30", "assessor": ASSESSOR}))
