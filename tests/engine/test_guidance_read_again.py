"""The guidance read again (DOMAIN.md as revised on 2026-12-06): the right person acts, everyone
concerned is told, an AST can move post, and letters read as their recipients need them. Each
test fails on the engine as it was before that revision.

Dates are counted by hand in the comments; the walks are those of tests/builders.py (the AST1
reaches the headteacher on Fri 2026-12-18, assessment day Wed 2027-02-10, a not-met letter on
Fri 2027-02-12)."""
from __future__ import annotations

import json
from enum import Enum

import pytest

from states.spec import (InvalidDefinition, Notify, Process, StartTimer, Timer, Transition,
                         WorkingDays)
from states.common import NoData, effective_date
from tests.builders import (AGENCY, ASSESSOR, FUNDING, HEADTEACHER, OFFICER, Driver,
                            application_data, appointment_data, recipients, refused)
from workflows.core.clock import FixedClock
from workflows.core.config import Config
from workflows.engine import Engine
from workflows.core.errors import GuardFailedError, InvalidDataError, RoleNotAllowedError
from workflows.core.times import parse_instant

CANDIDATE = "candidate:ann"
COORDINATOR = "review_coordinator:rc"
LA = "la_coordinator:lc"
VALE = "post_school:vale"
CANDIDATE_MAIL = "ann.lee@hill.example.org"
HEAD_MAIL = "h.brown@hill.example.org"
LA_MAIL = "ast.coordinator@la.example.org"
AGENCY_MAIL = "ast.assessment@agency.example.org"
CERTIFICATE = {"agency_reference": "NAA-2019-0042", "certified_on": "2019-06-14",
               "checked_by": "Lena Cole, LA co-ordinator"}


def notices(driver: Driver, case: str, template: str) -> list:
    return [n for n in driver.notices(case) if n.template == template]


def one_line(text: str) -> str:
    return " ".join(text.split())


def shortlisting_post(driver: Driver, at: str = "2027-03-01", **data) -> str:
    """A post paid by the school, advertised and closed with Ann Lee's certificate from
    elsewhere on the shortlist."""
    post = driver.open("appointment", appointment_data(**data), actor="headteacher:v.vale",
                       at=at).case
    driver.fire(post, "secure_funding", "headteacher:v.vale", at=at)
    driver.fire(post, "advertise", "headteacher:v.vale", {"closing_date": at[:10]}, at=at)
    driver.fire(post, "close_applications", VALE,
                {"shortlist": [{"candidate": "Ann Lee", "certificate": CERTIFICATE}]}, at=at)
    return post


def appoint_with_certificate(driver: Driver, post: str, start: str, at: str):
    return driver.fire(post, "appoint", VALE, {
        "candidate": "Ann Lee", "email": CANDIDATE_MAIL, "certificate": CERTIFICATE,
        "start_date": start, "spine_point": 5}, at=at)


# == Defects valid input reached ====================================================================

def test_the_ast2_of_an_appointee_with_a_certificate_from_elsewhere_names_its_reference(
        driver: Driver):
    post = shortlisting_post(driver)
    appoint_with_certificate(driver, post, "2027-04-19", "2027-03-02")

    outcome = driver.fire(post, "submit_ast2", VALE, at="2027-03-05")

    assert outcome.state == "filled"
    (form,) = notices(driver, post, "ast2_form")
    assert recipients(form) == [AGENCY_MAIL, LA_MAIL]
    assert "agency reference NAA-2019-0042" in form.body
    assert "certified on Friday 14 June 2019" in form.body
    assert driver.timers(post)["ast2_notification"][2] == "cancelled"


@pytest.fixture
def closed_in_july(db):
    """An LA closed on Mon 26 and Tue 27 July 2027."""
    clock = FixedClock(parse_instant("2026-12-18"))
    config = Config(calendar={"closures": ["2027-07-26", "2027-07-27"]})
    return Driver(Engine(db, config, clock=clock), clock)


