"""The notice templates read like the letters they stand for, and fail loudly when data is missing."""

from __future__ import annotations

from storage.jsontext import ReadBackDict

import copy
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import jinja2
import pytest
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from notifications import render as render_module
from states import PROCESSES
from notifications.render import (
    NOTICE_NAMES,
    RenderedNotice,
    TemplateRenderError,
    check_all,
    codes,
    longdate,
    names,
    render,
)

LONDON = ZoneInfo("Europe/London")
CONTACTS = {
    "la_coordinator": "ast.coordinator@northshire.gov.uk",
    "agency": "ast.assessment@agency.example.org",
    "review_coordinator": "review.coordinator@agency.example.org",
}
ASSESSOR = {"id": "as-104", "name": "Helen Okafor", "email": "h.okafor@assessors.example.org"}
REVIEW_OFFICER = {"id": "as-221", "name": "David Lloyd", "email": "d.lloyd@assessors.example.org"}


def timer(due: date) -> dict:
    """A pending timer as the engine passes it: due date, firing at the next local midnight."""
    return {"due": due, "fires_at": datetime.combine(due + timedelta(days=1), datetime.min.time(), LONDON)}


def application(**later) -> dict:
    data = {
        "candidate": {"name": "Priya Shah", "email": "p.shah@riverside.sch.uk"},
        "career_stage": "post_threshold",
        "school": {"name": "Riverside Primary School"},
        "headteacher": {"name": "Tom Evans", "email": "head@riverside.sch.uk"},
        "post": {"school": "Hillcrest Primary School", "email": "head@hillcrest.sch.uk",
                 "advertisement": "external", "appointment": "apt-2m8c4kqz"},
    }
    data.update(later)
    return data


SCHEDULED = {"assessment_date": "2027-03-10", "assessor": ASSESSOR}


def review_case(**later) -> dict:
    data = {
        "application": "app-7f3k9qxw",
        "candidate": {"name": "Priya Shah", "email": "p.shah@riverside.sch.uk"},
        "headteacher": {"name": "Tom Evans", "email": "head@riverside.sch.uk"},
        "post": {"school": "Hillcrest Primary School", "email": "head@hillcrest.sch.uk",
                 "advertisement": "external", "appointment": "apt-2m8c4kqz"},
        "assessor": ASSESSOR,
        "grounds": ["relevant_evidence_ignored", "bias_or_discrimination"],
        "explanation": "The assessor did not look at my outreach portfolio.",
        "evidence": ["outreach portfolio 2026", "letter from partner school"],
    }
    data.update(later)
    return data


def appointment_case(**later) -> dict:
    data = {
        "school": {"name": "Hillcrest Primary School", "phase": "primary", "email": "head@hillcrest.sch.uk"},
        "la": "Northshire",
        "focus": "mathematics",
        "advertisement": "external",
        "funding_source": "school_development_grant",
        "pay_range": {"first_point": 3, "last_point": 7},
        "headteacher": {"name": "Grace Patel", "email": "head@hillcrest.sch.uk"},
    }
    data.update(later)
    return data


APPOINTED = {"candidate": "Priya Shah", "certified_application": "app-7f3k9qxw",
             "start_date": "2027-09-01", "spine_point": 4}


TRIGGERS = {t for process in PROCESSES.values() for t in process.triggers()}


def context(kind="application", state="received", case=None, event=None, effective=date(2026, 12, 18),
            timers=None, case_id=None, **extra) -> dict:
    """The context the engine renders a notice with: `case` is what the case was opened with
    (the samples below write each trigger's record beside it, as a case once kept them, and
    they are moved to `records` here)."""
    case_id = case_id or {"application": "app-7f3k9qxw", "review": "rev-4p2d8hna",
                          "appointment": "apt-2m8c4kqz"}[kind]
    case = case or application()
    records = {k: v for k, v in case.items() if k in TRIGGERS}
    return {"case_id": case_id, "kind": kind, "state": state,
            "case": {k: v for k, v in case.items() if k not in TRIGGERS}, "records": records,
            "done": {k: effective.isoformat() for k in records}, "deadlines": {},
            "event": event or {}, "effective_date": effective, "timers": timers or {},
            "contacts": CONTACTS, "nation": "england", "today": effective,
            "headteacher": case.get("headteacher"), "derived": {}, "copy": False,
            "role": "", **extra}


