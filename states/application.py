"""An application to be assessed as an Advanced Skills Teacher (guidance section 3, "Applications"
and "Assessment"): from the AST1 form reaching the headteacher to certification or a final
not-met judgement."""
from __future__ import annotations

import re
from datetime import date, timedelta
from enum import Enum
from typing import Any, Callable, Literal, Mapping

from pydantic import Field, field_validator, model_validator

from states import standards
from states.common import (Day, Email, Line, NoData, Official, Person, School, Text, added_later,
                           agency,
                           as_date, candidate, current_headteacher, effective_date, headteacher,
                           la_coordinator, post_school)
from states.spec import (CalendarDays, CancelTimers, CaseView, Data, Facts, Guard, Notify,
                         OpenLinked, Party, Process, StartTimer, Timer, TimerFired, Transition,
                         WorkingDays, every_state_but)


class ApplicationState(Enum):
    received = "received"                          # the AST1 form is with the candidate's headteacher
    rejected = "rejected"                          # the head found the application invalid and said why
    not_supported = "not_supported"                # the head declined to support it, with feedback
    supported = "supported"                        # the head supports it; the form has not left the school yet
    awaiting_shortlist = "awaiting_shortlist"      # sent to the school advertising an external post
    shortlisted = "shortlisted"                    # the post school will put it forward
    not_shortlisted = "not_shortlisted"            # the post school will not
    with_la = "with_la"                            # sent via the LA, which completes the funding declaration
    submitted = "submitted"                        # sent to the assessment agency with the funding declaration
    with_agency = "with_agency"                    # the agency has it; six weeks to assess
    assessment_scheduled = "assessment_scheduled"  # an assessor and a day are arranged
    certified = "certified"                        # the standards are met: an AST (letters may still be owed)
    not_met = "not_met"                            # not met; 40 working days from the letter to ask for a review
    under_review = "under_review"                  # a review case is deciding
    closed_not_met = "closed_not_met"              # the not-met judgement is final
    withdrawn = "withdrawn"                        # the candidate withdrew


S = ApplicationState
FINAL = frozenset({S.rejected, S.not_supported, S.not_shortlisted, S.certified,
                   S.closed_not_met, S.withdrawn})

FundingSource = Literal["school_development_grant", "school", "group", "local_formula"]


# -- the data each trigger needs ------------------------------------------------------------------

class Post(Data):
    school: Line = Field(description="Name of the school advertising the post")
    email: Email | None = Field(None, description="Email address of the post school (needed "
                                                  "for an externally advertised post)")
    advertisement: Literal["internal", "external"] = Field(
        description="How the post is advertised: within the school or LA (internal), or "
                    "openly (external)")
    appointment: str | None = Field(None, description="Case id of the post's appointment "
                                                      "case, when there is one")


class Headteacher(Person):
    """The headteacher the AST1 reached; `id` is the opener's own (recorded by the engine when
    not given), the one bound to the case (DOMAIN.md, "Parties bound to a case")."""
    id: Line | None = added_later("The headteacher's account id (when left out: the id of "
                                  "whoever opens the application)")


class Opening(Data):
    candidate: Person = Field(description="The candidate")
    career_stage: Literal["main_scale", "post_threshold", "excellent_teacher"] = Field(
        description="The candidate's career stage (it decides which standards are assessed)")
    school: School = Field(description="The candidate's employing school")
    headteacher: Headteacher = Field(description="The candidate's headteacher, who received "
                                                 "the AST1 form")
    post: Post = Field(description="The post applied for")
    previous_application: str | None = Field(
        None, description="Case id of the previous application, for a re-application")
    supporting_evidence: str | None = Field(
        None, description="The headteacher's supporting evidence (needed for a re-application)")

    @model_validator(mode="after")
    def external_post_needs_an_address(self) -> "Opening":
        if self.post.advertisement == "external" and not self.post.email:
            raise ValueError("post.email: an application for an externally advertised post "
                             "is forwarded to the post school: give its address")
        return self

    @model_validator(mode="after")
    def reapplication_needs_evidence(self) -> "Opening":
        if self.previous_application and not (self.supporting_evidence or "").strip():
            raise ValueError("supporting_evidence: a re-application needs the headteacher's "
                             "supporting evidence")
        return self


class Reasons(Data):
    reasons: Text = Field(description="Why the application is rejected: a written explanation "
                                      "for the candidate")