def test_the_review_decision_is_counted_on_the_national_calendar(closed_in_july: Driver):
    driver = closed_in_july
    # Received 2027-04-01: the walk's assessment day moves to Wed 2027-05-26; no letter yet.
    application = driver.to_not_met(letter=False, received="2027-04-01")
    review = driver.fire(application, "request_review", CANDIDATE,
                         {"grounds": ["relevant_evidence_ignored"], "explanation": "Unread."},
                         at="2027-06-10").linked[0].case
    # 40 working days after Thu 2027-06-10, bank holidays only: 11 Jun (1), 14-18 (6),
    # 21-25 (11), 28 Jun-2 Jul (16), 5-9 (21), 12-16 (26), 19-23 (31), 26-30 (36), 2-5 Aug
    # (40): Thu 2027-08-05. The LA's closures on 26-27 July do not move the agency's duty.
    assert driver.timers(review)["review_decision"][0] == "2027-08-05"
    (acknowledged,) = notices(driver, review, "review_acknowledged")
    assert "Thursday 5 August 2027" in acknowledged.body


@pytest.fixture
def wales(db):
    clock = FixedClock(parse_instant("2026-12-18"))
    return Driver(Engine(db, Config(calendar={"nation": "wales"}), clock=clock), clock)


def test_a_welsh_excellent_teacher_is_judged_on_the_ast_standards_alone(wales: Driver):
    case = wales.to_assessment_scheduled(data=application_data(career_stage="excellent_teacher"))

    with refused(wales, GuardFailedError, "E3 are not assessed externally in Wales"):
        wales.fire(case, "judge_not_met", "assessor:as-17", {"unmet_standards": ["E3", "A1"]},
                   at="2027-02-10T16:00")
    outcome = wales.fire(case, "judge_not_met", "assessor:as-17", {"unmet_standards": ["A1"]},
                         at="2027-02-10T16:00")
    assert outcome.state == "not_met"


def test_a_welsh_post_threshold_teacher_is_still_judged_on_the_e_standards(wales: Driver):
    case = wales.to_assessment_scheduled(data=application_data(career_stage="post_threshold"))
    assert wales.fire(case, "judge_not_met", "assessor:as-17", {"unmet_standards": ["E3"]},
                      at="2027-02-10T16:00").state == "not_met"


# == Parties bound to their cases ===================================================================

def test_another_headteacher_may_not_act_on_the_application(driver: Driver):
    case = driver.open(at="2026-12-18").case

    with refused(driver, RoleNotAllowedError, r"headteacher:x.other may not fire support on "
                 rf"case {case}: the case expects the headteacher the application is with, "
                 r"Hugh Brown \(headteacher:h.brown\)"):
        driver.fire(case, "support", "headteacher:x.other", {"evaluation": "Fine."},
                    at="2027-01-05")
    assert driver.fire(case, "support", HEADTEACHER, {"evaluation": "Fine."},
                       at="2027-01-05").state == "supported"


def test_an_operator_acting_for_another_headteacher_is_refused_the_same_way(driver: Driver):
    case = driver.open(at="2026-12-18").case

    with refused(driver, RoleNotAllowedError, r"headteacher:x.other \(keyed in by "
                 r"operator:it.jones\).*expects.*\(headteacher:h.brown\)"):
        driver.fire(case, "support", "operator:it.jones", {"evaluation": "Fine."},
                    at="2027-01-05", for_="headteacher:x.other")
    assert driver.fire(case, "support", "operator:it.jones", {"evaluation": "Fine."},
                       at="2027-01-05", for_=HEADTEACHER).state == "supported"


def test_the_opener_is_recorded_as_the_headteacher_bound_to_the_case(driver: Driver):
    case = driver.open(at="2026-12-18", actor="operator:it.jones", for_=HEADTEACHER).case
    opened = json.loads(driver.log(case)[0].data)
    assert opened["headteacher"]["id"] == "h.brown"


def test_an_application_naming_another_headteacher_id_than_the_opener_is_refused(
        driver: Driver):
    data = application_data()
    data["headteacher"]["id"] = "x.other"
    with refused(driver, InvalidDataError, r"headteacher.id: 'x.other' is not the headteacher "
                 r"opening the case \(headteacher:h.brown\)"):
        driver.open(data=data, at="2026-12-18")


