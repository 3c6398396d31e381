"""Pieces the three processes share: the types their data is written in, people, recipients and
the dates deadlines count from."""
from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from pydantic import (AfterValidator, BeforeValidator, Field, StrictBool, StrictInt,
                      StringConstraints, ValidationInfo)

from states.spec import Data, Facts

# -- the types trigger data is written in ------------------------------------------------------

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _one_line(value: str, info: ValidationInfo) -> str:
    """A name, a school, an id or a reference: one line, whose characters read as written.
    A line break in a candidate's name reached the letter's body as forged lines (`Ann\r\nBcc:
    ...`), and a bidi control (U+202E) makes the audit trail display something else (issue 26).
    Checked when a person gives it (the engine's door says so in the validation context), not
    when replay reads an entry logged before the rule."""
    if info.context and info.context.get("at_the_door"):
        for char in value:
            if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):   # CR and LF are Cc
                what = "a line break" if char in "\r\n\u2028\u2029" else (
                    f"a control or formatting character (U+{ord(char):04X})")
                raise ValueError(f"one line of text, without {what}")
    return value


# Names, schools, ids and references; free text (reasons, evaluations) is Text.
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1),
                 AfterValidator(_one_line)]
Int = StrictInt      # 15, never "15" or true: a spine point read from text is a keying error
Bool = StrictBool

EARLIEST, LATEST = date(1990, 1, 1), date(2100, 12, 31)


@lru_cache(maxsize=4096)
def mailbox(value: str) -> str:
    """One plain mailbox (`name@domain`), as `email-validator` reads it (what pydantic's EmailStr
    uses): no display name, no list, no angle brackets or quotes that a mail server would read as
    further recipients. Returned normalised (the domain in lower case). Cached: the same few
    addresses recur in every case, and replay reads each again."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise ValueError(f"not one plain email address ({err})") from None


_LONDON = ZoneInfo("Europe/London")


def _iso_day(value: Any) -> Any:
    """A day is written YYYY-MM-DD, or as an ISO date-time, whose day in London it is (CLI.md,
    "Times": a date-time without an offset is London wall-clock time, one with an offset that
    instant): `2027-07-01T23:30Z` is 2 July. No timestamp number, no other format."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime) or (isinstance(value, str) and len(value) > 10
                                       and value[10] in "Tt "):
        try:
            instant = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("give a day as YYYY-MM-DD (or a date-time, "
                             "YYYY-MM-DDTHH:MM[+HH:MM])") from None
        if instant.tzinfo is None:
            instant = instant.replace(tzinfo=_LONDON)
        try:
            return instant.astimezone(_LONDON).date()
        except OverflowError:   # 9999-12-31T23:30-05:00 is a day past the calendar's end
            raise ValueError(f"{value}: outside the years "
                             f"{EARLIEST.year}-{LATEST.year}") from None
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("give a day as YYYY-MM-DD")
    return value


def _plausible(day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"{day} is outside the years {EARLIEST.year}-{LATEST.year}")
    return day


Email = Annotated[str, AfterValidator(mailbox)]
Day = Annotated[date, BeforeValidator(_iso_day), AfterValidator(_plausible)]


def _absent(value: Any) -> bool:
    return value is None


def added_later(description: str) -> Any:
    """An optional key a trigger's data gained after entries were logged without it: left out
    when not given, so that those entries read (and replay) exactly as logged. `description`
    says what it holds, in words (the console's forms label it so)."""
    return Field(None, exclude_if=_absent, description=description)


class NoData(Data):
    pass


class Person(Data):
    name: Line = Field(description="Full name")
    email: Email = Field(description="Email address")


class Official(Person):
    """An assessor or review officer: the same person when the `id` is the same."""
    id: Line = Field(description="Identifier (the same person always has the same id)")


class School(Data):
    name: Line = Field(description="Name of the school")


# -- recipients: where each role's mail goes, read from the case or the configuration ----------

def candidate(f: Facts) -> str | None:
    email: str = f.case["candidate"]["email"]
    return email


def current_headteacher(f: Facts) -> Mapping[str, Any]:
    """The headteacher the case is with now: the last `change_headteacher` names them, else
    the one it was opened with."""
    changed = f.records.get("change_headteacher")
    person: Mapping[str, Any] = changed["headteacher"] if changed else f.case["headteacher"]
    return person


def headteacher(f: Facts) -> str | None:
    email: str = current_headteacher(f)["email"]
    return email


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