class Feedback(Data):
    feedback: Text = Field(description="Feedback for the candidate: why the headteacher does "
                                       "not support the application")


class Evaluation(Data):
    evaluation: Text | dict[str, Text] = Field(
        description="The headteacher's evaluation of the candidate against the standards "
                    "assessed externally")


class FundingDeclaration(Data):
    declared_by: Line = Field(description="Name of the person making the funding declaration")
    source: FundingSource = Field(description="Where the post's funding comes from")


class SubmitToAgency(Data):
    funding_declaration: FundingDeclaration = Field(description="The funding declaration")


class ScheduleAssessment(Data):
    assessment_date: Day = Field(description="Date of the assessment visit")
    assessor: Official = Field(description="The assessor who will carry out the assessment")
    delay_reason: Text | None = Field(
        None, description="Why the assessment is later than six weeks after the agency "
                          "received the application (needed only then)")


class UnmetStandards(Data):
    unmet_standards: list[standards.Code] = Field(
        min_length=1, description="The standards not met (at least one, of those assessed "
                                  "externally at the candidate's career stage)")

    @field_validator("unmet_standards")
    @classmethod
    def annex_a_codes(cls, codes: list[str]) -> list[str]:
        unknown = [c for c in codes if c not in standards.ALL_CODES]
        if unknown:
            raise ValueError(f"not standard codes of Annex A: {', '.join(unknown)}")
        return list(dict.fromkeys(codes))


class WrittenFeedback(Data):
    feedback: Text | dict[str, Text] = Field(
        description="Written feedback for the candidate on the assessment")


Ground = Literal["relevant_evidence_ignored", "irrelevant_or_inaccurate_evidence",
                 "bias_or_discrimination"]


class RequestReview(Data):
    grounds: list[Ground] = Field(min_length=1, description="The grounds for a review (at "
                                                            "least one)")
    explanation: Text = Field(description="Why the judgement should be reviewed")
    evidence: list[Text] = Field([], description="The evidence the candidate offers for the "
                                                 "grounds, one item each")


class ReviewOutcome(Data):
    review: Text = Field(description="Case id of the review that decided")


class ReviewWithdrawn(Data):
    """What a withdrawn review tells its application: which review, and where the window
    stands (decided by the review as of the withdrawal: states/review.py)."""
    review: Text = Field(description="Case id of the review withdrawn")
    window: Literal["open", "not_started", "closed"] = Field(
        description="Where the 40 working days to ask for a review stand: still open, not "
                    "started (no decision letter yet), or closed")
    review_window_due: Day | None = Field(None, description="Last day to ask for a review, "
                                                            "when the window has started")


class ChangeHeadteacher(Data):
    """Another headteacher takes the application on (a new head, or a line manager designated
    for an unattached teacher): logged, never a silent edit."""
    headteacher: Official = Field(description="The headteacher who takes the application on")
    reason: Text = Field(description="Why the headteacher changes")


# -- facts the rules read -------------------------------------------------------------------------

def assessment_day(f: Facts) -> date:
    """The assessment day fixed by `schedule_assessment` (the decision letter and feedback count
    from it, not from the day the judgement was keyed in)."""
    return as_date(f.records["schedule_assessment"]["assessment_date"])


def review_window_start(f: Facts) -> date:
    """The 40 working days run from the decision letter (the candidate receives the assessor's
    decision with it), or from the assessment day where the LA reads Annex D so (local policy
    `review_window_from`). Counted from the letter's own date, so that a window started again
    after a review is withdrawn (`review_withdrawn`) ends on the same day."""
    if f.policy["review_window_from"] == "assessment_day":
        return assessment_day(f)
    return f.done.get("send_decision_letter", f.effective_date)


