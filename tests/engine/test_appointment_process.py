"""One AST post (DOMAIN.md section 3): agreed, funded within the LA's limits, advertised,
shortlisted, filled by a certified candidate, notified to the agency on AST2 and confirmed.

Dates used throughout: the certified candidate (tests/builders.py) was assessed on 2027-02-10;
the post is agreed on Mon 2027-03-01, funded on 03-02, advertised on 03-03 (closing 03-12),
applications close on Fri 03-12 and the appointment is made on Mon 2027-03-15.

ast2_notification = 10 working days after Mon 2027-03-15 (England, no closure days):
  Mar 16-19 (4), 22-25 (8); Fri 26 Mar is Good Friday, Mon 29 Mar Easter Monday; 30 (9), 31 (10)
  -> due Wed 2027-03-31. It fires at 00:00 Europe/London on Thu 2027-04-01, which is BST
  (clocks went forward on Sun 2027-03-28): 2027-03-31T23:00:00+00:00.
With policy.ast2_working_days = 5: Mar 16-19 (4), 22 (5) -> due Mon 2027-03-22, firing at
00:00 GMT on Tue 2027-03-23: 2027-03-23T00:00:00+00:00.
"""
from __future__ import annotations

import json

import pytest

from tests.builders import HEADTEACHER, Driver, appointment_data, recipients, refused
from workflows.core.config import Config
from workflows.engine import Engine
from workflows.core.errors import (GuardFailedError, InvalidDataError, NotAllowedInStateError,
                              RoleNotAllowedError)

HEAD = "headteacher:v.vale"
LA = "la_coordinator:lac"
POST_SCHOOL = "post_school:vale"
CANDIDATE_EMAIL = "ann.lee@hill.example.org"
AGENCY_EMAIL = "ast.assessment@agency.example.org"
LA_COORDINATOR_EMAIL = "ast.coordinator@la.example.org"

AST2_DUE = "2027-03-31"
AST2_FIRES_AT = "2027-03-31T23:00:00+00:00"
NON_FINAL = ("post_agreed", "funding_secured", "advertised", "shortlisting", "appointed",
             "ast2_submitted", "leaving")
PRIMARY = {"name": "Brook Primary School", "phase": "primary", "email": "office@brook.example.org"}
SPECIAL = {"name": "Oak Special School", "phase": "special", "email": "office@oak.example.org"}
LA_FUNDED = {"funding_source": "school_development_grant"}


# -- helpers ----------------------------------------------------------------------------------

def driver_with(db, clock, **config) -> Driver:
    return Driver(Engine(db, Config(**config), clock=clock), clock)


def data_of(driver: Driver, case: str) -> dict:
    """What the case was opened with."""
    return json.loads(driver.rows("SELECT data FROM cases WHERE id = :id", id=case)[0].data)


def record_of(driver: Driver, case: str, trigger: str) -> dict:
    """What `trigger` recorded on the case: its data, effective date and the engine's part."""
    return json.loads(driver.rows("SELECT records FROM cases WHERE id = :id",
                                  id=case)[0].records)[trigger]


def open_post(driver: Driver, at: str = "2027-03-01", actor: str = HEAD, **changes) -> str:
    return driver.open("appointment", appointment_data(**changes), actor=actor, at=at).case


def funder_of(changes: dict) -> str:
    la_funded = ("school_development_grant", "local_formula")
    return LA if changes.get("funding_source") in la_funded else HEAD


def to_funded(driver: Driver, at: str = "2027-03-02", **changes) -> str:
    post = open_post(driver, **changes)
    driver.fire(post, "secure_funding", funder_of(changes), at=at)
    return post


def to_advertised(driver: Driver, **changes) -> str:
    post = to_funded(driver, **changes)
    driver.fire(post, "advertise", HEAD, {"closing_date": "2027-03-12"}, at="2027-03-03")
    return post


def to_shortlisting(driver: Driver, application: str | None = None, **changes
                    ) -> tuple[str, str]:
    application = application or driver.to_certified()
    post = to_advertised(driver, **changes)
    driver.fire(post, "close_applications", POST_SCHOOL,
                {"shortlist": [{"candidate": "Ann Lee", "application": application}]},
                at="2027-03-12")
    return post, application


def appoint(driver: Driver, post: str, application: str, spine_point: int = 5,
            at: str = "2027-03-15"):
    return driver.fire(post, "appoint", POST_SCHOOL,
                       {"candidate": "Ann Lee", "certified_application": application,
                        "start_date": "2027-04-19", "spine_point": spine_point}, at=at)


def to_appointed(driver: Driver, **changes) -> tuple[str, str]:
    post, application = to_shortlisting(driver, **changes)
    appoint(driver, post, application)
    return post, application


def to_ast2_submitted(driver: Driver, **changes) -> str:
    """A post funded through the LA, its AST2 sent: the LA is to confirm the funding."""
    changes.setdefault("funding_source", "school_development_grant")
    post, _ = to_appointed(driver, **changes)
    driver.fire(post, "submit_ast2", POST_SCHOOL, at="2027-03-19")
    return post


def to_state(driver: Driver, state: str) -> str:
    walks = {"post_agreed": lambda: open_post(driver),
             "funding_secured": lambda: to_funded(driver),
             "advertised": lambda: to_advertised(driver),
             "shortlisting": lambda: to_shortlisting(driver)[0],
             "appointed": lambda: to_appointed(driver)[0],
             "ast2_submitted": lambda: to_ast2_submitted(driver),
             "leaving": lambda: to_leaving(driver)}
    post = walks[state]()
    assert driver.state(post) == state
    return post