# One realistic context per notice, as the transition that sends it would build it.
SAMPLES = {
    "application_received": context(timers={"headteacher_deadline": timer(date(2027, 1, 20))}),
    "headteacher_rejection": context(
        state="rejected", effective=date(2027, 1, 12),
        event={"reasons": "Your evidence against core standard C10 (assessment) is not yet consistent."}),
    "headteacher_feedback": context(
        state="not_supported", effective=date(2027, 1, 12),
        event={"feedback": "Build a year of outreach work with partner schools before applying."}),
    "application_forwarded": context(state="awaiting_shortlist", effective=date(2027, 1, 15)),
    "not_shortlisted": context(state="not_shortlisted", effective=date(2027, 1, 29)),
    "application_with_agency": context(
        state="with_agency", effective=date(2027, 2, 10),
        timers={"assessment_window": timer(date(2027, 3, 24))}),
    "assessment_arranged": context(
        state="assessment_scheduled", effective=date(2027, 2, 15),
        event={"assessment_date": date(2027, 3, 10), "assessor": ASSESSOR, "delay_reason": None},
        timers={"assessment_window": timer(date(2027, 3, 24))}),
    "decision_letter": context(
        state="not_met", effective=date(2027, 3, 12),
        case=application(schedule_assessment=SCHEDULED, judge_not_met={"unmet_standards": ["E3", "E7", "A1"]}),
        timers={"written_feedback": timer(date(2027, 4, 2)), "review_window": timer(date(2027, 5, 12))},
        outcome="not_met"),
    "written_feedback": context(
        state="not_met", effective=date(2027, 3, 30),
        case=application(schedule_assessment=SCHEDULED, judge_not_met={"unmet_standards": ["E3", "A1"]}),
        event={"feedback": {"E3": "Too little evidence of coaching colleagues.",
                            "A1": "Outreach work is planned but not yet under way."}},
        timers={"review_window": timer(date(2027, 5, 12))}),
    "withdrawal_confirmed": context(state="withdrawn", effective=date(2027, 2, 1)),
    "assessment_outcome": context(
        state="not_met", effective=date(2027, 3, 12),
        case=application(schedule_assessment=SCHEDULED, judge_not_met={"unmet_standards": ["E3"]})),
    "deadline_missed_withdrawn": context(
        state="rejected", effective=date(2027, 1, 19),
        event={"superseded_seq": 2, "timer": "headteacher_deadline", "due": "2027-01-20",
               "late_trigger": "reject", "late_effective_at": "2027-01-19T09:00:00+00:00",
               "late_recorded_at": "2027-01-25T10:12:00+00:00"},
        missed={"timer": "headteacher_deadline", "due": date(2027, 1, 20),
                "duty": "the headteacher's decision on the application", "whose": "headteacher"}),
    "deadline_missed": context(
        effective=date(2027, 1, 21),
        missed={"timer": "headteacher_deadline", "due": date(2027, 1, 20),
                "duty": "the headteacher's check of the application", "whose": "headteacher"}),
    "review_acknowledged": context(
        kind="review", state="requested", case=review_case(), effective=date(2027, 4, 20),
        event={"grounds": ["relevant_evidence_ignored", "bias_or_discrimination"],
               "explanation": "The assessor did not look at my outreach portfolio.",
               "evidence": ["outreach portfolio 2026", "letter from partner school"]},
        timers={"review_decision": timer(date(2027, 6, 17))}),
    "assessor_comment_invited": context(
        kind="review", state="assessor_commenting", case=review_case(), effective=date(2027, 4, 22),
        timers={"review_decision": timer(date(2027, 6, 17))}),
    "review_assigned": context(
        kind="review", state="with_review_officer", effective=date(2027, 5, 6),
        case=review_case(record_assessor_comment={"comment": "The portfolio was seen."},
                         assign_review_officer={"review_officer": REVIEW_OFFICER}),
        event={"review_officer": REVIEW_OFFICER},
        timers={"review_decision": timer(date(2027, 6, 17))}),
    "review_decision": context(
        kind="review", state="original_stands", effective=date(2027, 6, 10),
        case=review_case(assign_review_officer={"review_officer": REVIEW_OFFICER}),
        event={"reasons": "The outreach portfolio was considered on the day; the judgement was sound."}),
    "appointment_confirmed": context(
        kind="appointment", state="appointed", case=appointment_case(appoint=APPOINTED),
        effective=date(2027, 6, 14),
        event={"candidate": "Priya Shah", "start_date": date(2027, 9, 1), "spine_point": 4,
               "certified_application": "app-7f3k9qxw"},
        timers={"ast2_notification": timer(date(2027, 6, 28))}),
    "ast2_form": context(
        kind="appointment", state="ast2_submitted", case=appointment_case(appoint=APPOINTED),
        effective=date(2027, 6, 21)),
    "review_outcome": context(
        kind="review", state="original_stands", effective=date(2027, 6, 10),
        case=review_case(assign_review_officer={"review_officer": REVIEW_OFFICER}),
        event={"reasons": "The outreach portfolio was considered on the day; the judgement was sound."}),
    "post_ending": context(
        kind="appointment", state="leaving", case=appointment_case(appoint=APPOINTED),
        effective=date(2028, 3, 1), role="post_school",
        event={"last_day": date(2028, 4, 30), "reason": "moving_post"},
        timers={"post_ends": timer(date(2028, 4, 30))}),
    "post_vacated": context(
        kind="appointment", state="vacated", effective=date(2028, 5, 1), role="system",
        case=appointment_case(appoint=APPOINTED,
                              give_notice={"last_day": "2028-04-30", "reason": "left"}),
        event={"due": "2028-04-30"}),
    "post_cancelled": context(
        kind="appointment", state="cancelled", case=appointment_case(), role="la_coordinator",
        effective=date(2027, 3, 1), event={"reason": "The school's budget no longer allows it."}),
}


