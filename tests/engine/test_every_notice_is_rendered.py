"""Every notice of every transition that sends one is rendered, stored and reads like a letter:
the set of (kind, trigger, template) the definitions declare must all be produced here."""
from __future__ import annotations

import json

from states import PROCESSES
from states.spec import Notify
from tests.builders import AGENCY, HEADTEACHER, OFFICER, Driver, appointment_data, \
    application_data

COORDINATOR = "review_coordinator:rc"


def declared() -> set[tuple[str, str, str]]:
    pairs = set()
    for kind, process in PROCESSES.items():
        for row in [process.opening, *process.all_transitions()]:
            if row.retired:
                continue
            for effect in row.effects:
                if isinstance(effect, Notify):
                    pairs.add((kind, row.trigger, effect.template))
    return pairs


def produced(driver: Driver) -> dict[tuple[str, str, str], list]:
    rows = driver.rows(
        "SELECT c.kind, l.trigger, n.template, n.subject, n.body, n.recipients, n.case_id "
        "FROM notices n JOIN transition_log l ON l.case_id = n.case_id AND l.seq = n.log_seq "
        "JOIN cases c ON c.id = n.case_id")
    out: dict = {}
    for r in rows:
        out.setdefault((r.kind, r.trigger, r.template), []).append(r)
    return out


def shortlisted_post(d: Driver, certified: str | None = None, certificate: dict | None = None,
                     opened: str = "2027-07-12", closing: str = "2027-07-20",
                     closed: str = "2027-07-21") -> str:
    """An appointment opened on 12 July 2027 and shortlisted on 21 July with Ann Lee, by her
    certified application or a certificate from elsewhere."""
    post = d.open("appointment", appointment_data(), at=opened).case
    d.fire(post, "secure_funding", "headteacher:v.vale", at=opened)
    d.fire(post, "advertise", "headteacher:v.vale", {"closing_date": closing}, at=opened)
    way_in = {"application": certified} if certified else {"certificate": certificate}
    d.fire(post, "close_applications", "post_school:vale",
           {"shortlist": [{"candidate": "Ann Lee", **way_in}]}, at=closed)
    return post