def to_leaving(driver: Driver) -> str:
    post, _ = to_appointed(driver)
    driver.fire(post, "give_notice", POST_SCHOOL, {"last_day": "2027-08-31", "reason": "left"},
                at="2027-03-19")
    return post


def fired_on(outcomes, case: str) -> list:
    return [o for o in outcomes if o.case == case]


# -- opening -----------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", [HEAD, LA])
def test_the_headteacher_or_the_la_coordinator_agrees_a_post(driver: Driver, actor):
    outcome = driver.open("appointment", appointment_data(), actor=actor, at="2027-03-01")
    assert (outcome.kind, outcome.state, outcome.version) == ("appointment", "post_agreed", 1)
    assert outcome.case.startswith("apt-")
    entry = driver.log(outcome.case)[0]
    assert (entry.trigger, entry.dest, entry.actor) == ("open", "post_agreed", actor)
    assert driver.timers(outcome.case) == {}
    assert driver.notices(outcome.case) == []


@pytest.mark.parametrize("for_", [HEAD, LA])
def test_an_operator_keys_in_a_post_for_the_headteacher_or_la_coordinator(driver: Driver, for_):
    post = driver.open("appointment", appointment_data(), actor="operator:it1", at="2027-03-01",
                       for_=for_).case
    entry = driver.log(post)[0]
    assert (entry.actor, entry.on_behalf_of) == ("operator:it1", for_)


@pytest.mark.parametrize("actor, for_, message", [
    (POST_SCHOOL, None, "role post_school may not open"),
    ("candidate:ann", None, "role candidate may not open"),
    ("operator:it1", None, "name them with --for"),
    ("operator:it1", POST_SCHOOL, "role post_school may not open"),
    ("operator:it1", "system:x", "operator may not act for system"),
])
def test_nobody_else_opens_a_post(driver: Driver, actor, for_, message):
    with refused(driver, RoleNotAllowedError, message):
        driver.open("appointment", appointment_data(), actor=actor, at="2027-03-01", for_=for_)


@pytest.mark.parametrize("first, last", [(1, 5), (14, 18), (7, 11)])
def test_a_pay_range_of_five_consecutive_spine_points_is_accepted(driver: Driver, first, last):
    post = open_post(driver, pay_range={"first_point": first, "last_point": last})
    assert data_of(driver, post)["pay_range"] == {"first_point": first, "last_point": last}


@pytest.mark.parametrize("pay_range, message", [
    ({"first_point": 5, "last_point": 8}, "five consecutive spine points"),
    ({"first_point": 5, "last_point": 10}, "five consecutive spine points"),
    ({"first_point": 9, "last_point": 5}, "five consecutive spine points"),
    ({"first_point": 0, "last_point": 4}, "spine points start at 1"),
    ({"first_point": 5}, "last_point"),
    (None, "pay_range"),
])
def test_a_pay_range_that_is_not_five_points_on_the_spine_is_refused(
        driver: Driver, pay_range, message):
    data = appointment_data(pay_range=pay_range)
    if pay_range is None:
        del data["pay_range"]
    with refused(driver, InvalidDataError, message) as caught:
        driver.open("appointment", data, actor=HEAD, at="2027-03-01")
    assert "pay_range" in str(caught.value)
    assert caught.value.field.startswith("pay_range")


@pytest.mark.parametrize("changes, field", [
    ({"school": {"name": "Vale", "phase": "nursery"}}, "school.phase"),
    ({"funding_source": "lottery"}, "funding_source"),
    ({"advertisement": "word_of_mouth"}, "advertisement"),
    ({"focus": "  "}, "focus"),
])
def test_phase_funding_source_and_advertisement_are_validated(driver: Driver, changes, field):
    with refused(driver, InvalidDataError, field) as caught:
        driver.open("appointment", appointment_data(**changes), actor=HEAD, at="2027-03-01")
    assert caught.value.field == field


# -- funding and the LA's own limit (local policy la_limit; Annex E is one LA's example) ---------

@pytest.mark.parametrize("source", ["school", "group"])
def test_the_headteacher_secures_a_post_the_school_or_group_funds(driver: Driver, source):
    post = open_post(driver, funding_source=source)
    with refused(driver, RoleNotAllowedError, "allowed: headteacher"):
        driver.fire(post, "secure_funding", LA, at="2027-03-02")
    outcome = driver.fire(post, "secure_funding", HEAD, at="2027-03-02")
    assert (outcome.state, outcome.warnings) == ("funding_secured", [])


@pytest.mark.parametrize("source", ["school_development_grant", "local_formula"])
def test_the_la_coordinator_secures_a_post_funded_through_the_la(driver: Driver, source):
    post = open_post(driver, funding_source=source)
    with refused(driver, RoleNotAllowedError, "allowed: la_coordinator"):
        driver.fire(post, "secure_funding", HEAD, at="2027-03-02")
    assert driver.fire(post, "secure_funding", LA, at="2027-03-02").state == "funding_secured"


def test_which_sources_are_funded_through_the_la_is_local_policy(db, clock):
    driver = driver_with(db, clock, policy={"la_funded_sources": ["school_development_grant"]})
    post = open_post(driver, funding_source="local_formula")
    assert driver.fire(post, "secure_funding", HEAD, at="2027-03-02").state == "funding_secured"


def test_the_la_limit_is_off_by_default(driver: Driver):
    to_funded(driver, school=PRIMARY, **LA_FUNDED)
    second = open_post(driver, school=PRIMARY, **LA_FUNDED)
    outcome = driver.fire(second, "secure_funding", LA, at="2027-03-02")
    assert (outcome.state, outcome.warnings) == ("funding_secured", [])