def rendered(name: str, **changes) -> RenderedNotice:
    ctx = copy.deepcopy(SAMPLES[name])
    ctx.update(changes)
    return render(name, ctx)


def test_every_notice_name_has_a_sample():
    assert set(SAMPLES) == set(NOTICE_NAMES) and len(NOTICE_NAMES) == 23


def test_check_all_loads_every_template():
    check_all()


@pytest.mark.parametrize("name", NOTICE_NAMES)
def test_each_notice_is_a_short_letter_naming_its_case(name):
    notice = rendered(name)
    assert notice.template == name
    assert SAMPLES[name]["case_id"] in notice.subject
    assert "\n" not in notice.subject and "  " not in notice.subject
    assert notice.body.endswith("\n") and not notice.body.startswith("\n")
    assert "None" not in notice.body and "{" not in notice.body and "\n\n\n" not in notice.body
    assert 5 <= len(notice.body.splitlines()) <= 35


def test_application_received_gives_the_headteacher_deadline():
    notice = rendered("application_received")
    assert "Dear Priya Shah," in notice.body
    assert "Friday 18 December 2026" in notice.body
    assert "Wednesday 20 January 2027" in notice.body
    assert "core and post-threshold standards" in notice.body


def test_application_received_in_wales_speaks_of_no_english_core_standards():
    notice = rendered("application_received", nation="wales")
    assert "core" not in notice.body.lower() and "post-threshold" not in notice.body
    assert "the standards that apply to you in Wales" in notice.body


def test_headteacher_rejection_gives_the_written_reasons():
    notice = rendered("headteacher_rejection")
    assert "Dear Priya Shah," in notice.body
    assert "core standard C10" in notice.body
    assert "No external\nassessment" in notice.body or "No external assessment" in notice.body
    assert "Tom Evans" in notice.body


def test_headteacher_feedback_gives_the_feedback():
    notice = rendered("headteacher_feedback")
    assert "outreach work with partner schools" in notice.body
    assert "Tuesday 12 January 2027" in notice.body


