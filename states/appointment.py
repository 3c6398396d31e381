"""One Advanced Skills Teacher post (guidance section 2, section 3 "Appointments", section 4):
agreed, funded, advertised, filled by a certified candidate and notified to the agency on AST2."""
from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Literal

from pydantic import Field, model_validator

from states.application import FINAL as APPLICATION_FINAL, LA_FUNDED
from states.common import Day, Email, Int, NoData, Person, Text, agency, effective_date, \
    la_coordinator
from states.spec import (CancelTimers, Data, Facts, Notify, Process, StartTimer, Timer,
                         Transition, WorkingDays, every_state_but)


class AppointmentState(Enum):
    post_agreed = "post_agreed"          # the school (or LA) has agreed to create the post
    funding_secured = "funding_secured"  # whoever pays has committed the money
    advertised = "advertised"            # advertised internally or externally, open to applications
    shortlisting = "shortlisting"        # applications closed; the post school is choosing
    appointed = "appointed"              # a certified candidate is appointed; AST2 is owed to the agency
    ast2_submitted = "ast2_submitted"    # the agency has been told on form AST2
    filled = "filled"                    # the LA confirmed the funding: the post is filled
    cancelled = "cancelled"              # the post was withdrawn


S = AppointmentState
FINAL = frozenset({S.filled, S.cancelled})
# The posts that count against the LA's Annex E limits: funded and not given up.
LIVE_POSTS = frozenset({S.funding_secured, S.advertised, S.shortlisting, S.appointed,
                        S.ast2_submitted, S.filled})
SPINE = range(1, 19)   # the AST pay spine, points 1 to 18



class PostSchool(Data):
    name: Text
    phase: Literal["primary", "secondary", "special"]
    email: Email | None = None


class PayRange(Data):
    first_point: Int
    last_point: Int

    @model_validator(mode="after")
    def five_consecutive_points(self):
        if self.first_point not in SPINE or self.last_point not in SPINE:
            raise ValueError("pay_range: points lie on the AST spine, 1 to 18")
        if self.last_point - self.first_point != 4:
            raise ValueError("pay_range: an AST pay range is five consecutive spine points "
                             f"(got {self.first_point} to {self.last_point})")
        return self


class Opening(Data):
    school: PostSchool
    la: Text
    focus: Text
    advertisement: Literal["internal", "external"]
    funding_source: Literal["school_development_grant", "school", "group", "local_formula"]
    pay_range: PayRange
    headteacher: Person


class Advertise(Data):
    closing_date: Day


class Shortlisted(Data):
    candidate: Text
    application: Text


class CloseApplications(Data):
    shortlist: list[Shortlisted] = Field(min_length=1)


class Appoint(Data):
    candidate: Text
    certified_application: Text
    start_date: Day
    spine_point: Int


class Cancel(Data):
    reason: Text



def funder(f: Facts) -> tuple[str, ...]:
    """Whoever pays secures the funding: the LA co-ordinator for LA-held money, the headteacher
    for the school's or group's own budget."""
    return ("la_coordinator",) if f.case["funding_source"] in LA_FUNDED else ("headteacher",)


def within_la_limits(f: Facts) -> str | None:
    # Annex E (local policy): how many ASTs one school is generally supported to have.
    phase = f.case["school"]["phase"]
    if phase not in ("primary", "secondary"):
        return None
    limit = int(f.policy[f"la_limit_{phase}"])
    posts = funded_posts_at(f, f.case["school"]["name"]) + 1
    if posts > limit:
        return (f"la_limits: this would be AST post {posts} at {f.case['school']['name']}; LA "
                f"policy (Annex E) supports at most {limit} at a {f.case['school']['phase']} school")
    return None


def funded_posts_at(f: Facts, school: str) -> int:
    """The other live posts at `school` (this case's own not counted)."""
    live = {s.value for s in LIVE_POSTS}
    return sum(1 for post in f.cases_of_kind("appointment")
               if post.id != f.case_id and post.state in live
               and post.data["school"]["name"] == school)


def refuse_beyond_la_limits(f: Facts) -> str | None:
    return within_la_limits(f) if f.policy["la_limits"] == "refuse" else None


def warn_beyond_la_limits(f: Facts) -> str | None:
    return within_la_limits(f) if f.policy["la_limits"] != "refuse" else None


def shortlist_is_in_the_running(f: Facts) -> str | None:
    for entry in f.event["shortlist"]:
        found = f.lookup(entry["application"])
        if found is None or found.kind != "application":
            return f"shortlist: no application case {entry['application']!r} ({entry['candidate']})"
        if found.state in CLOSED_APPLICATIONS:
            return (f"shortlist: {entry['candidate']}'s application {found.id} is {found.state}; "
                    "only certified candidates or applications in progress can be shortlisted")
    return None


# An application that can no longer be certified (a certified one is in the running).
CLOSED_APPLICATIONS = frozenset(s.value for s in APPLICATION_FINAL) - {"certified"}