def test_a_second_la_funded_post_at_a_primary_school_is_a_warning_when_the_la_warns(db, clock):
    driver = driver_with(db, clock, policy={"la_limit": "warn"})
    to_funded(driver, school=PRIMARY, **LA_FUNDED)
    second = open_post(driver, school=PRIMARY, **LA_FUNDED)
    outcome = driver.fire(second, "secure_funding", LA, at="2027-03-02")
    assert outcome.state == "funding_secured"
    assert len(outcome.warnings) == 1
    assert outcome.warnings[0].startswith(
        "la_limit: this would be post 2 funded through the LA at Brook Primary School")
    assert "at most 1 at a primary school" in outcome.warnings[0]
    assert json.loads(driver.log(second)[-1].engine)["warnings"] == outcome.warnings


def test_a_second_la_funded_primary_post_is_refused_when_the_la_refuses(db, clock):
    driver = driver_with(db, clock, policy={"la_limit": "refuse"})
    first = to_funded(driver, school=PRIMARY, **LA_FUNDED)
    assert driver.state(first) == "funding_secured"
    second = open_post(driver, school=PRIMARY, **LA_FUNDED)
    with refused(driver, GuardFailedError, "la_limit: this would be post 2 funded through the "
                                           "LA at Brook Primary School"):
        driver.fire(second, "secure_funding", LA, at="2027-03-02")
    assert driver.state(second) == "post_agreed"


@pytest.mark.parametrize("source", ["school", "group"])
def test_posts_a_school_funds_itself_are_neither_limited_nor_counted(db, clock, source):
    driver = driver_with(db, clock, policy={"la_limit": "refuse"})
    for _ in range(3):   # section 2: schools may create posts freely
        post = open_post(driver, school=PRIMARY, funding_source=source)
        assert driver.fire(post, "secure_funding", HEAD, at="2027-03-02").warnings == []
    la_post = open_post(driver, school=PRIMARY, **LA_FUNDED)
    assert driver.fire(la_post, "secure_funding", LA, at="2027-03-02").state == "funding_secured"


def test_a_secondary_school_has_three_la_funded_posts_before_the_warning(db, clock):
    driver = driver_with(db, clock, policy={"la_limit": "warn"})
    warnings = []
    for _ in range(4):
        post = open_post(driver, **LA_FUNDED)
        warnings.append(driver.fire(post, "secure_funding", LA, at="2027-03-02").warnings)
    assert warnings[:3] == [[], [], []]
    assert "post 4 funded through the LA at Vale Secondary School" in warnings[3][0]
    assert "at most 3 at a secondary school" in warnings[3][0]


def test_a_special_school_has_no_limit(db, clock):
    driver = driver_with(db, clock, policy={"la_limit": "refuse"})
    for _ in range(5):
        post = open_post(driver, school=SPECIAL, **LA_FUNDED)
        assert driver.fire(post, "secure_funding", LA, at="2027-03-02").warnings == []


def test_a_cancelled_post_does_not_count_towards_the_limit(db, clock):
    driver = driver_with(db, clock, policy={"la_limit": "refuse"})
    first = to_funded(driver, school=PRIMARY, **LA_FUNDED)
    driver.fire(first, "cancel", LA, {"reason": "The budget was cut."}, at="2027-03-02")
    second = open_post(driver, school=PRIMARY, **LA_FUNDED)
    assert driver.fire(second, "secure_funding", LA, at="2027-03-02").warnings == []


def test_a_post_only_agreed_does_not_count_towards_the_limit(db, clock):
    driver = driver_with(db, clock, policy={"la_limit": "refuse"})
    open_post(driver, school=PRIMARY, **LA_FUNDED)
    second = open_post(driver, school=PRIMARY, **LA_FUNDED)
    assert driver.fire(second, "secure_funding", LA, at="2027-03-02").warnings == []


def test_a_filled_post_counts_towards_the_limit_until_it_is_vacated(db, clock):
    driver = driver_with(db, clock, policy={"la_limit": "warn"})
    filled = to_ast2_submitted(driver, school=PRIMARY, **LA_FUNDED)
    driver.fire(filled, "confirm_funding", LA, at="2027-03-22")
    assert driver.state(filled) == "filled"
    second = open_post(driver, at="2027-03-22", school=PRIMARY, **LA_FUNDED)
    warnings = driver.fire(second, "secure_funding", LA, at="2027-03-22").warnings
    assert warnings and "post 2 funded through the LA" in warnings[0]

    driver.fire(filled, "vacate", LA, {"reason": "left"}, at="2027-09-01")
    third = open_post(driver, at="2027-09-01", school={**PRIMARY, "name": "Meadow Primary"},
                      **LA_FUNDED)
    driver.fire(second, "cancel", LA, {"reason": "Not needed."}, at="2027-09-01")
    fourth = open_post(driver, at="2027-09-01", school=PRIMARY, **LA_FUNDED)
    assert driver.fire(fourth, "secure_funding", LA, at="2027-09-02").warnings == []
    assert driver.state(third) == "post_agreed"


def test_posts_at_other_schools_do_not_count(db, clock):
    driver = driver_with(db, clock, policy={"la_limit": "refuse"})
    to_funded(driver, school=PRIMARY, **LA_FUNDED)
    other = open_post(driver, school={**PRIMARY, "name": "Meadow Primary School"}, **LA_FUNDED)
    assert driver.fire(other, "secure_funding", LA, at="2027-03-02").warnings == []


# -- advertising and shortlisting -----------------------------------------------------------------

@pytest.mark.parametrize("actor", [HEAD, LA])
def test_a_funded_post_is_advertised_with_a_closing_date(driver: Driver, actor):
    post = to_funded(driver)
    outcome = driver.fire(post, "advertise", actor, {"closing_date": "2027-03-12"},
                          at="2027-03-03")
    assert outcome.state == "advertised"
    assert record_of(driver, post, "advertise")["data"]["closing_date"] == "2027-03-12"