def test_application_forwarded_goes_to_the_post_school_about_the_candidate():
    notice = rendered("application_forwarded")
    assert "Hillcrest Primary School" in notice.body
    assert "Priya Shah" in notice.subject and "funding declaration" in notice.body


def test_not_shortlisted_tells_the_candidate():
    notice = rendered("not_shortlisted")
    assert "Dear Priya Shah," in notice.body and "Friday 29 January 2027" in notice.body


def test_application_with_agency_greets_candidate_and_headteacher_with_the_six_week_date():
    notice = rendered("application_with_agency")
    assert "Dear Priya Shah and Tom Evans," in notice.body
    assert "Wednesday 10 February 2027" in notice.body
    assert "Wednesday 24 March 2027" in notice.body


def test_assessment_arranged_gives_the_day_and_the_assessor():
    notice = rendered("assessment_arranged")
    assert "Wednesday 10 March 2027" in notice.subject
    assert "Wednesday 10 March 2027" in notice.body and "Helen Okafor" in notice.body
    assert "later than the usual" not in notice.body


def test_assessment_arranged_explains_a_delay_beyond_six_weeks():
    ctx = copy.deepcopy(SAMPLES["assessment_arranged"])
    ctx["event"].update(assessment_date=date(2027, 4, 14), delay_reason="The candidate is on a school trip.")
    notice = render("assessment_arranged", ctx)
    assert "Wednesday 14 April 2027" in notice.body
    assert "later than the usual six weeks" in notice.body and "school trip" in notice.body


def test_decision_letter_not_met_lists_unmet_standards_and_the_review_deadline():
    notice = rendered("decision_letter")
    assert "not met" in notice.subject
    assert "E3, E7, A1" in notice.body
    assert "40 working days" in notice.body
    assert "Wednesday 12 May 2027" in notice.body
    assert "Wednesday 10 March 2027" in notice.body and "Friday 2 April 2027" in notice.body
    assert CONTACTS["review_coordinator"] in notice.body


def test_decision_letter_counts_from_the_assessment_day_where_local_policy_says_so():
    ctx = copy.deepcopy(SAMPLES["decision_letter"])
    ctx["timers"]["review_window"]["counted_from"] = "2027-03-10"
    assert "within 40 working days of your assessment" in render("decision_letter", ctx).body
    ctx["timers"]["review_window"]["counted_from"] = "2027-03-12"
    assert "within 40 working days of this letter" in render("decision_letter", ctx).body


def test_decision_letter_not_met_without_review_timer_still_names_the_40_days():
    notice = rendered("decision_letter", timers={})
    assert "within 40 working days of this letter." in notice.body


def test_decision_letter_certified_congratulates_and_offers_no_review():
    ctx = copy.deepcopy(SAMPLES["decision_letter"])
    ctx.update(state="certified", outcome="certified", timers={"written_feedback": timer(date(2027, 4, 2))})
    del ctx["records"]["judge_not_met"]
    ctx["records"]["judge_met"] = {}
    notice = render("decision_letter", ctx)
    assert "standards met" in notice.subject and "not met" not in notice.subject
    assert "certified as\nan Advanced Skills Teacher" in notice.body
    assert "review" not in notice.body.lower()


def test_written_feedback_gives_feedback_per_standard_to_candidate_headteacher_and_post_school():
    notice = rendered("written_feedback")
    assert "Dear Priya Shah and Tom Evans," in notice.body
    assert "Copy: Hillcrest Primary School" in notice.body
    assert "E3: Too little evidence" in notice.body and "A1: Outreach work" in notice.body
    assert "re-application" in notice.body


def test_written_feedback_as_text_when_met():
    ctx = copy.deepcopy(SAMPLES["written_feedback"])
    del ctx["records"]["judge_not_met"]
    ctx["records"]["judge_met"] = {}
    ctx.update(state="certified", event={"feedback": "A confident, well-evidenced assessment."})
    notice = render("written_feedback", ctx)
    assert "A confident, well-evidenced assessment." in notice.body
    assert "Outcome: all applicable standards met" in notice.body
    assert "re-application" not in notice.body


