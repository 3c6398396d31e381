"""One Advanced Skills Teacher post (guidance section 2, section 3 "Appointments", section 4):
agreed, funded, advertised, filled by a certified candidate and notified to the agency on AST2;
vacated when the AST leaves it."""
from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any, Literal, Mapping

from pydantic import Field, model_validator

from states.application import FINAL as APPLICATION_FINAL, FundingSource
from states.common import Day, Email, Int, Line, NoData, Person, Text, added_later, agency, \
    as_date, effective_date, la_coordinator
from states.spec import (CancelTimers, Data, Facts, Notify, NotifyEach, OnTheDay, Process,
                         StartTimer, Timer, TimerFired, Transition, WorkingDays)


class AppointmentState(Enum):
    post_agreed = "post_agreed"          # the school (or LA) has agreed to create the post
    funding_secured = "funding_secured"  # whoever pays has committed the money
    advertised = "advertised"            # advertised internally or externally, open to applications
    shortlisting = "shortlisting"        # applications closed; the post school is choosing
    appointed = "appointed"              # a certified candidate is appointed; AST2 is owed to the agency
    ast2_submitted = "ast2_submitted"    # the agency has been told on form AST2; the LA to confirm funding
    filled = "filled"                    # the post is held (resting: it takes only give_notice and vacate)
    leaving = "leaving"                  # notice given: the AST holds it through the last day
    vacated = "vacated"                  # the AST left it (left, funding ended, reverted, moved post)
    cancelled = "cancelled"              # the post was withdrawn before it was filled


S = AppointmentState
FINAL = frozenset({S.vacated, S.cancelled})
# Posts that count against the LA's own limit: funded and not given up.
LIVE_POSTS = frozenset({S.funding_secured, S.advertised, S.shortlisting, S.appointed,
                        S.ast2_submitted, S.filled, S.leaving})
# Posts an AST holds: one at a time (a post being left is held through its last day).
HELD = frozenset({S.appointed, S.ast2_submitted, S.filled})


class PostSchool(Data):
    name: Line = Field(description="Name of the school")
    phase: Literal["primary", "secondary", "special"] = Field(description="The school's phase")
    email: Email | None = Field(None, description="Email address of the school's office")


class PayRange(Data):
    first_point: Int = Field(description="First point of the range on the AST pay spine")
    last_point: Int = Field(description="Last point of the range (four points above the first)")

    @model_validator(mode="after")
    def five_consecutive_points(self) -> "PayRange":
        if self.first_point < 1:
            raise ValueError(f"pay_range: spine points start at 1 (got {self.first_point})")
        if self.last_point - self.first_point != 4:
            raise ValueError("pay_range: an AST pay range is five consecutive spine points "
                             f"(got {self.first_point} to {self.last_point})")
        return self


class Opening(Data):
    school: PostSchool = Field(description="The school where the post is")
    la: Line = Field(description="The local authority")
    focus: Line = Field(description="The post's subject or focus")
    advertisement: Literal["internal", "external"] = Field(
        description="How the post is advertised: within the school or LA (internal), or "
                    "openly (external)")
    funding_source: FundingSource = Field(description="Where the post's funding comes from")
    pay_range: PayRange = Field(description="The post's pay range: five consecutive points on "
                                            "the AST pay spine")
    pay_area: Literal["national", "london_fringe", "outer_london", "inner_london"] | None = \
        added_later("The pay area (national, or one of London's three)")
    headteacher: Person = Field(description="The headteacher of the post school")


class Advertise(Data):
    closing_date: Day = Field(description="Closing date for applications")


class Certificate(Data):
    """A certificate held from another LA, or from before this engine: checked by a person."""
    agency_reference: Line = Field(description="The assessment agency's reference for the "
                                               "certificate")
    certified_on: Day = Field(description="Date the candidate was certified")
    checked_by: Line = Field(description="Name of the person who checked the certificate")


class Shortlisted(Data):
    candidate: Line = Field(description="The candidate's name")
    application: Line | None = added_later("Case id of the candidate's application (or give a "
                                           "certificate instead)")
    certificate: Certificate | None = added_later("A certificate held from elsewhere (instead "
                                                  "of an application)")

    @model_validator(mode="after")
    def one_way_in(self) -> "Shortlisted":
        if (self.application is None) == (self.certificate is None):
            raise ValueError("shortlist: each candidate comes with an application case or a "
                             "certificate held from elsewhere (one of the two)")
        return self


