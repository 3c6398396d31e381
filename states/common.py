"""Pieces the three processes share: people in the data, recipients, the dates deadlines count
from, and the strictness every trigger's data model has."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from states.spec import Facts

Email = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Data(BaseModel):
    """Trigger data: unknown keys are kept (DOMAIN.md welcomes more), known ones are strict."""
    model_config = ConfigDict(extra="allow", frozen=True)


class NoData(Data):
    pass


class Person(Data):
    name: Text
    email: Email


class Official(Person):
    """An assessor or review officer: the same person when the `id` is the same."""
    id: Text


class School(Data):
    name: Text


# -- recipients: where each role's mail goes, read from the case or the configuration ----------

def candidate(f: Facts) -> str | None:
    return f.case["candidate"]["email"]


def headteacher(f: Facts) -> str | None:
    return f.case["headteacher"]["email"]


def post_school(f: Facts) -> str | None:
    return (f.case.get("post") or {}).get("email")


def la_coordinator(f: Facts) -> str | None:
    return f.contacts["la_coordinator"]


def agency(f: Facts) -> str | None:
    return f.contacts["agency"]


def review_coordinator(f: Facts) -> str | None:
    return f.contacts["review_coordinator"]


# -- dates that deadlines count from ------------------------------------------------------------

def effective_date(f: Facts) -> date:
    return f.effective_date


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