def after_the_closing_date(f: Facts) -> str | None:
    closing = date.fromisoformat(f.records["advertise"]["closing_date"])
    if f.effective_date < closing:
        return f"applications close on {closing}: the shortlist is drawn up after that"
    return None


def appointee_was_shortlisted(f: Facts) -> str | None:
    shortlist = f.records["close_applications"]["shortlist"]
    names = {e["application"]: e["candidate"] for e in shortlist}
    chosen = f.event["certified_application"]
    if chosen not in names:
        return (f"certified_application: {chosen} is not on the shortlist "
                f"({', '.join(f'{n} ({a})' for a, n in names.items())})")
    found = f.lookup(chosen)
    if found is not None and found.data["candidate"]["name"] != f.event["candidate"]:
        return (f"candidate: {f.event['candidate']!r} is not the candidate of {chosen} "
                f"({found.data['candidate']['name']!r})")
    return None


def starts_in_the_past(f: Facts) -> str | None:
    if f.event["start_date"] < f.effective_date:
        return (f"start_date: {f.event['start_date']} is before the appointment was made "
                f"({f.effective_date})")
    return None


def appointee_is_certified(f: Facts) -> str | None:
    found = f.lookup(f.event["certified_application"])
    if found is None or found.kind != "application":
        return f"certified_application: no application case {f.event['certified_application']!r}"
    if found.state != "certified":
        return (f"certified_application: {found.id} is {found.state}, not certified: no one goes "
                "on the AST spine before passing the assessment")
    return None


def spine_point_in_range(f: Facts) -> str | None:
    pay = f.case["pay_range"]
    if not pay["first_point"] <= f.event["spine_point"] <= pay["last_point"]:
        return (f"spine_point: {f.event['spine_point']} is outside the post's pay range "
                f"{pay['first_point']}-{pay['last_point']}")
    return None


def starts_on_first_point(f: Facts) -> str | None:
    first = f.case["pay_range"]["first_point"]
    if f.event["spine_point"] != first:
        return (f"spine_point: appointed on point {f.event['spine_point']}, not the range's first "
                f"point {first} (section 4 expects the first point unless the school says why)")
    return None


def appointee(f: Facts) -> str | None:
    chosen = f.event.get("certified_application") or \
        f.records["appoint"]["certified_application"]
    found = f.lookup(chosen)
    return found.data["candidate"]["email"] if found else None


def next_funding_stream(f: Facts) -> dict:
    """LA-funded posts are paid in the next of the four funding streams (May, September,
    December, March)."""
    if f.case["funding_source"] not in LA_FUNDED:
        return {}
    d = f.effective_date
    for year in (d.year, d.year + 1):
        for month in (3, 5, 9, 12):
            if (year, month) > (d.year, d.month):
                return {"funding_stream": f"{year}-{month:02d}"}
    raise AssertionError("unreachable")


PROCESS = Process(
    kind="appointment",
    case_prefix="apt",
    states=AppointmentState,
    final=FINAL,
    timers=(
        Timer("ast2_notification", WorkingDays(policy="ast2_working_days"), effective_date,
              "the date of the appointment", calendar="local",
              duty="the AST2 notification of the appointment to the agency", whose="post_school",
              missed_to=(la_coordinator,)),
    ),
    opening=Transition("open", (), S.post_agreed, ("headteacher", "la_coordinator"), Opening),
    transitions=(
        Transition("secure_funding", (S.post_agreed,), S.funding_secured, funder, NoData,
                   guards=(refuse_beyond_la_limits,), warnings=(warn_beyond_la_limits,)),
        Transition("advertise", (S.funding_secured,), S.advertised,
                   ("headteacher", "la_coordinator"), Advertise),
        Transition("close_applications", (S.advertised,), S.shortlisting, ("post_school",),
                   CloseApplications, guards=(after_the_closing_date, shortlist_is_in_the_running)),
        Transition("appoint", (S.shortlisting,), S.appointed, ("post_school",), Appoint,
                   guards=(appointee_is_certified, appointee_was_shortlisted,
                           spine_point_in_range),
                   warnings=(starts_on_first_point, starts_in_the_past),
                   effects=(StartTimer("ast2_notification"),
                            Notify("appointment_confirmed", (appointee,)))),
        Transition("submit_ast2", (S.appointed,), S.ast2_submitted,
                   ("post_school", "headteacher"), NoData,
                   effects=(CancelTimers(("ast2_notification",)),
                            Notify("ast2_form", (agency, la_coordinator)))),
        Transition("confirm_funding", (S.ast2_submitted,), S.filled, ("la_coordinator",), NoData,
                   derive=next_funding_stream),
        Transition("cancel", every_state_but(AppointmentState, *FINAL), S.cancelled,
                   ("headteacher", "la_coordinator"), Cancel, effects=(CancelTimers(),)),
    ),
)