def test_a_change_of_headteacher_is_logged_and_binds_the_new_one(driver: Driver):
    case = driver.open(at="2026-12-18").case
    new_head = {"id": "m.green", "name": "Maya Green", "email": "m.green@hill.example.org"}

    outcome = driver.fire(case, "change_headteacher", "operator:it.jones",
                          {"headteacher": new_head, "reason": "Hugh Brown retired."},
                          at="2027-01-04", for_=LA)

    assert outcome.state == "received"   # the case stays where it is
    entry = driver.log(case)[-1]
    assert (entry.trigger, entry.actor, entry.on_behalf_of) == (
        "change_headteacher", "operator:it.jones", LA)
    with refused(driver, RoleNotAllowedError, r"Maya Green \(headteacher:m.green\)"):
        driver.fire(case, "support", HEADTEACHER, {"evaluation": "Fine."}, at="2027-01-05")
    driver.fire(case, "support", "headteacher:m.green", {"evaluation": "Fine."},
                at="2027-01-05")
    driver.fire(case, "submit_to_agency", "headteacher:m.green", FUNDING, at="2027-01-06")
    driver.fire(case, "agency_receive", AGENCY, at="2027-01-08")
    # The new headteacher is the one told from now on.
    (with_agency,) = notices(driver, case, "application_with_agency")
    assert recipients(with_agency) == [CANDIDATE_MAIL, new_head["email"]]
    assert "Maya Green" in with_agency.body


def test_a_headteacher_cannot_change_the_headteacher(driver: Driver):
    case = driver.open(at="2026-12-18").case
    with refused(driver, RoleNotAllowedError, "may not fire change_headteacher"):
        driver.fire(case, "change_headteacher", HEADTEACHER,
                    {"headteacher": {"id": "x", "name": "X", "email": "x@hill.example.org"},
                     "reason": "x"}, at="2027-01-04")


def test_only_the_scheduled_assessor_judges_though_the_agency_may_for_them(driver: Driver):
    case = driver.to_assessment_scheduled()

    with refused(driver, RoleNotAllowedError, r"assessor:as-99 may not fire judge_met.*"
                 r"the assessor of the current schedule, Carol Assessor \(assessor:as-17\)"):
        driver.fire(case, "judge_met", "assessor:as-99", at="2027-02-10T16:00")
    assert driver.fire(case, "judge_met", AGENCY, at="2027-02-10T16:00").state == "certified"


def test_only_the_assigned_review_officer_decides(driver: Driver):
    _, review = driver.to_review()
    driver.fire(review, "invite_assessor_comment", COORDINATOR, at="2027-03-02")
    driver.fire(review, "assign_review_officer", COORDINATOR, {"review_officer": OFFICER},
                at="2027-03-03")

    with refused(driver, RoleNotAllowedError, r"review_officer:ro-9 may not fire certify.*"
                 r"the review officer assigned, Raj Officer \(review_officer:ro-3\)"):
        driver.fire(review, "certify", "review_officer:ro-9", {"reasons": "Met."},
                    at="2027-03-10")
    assert driver.fire(review, "uphold", "review_officer:ro-3", {"reasons": "Sound."},
                       at="2027-03-10").state == "original_stands"


# == Everyone concerned is told =====================================================================

def test_cancelling_a_post_tells_every_live_application_naming_it_and_closes_it_to_new_ones(
        driver: Driver):
    post = driver.open("appointment", appointment_data(), actor="headteacher:v.vale",
                       at="2027-01-04").case
    naming = application_data("external")
    naming["post"] = {"school": "Vale Secondary School", "email": "office@vale.example.org",
                      "advertisement": "external", "appointment": post}
    live = driver.open(data=naming, at="2027-01-05").case
    other = application_data("external", candidate={"name": "Bo Diaz",
                                                    "email": "bo.diaz@hill.example.org"})
    other["post"] = naming["post"]
    withdrawn = driver.open(data=other, at="2027-01-05").case
    driver.fire(withdrawn, "withdraw", CANDIDATE, at="2027-01-06")

    driver.fire(post, "cancel", LA, {"reason": "Funding withdrawn."}, at="2027-01-07")

    to_la, to_live = notices(driver, post, "post_cancelled")
    assert recipients(to_la) == [LA_MAIL] and "Funding withdrawn." in to_la.body
    # One letter each: only the live application's candidate and headteacher, not Bo Diaz.
    assert recipients(to_live) == [CANDIDATE_MAIL, HEAD_MAIL]
    assert live in to_live.body and "existing or agreed post" in one_line(to_live.body)
    with refused(driver, GuardFailedError, rf"post.appointment: the post {post} is cancelled"):
        driver.open(data=naming, at="2027-01-08")