def window_after_review(application: CaseView, deadlines: Mapping[str, date],
                        withdrawn_on: date, policy: Mapping[str, Any],
                        due_of: Callable[[str, str, date], date]) -> tuple[str, date | None]:
    """Where a withdrawn review leaves its application (DOMAIN.md, review `withdraw`), and the
    review window's due date when it has one:
    - `open`: the 40 working days are still open on the withdrawal's date (the window's due
      date, counted as when the review was requested; or, when the letter was sent while the
      review was under way and the window never ran, counted from the letter now): back to
      `not_met`, the window running again to that same day;
    - `not_started`: no decision letter yet, so no window yet: back to `not_met`;
    - `closed`: the window ended before the withdrawal: `closed_not_met`.
    Decided once, by the review (recorded with its entry), and passed to the application."""
    if "send_decision_letter" not in application.records:
        return "not_started", None
    due = deadlines.get("review_window")
    if due is None:
        start = (as_date(application.records["schedule_assessment"]["assessment_date"])
                 if policy["review_window_from"] == "assessment_day"
                 else application.done["send_decision_letter"])
        due = due_of("application", "review_window", start)
    return ("open" if due >= withdrawn_on else "closed"), due


def _window(f: Facts) -> str:
    return str(f.event["window"])


def window_still_open(f: Facts) -> bool:
    return _window(f) == "open"


def letter_not_sent(f: Facts) -> bool:
    return _window(f) == "not_started"


def window_closed(f: Facts) -> bool:
    return _window(f) == "closed"


def window_as_it_was(f: Facts) -> date:
    return as_date(f.event["review_window_due"])


def headteachers_school(f: Facts) -> str:
    name: str = f.case["school"]["name"]
    return name


def la_funded(f: Facts, source: str | None) -> bool:
    return source in f.policy["la_funded_sources"]


def the_post(f: Facts) -> CaseView | None:
    """The appointment case the application names (None when it names none)."""
    appointment = f.case["post"].get("appointment")
    return f.lookup(appointment) if appointment else None


def post_funding(f: Facts) -> str | None:
    """How the post applied for is funded: the appointment case's source, else the declared
    one (once the declaration is made)."""
    return funding_of(f.case, f.records, f.lookup)


def funding_of(case: Mapping[str, Any], records: Mapping[str, Mapping[str, Any]],
               lookup: Callable[[str], Any]) -> str | None:
    """How an application's post is funded (see post_funding), read from its data and records."""
    appointment = case["post"].get("appointment")
    post = lookup(appointment) if appointment else None
    if post is not None:
        source: str | None = post.data.get("funding_source")
        return source
    declared = records.get("submit_to_agency") or {}
    return (declared.get("funding_declaration") or {}).get("source")


def assessor_scheduled(f: Facts) -> str | None:
    """The assessor of the current schedule (after `schedule_assessment`: this one's)."""
    scheduled = f.records.get("schedule_assessment")
    return scheduled["assessor"]["email"] if scheduled else None


def assessor_replaced(f: Facts) -> str | None:
    """The assessor a new schedule replaces, when it is another person (who must not travel)."""
    earlier = (f.derived.get("replaces") or {}).get("assessor")
    return earlier["email"] if earlier else None


def post_school_once_involved(f: Facts) -> str | None:
    """The post school, once the form was forwarded to it or the application names its post
    (the address the application gives, else the appointment case's)."""
    if "forward_to_post_school" not in f.records and not f.case["post"].get("appointment"):
        return None
    post = the_post(f)
    school = post.data.get("school") if post is not None else None
    return post_school(f) or (school.get("email") if isinstance(school, Mapping) else None)


def la_coordinator_once_involved(f: Facts) -> str | None:
    """The LA co-ordinator, once the form went via the LA or the post is funded through it."""
    if "send_to_la" in f.records or la_funded(f, post_funding(f)):
        return la_coordinator(f)
    return None


def agency_once_submitted(f: Facts) -> str | None:
    return agency(f) if "submit_to_agency" in f.records else None


def la_coordinator_if_la_funded(f: Facts) -> str | None:
    """The LA co-ordinator, told the outcome when the LA funds the post (section 3: the agency
    will notify the headteacher or LA of the outcome)."""
    return la_coordinator(f) if la_funded(f, post_funding(f)) else None


def review_opening(f: Facts) -> dict[str, Any]:
    """The data a review is opened with: the application's people (its headteacher as it is
    now) and judgement, and the candidate's grounds."""
    scheduled = f.records["schedule_assessment"]
    return {
        "application": f.case_id,
        "candidate": f.case["candidate"],
        "headteacher": current_headteacher(f),
        "post": f.case["post"],
        "career_stage": f.case["career_stage"],
        "assessor": scheduled["assessor"],
        "assessment_date": scheduled["assessment_date"],
        "unmet_standards": f.records["judge_not_met"]["unmet_standards"],
        "grounds": list(f.event["grounds"]),
        "explanation": f.event["explanation"],
        "evidence": list(f.event.get("evidence") or []),
    }