@pytest.mark.parametrize("data", [{}, {"closing_date": "when we have enough"}])
def test_an_advertisement_needs_a_closing_date(driver: Driver, data):
    post = to_funded(driver)
    with refused(driver, InvalidDataError, "closing_date"):
        driver.fire(post, "advertise", HEAD, data, at="2027-03-03")


def test_a_post_is_not_advertised_before_its_funding_is_secured(driver: Driver):
    post = open_post(driver)
    with refused(driver, NotAllowedInStateError, "only from funding_secured"):
        driver.fire(post, "advertise", HEAD, {"closing_date": "2027-03-12"}, at="2027-03-03")


def test_the_shortlist_takes_a_certified_candidate_and_an_application_in_progress(
        driver: Driver):
    certified = driver.to_certified()
    in_progress = driver.open(at="2027-03-01").case   # received: with its headteacher
    post = to_advertised(driver)
    shortlist = [{"candidate": "Ann Lee", "application": certified},
                 {"candidate": "Bob Kay", "application": in_progress}]
    outcome = driver.fire(post, "close_applications", POST_SCHOOL, {"shortlist": shortlist},
                          at="2027-03-12")
    assert outcome.state == "shortlisting"
    assert record_of(driver, post, "close_applications")["data"]["shortlist"] == shortlist


def test_a_shortlist_naming_an_unknown_case_is_refused(driver: Driver):
    post = to_advertised(driver)
    with refused(driver, GuardFailedError, "shortlist: no application case 'app-nothere'"):
        driver.fire(post, "close_applications", POST_SCHOOL,
                    {"shortlist": [{"candidate": "Ann Lee", "application": "app-nothere"}]},
                    at="2027-03-12")


def test_a_shortlist_naming_an_appointment_instead_of_an_application_is_refused(
        driver: Driver):
    other = open_post(driver)
    post = to_advertised(driver)
    with refused(driver, GuardFailedError, f"shortlist: no application case '{other}'"):
        driver.fire(post, "close_applications", POST_SCHOOL,
                    {"shortlist": [{"candidate": "Ann Lee", "application": other}]},
                    at="2027-03-12")


@pytest.mark.parametrize("ending", ["reject", "withdraw"])
def test_a_shortlist_naming_a_failed_application_is_refused(driver: Driver, ending):
    certified = driver.to_certified()
    failed = driver.open(at="2027-02-15").case
    if ending == "reject":
        driver.fire(failed, "reject", HEADTEACHER, {"reasons": "Not signed."}, at="2027-02-16")
    else:
        driver.fire(failed, "withdraw", "candidate:bob", at="2027-02-16")
    post = to_advertised(driver)
    final = "rejected" if ending == "reject" else "withdrawn"
    with refused(driver, GuardFailedError, f"Bob Kay's application {failed} is {final}"):
        driver.fire(post, "close_applications", POST_SCHOOL,
                    {"shortlist": [{"candidate": "Ann Lee", "application": certified},
                                   {"candidate": "Bob Kay", "application": failed}]},
                    at="2027-03-12")


def test_an_empty_shortlist_is_refused(driver: Driver):
    post = to_advertised(driver)
    with refused(driver, InvalidDataError, "shortlist"):
        driver.fire(post, "close_applications", POST_SCHOOL, {"shortlist": []}, at="2027-03-12")


@pytest.mark.parametrize("actor", [HEAD, LA])
def test_only_the_post_school_closes_applications(driver: Driver, actor):
    certified = driver.to_certified()
    post = to_advertised(driver)
    with refused(driver, RoleNotAllowedError, "allowed: post_school"):
        driver.fire(post, "close_applications", actor,
                    {"shortlist": [{"candidate": "Ann Lee", "application": certified}]},
                    at="2027-03-12")


# -- the appointment ------------------------------------------------------------------------------

def test_a_certified_candidate_is_appointed_on_the_first_point_without_warning(driver: Driver):
    post, application = to_shortlisting(driver)
    outcome = appoint(driver, post, application, spine_point=5)
    assert (outcome.state, outcome.warnings) == ("appointed", [])
    assert record_of(driver, post, "appoint")["data"]["certified_application"] == application


def test_the_appointment_starts_the_ast2_deadline_ten_working_days_on(driver: Driver):
    post, _ = to_appointed(driver)
    assert driver.timers(post) == {"ast2_notification": (AST2_DUE, AST2_FIRES_AT, "pending")}


def test_the_ast2_deadline_counts_from_the_local_date_of_the_appointment(driver: Driver):
    # Appointed at 00:30 BST on Tue 2027-06-15 (still Mon 06-14 in UTC). 10 working days after
    # Tue 06-15: Jun 16-18 (3), 21-25 (8), 28, 29 (10) -> due Tue 2027-06-29, firing at
    # 00:00 BST on 06-30 = 2027-06-29T23:00:00+00:00. (From 06-14 it would be 06-28.)
    post, application = to_shortlisting(driver)
    appoint(driver, post, application, at="2027-06-15T00:30")
    assert driver.log(post)[-1].effective_at == "2027-06-14T23:30:00+00:00"
    assert driver.timers(post)["ast2_notification"][:2] == (
        "2027-06-29", "2027-06-29T23:00:00+00:00")


def test_the_candidate_is_told_at_the_address_on_the_certified_application(driver: Driver):
    post, application = to_appointed(driver)
    notices = driver.notices(post)
    assert [n.template for n in notices] == ["appointment_confirmed"]
    assert recipients(notices[0]) == [CANDIDATE_EMAIL]
    assert post in notices[0].subject