# == An AST moving post =============================================================================

def test_notice_on_a_post_ends_it_after_its_last_day_and_the_ast_may_be_appointed_ahead(
        driver: Driver):
    old = shortlisting_post(driver, at="2027-03-01")
    appoint_with_certificate(driver, old, "2027-04-19", "2027-03-02")
    driver.fire(old, "submit_ast2", VALE, at="2027-03-05")

    leaving = driver.fire(old, "give_notice", VALE,
                          {"last_day": "2027-08-31", "reason": "moving_post"}, at="2027-05-03")

    assert leaving.state == "leaving"
    (ending,) = notices(driver, old, "post_ending")
    assert recipients(ending) == [AGENCY_MAIL, LA_MAIL]
    assert "Tuesday 31 August 2027" in ending.body
    # The post is live through its last day: fires at 00:00 London on 1 September (BST).
    assert driver.timers(old)["post_ends"] == ("2027-08-31", "2027-08-31T23:00:00+00:00",
                                               "pending")
    new = shortlisting_post(driver, at="2027-05-04")
    with refused(driver, GuardFailedError, rf"holds post {old} until 2027-08-31"):
        appoint_with_certificate(driver, new, "2027-08-31", "2027-05-05")
    assert appoint_with_certificate(driver, new, "2027-09-01", "2027-05-05").state == "appointed"

    fired = driver.tick("2027-09-01T00:00")

    assert [(o.case, o.trigger, o.state) for o in fired if o.case == old] == [
        (old, "timer:post_ends", "vacated")]
    (vacated,) = notices(driver, old, "post_vacated")
    assert recipients(vacated) == [AGENCY_MAIL, LA_MAIL, CANDIDATE_MAIL]
    assert new in vacated.body and "stays on the AST pay spine" in one_line(vacated.body)


def test_last_day_may_not_be_before_the_notice(driver: Driver):
    post = shortlisting_post(driver)
    appoint_with_certificate(driver, post, "2027-04-19", "2027-03-02")
    with refused(driver, GuardFailedError, "last_day: 2027-03-01 is before the notice"):
        driver.fire(post, "give_notice", VALE, {"last_day": "2027-03-01", "reason": "left"},
                    at="2027-03-03")


def test_vacating_a_post_tells_the_agency_the_la_and_the_ast(driver: Driver):
    post = shortlisting_post(driver)
    appoint_with_certificate(driver, post, "2027-04-19", "2027-03-02")
    driver.fire(post, "submit_ast2", VALE, at="2027-03-05")

    driver.fire(post, "vacate", LA, {"reason": "reverted"}, at="2027-06-01")

    (vacated,) = notices(driver, post, "post_vacated")
    assert recipients(vacated) == [AGENCY_MAIL, LA_MAIL, CANDIDATE_MAIL]
    body = one_line(vacated.body)
    assert "upper pay spine" in body and "LA AST Co-ordinator" in vacated.body


# == Letters read by their recipients ===============================================================

def test_a_late_decision_letter_does_not_promise_feedback_by_a_date_already_past(
        driver: Driver):
    case = driver.to_not_met(letter=False)
    # Written feedback: 15 working days after Wed 2027-02-10 -> Wed 2027-03-03. The letter is
    # dated 10 March and no tick has run: the timer is still pending.
    driver.fire(case, "send_decision_letter", AGENCY, at="2027-03-10")
    (letter,) = notices(driver, case, "decision_letter")
    body = one_line(letter.body)
    assert "will follow by" not in body
    assert "Written feedback is overdue (it was due on Wednesday 3 March 2027)" in body


def test_the_not_met_letter_says_how_to_ask_for_a_review_and_that_a_reapplication_needs_new_evidence(
        driver: Driver):
    case = driver.to_not_met()
    (letter,) = notices(driver, case, "decision_letter")
    body = one_line(letter.body)
    assert "write to the Review Co-ordinator (ast.reviews@agency.example.org)" in body
    assert "Explain why you think your assessment should be reviewed" in body
    assert "indicate what evidence you have" in body
    # 40 working days after Fri 2027-02-12 -> Tue 2027-04-13.
    assert "within 40 working days of this letter, that is by Tuesday 13 April 2027" in body
    assert "re-apply" in body and "new evidence" in body