class CloseApplications(Data):
    shortlist: list[Shortlisted] = Field(
        min_length=1, description="The candidates shortlisted (at least one), each with an "
                                  "application or a certificate held from elsewhere")


class Appoint(Data):
    candidate: Line = Field(description="Name of the candidate appointed")
    email: Email | None = added_later("The appointee's email address (needed with a "
                                      "certificate from elsewhere)")
    certified_application: Line | None = added_later(
        "Case id of the appointee's certified application (or give a certificate instead)")
    certificate: Certificate | None = added_later("A certificate held from elsewhere (instead "
                                                  "of a certified application)")
    start_date: Day = Field(description="The day the AST starts in the post")
    spine_point: Int = Field(description="The point on the AST pay spine the AST is appointed "
                                         "on (within the post's pay range)")

    @model_validator(mode="after")
    def certified_one_way(self) -> "Appoint":
        if (self.certified_application is None) == (self.certificate is None):
            raise ValueError("certified_application: give the certified application case, or "
                             "a certificate held from elsewhere (one of the two)")
        if self.certificate is not None and self.email is None:
            raise ValueError("email: an appointee with a certificate from elsewhere is known "
                             "by their email address: give it")
        return self


LeavingReason = Literal["left", "funding_ended", "reverted", "moving_post"]


class Vacate(Data):
    reason: LeavingReason = Field(description="Why the post is vacated")


class GiveNotice(Data):
    # (the post is live through its last day)
    last_day: Day = Field(description="The AST's last day in the post")
    reason: LeavingReason = Field(description="Why the AST is leaving the post")


class Cancel(Data):
    reason: Text = Field(description="Why the post is cancelled")


# -- facts the rules read -------------------------------------------------------------------------

def la_funded(f: Facts) -> bool:
    """A post is funded through the LA when its source is one the LA holds (local policy)."""
    return f.case["funding_source"] in f.policy["la_funded_sources"]


def funder(f: Facts) -> tuple[str, ...]:
    """Whoever pays secures the funding: the LA co-ordinator for a post funded through the LA,
    the headteacher for the school's or group's own budget."""
    return ("la_coordinator",) if la_funded(f) else ("headteacher",)


def post_school_name(f: Facts) -> str:
    name: str = f.case["school"]["name"]
    return name


def appointee_email(f: Facts) -> str | None:
    """The appointee's address: as given with `appoint`, else their application's."""
    record = f.event if f.event.get("candidate") else f.records.get("appoint") or {}
    given: str | None = record.get("email")
    if given:
        return given
    found = f.lookup(record["certified_application"]) if record.get(
        "certified_application") else None
    return found.data["candidate"]["email"] if found else None


def appointee_recorded(f: Facts) -> dict[str, Any]:
    """What `appoint` records beside the data given: the appointee's address, so that the post
    is found under it (subject access, one live post per AST)."""
    return {"email": appointee_email(f)} if not f.event.get("email") else {}


def last_day(f: Facts) -> date:
    """The AST's last day in the post, as `give_notice` gave it."""
    return as_date(f.records["give_notice"]["last_day"])


def live_applications_naming(f: Facts) -> dict[str, Any]:
    """The applications still open that name this post, and the addresses to tell (recorded
    with the entry, so that replay addresses the same people whatever those cases became
    since; ids and addresses only, since the log's engine record cannot be erased)."""
    told = []
    for application in f.cases_of_kind("application"):
        if application.state in APPLICATION_FINAL_NAMES:
            continue   # (an erased case is final: its data reads `erased`)
        post = application.data.get("post")
        if not isinstance(post, Mapping) or post.get("appointment") != f.case_id:
            continue
        changed = application.records.get("change_headteacher")
        head = changed["headteacher"] if changed else application.data["headteacher"]
        told.append({"application": application.id, "state": application.state,
                     "candidate": application.data["candidate"]["email"],
                     "headteacher": head["email"]})
    return {"applications": told} if told else {}


