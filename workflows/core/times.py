"""Reading and writing times as the CLI does (CLI.md, "Times").

In: a bare date is 09:00 London that day, a date-time without an offset is
London wall-clock time, one with an offset (or Z) is that instant.
Out: instants are always UTC ISO 8601 ending "+00:00".
"""

from __future__ import annotations

import re
from functools import lru_cache
from datetime import date, datetime, time, timezone

from zoneinfo import ZoneInfo

# The zone of every wall-clock time in the domain (here, not in calendar.py, so that reading and
# printing a time never loads the bank-holiday tables).
LONDON = ZoneInfo("Europe/London")

# Checked before datetime.fromisoformat, which in 3.11 also takes week dates,
# ordinal dates, "20270120" and the like; accepting those on a command line
# would only make typos parse as surprising dates.
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_INSTANT_RE = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?",
    re.ASCII,
)

_INSTANT_FORMS = (
    "2027-01-20 (09:00 Europe/London that day), "
    "2027-01-20T14:30 or 2027-01-20T14:30:00 (Europe/London wall-clock), "
    "2027-01-20T14:30:00+01:00 or 2027-01-20T14:30:00Z (that instant)"
)

_BARE_DATE_TIME = time(9, 0)

# Years a time keyed on the command line may name. Wider than the years an event may be
# effective in (states/common.py, 1990-2100) so that a filter such as `--since 1950-01-01`
# still reads naturally; anything beyond is a typing slip, and year 1 or 9999 would overflow
# once moved between zones.
_YEARS = range(1900, 2201)


class TimeFormatError(ValueError):
    pass


def parse_date(text: str) -> date:
    if not isinstance(text, str) or not _DATE_RE.fullmatch(text):
        raise TimeFormatError(f"not a date: {text!r}; expected YYYY-MM-DD, e.g. 2027-01-20")
    try:
        day = date.fromisoformat(text)
    except ValueError:  # well-formed but impossible, e.g. 2027-02-30
        raise TimeFormatError(
            f"not a date: {text!r}; expected YYYY-MM-DD, e.g. 2027-01-20"
        ) from None
    _refuse_absurd_year(text, day.year)
    return day


def _refuse_absurd_year(text: str, year: int) -> None:
    if year not in _YEARS:
        raise TimeFormatError(f"{text!r} is outside the years {_YEARS.start}-"
                              f"{_YEARS.stop - 1}: is the year mistyped?")


def parse_instant(text: str) -> datetime:
    if not isinstance(text, str) or not _INSTANT_RE.fullmatch(text):
        raise TimeFormatError(f"not a time: {text!r}; accepted forms: {_INSTANT_FORMS}")
    try:
        if _DATE_RE.fullmatch(text):
            value = datetime.combine(date.fromisoformat(text), _BARE_DATE_TIME)
        else:
            value = datetime.fromisoformat(text)
    except ValueError:  # well-formed but impossible, e.g. 2027-02-30 or 25:00
        raise TimeFormatError(
            f"not a time: {text!r}; accepted forms: {_INSTANT_FORMS}"
        ) from None
    _refuse_absurd_year(text, value.year)
    if value.tzinfo is None:
        # Wall-clock times keep fold=0, zoneinfo's default (PEP 495):
        # - in the autumn fold (e.g. 2027-10-31T01:30 happens twice) that is
        #   the first occurrence, still in BST (00:30Z);
        # - in the spring gap (e.g. 2027-03-28T01:30 never happens) the offset
        #   from before the change is used, GMT, giving 01:30Z (= 02:30 BST).
        # Neither is an error: a person keying in a paper form's time cannot
        # be expected to know, and the result is within an hour either way.
        value = value.replace(tzinfo=LONDON)
    return value.astimezone(timezone.utc)


def to_utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"need an aware datetime, got naive {instant.isoformat()}")
    return instant.astimezone(timezone.utc)


@lru_cache(maxsize=4096)
def utc_iso(instant: datetime) -> str:
    # Cached: a transition writes the same few instants into several rows, and replay writes
    # each recorded instant again. Equal instants give the same text whatever their zone.
    return to_utc(instant).isoformat()


def london(instant: str) -> str:
    """An instant as the people in the process read it: `Mon 2027-01-04 09:00`, London time."""
    return datetime.fromisoformat(instant).astimezone(LONDON).strftime("%a %Y-%m-%d %H:%M")


def day(iso_date: str | None) -> str:
    """A date as people read it: `Mon 2027-01-04`; `-` for none."""
    return date.fromisoformat(iso_date).strftime("%a %Y-%m-%d") if iso_date else "-"


def london_day(instant: str) -> str:
    """The London date (ISO) an instant falls on."""
    return datetime.fromisoformat(instant).astimezone(LONDON).date().isoformat()