def test_the_review_officer_is_given_what_annex_d_has_them_consider(driver: Driver):
    _, review = driver.to_review()
    driver.fire(review, "invite_assessor_comment", COORDINATOR, at="2027-03-02")
    driver.fire(review, "record_assessor_comment", "assessor:as-17",
                {"comment": "The portfolio was read in full."}, at="2027-03-03")
    driver.fire(review, "assign_review_officer", COORDINATOR, {"review_officer": OFFICER},
                at="2027-03-04")
    (assigned,) = notices(driver, review, "review_assigned")
    body = one_line(assigned.body)
    assert "Standards judged not met: E3, A1" in body
    assert "Assessment day: Wednesday 10 February 2027" in body
    assert "My portfolio of outreach work was not read." in body
    assert "The portfolio was read in full." in body


def test_no_current_letter_claims_a_strong_field_or_an_enclosure():
    from notifications.render import TEMPLATES
    for path in TEMPLATES.glob("*.txt.j2"):
        text = path.read_text().lower()
        assert "strong field" not in text and "enclose" not in text, path.name


def test_the_withdrawn_missed_deadline_states_the_case_after_the_late_event(driver: Driver):
    case = driver.open(at="2026-12-18").case
    driver.tick("2027-01-21T08:00")   # headteacher_deadline (due 2027-01-20) reported missed
    driver.fire(case, "reject", HEADTEACHER, {"reasons": "Not signed."}, at="2027-01-19")
    (withdrawn,) = notices(driver, case, "deadline_missed_withdrawn")
    assert "now rejected" in withdrawn.body


def test_the_application_received_letter_is_signed_by_the_headteacher(driver: Driver):
    case = driver.open(at="2026-12-18").case
    (received,) = notices(driver, case, "application_received")
    assert received.body.rstrip().endswith("Hugh Brown\nHeadteacher, Hill Primary School")


# == Definitions checked when they load =============================================================

class Loop(Enum):
    a = "a"
    b = "b"
    c = "c"
    done = "done"


def _process(*rows: Transition, timers: tuple[Timer, ...] = (), notices_: tuple = ()) -> Process:
    return Process(kind="toy", states=Loop, final=frozenset({Loop.done}),
                   opening=Transition("open", (), Loop.a, ("headteacher",), NoData,
                                      effects=notices_),
                   transitions=rows, timers=timers)


def test_a_loop_that_never_ends_is_refused_naming_the_process_and_states():
    with pytest.raises(InvalidDefinition, match=r"toy process: no final or resting state can "
                       r"be reached from state\(s\): b, c"):
        _process(Transition("go", (Loop.a,), Loop.b, ("headteacher",)),
                 Transition("there", (Loop.b,), Loop.c, ("headteacher",)),
                 Transition("back", (Loop.c,), Loop.b, ("headteacher",)),
                 Transition("finish", (Loop.a,), Loop.done, ("headteacher",)))


def test_a_timer_no_row_starts_is_refused():
    unused = Timer("forgotten", WorkingDays(5), effective_date, "the day", duty="a duty",
                   whose="headteacher")
    with pytest.raises(InvalidDefinition, match="toy process: no row starts timer.s. forgotten"):
        _process(Transition("b", (Loop.a,), Loop.b, ("headteacher",)),
                 Transition("c", (Loop.b,), Loop.c, ("headteacher",)),
                 Transition("d", (Loop.c,), Loop.done, ("headteacher",)), timers=(unused,))


def test_a_notice_without_a_template_is_refused():
    with pytest.raises(InvalidDefinition, match="toy process: trigger 'open' sends notice "
                       "'no_such_letter', which has no template"):
        _process(Transition("b", (Loop.a,), Loop.b, ("headteacher",)),
                 Transition("c", (Loop.b,), Loop.c, ("headteacher",)),
                 Transition("d", (Loop.c,), Loop.done, ("headteacher",)),
                 notices_=(Notify("no_such_letter", ()),))


def test_the_processes_as_written_pass_their_own_checks():
    from states import PROCESSES
    started = {name for p in PROCESSES.values() for r in p.all_transitions() for name in r.starts}
    assert "post_ends" in started and "review_window" in started
    assert StartTimer("post_ends") in PROCESSES["appointment"].rows("give_notice")[0].effects


# == Found in review ================================================================================