def next_post(f: Facts) -> dict[str, Any]:
    """Another AST post the appointee is appointed to (moving post), recorded with the entry
    that vacates this one, and whether they stay on the AST spine: only when it starts on the
    next working day after this post's last day or earlier (DOMAIN.md, `post_ends`)."""
    appointed = f.records.get("appoint")
    if not appointed:
        return {}
    me = _identities(appointed, appointee_email(f))
    held = {s.value for s in HELD}
    last = as_date(f.records["give_notice"]["last_day"]) if "give_notice" in f.records \
        else f.effective_date
    for post in f.cases_of_kind("appointment"):
        if post.id == f.case_id or post.state not in held or "appoint" not in post.records:
            continue
        theirs = post.records["appoint"]
        if me & _identities(theirs, _email_of(f, theirs)):
            starts = as_date(theirs["start_date"])
            return {"next_post": {"id": post.id, "school": post.data["school"]["name"],
                                  "start_date": starts.isoformat(),
                                  "stays_on_spine": starts <= f.working_days_after(last, 1)}}
    return {}


def _email_of(f: Facts, appointed: Mapping[str, Any]) -> str | None:
    email = appointed.get("email")
    if not email and appointed.get("certified_application"):
        found = f.lookup(appointed["certified_application"])
        candidate = found.data.get("candidate") if found else None
        email = candidate.get("email") if isinstance(candidate, Mapping) else None
    return email


def about_candidate(item: Mapping[str, Any]) -> str | None:
    email: str | None = item["candidate"]
    return email


def about_headteacher(item: Mapping[str, Any]) -> str | None:
    email: str | None = item["headteacher"]
    return email


# -- guards ---------------------------------------------------------------------------------------

def pay_range_on_the_spine(f: Facts) -> str | None:
    top = int(f.policy["ast_spine_points"])
    pay = f.event["pay_range"]
    if pay["last_point"] > top:
        return (f"pay_range: the AST spine has {top} points (local policy ast_spine_points); "
                f"{pay['first_point']}-{pay['last_point']} goes beyond it")
    return None


def funded_posts_at(f: Facts, school: str) -> int:
    """The school's other live posts funded through the LA (this case's own not counted)."""
    live = {s.value for s in LIVE_POSTS}
    sources = f.policy["la_funded_sources"]
    return sum(1 for post in f.cases_of_kind("appointment")
               if post.id != f.case_id and post.state in live
               and post.data["school"]["name"] == school
               and post.data.get("funding_source") in sources)


def beyond_la_limit(f: Facts) -> str | None:
    """The LA's own limit on the posts it funds at one school (local policy; Annex E is one
    LA's example). Posts a school funds itself are not counted: schools may create posts
    freely (section 2)."""
    phase = f.case["school"]["phase"]
    if f.policy["la_limit"] == "off" or not la_funded(f) or phase not in ("primary", "secondary"):
        return None
    limit = int(f.policy[f"la_limit_{phase}"])
    posts = funded_posts_at(f, post_school_name(f)) + 1
    if posts > limit:
        return (f"la_limit: this would be post {posts} funded through the LA at "
                f"{post_school_name(f)}; the LA's policy funds at most {limit} at a {phase} "
                "school")
    return None


def refuse_beyond_la_limit(f: Facts) -> str | None:
    return beyond_la_limit(f) if f.policy["la_limit"] == "refuse" else None


def warn_beyond_la_limit(f: Facts) -> str | None:
    return beyond_la_limit(f) if f.policy["la_limit"] == "warn" else None


# An application that can no longer be certified (a certified one is in the running).
CLOSED_APPLICATIONS = frozenset(s.value for s in APPLICATION_FINAL) - {"certified"}
APPLICATION_FINAL_NAMES = frozenset(s.value for s in APPLICATION_FINAL)


def last_day_not_past(f: Facts) -> str | None:
    if f.event["last_day"] < f.effective_date:
        return (f"last_day: {f.event['last_day']} is before the notice was given "
                f"({f.effective_date})")
    return None


