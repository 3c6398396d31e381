"""Sample data and a driver that walks cases through their process, so each test states only
what it is about."""
from __future__ import annotations

import copy
import json
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text

from workflows.engine import Actor, Engine, Outcome
from workflows.core.times import parse_instant

HEADTEACHER = "headteacher:h.brown"
AGENCY = "agency:naa"
ASSESSOR = {"id": "as-17", "name": "Carol Assessor", "email": "carol.assessor@agency.example.org"}
OFFICER = {"id": "ro-3", "name": "Raj Officer", "email": "raj.officer@agency.example.org"}


def application_data(advertisement: str = "internal", **changes) -> dict:
    data = {
        "candidate": {"name": "Ann Lee", "email": "ann.lee@hill.example.org"},
        "career_stage": "post_threshold",
        "school": {"name": "Hill Primary School"},
        "headteacher": {"name": "Hugh Brown", "email": "h.brown@hill.example.org"},
        "post": {"school": "Hill Primary School", "email": "office@hill.example.org",
                 "advertisement": advertisement, "appointment": None},
    }
    data.update(copy.deepcopy(changes))
    return data


def appointment_data(**changes) -> dict:
    data = {
        "school": {"name": "Vale Secondary School", "phase": "secondary",
                   "email": "office@vale.example.org"},
        "la": "Exampleshire", "focus": "mathematics", "advertisement": "external",
        "funding_source": "school", "pay_range": {"first_point": 5, "last_point": 9},
        "headteacher": {"name": "Vera Vale", "email": "v.vale@vale.example.org"},
    }
    data.update(copy.deepcopy(changes))
    return data


FUNDING = {"funding_declaration": {"declared_by": "Hugh Brown", "source": "school"}}


class Driver:
    """Fires triggers at given effective dates, moving the business clock with them."""

    def __init__(self, engine: Engine, clock):
        self.engine, self.clock = engine, clock

    def at(self, when: str | None) -> datetime | None:
        if when is None:
            return None
        instant = parse_instant(when)
        if instant > self.clock.now():
            self.clock.set(instant)
        return instant

    def open(self, kind: str = "application", data: dict | None = None,
             actor: str = HEADTEACHER, at: str | None = None, for_: str | None = None) -> Outcome:
        data = application_data() if data is None and kind == "application" else data
        return self.engine.open(kind, Actor.parse(actor), data, self.at(at),
                                Actor.parse(for_) if for_ else None)

    def fire(self, case: str, trigger: str, actor: str, data: dict | None = None,
             at: str | None = None, for_: str | None = None) -> Outcome:
        return self.engine.fire(case, trigger, Actor.parse(actor), data, self.at(at),
                                Actor.parse(for_) if for_ else None)

    def tick(self, now: str) -> list[Outcome]:
        self.clock.set(parse_instant(now))
        return self.engine.tick()

    # -- walks to the states tests start from ------------------------------------------------

    # The walks below use the dates of a form received on Fri 2026-12-18; another `received`
    # moves every later date by the same number of days.
    def to_assessment_scheduled(self, received: str = "2026-12-18", data: dict | None = None
                                ) -> str:
        self.shift = (date.fromisoformat(received[:10]) - date(2026, 12, 18)).days
        case = self.open(data=data, at=received).case
        self.fire(case, "support", HEADTEACHER, {"evaluation": "Meets E and A standards"},
                  at=self.moved("2027-01-05"))
        self.fire(case, "submit_to_agency", HEADTEACHER, FUNDING, at=self.moved("2027-01-06"))
        self.fire(case, "agency_receive", AGENCY, at=self.moved("2027-01-08"))
        self.fire(case, "schedule_assessment", AGENCY,
                  {"assessment_date": self.moved("2027-02-10"), "assessor": ASSESSOR},
                  at=self.moved("2027-01-11"))
        return case

    def moved(self, when: str) -> str:
        day = date.fromisoformat(when[:10]) + timedelta(days=getattr(self, "shift", 0))
        return day.isoformat() + when[10:]

    def to_certified(self, **kw) -> str:
        case = self.to_assessment_scheduled(**kw)
        self.fire(case, "judge_met", "assessor:as-17", at=self.moved("2027-02-10T16:00"))
        return case

    def to_not_met(self, letter: bool = True, **kw) -> str:
        case = self.to_assessment_scheduled(**kw)
        self.fire(case, "judge_not_met", "assessor:as-17", {"unmet_standards": ["E3", "A1"]},
                  at=self.moved("2027-02-10T16:00"))
        if letter:
            self.fire(case, "send_decision_letter", AGENCY, at=self.moved("2027-02-12"))
        return case

    def to_review(self, at: str = "2027-03-01") -> tuple[str, str]:
        """A not-met application under review; returns (application, review)."""
        case = self.to_not_met()
        outcome = self.fire(case, "request_review", "candidate:ann",
                            {"grounds": ["relevant_evidence_ignored"],
                             "explanation": "My portfolio of outreach work was not read."}, at=at)
        return case, outcome.linked[0].case

    # -- reading back ------------------------------------------------------------------------

    def rows(self, sql: str, **params) -> list:
        with self.engine.db.engine.connect() as conn:
            return conn.execute(text(sql), params).all()

    def state(self, case: str) -> str:
        return self.rows("SELECT state FROM cases WHERE id = :id", id=case)[0].state

    def timers(self, case: str) -> dict[str, tuple[str, str, str]]:
        """name -> (due, fires_at, status) of the case's latest timer of each name."""
        return {r.name: (r.due, r.fires_at, r.status) for r in self.rows(
            "SELECT name, due, fires_at, status FROM timers WHERE case_id = :id ORDER BY id",
            id=case)}

    def notices(self, case: str) -> list:
        return self.rows("SELECT id, template, recipients, subject, body, status FROM notices "
                         "WHERE case_id = :id ORDER BY log_seq, id", id=case)

    def log(self, case: str) -> list:
        return self.rows("SELECT seq, trigger, source, dest, actor, on_behalf_of, effective_at,"
                         " data, engine FROM transition_log WHERE case_id = :id ORDER BY seq",
                         id=case)

    def count(self, table: str) -> int:
        return self.rows(f"SELECT COUNT(*) AS n FROM {table}")[0].n

    def snapshot(self) -> dict:
        """Every row of every table, to prove a refusal or a failure wrote nothing."""
        return snapshot(self.engine.db)


def snapshot(db) -> dict:
    """Every row of every table of `db` (a storage.db.Database)."""
    with db.engine.connect() as conn:
        return {table: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))]
                for table in ("cases", "transition_log", "chain_head", "timers", "notices")}


def recipients(notice) -> list[str]:
    return json.loads(notice.recipients)


@contextmanager
def refused(driver: Driver, error: type[Exception], match: str):
    """The block is refused with `error` (its message matching `match`) and nothing at all
    changed in the database. Yields pytest's ExceptionInfo, for more checks of the error."""
    before = driver.snapshot()
    with pytest.raises(error, match=match) as caught:
        yield caught
    assert driver.snapshot() == before