# -- guards: None when the rule holds, else the reason a person reads -----------------------------

def external_post(f: Facts) -> str | None:
    if f.case["post"]["advertisement"] != "external":
        return ("the post is advertised internally: submit the application to the agency, or "
                "for a post funded through the LA send it to the LA (send_to_la)")
    return None


def internal_post(f: Facts) -> str | None:
    if f.case["post"]["advertisement"] != "internal":
        return ("the post is advertised externally: forward the application to the post school "
                "(forward_to_post_school), which shortlists and submits it")
    return None


def declared_source_matches_the_post(f: Facts) -> str | None:
    post = the_post(f)
    declared = f.event["funding_declaration"]["source"]
    if post is not None and post.data.get("funding_source") != declared:
        return (f"funding_declaration.source: the post ({post.id}) is funded by "
                f"{post.data.get('funding_source')}, not {declared}")
    return None


def not_funded_through_the_la(f: Facts) -> str | None:
    source = f.event["funding_declaration"]["source"]
    if la_funded(f, source):
        return (f"funding_declaration.source: a post funded through the LA ({source}) goes to "
                "the agency via the LA, which completes the funding declaration: use send_to_la")
    return None


def late_assessment_needs_reason(f: Facts) -> str | None:
    # The window's due date whether its timer is still pending or has already fired: an
    # assessment arranged after the window was reported missed needs its reason all the more.
    due = f.deadlines.get("assessment_window")
    if due and f.event["assessment_date"] > due and not f.event.get("delay_reason"):
        return (f"delay_reason: the assessment date {f.event['assessment_date']} is after the "
                f"six-week window ends on {due}; give a delay_reason")
    return None


def not_before_the_agency_had_it(f: Facts) -> str | None:
    received = f.done.get("agency_receive")
    if received and f.event["assessment_date"] < received:
        return (f"assessment_date: {f.event['assessment_date']} is before the agency received "
                f"the application ({received})")
    return None


def unmet_standards_are_assessed_at_this_stage(f: Facts) -> str | None:
    stage = f.case["career_stage"]
    allowed = set(standards.externally_assessed(stage, f.nation))
    outside = [c for c in f.event["unmet_standards"] if c not in allowed]
    if outside:
        where = "in Wales" if f.nation == "wales" else f"for a {stage} candidate"
        return f"unmet_standards: {', '.join(outside)} are not assessed externally {where}"
    return None


def once(trigger: str, what: str) -> Guard:
    def not_yet_done(f: Facts) -> str | None:
        if trigger in f.records:
            return f"the {what} was already sent on {f.done[trigger]}"
        return None
    not_yet_done.__name__ = f"{trigger}_once"
    return not_yet_done


def feedback_fits_the_judgement(f: Facts) -> str | None:
    feedback = f.event["feedback"]
    if "judge_not_met" in f.records and "review_certified" not in f.records:
        unmet = f.records["judge_not_met"]["unmet_standards"]
        missing = [c for c in unmet if not _feedback_on(c, feedback)]
        if missing:
            return (f"feedback: a not-met candidate gets feedback per unmet standard; "
                    f"missing {', '.join(missing)} (give one entry per standard, "
                    f"{{\"{missing[0]}\": \"...\"}}, or a text that names each, "
                    f"\"{missing[0]}: ...\")")
        return None
    # Section 3: feedback to a certified candidate is at most one side of A4; how many words
    # that is, is local policy (default 500).
    limit = int(f.policy["feedback_max_words"])
    text = feedback if isinstance(feedback, str) else " ".join(feedback.values())
    words = len(text.split())
    if words > limit:
        return (f"feedback: {words} words; feedback to a certified candidate is at most one side "
                f"of A4 (about {limit} words)")
    return None


def _feedback_on(code: str, feedback: str | Mapping[str, str]) -> bool:
    """Whether the feedback speaks to standard `code`: an entry of its own, or a text that names
    it (`E3: planning did not show progression. A2: ...`), as a letter would."""
    if isinstance(feedback, str):
        return re.search(rf"(?<![A-Za-z0-9]){re.escape(code)}(?![0-9])", feedback) is not None
    return code in feedback