def shortlist_is_in_the_running(f: Facts) -> str | None:
    for entry in f.event["shortlist"]:
        if entry.get("application") is None:
            continue   # a certificate from elsewhere, checked by the person named
        found = f.lookup(entry["application"])
        if found is None or found.kind != "application":
            return f"shortlist: no application case {entry['application']!r} ({entry['candidate']})"
        if found.state in CLOSED_APPLICATIONS:
            return (f"shortlist: {entry['candidate']}'s application {found.id} is {found.state}; "
                    "only certified candidates, applications in progress or certificates held "
                    "from elsewhere can be shortlisted")
    return None


def after_the_closing_date(f: Facts) -> str | None:
    closing = date.fromisoformat(f.records["advertise"]["closing_date"])
    if f.effective_date < closing:
        return f"applications close on {closing}: the shortlist is drawn up after that"
    return None


def appointee_was_shortlisted(f: Facts) -> str | None:
    shortlist = f.records["close_applications"]["shortlist"]
    chosen = f.event.get("certified_application")
    if chosen:
        names = {e["application"]: e["candidate"] for e in shortlist if e.get("application")}
        if chosen not in names:
            return (f"certified_application: {chosen} is not on the shortlist "
                    f"({', '.join(f'{n} ({a})' for a, n in names.items())})")
        found = f.lookup(chosen)
        if found is not None and found.data["candidate"]["name"] != f.event["candidate"]:
            return (f"candidate: {f.event['candidate']!r} is not the candidate of {chosen} "
                    f"({found.data['candidate']['name']!r})")
        return None
    reference = f.event["certificate"]["agency_reference"]
    listed = {(e.get("certificate") or {}).get("agency_reference") for e in shortlist}
    if reference not in listed:
        return f"certificate: {reference} is not on the shortlist"
    return None


def starts_in_the_past(f: Facts) -> str | None:
    if f.event["start_date"] < f.effective_date:
        return (f"start_date: {f.event['start_date']} is before the appointment was made "
                f"({f.effective_date})")
    return None


def appointee_is_certified(f: Facts) -> str | None:
    """No one goes on the AST spine before passing the assessment: a certified application in
    this engine, or a certificate from elsewhere that a person checked."""
    chosen = f.event.get("certified_application")
    if not chosen:
        return None
    found = f.lookup(chosen)
    if found is None or found.kind != "application":
        return f"certified_application: no application case {chosen!r}"
    if found.state != "certified":
        return (f"certified_application: {found.id} is {found.state}, not certified: no one goes "
                "on the AST spine before passing the assessment")
    given = f.event.get("email")
    if given and given.lower() != found.data["candidate"]["email"].lower():
        return (f"email: {given} is not the address of {found.id}'s candidate "
                f"({found.data['candidate']['email']})")
    return None


def one_live_post_each(f: Facts) -> str | None:
    """An AST holds one post at a time: another live post held by the same candidate (the
    same application, certificate or address) refuses the appointment until it is vacated,
    or, for a post being left (`leaving`), unless its last day is before this post starts
    (an AST moving post is appointed ahead)."""
    me = _identities(f.event, appointee_email(f))
    held = {s.value for s in HELD}
    starts = f.event["start_date"]
    for post in f.cases_of_kind("appointment"):
        if post.id == f.case_id or "appoint" not in post.records:
            continue
        leaving = post.state == S.leaving.value
        if post.state not in held and not leaving:
            continue
        theirs = post.records["appoint"]
        if not me & _identities(theirs, _email_of(f, theirs)):
            continue
        if leaving:
            ends = as_date(post.records["give_notice"]["last_day"])
            if ends < starts:
                continue
            return (f"{f.event['candidate']} holds post {post.id} until {ends} (notice given), "
                    f"not before this post starts on {starts}: an AST holds one post at a "
                    "time; start the new post after the old one's last day")
        return (f"{f.event['candidate']} already holds post {post.id} ({post.state}): an "
                "AST holds one post at a time; give notice on that post (give_notice, with "
                "its last day) or vacate it first")
    return None


def _identities(appointed: Mapping[str, Any], email: str | None) -> set[tuple[str, str]]:
    """What names an appointee: their application, certificate reference and address."""
    found = {("application", appointed.get("certified_application")),
             ("certificate", (appointed.get("certificate") or {}).get("agency_reference")),
             ("email", (email or "").lower() or None)}
    return {(kind, value) for kind, value in found if value}


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