def test_appointing_above_the_first_point_is_a_recorded_warning(driver: Driver):
    post, application = to_shortlisting(driver)
    outcome = appoint(driver, post, application, spine_point=7)
    assert outcome.state == "appointed"
    assert outcome.warnings == [
        "spine_point: appointed on point 7, not the range's first point 5 (section 4 expects "
        "the first point unless the school says why)"]
    assert json.loads(driver.log(post)[-1].engine)["warnings"] == outcome.warnings


@pytest.mark.parametrize("point", [4, 10, 1, 18])
def test_a_spine_point_outside_the_range_is_refused(driver: Driver, point):
    post, application = to_shortlisting(driver)
    with refused(driver, GuardFailedError, f"spine_point: {point} is outside the post's "
                                           "pay range 5-9"):
        appoint(driver, post, application, spine_point=point)


def test_an_application_in_progress_cannot_be_appointed(driver: Driver):
    in_progress = driver.open(at="2027-02-15").case
    post, _ = to_shortlisting(driver, application=in_progress)
    with refused(driver, GuardFailedError, f"certified_application: {in_progress} is "
                                           "received, not certified"):
        appoint(driver, post, in_progress)


def test_a_not_met_application_cannot_be_appointed(driver: Driver):
    not_met = driver.to_not_met()
    post, _ = to_shortlisting(driver, application=not_met)
    with refused(driver, GuardFailedError, "is not_met, not certified"):
        appoint(driver, post, not_met)


def test_an_unknown_certified_application_is_refused(driver: Driver):
    post, _ = to_shortlisting(driver)
    with refused(driver, GuardFailedError, "certified_application: no application case "
                                           "'app-nothere'"):
        appoint(driver, post, "app-nothere")


@pytest.mark.parametrize("missing", ["candidate", "certified_application", "start_date",
                                     "spine_point"])
def test_an_appointment_needs_all_its_data(driver: Driver, missing):
    post, application = to_shortlisting(driver)
    data = {"candidate": "Ann Lee", "certified_application": application,
            "start_date": "2027-04-19", "spine_point": 5}
    del data[missing]
    with refused(driver, InvalidDataError, missing):
        driver.fire(post, "appoint", POST_SCHOOL, data, at="2027-03-15")


@pytest.mark.parametrize("actor", [HEAD, LA])
def test_only_the_post_school_appoints(driver: Driver, actor):
    post, application = to_shortlisting(driver)
    with refused(driver, RoleNotAllowedError, "may not fire appoint"):
        driver.fire(post, "appoint", actor,
                    {"candidate": "Ann Lee", "certified_application": application,
                     "start_date": "2027-04-19", "spine_point": 5}, at="2027-03-15")


# -- AST2 ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", [POST_SCHOOL, HEAD])
@pytest.mark.parametrize("source, state", [("school", "filled"), ("group", "filled"),
                                           ("school_development_grant", "ast2_submitted"),
                                           ("local_formula", "ast2_submitted")])
def test_submitting_ast2_cancels_the_deadline_and_informs_agency_and_la(
        driver: Driver, actor, source, state):
    """A post the school or group funds is filled once the agency is told; one funded through
    the LA waits for the LA to confirm it will pass the funding on (section 2)."""
    post, _ = to_appointed(driver, funding_source=source)
    outcome = driver.fire(post, "submit_ast2", actor, at="2027-03-19")
    assert outcome.state == state
    assert driver.timers(post)["ast2_notification"][2] == "cancelled"
    notice = driver.notices(post)[-1]
    assert notice.template == "ast2_form"
    assert recipients(notice) == [AGENCY_EMAIL, LA_COORDINATOR_EMAIL]
    for detail in ("Ann Lee", "Vale Secondary School", "19 April 2027", "Spine point:"):
        assert detail in notice.body


def test_the_la_coordinator_does_not_submit_ast2(driver: Driver):
    post, _ = to_appointed(driver)
    with refused(driver, RoleNotAllowedError, "allowed: post_school, headteacher"):
        driver.fire(post, "submit_ast2", LA, at="2027-03-19")


def test_ast2_notification_does_not_fire_a_second_early(driver: Driver):
    post, _ = to_appointed(driver)
    assert fired_on(driver.tick("2027-03-31T22:59:59+00:00"), post) == []


def test_a_late_ast2_is_reported_to_the_la_coordinator_and_the_post_stays_appointed(
        driver: Driver):
    post, _ = to_appointed(driver)
    outcomes = fired_on(driver.tick(AST2_FIRES_AT), post)
    assert [(o.trigger, o.state) for o in outcomes] == [("timer:ast2_notification", "appointed")]
    assert driver.state(post) == "appointed"
    entry = driver.log(post)[-1]
    assert (entry.trigger, entry.source, entry.dest, entry.actor, entry.effective_at) == (
        "timer:ast2_notification", "appointed", "appointed", "system", AST2_FIRES_AT)
    assert json.loads(entry.data)["due"] == AST2_DUE
    notice = driver.notices(post)[-1]
    assert notice.template == "deadline_missed"
    assert recipients(notice) == [LA_COORDINATOR_EMAIL]
    assert driver.timers(post)["ast2_notification"][2] == "fired"
    # The AST2 may still be sent late.
    assert driver.fire(post, "submit_ast2", POST_SCHOOL, at="2027-04-02").state == "filled"


def test_ast2_sent_in_time_means_the_deadline_never_fires(driver: Driver):
    post = to_ast2_submitted(driver)
    assert fired_on(driver.tick("2027-05-01"), post) == []
    assert "deadline_missed" not in [n.template for n in driver.notices(post)]


