"""A review of an assessment (Annex D of the 2009 guidance): a candidate judged not to meet the
standards asks for the judgement to be reviewed; an independent review officer certifies them or
lets the original judgement stand. Opened only by the application's `request_review`."""
from __future__ import annotations

from enum import Enum

from pydantic import Field

from typing import Any, Mapping

from states.application import Ground, Post, funding_of, window_after_review
from states.common import (Line, NoData, Official, Person, Text, candidate, effective_date,
                           headteacher, la_coordinator, post_school, review_coordinator)
from states.spec import (CancelTimers, Data, Facts, MoveLinked, Notify, Party, Process,
                         StartTimer, Timer, Transition, WorkingDays)


class ReviewState(Enum):
    requested = "requested"                      # the Review Co-ordinator has the request
    # Retired: no one may refuse a review (Annex D); kept so that a review refused before can
    # still be read and replayed.
    refused = "refused"
    assessor_commenting = "assessor_commenting"  # the original assessor is asked to comment
    with_review_officer = "with_review_officer"  # an independent review officer is deciding
    certified = "certified"                      # the review officer certifies the candidate
    original_stands = "original_stands"          # the review officer upholds the original judgement
    withdrawn = "withdrawn"                      # the candidate withdrew the request


S = ReviewState
FINAL = frozenset({S.refused, S.certified, S.original_stands, S.withdrawn})


class Opening(Data):
    application: Line = Field(description="Case id of the application whose assessment is "
                                          "reviewed")
    candidate: Person = Field(description="The candidate")
    headteacher: Person = Field(description="The candidate's headteacher")
    post: Post = Field(description="The post applied for")
    assessor: Official = Field(description="The assessor whose judgement is reviewed")
    grounds: list[Ground] = Field(min_length=1, description="The grounds for a review (at "
                                                            "least one)")
    explanation: Text = Field(description="Why the judgement should be reviewed")
    evidence: list[str] = Field([], description="The evidence the candidate offers for the "
                                                "grounds, one item each")


class Reasons(Data):
    reasons: Text = Field(description="The review officer's reasons for the decision")


class Comment(Data):
    comment: Text = Field(description="The original assessor's comment on the request for a "
                                      "review")


class AssignReviewOfficer(Data):
    review_officer: Official = Field(description="The review officer who will decide (not the "
                                                 "original assessor)")



def the_application(f: Facts) -> str:
    application: str = f.case["application"]
    return application


def assessor(f: Facts) -> str | None:
    email: str = f.case["assessor"]["email"]
    return email


def review_officer(f: Facts) -> str | None:
    email: str = f.event["review_officer"]["email"]
    return email


def not_the_original_assessor(f: Facts) -> str | None:
    if f.event["review_officer"]["id"] == f.case["assessor"]["id"]:
        return ("review_officer: the review officer must not be the original assessor "
                f"({f.case['assessor']['name']}, id {f.case['assessor']['id']})")
    return None


def the_original_assessor(f: Facts) -> Mapping[str, Any] | None:
    original: Mapping[str, Any] = f.case["assessor"]
    return original


def the_assigned_officer(f: Facts) -> Mapping[str, Any] | None:
    assigned = f.records.get("assign_review_officer")
    return assigned["review_officer"] if assigned else None


def la_coordinator_if_la_funded(f: Facts) -> str | None:
    """The LA co-ordinator, informed of the review's outcome when the LA funds the post applied
    for (as the application's `assessment_outcome` is sent)."""
    application = f.lookup(the_application(f))
    if application is None:
        return None
    source = funding_of(application.data, application.records, f.lookup)
    return la_coordinator(f) if source in f.policy["la_funded_sources"] else None


def application_after_withdrawal(f: Facts) -> dict[str, Any]:
    """Where withdrawing the review leaves its application, decided once as of the withdrawal
    and recorded with the entry: the notices say it, and the application's `review_withdrawn`
    is told it (states/application.py, window_after_review)."""
    application = f.lookup(the_application(f))
    if application is None:
        return {}
    window, due = window_after_review(application, f.deadlines_of(application.id),
                                      f.effective_date, f.policy, f.due_of)
    out: dict[str, Any] = {"application_state": "closed_not_met" if window == "closed"
                           else "not_met", "review_window": window}
    if due is not None:
        out["review_window_due"] = due.isoformat()
    return out