def not_before_the_assessment_day(f: Facts) -> str | None:
    day = assessment_day(f)
    if f.effective_date < day:
        return (f"the judgement cannot take effect on {f.effective_date}, before the assessment "
                f"day {day}")
    return None


def within_review_window(f: Facts) -> str | None:
    # The window as it stood when the request was received: pending then, or since fired.
    due = f.deadlines.get("review_window")
    if due and f.effective_date > due:
        return (f"the review request was received on {f.effective_date}, after the 40 working "
                f"days that ended on {due}")
    return None


def not_while_under_review(f: Facts) -> str | None:
    if f.state == S.under_review.value:
        return ("the application is under review: withdraw the review case instead (the "
                "application then returns to not_met while the 40 working days are open, "
                "else it closes)")
    return None


def rescheduled(f: Facts) -> dict[str, Any]:
    """What a new assessment date replaces (recorded with the entry, since the case keeps the
    latest schedule only): the earlier date and assessor."""
    earlier = f.records.get("schedule_assessment")
    if not earlier:
        return {}
    # (The assessor's id and address only: the log's engine record cannot be erased.)
    return {"replaces": {"assessment_date": str(earlier["assessment_date"]),
                         "assessor": {"id": earlier["assessor"]["id"],
                                      "email": earlier["assessor"]["email"]}}}


def previous_application_is_the_candidates_assessed_one(f: Facts) -> str | None:
    previous = f.event.get("previous_application")
    if not previous:
        return None
    found = f.lookup(previous)
    if found is None or found.kind != "application":
        return f"previous_application: no application case {previous!r}"
    theirs = (found.data.get("candidate") or {}).get("email", "")
    if theirs.lower() != f.event["candidate"]["email"].lower():
        return (f"previous_application: {previous} is another candidate's application "
                f"({theirs}), not {f.event['candidate']['email']}'s")
    if "judge_met" not in found.records and "judge_not_met" not in found.records:
        return (f"previous_application: {previous} was never assessed ({found.state}): a "
                "re-application follows an assessed application")
    return None


def post_appointment_exists(f: Facts) -> str | None:
    """The post named is an appointment case still open: an assessment can only be accepted
    for an existing or agreed post (section 3), so not for one cancelled or vacated."""
    appointment = f.event["post"].get("appointment")
    if appointment:
        found = f.lookup(appointment)
        if found is None or found.kind != "appointment":
            return f"post.appointment: no appointment case {appointment!r}"
        if found.state in ("cancelled", "vacated"):
            return (f"post.appointment: the post {appointment} is {found.state}: an application "
                    "can only name an existing or agreed post")
    return None


# -- warnings: reported, recorded, never a refusal ------------------------------------------------

def early_reapplication(f: Facts) -> str | None:
    previous = f.event.get("previous_application")
    found = f.lookup(previous) if previous else None
    if found is None or "schedule_assessment" not in found.records:
        return None
    assessed = as_date(found.records["schedule_assessment"]["assessment_date"])
    weeks = int(f.policy["reapplication_weeks"])
    if f.effective_date < assessed + timedelta(weeks=weeks):
        return (f"early_reapplication: the previous assessment day was {assessed}, less than "
                f"{weeks} weeks (two terms) before {f.effective_date}")
    return None


def already_certified(f: Facts) -> str | None:
    """Section 3: a certified candidate can be considered for appointment without further
    assessment."""
    certified = f.cases_of_kind("application", S.certified.value, f.event["candidate"]["email"])
    if certified:
        return (f"already_certified: {f.event['candidate']['email']} holds a certificate "
                f"(application {certified[0].id}); a certified candidate can be appointed "
                "without further assessment")
    return None


# -- the process ----------------------------------------------------------------------------------

def the_headteacher(f: Facts) -> Mapping[str, Any] | None:
    return current_headteacher(f)


def the_assessor(f: Facts) -> Mapping[str, Any] | None:
    scheduled = f.records.get("schedule_assessment")
    return scheduled["assessor"] if scheduled else None


DUTY_MISSED_TO = (la_coordinator,)
AGENCY_DUTY_MISSED_TO = (la_coordinator, agency)
LETTERS = (S.certified, S.not_met)
# The letters stay owed after the case moves on (a review requested before the letter was sent,
# a judgement made final): the agency can still send them, and their timers still report.
LETTERS_OWED = (S.certified, S.under_review, S.closed_not_met)
OUTCOME_TO = (headteacher, post_school, la_coordinator_if_la_funded)
# Everyone the case has involved so far, copied on a withdrawal (the assessor must not travel).
WITHDRAWAL_COPIES = (headteacher, post_school_once_involved, la_coordinator_once_involved,
                     agency_once_submitted, assessor_scheduled)