def test_the_ast2_period_is_a_local_policy_setting(db, clock):
    driver = driver_with(db, clock, policy={"ast2_working_days": 5})
    post, _ = to_appointed(driver)
    assert driver.timers(post) == {
        "ast2_notification": ("2027-03-22", "2027-03-23T00:00:00+00:00", "pending")}


def test_an_la_closure_day_moves_the_ast2_deadline(db, clock):
    # Closing Wed 2027-03-31 makes the 10th working day Thu 2027-04-01, firing at 00:00 BST
    # on Fri 2027-04-02 = 2027-04-01T23:00:00+00:00.
    driver = driver_with(db, clock, calendar={"closures": ["2027-03-31"]})
    post, _ = to_appointed(driver)
    assert driver.timers(post) == {
        "ast2_notification": ("2027-04-01", "2027-04-01T23:00:00+00:00", "pending")}


# -- confirming the funding -----------------------------------------------------------------------

def test_the_la_confirms_the_funding_of_a_post_funded_through_it(driver: Driver):
    post = to_ast2_submitted(driver)
    outcome = driver.fire(post, "confirm_funding", LA, at="2027-04-20")
    assert outcome.state == "filled"
    entry = driver.log(post)[-1]
    assert (entry.trigger, entry.source, entry.dest) == ("confirm_funding", "ast2_submitted",
                                                         "filled")
    assert json.loads(entry.data) == {}


@pytest.mark.parametrize("actor", [HEAD, POST_SCHOOL])
def test_only_the_la_coordinator_confirms_the_funding(driver: Driver, actor):
    post = to_ast2_submitted(driver)
    with refused(driver, RoleNotAllowedError, "allowed: la_coordinator"):
        driver.fire(post, "confirm_funding", actor, at="2027-06-10")


def test_funding_is_not_confirmed_before_the_ast2(driver: Driver):
    post, _ = to_appointed(driver)
    with refused(driver, NotAllowedInStateError, "only from ast2_submitted"):
        driver.fire(post, "confirm_funding", LA, at="2027-03-19")


# -- cancelling --------------------------------------------------------------------------------

@pytest.mark.parametrize("state", NON_FINAL)
def test_a_post_is_cancelled_from_any_state_not_final(driver: Driver, state):
    post = to_state(driver, state)
    outcome = driver.fire(post, "cancel", LA, {"reason": "The school is amalgamating."},
                          at="2027-03-22")
    assert outcome.state == "cancelled"
    assert record_of(driver, post, "cancel")["data"]["reason"] == "The school is amalgamating."
    assert all(status != "pending" for _, _, status in driver.timers(post).values())


@pytest.mark.parametrize("data", [{}, {"reason": " "}])
def test_cancelling_needs_a_reason(driver: Driver, data):
    post = to_funded(driver)
    with refused(driver, InvalidDataError, "reason"):
        driver.fire(post, "cancel", HEAD, data, at="2027-03-03")


def test_the_post_school_does_not_cancel_a_post(driver: Driver):
    post = to_funded(driver)
    with refused(driver, RoleNotAllowedError, "allowed: headteacher, la_coordinator"):
        driver.fire(post, "cancel", POST_SCHOOL, {"reason": "x"}, at="2027-03-03")


def test_cancelling_an_appointed_post_cancels_the_ast2_deadline_and_nothing_fires(
        driver: Driver):
    post, _ = to_appointed(driver)
    driver.fire(post, "cancel", HEAD, {"reason": "The appointee declined."}, at="2027-03-16")
    assert driver.timers(post)["ast2_notification"][2] == "cancelled"
    assert fired_on(driver.tick("2027-06-01"), post) == []
    assert [e.trigger for e in driver.log(post)][-1] == "cancel"


@pytest.mark.parametrize("ending", ["vacated", "cancelled"])
def test_a_final_post_accepts_nothing_more(driver: Driver, ending):
    post = to_ast2_submitted(driver)
    if ending == "vacated":
        driver.fire(post, "vacate", LA, {"reason": "funding_ended"}, at="2027-03-22")
    else:
        driver.fire(post, "cancel", HEAD, {"reason": "Restructure."}, at="2027-03-22")
    before = driver.snapshot()
    with pytest.raises(NotAllowedInStateError, match=f"cancel is not allowed in state {ending}"):
        driver.fire(post, "cancel", LA, {"reason": "Again."}, at="2027-03-23")
    with pytest.raises(NotAllowedInStateError, match=f"not allowed in state {ending}"):
        driver.fire(post, "submit_ast2", POST_SCHOOL, at="2027-03-23")
    assert driver.snapshot() == before
    assert fired_on(driver.tick("2027-06-01"), post) == []
    assert driver.log(post)[-1].dest == ending


@pytest.mark.parametrize("state, trigger, actor, data", [
    ("post_agreed", "close_applications", POST_SCHOOL,
     {"shortlist": [{"candidate": "A", "application": "app-x"}]}),
    ("funding_secured", "secure_funding", HEAD, None),
    ("advertised", "appoint", POST_SCHOOL, {"candidate": "A", "certified_application": "app-x",
                                            "start_date": "2027-09-01", "spine_point": 5}),
    ("shortlisting", "submit_ast2", POST_SCHOOL, None),
    ("appointed", "advertise", HEAD, {"closing_date": "2027-04-01"}),
])
def test_a_trigger_in_the_wrong_state_is_refused_and_writes_nothing(
        driver: Driver, state, trigger, actor, data):
    post = to_state(driver, state)
    with refused(driver, NotAllowedInStateError, f"{trigger} is not allowed in state {state}"):
        driver.fire(post, trigger, actor, data, at="2027-03-22")