def test_withdrawal_confirmed_for_an_application_and_for_a_review():
    notice = rendered("withdrawal_confirmed")
    assert "Dear Priya Shah," in notice.body and "Monday 1 February 2027" in notice.body
    review = render("withdrawal_confirmed", context(kind="review", state="withdrawn", case=review_case(),
                                                     effective=date(2027, 5, 3)))
    assert "rev-4p2d8hna" in review.subject and "app-7f3k9qxw" in review.body
    assert "original assessment stands" in review.body and "Monday 3 May 2027" in review.body


def test_deadline_missed_names_case_duty_and_due_date():
    notice = rendered("deadline_missed")
    assert "deadline missed" in notice.subject
    assert "the headteacher's check of the application" in notice.body
    assert "Wednesday 20 January 2027" in notice.body and "Priya Shah" in notice.body
    assert "Duty of:     the headteacher" in notice.body


def test_deadline_missed_for_an_appointment_names_the_post():
    notice = render("deadline_missed", context(
        kind="appointment", state="appointed", case=appointment_case(appoint=APPOINTED),
        effective=date(2027, 6, 29),
        missed={"timer": "ast2_notification", "due": date(2027, 6, 28),
                "duty": "the AST 2 notification of the appointment", "whose": "post school"}))
    assert "apt-2m8c4kqz" in notice.subject and "Monday 28 June 2027" in notice.body
    assert "mathematics at Hillcrest Primary School" in notice.body


def test_review_acknowledged_lists_grounds_and_the_decision_date():
    notice = rendered("review_acknowledged")
    assert "did not take proper account of relevant evidence" in notice.body
    assert "biased, or unlawfully discriminated" in notice.body
    assert "Tuesday 20 April 2027" in notice.body and "Thursday 17 June 2027" in notice.body
    assert "outreach portfolio 2026" in notice.body


def test_a_retired_notice_still_renders_with_the_version_it_was_sent_with():
    """No one refuses a review any more (Annex D), but a review refused before keeps its
    letter: replay renders it again with the version it records."""
    kept = sorted((render_module.EARLIER).glob("review_refused-*.txt.j2"))
    assert kept and not (render_module.TEMPLATES / "review_refused.txt.j2").exists()
    assert "review_refused" not in NOTICE_NAMES
    source = kept[-1].read_bytes()
    import hashlib
    ctx = context(kind="review", state="refused", case=review_case(), effective=date(2027, 4, 27),
                  event={"reasons": "The request gives no evidence for any ground."})
    notice = render("review_refused", ctx, hashlib.sha256(source).hexdigest())
    assert "no evidence for any ground" in notice.body and "stands" in notice.body
    with pytest.raises(TemplateRenderError, match="review_refused"):
        render("review_refused", ctx)


def test_assessor_comment_invited_goes_to_the_original_assessor():
    notice = rendered("assessor_comment_invited")
    assert "Dear Helen Okafor," in notice.body and "Priya Shah" in notice.body
    assert "Thursday 17 June 2027" in notice.body


def test_review_assigned_goes_to_the_review_officer_with_the_due_date():
    notice = rendered("review_assigned")
    assert "Dear David Lloyd," in notice.body and "Thursday 17 June 2027" in notice.body
    assert "Helen Okafor" in notice.body


def test_review_decision_gives_outcome_and_reasons_to_candidate_and_assessor():
    notice = rendered("review_decision")
    assert "original assessment stands" in notice.subject
    assert "Dear Priya Shah and Helen Okafor," in notice.body
    # The reasons go to the candidate and the assessor only (review_outcome tells the others).
    assert "Tom Evans" not in notice.body and "Copy:" not in notice.body
    assert "the judgement was sound" in notice.body
    # Annex D paragraph 5's test, stated as it is.
    assert "would have been certified\nas an Advanced Skills Teacher had the original assessment " \
        "been properly conducted" in notice.body
    certified = rendered("review_decision", state="certified")
    assert "candidate certified" in certified.subject and "I therefore certify" in certified.body