DECISION_LETTER = (CancelTimers(("decision_letter",)), Notify("decision_letter", (candidate,)),
                   Notify("assessment_outcome", OUTCOME_TO, since=2))
SUBMITTED = (CancelTimers(("headteacher_deadline",)),)

PROCESS = Process(
    kind="application",
    case_prefix="app",
    states=ApplicationState,
    final=FINAL,
    timers=(
        Timer("headteacher_deadline", WorkingDays(20), effective_date,
              "the date the headteacher received the AST1 form", calendar="local",
              school=headteachers_school,
              duty="the headteacher's decision on the application", whose="headteacher",
              missed_to=DUTY_MISSED_TO),
        Timer("assessment_window", CalendarDays(42), effective_date,
              "the date the agency received the application", calendar="national",
              duty="the assessment, within six weeks of the agency receiving the application",
              whose="agency", missed_to=AGENCY_DUTY_MISSED_TO),
        Timer("decision_letter", WorkingDays(3), assessment_day, "the assessment day",
              calendar="national", duty="the decision letter to the candidate", whose="agency",
              missed_to=AGENCY_DUTY_MISSED_TO),
        Timer("written_feedback", WorkingDays(15), assessment_day, "the assessment day",
              calendar="national", duty="the written feedback to the candidate",
              whose="agency", missed_to=AGENCY_DUTY_MISSED_TO),
        Timer("review_window", WorkingDays(40), review_window_start,
              "the date of the decision letter (local policy review_window_from)",
              calendar="national"),
    ),
    parties=(
        Party("headteacher", the_headteacher, "the headteacher the application is with"),
        Party("assessor", the_assessor, "the assessor of the current schedule"),
    ),
    opening=Transition(
        "open", (), S.received, ("headteacher",), Opening, signed_by=("headteacher", "headteacher"),
        guards=(previous_application_is_the_candidates_assessed_one, post_appointment_exists),
        warnings=(early_reapplication, already_certified),
        effects=(StartTimer("headteacher_deadline"),
                 Notify("application_received", (candidate,)))),
    transitions=(
        Transition("reject", (S.received,), S.rejected, ("headteacher",), Reasons,
                   effects=(CancelTimers(("headteacher_deadline",)),
                            Notify("headteacher_rejection", (candidate,)))),
        Transition("decline_support", (S.received,), S.not_supported, ("headteacher",), Feedback,
                   effects=(CancelTimers(("headteacher_deadline",)),
                            Notify("headteacher_feedback", (candidate,)))),
        # The deadline runs on after support: it guards the form leaving the school.
        Transition("support", (S.received,), S.supported, ("headteacher",), Evaluation),
        Transition("forward_to_post_school", (S.supported,), S.awaiting_shortlist,
                   ("headteacher",), NoData, guards=(external_post,),
                   effects=(CancelTimers(("headteacher_deadline",)),
                            Notify("application_forwarded", (post_school,)))),
        Transition("shortlist", (S.awaiting_shortlist,), S.shortlisted,
                   ("post_school", "la_coordinator"), NoData),
        Transition("decline_shortlist", (S.awaiting_shortlist,), S.not_shortlisted,
                   ("post_school", "la_coordinator"), NoData,
                   effects=(Notify("not_shortlisted", (candidate,)),)),
        # The form leaves the school for the LA, which completes the funding declaration of a
        # post funded through it (section 3).
        Transition("send_to_la", (S.supported,), S.with_la, ("headteacher",), NoData,
                   guards=(internal_post,), effects=SUBMITTED),
        Transition("submit_to_agency", (S.supported,), S.submitted, ("headteacher",),
                   SubmitToAgency, guards=(internal_post, declared_source_matches_the_post,
                                           not_funded_through_the_la),
                   effects=SUBMITTED),
        Transition("submit_to_agency", (S.with_la,), S.submitted, ("la_coordinator",),
                   SubmitToAgency, guards=(declared_source_matches_the_post,),
                   effects=SUBMITTED),
        Transition("submit_to_agency", (S.shortlisted,), S.submitted,
                   ("la_coordinator", "post_school"), SubmitToAgency,
                   guards=(declared_source_matches_the_post,), effects=SUBMITTED),
        Transition("agency_receive", (S.submitted,), S.with_agency, ("agency",), NoData,
                   effects=(StartTimer("assessment_window"),
                            Notify("application_with_agency", (candidate, headteacher)))),
        Transition("schedule_assessment", (S.with_agency, S.assessment_scheduled),
                   S.assessment_scheduled, ("agency",), ScheduleAssessment,
                   guards=(not_before_the_agency_had_it, late_assessment_needs_reason),
                   derive=rescheduled,
                   effects=(Notify("assessment_arranged", (candidate, headteacher), until=2),
                            Notify("assessment_arranged",
                                   (candidate, headteacher, assessor_scheduled,
                                    assessor_replaced), since=3))),
        Transition("judge_met", (S.assessment_scheduled,), S.certified, ("assessor", "agency"),
                   NoData, guards=(not_before_the_assessment_day,),
                   effects=(CancelTimers(("assessment_window",)), StartTimer("decision_letter"),
                            StartTimer("written_feedback"))),
        Transition("judge_not_met", (S.assessment_scheduled,), S.not_met, ("assessor", "agency"),
                   UnmetStandards, guards=(not_before_the_assessment_day,
                                           unmet_standards_are_assessed_at_this_stage),
                   effects=(CancelTimers(("assessment_window",)), StartTimer("decision_letter"),
                            StartTimer("written_feedback"))),
        Transition("send_decision_letter", LETTERS_OWED, None, ("agency",), NoData,
                   guards=(once("send_decision_letter", "decision letter"),),
                   effects=DECISION_LETTER),
        Transition("send_decision_letter", (S.not_met,), None, ("agency",), NoData,
                   guards=(once("send_decision_letter", "decision letter"),),
                   effects=(*DECISION_LETTER, StartTimer("review_window"))),
        Transition("send_written_feedback", LETTERS + LETTERS_OWED[1:], None, ("agency",),
                   WrittenFeedback,
                   guards=(once("send_written_feedback", "written feedback"),
                           feedback_fits_the_judgement),
                   effects=(CancelTimers(("written_feedback",)),
                            Notify("written_feedback", (candidate, headteacher, post_school)))),
        # Any time before the letter is sent, or within its 40 working days; keyed in after
        # the window closed the case, it is judged as of its receipt (DOMAIN.md, "Late-keyed
        # events").
        Transition("request_review", (S.not_met,), S.under_review, ("candidate",), RequestReview,
                   guards=(within_review_window,),
                   effects=(CancelTimers(("review_window",)),
                            OpenLinked("review", review_opening))),
        Transition("review_certified", (S.under_review,), S.certified, ("system",), ReviewOutcome),
        Transition("review_upheld", (S.under_review,), S.closed_not_met, ("system",),
                   ReviewOutcome),
        # A review withdrawn (DOMAIN.md, review `withdraw`): back to not_met while the 40
        # working days are open, with a window ending on the same day; else the case closes.
        Transition("review_withdrawn", (S.under_review,), S.not_met, ("system",),
                   ReviewWithdrawn, route=window_still_open,
                   effects=(StartTimer("review_window", keep_due=window_as_it_was),)),
        Transition("review_withdrawn", (S.under_review,), S.not_met, ("system",),
                   ReviewWithdrawn, route=letter_not_sent),
        Transition("review_withdrawn", (S.under_review,), S.closed_not_met, ("system",),
                   ReviewWithdrawn, route=window_closed),
        # The candidate let the 40 working days pass: the judgement is final.
        Transition("timer:review_window", (S.not_met,), S.closed_not_met, ("system",), TimerFired),
        Transition("withdraw", every_state_but(ApplicationState, *FINAL), S.withdrawn,
                   ("candidate",), NoData, guards=(not_while_under_review,),
                   effects=(CancelTimers(), Notify("withdrawal_confirmed", (candidate,)),
                            Notify("withdrawal_confirmed", WITHDRAWAL_COPIES, since=3,
                                   copy=True))),
        # Another headteacher takes the application on (DOMAIN.md, "Parties bound to a case").
        Transition("change_headteacher", every_state_but(ApplicationState, *FINAL), None,
                   ("la_coordinator",), ChangeHeadteacher),
    ),
)