# -- the LA's limit under concurrent secure_funding ----------------------------------------------

def test_two_concurrent_fundings_at_one_primary_school_cannot_both_pass_a_refusing_limit(
        db, migrated_url, clock, monkeypatch, request):
    """Two LA officers secure funding for two posts at the same primary school at the same time.
    With `la_limit = "refuse"` at most one may end up funded, as when they act one after the
    other."""
    import threading

    from states import appointment as rules
    from storage.db import Database
    from workflows.engine import Actor
    from workflows.core.errors import RefusedError

    config = Config(policy={"la_limit": "refuse"})
    driver = Driver(Engine(db, config, clock=clock), clock)
    posts = [open_post(driver, school=PRIMARY, **LA_FUNDED) for _ in range(2)]
    clock.set(clock.now().replace(day=2))

    # Each transaction counts the funded posts, then waits for the other to have counted too:
    # the interleaving two LA offices acting at once could produce. (The second writer queues at
    # BEGIN IMMEDIATE on SQLite and at the chain-head lock on PostgreSQL, so the wait times out
    # and the two run one after the other.)
    counted = rules.funded_posts_at
    barrier = threading.Barrier(2, timeout=1)

    def count_then_wait(facts, school):
        n = counted(facts, school)
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass
        return n

    monkeypatch.setattr(rules, "funded_posts_at", count_then_wait)
    results: list = []

    def secure(post: str):
        engine = Engine(Database(migrated_url), config, clock=clock)
        try:
            results.append(engine.fire(post, "secure_funding", Actor.parse(LA)))
        except RefusedError as err:
            results.append(err)
        finally:
            engine.db.dispose()

    threads = [threading.Thread(target=secure, args=(p,)) for p in posts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(results) == 2
    states = sorted(driver.state(p) for p in posts)
    assert states == ["funding_secured", "post_agreed"]
    assert sum(isinstance(r, GuardFailedError) for r in results) == 1


# -- the shortlist and the appointment hold together ---------------------------------------------

def test_applications_cannot_close_before_the_advertised_closing_date(driver: Driver):
    application = driver.to_certified()
    post = to_advertised(driver)                      # closing date Fri 2027-03-12
    with refused(driver, GuardFailedError, "applications close on 2027-03-12"):
        driver.fire(post, "close_applications", POST_SCHOOL,
                    {"shortlist": [{"candidate": "Ann Lee", "application": application}]},
                    at="2027-03-11")


def test_only_a_shortlisted_certified_candidate_can_be_appointed(driver: Driver):
    post, _ = to_shortlisting(driver)
    other = driver.to_certified(received="2026-12-21")
    with refused(driver, GuardFailedError, f"{other} is not on the shortlist"):
        appoint(driver, post, other)


def test_the_appointee_named_must_be_the_candidate_of_the_application(driver: Driver):
    post, application = to_shortlisting(driver)
    with refused(driver, GuardFailedError, "'Bea Other' is not the candidate"):
        driver.fire(post, "appoint", POST_SCHOOL,
                    {"candidate": "Bea Other", "certified_application": application,
                     "start_date": "2027-04-19", "spine_point": 5}, at="2027-03-15")


def test_a_start_date_before_the_appointment_is_a_warning(driver: Driver):
    post, application = to_shortlisting(driver)
    outcome = driver.fire(post, "appoint", POST_SCHOOL,
                          {"candidate": "Ann Lee", "certified_application": application,
                           "start_date": "2027-01-04", "spine_point": 5}, at="2027-03-15")
    assert outcome.state == "appointed"
    assert outcome.warnings == ["start_date: 2027-01-04 is before the appointment was made "
                                "(2027-03-15)"]


def test_the_annex_e_numbers_are_local_policy(db, clock):
    driver = driver_with(db, clock, policy={"la_limit": "refuse", "la_limit_primary": 2})
    to_funded(driver, school=PRIMARY, **LA_FUNDED)
    second = to_funded(driver, school=PRIMARY, at="2027-03-03", **LA_FUNDED)
    assert driver.state(second) == "funding_secured"
    assert "warnings" not in json.loads(driver.log(second)[-1].engine)


# -- the spine, certificates from elsewhere, one post at a time, vacating -------------------------

@pytest.mark.parametrize("top, pay_range, ok", [
    (18, {"first_point": 14, "last_point": 18}, True),
    (18, {"first_point": 15, "last_point": 19}, False),
    (20, {"first_point": 15, "last_point": 19}, True),
])
def test_the_pay_range_lies_on_the_spine_of_local_policy(db, clock, top, pay_range, ok):
    driver = driver_with(db, clock, policy={"ast_spine_points": top})
    if ok:
        assert driver.state(open_post(driver, pay_range=pay_range)) == "post_agreed"
    else:
        with refused(driver, GuardFailedError, "pay_range: the AST spine has 18 points"):
            open_post(driver, pay_range=pay_range)


@pytest.mark.parametrize("area", ["national", "london_fringe", "outer_london", "inner_london"])
def test_a_post_may_name_its_pay_area(driver: Driver, area):
    post = open_post(driver, pay_area=area)
    assert data_of(driver, post)["pay_area"] == area


def test_an_unknown_pay_area_is_refused(driver: Driver):
    with refused(driver, InvalidDataError, "pay_area"):
        open_post(driver, pay_area="mayfair")


CERTIFICATE = {"agency_reference": "NAA-2019-0042", "certified_on": "2019-06-14",
               "checked_by": "LA AST Co-ordinator"}
ELSEWHERE = {"candidate": "Cara Moss", "email": "cara.moss@elsewhere.example.org",
             "certificate": CERTIFICATE, "start_date": "2027-04-19", "spine_point": 5}


def to_shortlisting_with_a_certificate(driver: Driver, **changes) -> str:
    post = to_advertised(driver, **changes)
    driver.fire(post, "close_applications", POST_SCHOOL,
                {"shortlist": [{"candidate": "Cara Moss", "certificate": CERTIFICATE}]},
                at="2027-03-12")
    return post


def test_a_certificate_held_from_another_la_appoints_and_the_candidate_is_told(driver: Driver):
    post = to_shortlisting_with_a_certificate(driver)
    outcome = driver.fire(post, "appoint", POST_SCHOOL, ELSEWHERE, at="2027-03-15")
    assert outcome.state == "appointed"
    notice = driver.notices(post)[-1]
    assert notice.template == "appointment_confirmed"
    assert recipients(notice) == ["cara.moss@elsewhere.example.org"]
    assert "Cara Moss" in notice.body


def test_a_certificate_needs_the_candidates_email(driver: Driver):
    post = to_shortlisting_with_a_certificate(driver)
    data = {k: v for k, v in ELSEWHERE.items() if k != "email"}
    with refused(driver, InvalidDataError, "email"):
        driver.fire(post, "appoint", POST_SCHOOL, data, at="2027-03-15")


def test_a_certificate_not_on_the_shortlist_is_refused(driver: Driver):
    post = to_shortlisting_with_a_certificate(driver)
    other = {**ELSEWHERE, "certificate": {**CERTIFICATE, "agency_reference": "NAA-2020-0001"}}
    with refused(driver, GuardFailedError, "certificate: NAA-2020-0001 is not on the shortlist"):
        driver.fire(post, "appoint", POST_SCHOOL, other, at="2027-03-15")


@pytest.mark.parametrize("data, field", [
    ({"candidate": "Cara Moss", "start_date": "2027-04-19", "spine_point": 5},
     "certified_application"),
    ({**ELSEWHERE, "certificate": {"agency_reference": "NAA-1"}}, "certificate.certified_on"),
])
def test_an_appointee_comes_with_an_application_or_a_checked_certificate(
        driver: Driver, data, field):
    post = to_shortlisting_with_a_certificate(driver)
    with refused(driver, InvalidDataError, field):
        driver.fire(post, "appoint", POST_SCHOOL, data, at="2027-03-15")


def test_the_same_ast_cannot_hold_two_live_posts(driver: Driver):
    first, application = to_appointed(driver)
    second = to_advertised(driver, school={**PRIMARY, "name": "Meadow Primary School"})
    driver.fire(second, "close_applications", POST_SCHOOL,
                {"shortlist": [{"candidate": "Ann Lee", "application": application}]},
                at="2027-03-12")
    with refused(driver, GuardFailedError, f"Ann Lee already holds post {first} \\(appointed\\)"):
        appoint(driver, second, application)

    driver.fire(first, "vacate", POST_SCHOOL, {"reason": "left"}, at="2027-03-16")
    assert appoint(driver, second, application, at="2027-03-16").state == "appointed"


def test_the_same_ast_is_known_by_email_across_certificate_and_application(driver: Driver):
    first, application = to_appointed(driver)
    post = to_advertised(driver, school={**PRIMARY, "name": "Meadow Primary School"})
    driver.fire(post, "close_applications", POST_SCHOOL,
                {"shortlist": [{"candidate": "Ann Lee", "certificate": CERTIFICATE}]},
                at="2027-03-12")
    with refused(driver, GuardFailedError, f"already holds post {first}"):
        driver.fire(post, "appoint", POST_SCHOOL,
                    {**ELSEWHERE, "candidate": "Ann Lee", "email": CANDIDATE_EMAIL.upper()},
                    at="2027-03-15")


@pytest.mark.parametrize("state", ["appointed", "ast2_submitted", "filled"])
@pytest.mark.parametrize("reason", ["left", "funding_ended", "reverted"])
def test_a_held_post_is_vacated_and_its_timers_cancelled(driver: Driver, state, reason):
    post = to_ast2_submitted(driver) if state != "appointed" else to_appointed(driver)[0]
    if state == "filled":
        driver.fire(post, "confirm_funding", LA, at="2027-03-22")
    outcome = driver.fire(post, "vacate", POST_SCHOOL, {"reason": reason}, at="2027-09-01")
    assert outcome.state == "vacated"
    assert record_of(driver, post, "vacate")["data"] == {"reason": reason}
    assert all(status != "pending" for _, _, status in driver.timers(post).values())
    assert fired_on(driver.tick("2027-10-01"), post) == []


def test_a_vacancy_needs_a_known_reason(driver: Driver):
    post, _ = to_appointed(driver)
    with refused(driver, InvalidDataError, "reason"):
        driver.fire(post, "vacate", POST_SCHOOL, {"reason": "bored"}, at="2027-09-01")


def test_a_filled_post_takes_only_vacate(driver: Driver):
    post, _ = to_appointed(driver)
    driver.fire(post, "submit_ast2", POST_SCHOOL, at="2027-03-19")
    assert driver.state(post) == "filled"
    with refused(driver, NotAllowedInStateError, "cancel is not allowed in state filled"):
        driver.fire(post, "cancel", HEAD, {"reason": "x"}, at="2027-03-22")
    with refused(driver, NotAllowedInStateError, "only from cancelled, vacated"):
        driver.fire(post, "erase_personal_data", LA, {"reason": "x"}, at="2027-03-22")
    with refused(driver, RoleNotAllowedError, "allowed: post_school, la_coordinator"):
        driver.fire(post, "vacate", HEAD, {"reason": "left"}, at="2027-03-22")