def test_appointment_confirmed_gives_school_start_date_spine_point_and_ast2_date():
    notice = rendered("appointment_confirmed")
    assert "Dear Priya Shah," in notice.body and "Hillcrest Primary School" in notice.subject
    assert "Wednesday 1 September 2027" in notice.body
    assert "point 4 of the AST pay spine" in notice.body
    assert "Monday 28 June 2027" in notice.body


def test_ast2_form_carries_name_school_start_date_and_spine_point():
    notice = rendered("ast2_form")
    assert "Priya Shah" in notice.subject
    for text in ("Priya Shah", "Hillcrest Primary School", "Wednesday 1 September 2027",
                 "Spine point:", " 4 (range 3-7)", "School Development Grant", CONTACTS["la_coordinator"]):
        assert text in notice.body


# --- failures ---------------------------------------------------------------------------

def test_a_missing_context_key_raises_an_error_naming_the_template():
    ctx = copy.deepcopy(SAMPLES["application_received"])
    del ctx["case"]["school"]
    with pytest.raises(TemplateRenderError, match="application_received.*school"):
        render("application_received", ctx)


def test_a_missing_top_level_key_raises_an_error_naming_the_template():
    ctx = copy.deepcopy(SAMPLES["review_decision"])
    del ctx["event"]
    with pytest.raises(TemplateRenderError, match="review_decision.*event"):
        render("review_decision", ctx)


def test_an_unknown_notice_raises_an_error_naming_it():
    with pytest.raises(TemplateRenderError, match="no_such_notice"):
        render("no_such_notice", SAMPLES["application_received"])


@pytest.fixture
def scratch_templates(tmp_path, monkeypatch):
    """Point the renderer at a scratch template folder (and rebuild its environment)."""
    monkeypatch.setattr(render_module, "TEMPLATES", tmp_path)
    monkeypatch.setattr(render_module, "_env", None)
    yield tmp_path
    render_module._env = None


def test_a_syntax_error_is_reported_by_check_all(scratch_templates):
    for name in NOTICE_NAMES:
        (scratch_templates / f"{name}.txt.j2").write_text(
            "{% block subject %}x{% endblock %}{% block body %}y{% endblock %}")
    (scratch_templates / "ast2_form.txt.j2").write_text("{% block subject %}{% if %}{% endblock %}")
    with pytest.raises(TemplateRenderError, match="ast2_form.*TemplateSyntaxError"):
        check_all()


def test_the_sandbox_refuses_to_mutate_the_context(scratch_templates):
    (scratch_templates / "evil.txt.j2").write_text(
        "{% block subject %}{{ case.clear() }}{% endblock %}{% block body %}{% endblock %}")
    with pytest.raises(TemplateRenderError, match="evil.*SecurityError"):
        render("evil", SAMPLES["application_received"])


@pytest.mark.parametrize("reach", [
    "''.__class__.__mro__",                          # from a literal to every class loaded
    "case.__class__.__mro__[1].__subclasses__()",    # from the data
    "(case|attr('__class__')).__base__",            # through the attr filter
    "self.__init__.__globals__",                     # from the template's own reference
    "'{0.__class__}'.format(case)",                  # through a format string
])
def test_a_template_cannot_reach_outside_the_sandbox(scratch_templates, reach):
    (scratch_templates / "escape.txt.j2").write_text(
        "{% set subject %}Escape{% endset %}{{ " + reach + " }}\n")
    with pytest.raises(TemplateRenderError, match="escape.*SecurityError"):
        render("escape", {"case": {"name": "Ann"}})


def test_a_template_reads_its_data_and_the_notice_filters_and_nothing_else(scratch_templates):
    (scratch_templates / "globals.txt.j2").write_text(
        "{% set subject %}{{ case.day|longdate }}{% endset %}{{ range(3)|list }}\n")
    with pytest.raises(TemplateRenderError, match="globals.*'range' is undefined"):
        render("globals", {"case": {"day": "2027-03-10"}})