def walk_every_notice(d: Driver) -> None:
    # Headteacher outcomes.
    d.fire(d.open(at="2026-12-18").case, "reject", HEADTEACHER,
           {"reasons": "The form was not signed."}, at="2027-01-04")
    d.fire(d.open(at="2027-01-04").case, "decline_support", HEADTEACHER,
           {"feedback": "More evidence of whole-school impact is needed."}, at="2027-01-05")
    external = d.open(data=application_data("external"), at="2027-01-05").case
    d.fire(external, "support", HEADTEACHER, {"evaluation": "Ready."}, at="2027-01-06")
    d.fire(external, "forward_to_post_school", HEADTEACHER, at="2027-01-06")
    d.fire(external, "decline_shortlist", "post_school:vale", at="2027-01-07")
    d.fire(d.open(at="2027-01-07").case, "withdraw", "candidate:ann", at="2027-01-07")
    # The headteacher misses the deadline on one form; on another the rejection, dated in
    # time (1 February; due 4 February), is keyed in after the deadline was reported missed.
    d.open(at="2027-01-07")
    rejected_late = d.open(at="2027-01-07").case
    d.tick("2027-02-06T00:00")
    d.fire(rejected_late, "reject", HEADTEACHER, {"reasons": "Not signed."}, at="2027-02-01")
    # Assessment: letters, feedback, and every agency deadline missed once.
    certified = d.to_certified(received="2027-02-06")   # assessment day 2027-04-01
    d.tick("2027-04-23")   # the decision letter (due 04-06) and feedback (due 04-22) are late
    d.fire(certified, "send_decision_letter", AGENCY, at="2027-04-23")
    d.fire(certified, "send_written_feedback", AGENCY, {"feedback": "Exemplary."}, at="2027-04-23")
    late = d.open(at="2027-04-23").case
    d.fire(late, "support", HEADTEACHER, {"evaluation": "Ready."}, at="2027-04-23")
    d.fire(late, "submit_to_agency", HEADTEACHER,
           {"funding_declaration": {"declared_by": "Hugh Brown", "source": "school"}},
           at="2027-04-23")
    d.fire(late, "agency_receive", AGENCY, at="2027-04-26")
    d.tick("2027-06-10")   # six weeks pass with no assessment
    # Reviews: withdrawn, certified, upheld, and a review decision overdue.
    outcomes = []
    for _ in range(3):
        case = d.to_assessment_scheduled(received="2027-03-17")   # assessment day 2027-05-10
        d.fire(case, "judge_not_met", "assessor:as-17", {"unmet_standards": ["E3"]},
               at="2027-05-10T16:00")
        d.fire(case, "send_decision_letter", AGENCY, at="2027-05-11")
        d.fire(case, "send_written_feedback", AGENCY, {"feedback": {"E3": "Not evidenced."}},
               at="2027-05-12")
        outcomes.append(d.fire(case, "request_review", "candidate:ann",
                               {"grounds": ["relevant_evidence_ignored"],
                                "explanation": "My portfolio was not read."},
                               at="2027-05-13").linked[0].case)
    withdrawn, certify, uphold = outcomes
    d.fire(withdrawn, "withdraw", "candidate:ann", at="2027-05-14")
    for review in (certify, uphold):
        d.fire(review, "invite_assessor_comment", COORDINATOR, at="2027-05-14")
        d.fire(review, "assign_review_officer", COORDINATOR, {"review_officer": OFFICER},
               at="2027-05-17")
    d.fire(certify, "certify", "review_officer:ro-3", {"reasons": "E3 is met."}, at="2027-05-20")
    d.tick("2027-07-10")   # 40 working days after 2027-05-13 end on 07-09: the last review is late
    # ... but its decision, dated 8 July, is keyed in after that.
    d.fire(uphold, "uphold", "review_officer:ro-3", {"reasons": "The judgement stands."},
           at="2027-07-08")
    # An appointment: confirmed, AST2 late once, then sent.
    post = shortlisted_post(d, certified)
    d.fire(post, "appoint", "post_school:vale", {"candidate": "Ann Lee",
                                                 "certified_application": certified,
                                                 "start_date": "2027-09-01", "spine_point": 5},
           at="2027-07-22")
    d.tick("2027-08-10")   # the AST2 is reported late (due 2027-08-05) ...
    # ... and on another post the form sent in time is keyed in after that.
    d.fire(post, "submit_ast2", "post_school:vale", at="2027-08-10")
    other = shortlisted_post(d, certified)
    d.fire(post, "vacate", "post_school:vale", {"reason": "left"}, at="2027-08-10")
    d.fire(other, "appoint", "post_school:vale", {"candidate": "Ann Lee",
                                                  "certified_application": certified,
                                                  "start_date": "2027-09-01", "spine_point": 5},
           at="2027-08-10")
    d.tick("2027-08-30")   # due 2027-08-24
    d.fire(other, "submit_ast2", "post_school:vale", at="2027-08-20")
    # The AST gives notice on that post; its last day passes and the post is vacated.
    d.fire(other, "give_notice", "post_school:vale",
           {"last_day": "2027-12-17", "reason": "moving_post"}, at="2027-09-06")
    # The post moved to, appointed ahead with a certificate from elsewhere, starting after the
    # old post's last day; its AST2 names the certificate's agency reference.
    certificate = {"agency_reference": "NAA-2019-0042", "certified_on": "2019-06-14",
                   "checked_by": "LA co-ordinator"}
    ahead = shortlisted_post(d, certificate=certificate, opened="2027-09-06",
                             closing="2027-09-20", closed="2027-09-21")
    d.fire(ahead, "appoint", "post_school:vale",
           {"candidate": "Ann Lee", "email": "ann.lee@hill.example.org",
            "certificate": certificate, "start_date": "2028-01-04", "spine_point": 5},
           at="2027-09-22")
    d.fire(ahead, "submit_ast2", "post_school:vale", at="2027-09-23")
    d.tick("2027-12-20")
    # A post cancelled while an application still names it.
    cancelled = d.open("appointment", appointment_data(), at="2027-12-20").case
    naming = application_data("external")
    naming["post"] = {"school": "Vale Secondary School", "email": "office@vale.example.org",
                      "advertisement": "external", "appointment": cancelled}
    d.open(data=naming, at="2027-12-20")
    d.fire(cancelled, "cancel", "headteacher:v.vale", {"reason": "The budget will not allow it."},
           at="2027-12-21")


def test_every_declared_notice_is_rendered_by_the_transition_that_sends_it(driver: Driver):
    walk_every_notice(driver)
    seen = produced(driver)
    assert declared() - set(seen) == set()
    for (kind, trigger, template), notices in seen.items():
        for n in notices:
            assert n.case_id in n.subject, (template, n.subject)
            assert json.loads(n.recipients), (template, "no recipient")
            assert len(n.body.split()) > 25, (template, "too short to be a letter")
            assert "{{" not in n.body and "None" not in n.body, (template, n.body)


def test_a_missed_deadline_notice_names_the_duty_its_due_date_and_the_case(driver: Driver):
    case = driver.open(at="2026-12-18").case
    driver.tick("2027-01-21T08:00")
    notice = driver.notices(case)[-1]
    assert notice.template == "deadline_missed"
    assert json.loads(notice.recipients) == ["ast.coordinator@la.example.org"]
    assert case in notice.subject
    assert "Wednesday 20 January 2027" in notice.body
    assert "headteacher" in notice.body