def review_before_the_letter(driver: Driver) -> tuple[str, str]:
    """A review asked for on Thu 2027-02-11, the day before the letter: the letter goes on Fri
    2027-02-12 while the review is under way, so no window runs. Its 40 working days end on
    Tue 2027-04-13 (as for a letter sent before any review). (application, review)"""
    application = driver.to_not_met(letter=False)
    review = driver.fire(application, "request_review", CANDIDATE,
                         {"grounds": ["relevant_evidence_ignored"], "explanation": "Unread."},
                         at="2027-02-11").linked[0].case
    driver.fire(application, "send_decision_letter", AGENCY, at="2027-02-12")
    return application, review


def test_a_review_withdrawn_after_a_letter_sent_during_it_counts_the_window_from_the_letter(
        driver: Driver):
    application, review = review_before_the_letter(driver)
    driver.fire(review, "withdraw", CANDIDATE, at="2027-04-13")
    assert driver.state(application) == "not_met"
    assert driver.timers(application)["review_window"][:1] == ("2027-04-13",)
    entry = driver.log(application)[-1]
    assert json.loads(entry.data) == {"review": review, "window": "open",
                                      "review_window_due": "2027-04-13"}


def test_a_review_withdrawn_after_that_window_ended_closes_the_application(driver: Driver):
    application, review = review_before_the_letter(driver)
    driver.fire(review, "withdraw", CANDIDATE, at="2027-04-14")
    assert driver.state(application) == "closed_not_met"
    (confirmed,) = notices(driver, review, "withdrawal_confirmed")
    assert "ended on Tuesday 13 April 2027: the judgement is now final" in one_line(
        confirmed.body)


def test_an_ast_whose_next_post_starts_after_a_gap_leaves_the_spine_meanwhile(driver: Driver):
    old = shortlisting_post(driver, at="2027-03-01")
    appoint_with_certificate(driver, old, "2027-04-19", "2027-03-02")
    driver.fire(old, "give_notice", VALE, {"last_day": "2027-07-23", "reason": "moving_post"},
                at="2027-05-03")
    new = shortlisting_post(driver, at="2027-05-04")
    appoint_with_certificate(driver, new, "2027-09-01", "2027-05-05")
    driver.tick("2027-07-24T00:00")
    (vacated,) = notices(driver, old, "post_vacated")
    body = one_line(vacated.body)
    assert "later than the next working day" in body and "upper pay spine" in body
    assert "stays on the AST pay spine" not in body
    # The AST2 was never sent: giving notice does not excuse it, and it was reported missed.
    assert driver.timers(old)["ast2_notification"][2] == "fired"
    assert "pending" not in {status for _, _, status in driver.timers(old).values()}


@pytest.mark.no_replay   # the timer row is rewritten as edition 2 stored it
def test_a_review_decision_counted_on_the_local_calendar_before_edition_3_is_moved_by_recalendar(
        closed_in_july: Driver):
    from workflows.engine import Actor
    driver = closed_in_july
    application = driver.to_not_met(letter=False, received="2027-04-01")
    review = driver.fire(application, "request_review", CANDIDATE,
                         {"grounds": ["relevant_evidence_ignored"], "explanation": "Unread."},
                         at="2027-06-10").linked[0].case
    # As edition 2 stored it: on the LA's calendar, its closures on 26-27 July skipped.
    with driver.engine.db.engine.begin() as conn:
        from sqlalchemy import text
        conn.execute(text("UPDATE timers SET calendar = 'local', due = '2027-08-09', "
                          "fires_at = '2027-08-09T23:00:00+00:00', "
                          "closures = '[\"2027-07-26\", \"2027-07-27\"]' "
                          "WHERE case_id = :id AND name = 'review_decision'"), {"id": review})

    preview = driver.engine.recalendar_preview()

    assert [(p["case"], p["timer"], p["old_due"], p["new_due"]) for p in preview] == [
        (review, "review_decision", "2027-08-09", "2027-08-05")]
    driver.engine.recompute_deadline(preview[0]["timer_id"], Actor.parse("operator:it.jones"))
    assert driver.timers(review)["review_decision"][0] == "2027-08-05"
    row = driver.rows("SELECT calendar, closures FROM timers WHERE case_id = :id AND "
                      "status = 'pending'", id=review)[0]
    assert (row.calendar, json.loads(row.closures)) == ("national", [])