def test_what_a_template_sets_stays_out_of_the_data_it_is_given(scratch_templates):
    (scratch_templates / "sets.txt.j2").write_text(
        "{% set case = 'replaced' %}{% set subject %}{{ case }}{% endset %}{{ case }}\n")
    context = {"case": {"name": "Ann"}}
    assert render("sets", context).subject == "replaced"
    assert context == {"case": {"name": "Ann"}}


def _as_read(value):
    """What a template gets from reading a value: its text, or the error it raises."""
    try:
        return str(value)
    except jinja2.TemplateError as exc:   # SecurityError, UndefinedError
        return f"{type(exc).__name__}: {exc}"


class _DictOfItsOwn(dict):
    pass


def test_the_notice_sandbox_reads_every_name_of_a_dict_as_the_stock_sandbox_does():
    # NoticeEnvironment.getattr reads a plain dict's key at once when no attribute can have
    # its name: for every attribute a dict has, keys that shadow them, private-looking and
    # missing keys, on a dict, on data read back from a store and on a subclass, it answers
    # as Jinja's own sandbox.
    ours = render_module._environment()
    stock = ImmutableSandboxedEnvironment(undefined=StrictUndefined)
    data = {"name": "Ann", "_note": "n", "items": "3 items", "__class__": "a key",
            "__mro__": "m", "mro": "a key too"}
    attributes = set(dir(dict)) | set(data) | {"missing", "__dict__", "__name__", "__base__"}
    for obj in (data, ReadBackDict(data), _DictOfItsOwn(data)):
        for attribute in sorted(attributes):
            assert (_as_read(ours.getattr(obj, attribute))
                    == _as_read(stock.getattr(obj, attribute))), attribute
    assert _as_read(ours.getattr(data, "items")).startswith("<built-in method items")
    assert _as_read(ours.getattr(data, "__class__")).startswith("SecurityError")
    assert _as_read(ours.getattr(data, "__mro__")) == "m"


def test_case_data_reads_in_notices_as_the_stock_sandbox_reads_it(scratch_templates):
    # A key that shares a dict method's name, a private-looking key and a missing key read in
    # notices as Jinja's own sandbox reads them.
    (scratch_templates / "reads.txt.j2").write_text(
        "{% block subject %}{{ case.name }}|{{ case._note }}|{{ case.items is callable }}"
        "{% endblock %}{% block body %}{{ case.missing is defined }}|{{ case['items'] }}"
        "{% endblock %}")
    context = {"case": {"name": "Ann", "_note": "n", "items": "3 items"}}
    rendered = render("reads", context)
    stock = ImmutableSandboxedEnvironment(undefined=StrictUndefined).from_string(
        (scratch_templates / "reads.txt.j2").read_text())
    shared = stock.new_context(context, shared=False)
    assert rendered.subject == "".join(stock.blocks["subject"](shared)) == "Ann|n|True"
    assert rendered.body.strip() == "".join(stock.blocks["body"](shared)) == "False|3 items"
    (scratch_templates / "private.txt.j2").write_text(
        "{% block subject %}{{ case.__class__ }}{% endblock %}{% block body %}{% endblock %}")
    with pytest.raises(TemplateRenderError, match="private.*SecurityError|private.*unsafe"):
        render("private", context)


# --- filters ----------------------------------------------------------------------------

def test_longdate_writes_dates_as_a_letter_does():
    assert longdate(date(2027, 1, 20)) == "Wednesday 20 January 2027"
    assert longdate("2027-03-10") == "Wednesday 10 March 2027"


def test_longdate_uses_the_london_date_of_an_aware_datetime():
    # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST).
    assert longdate(datetime(2027, 6, 30, 23, 30, tzinfo=timezone.utc)) == "Thursday 1 July 2027"
    with pytest.raises(ValueError, match="naive"):
        longdate(datetime(2027, 6, 30, 23, 30))


def test_codes_and_names_read_as_prose():
    assert codes(["E3", "E7", "A1"]) == "E3, E7, A1"
    assert names([{"name": "A"}, "B", {"name": "C"}]) == "A, B and C"
    assert names(["A", "B"]) == "A and B"
    assert names("A") == "A"