def withdrawn_review(f: Facts) -> dict[str, Any]:
    """The data of the application's `review_withdrawn` entry: which review, and the window as
    the review decided it."""
    out = {"review": f.case_id, "window": f.derived["review_window"]}
    if "review_window_due" in f.derived:
        out["review_window_due"] = f.derived["review_window_due"]
    return out


def comment_once(f: Facts) -> str | None:
    if "record_assessor_comment" in f.records:
        return ("the assessor's comment was already recorded on "
                f"{f.done['record_assessor_comment']}")
    return None


def this_review(f: Facts) -> dict[str, Any]:
    """The data of the entry a review's decision writes on its application: which review."""
    return {"review": f.case_id}


def decided(trigger: str) -> MoveLinked:
    """A review's end moves its application (`review_certified` or `review_upheld`)."""
    return MoveLinked(trigger, the_application, this_review)


# Edition 1-2: one decision letter, reasons and all, to everyone. Edition 3: the reasons go to
# the candidate and the assessor only; the others are told the decision (`review_outcome`),
# since the reasons may discuss an allegation of bias.
DECISION_TO_BEFORE = (candidate, assessor, headteacher, post_school)
DECISION_TO = (candidate, assessor)
OUTCOME_TO = (headteacher, post_school, la_coordinator_if_la_funded)
DECIDED_NOTICES = (Notify("review_decision", DECISION_TO_BEFORE, until=2),
                   Notify("review_decision", DECISION_TO, since=3),
                   Notify("review_outcome", OUTCOME_TO, since=3))
OPEN = (S.requested, S.assessor_commenting, S.with_review_officer)

PROCESS = Process(
    kind="review",
    case_prefix="rev",
    opened_by="its application's request_review",
    states=ReviewState,
    final=FINAL,
    timers=(
        Timer("review_decision", WorkingDays(40), effective_date,
              "the date the Review Co-ordinator received the request", calendar="national",
              duty="the review's decision (Annex D)", whose="review_coordinator",
              missed_to=(review_coordinator, la_coordinator)),
    ),
    parties=(
        Party("assessor", the_original_assessor, "the original assessor"),
        Party("review_officer", the_assigned_officer, "the review officer assigned"),
    ),
    opening=Transition(
        "open", (), S.requested, ("candidate",), Opening,
        effects=(StartTimer("review_decision"),
                 Notify("review_acknowledged", (candidate,)))),
    transitions=(
        # Retired (see ReviewState.refused): replayed, never fired.
        Transition("refuse", (S.requested,), S.refused, ("review_coordinator",), Reasons,
                   effects=(CancelTimers(), decided("review_upheld"),
                            Notify("review_refused", (candidate,))), retired=True),
        Transition("invite_assessor_comment", (S.requested,), S.assessor_commenting,
                   ("review_coordinator",), NoData,
                   effects=(Notify("assessor_comment_invited", (assessor,)),)),
        Transition("record_assessor_comment", (S.assessor_commenting,), None, ("assessor",),
                   Comment, guards=(comment_once,)),
        Transition("assign_review_officer", (S.assessor_commenting,), S.with_review_officer,
                   ("review_coordinator",), AssignReviewOfficer,
                   guards=(not_the_original_assessor,),
                   effects=(Notify("review_assigned", (review_officer,)),)),
        Transition("certify", (S.with_review_officer,), S.certified, ("review_officer",), Reasons,
                   effects=(CancelTimers(), decided("review_certified"), *DECIDED_NOTICES)),
        Transition("uphold", (S.with_review_officer,), S.original_stands, ("review_officer",),
                   Reasons,
                   effects=(CancelTimers(), decided("review_upheld"), *DECIDED_NOTICES)),
        # Edition 3: the application goes back to not_met while its window is open (it closed
        # with `review_upheld` before).
        Transition("withdraw", OPEN, S.withdrawn, ("candidate",), NoData,
                   derive=application_after_withdrawal,
                   effects=(CancelTimers(),
                            MoveLinked("review_withdrawn", the_application, withdrawn_review),
                            Notify("withdrawal_confirmed", (candidate,)),
                            Notify("review_outcome", (assessor, *OUTCOME_TO), since=3))),
    ),
)