VACATED_TO = (agency, la_coordinator, appointee_email)

PROCESS = Process(
    kind="appointment",
    case_prefix="apt",
    states=AppointmentState,
    final=FINAL,
    timers=(
        Timer("ast2_notification", WorkingDays(policy="ast2_working_days"), effective_date,
              "the date of the appointment", calendar="local", school=post_school_name,
              duty="the AST2 notification of the appointment to the agency", whose="post_school",
              missed_to=(la_coordinator,)),
        Timer("post_ends", OnTheDay(), last_day, "the AST's last day in the post",
              calendar="national"),
    ),
    resting=frozenset({S.filled}),
    opening=Transition("open", (), S.post_agreed, ("headteacher", "la_coordinator"), Opening,
                       guards=(pay_range_on_the_spine,)),
    transitions=(
        Transition("secure_funding", (S.post_agreed,), S.funding_secured, funder, NoData,
                   guards=(refuse_beyond_la_limit,), warnings=(warn_beyond_la_limit,)),
        Transition("advertise", (S.funding_secured,), S.advertised,
                   ("headteacher", "la_coordinator"), Advertise),
        Transition("close_applications", (S.advertised,), S.shortlisting, ("post_school",),
                   CloseApplications, guards=(after_the_closing_date, shortlist_is_in_the_running)),
        Transition("appoint", (S.shortlisting,), S.appointed, ("post_school",), Appoint,
                   guards=(appointee_is_certified, appointee_was_shortlisted, one_live_post_each,
                           spine_point_in_range),
                   warnings=(starts_on_first_point, starts_in_the_past),
                   derive=appointee_recorded,
                   effects=(StartTimer("ast2_notification"),
                            Notify("appointment_confirmed", (appointee_email,)))),
        # The LA confirms the funding of a post funded through it; a post the school pays for is
        # filled once the agency is told.
        Transition("submit_ast2", (S.appointed,), S.ast2_submitted, ("post_school", "headteacher"),
                   NoData, route=la_funded,
                   effects=(CancelTimers(("ast2_notification",)),
                            Notify("ast2_form", (agency, la_coordinator)))),
        Transition("submit_ast2", (S.appointed,), S.filled, ("post_school", "headteacher"),
                   NoData, route=lambda f: not la_funded(f),
                   effects=(CancelTimers(("ast2_notification",)),
                            Notify("ast2_form", (agency, la_coordinator)))),
        Transition("confirm_funding", (S.ast2_submitted,), S.filled, ("la_coordinator",), NoData),
        # The AST is leaving (section 4: the agency's national database is told): the post is
        # live through the last day, then `post_ends` vacates it.
        Transition("give_notice", (S.appointed, S.ast2_submitted, S.filled), S.leaving,
                   ("post_school", "la_coordinator"), GiveNotice, guards=(last_day_not_past,),
                   effects=(StartTimer("post_ends"),
                            Notify("post_ending", (agency, la_coordinator)))),
        Transition("timer:post_ends", (S.leaving,), S.vacated, ("system",), TimerFired,
                   derive=next_post,
                   effects=(CancelTimers(), Notify("post_vacated", VACATED_TO))),
        Transition("vacate", (S.appointed, S.ast2_submitted, S.filled, S.leaving), S.vacated,
                   ("post_school", "la_coordinator"), Vacate, derive=next_post,
                   effects=(CancelTimers(), Notify("post_vacated", VACATED_TO, since=3))),
        # Any state not final (DOMAIN.md) but `filled`, which takes only give_notice and vacate.
        Transition("cancel", (S.post_agreed, S.funding_secured, S.advertised, S.shortlisting,
                              S.appointed, S.ast2_submitted, S.leaving), S.cancelled,
                   ("headteacher", "la_coordinator"), Cancel, derive=live_applications_naming,
                   effects=(CancelTimers(), Notify("post_cancelled", (la_coordinator,), since=3),
                            NotifyEach("post_cancelled", (), since=3, each="applications",
                                       to_each=(about_candidate, about_headteacher)))),
    ),
)
