"""Render notices: one Jinja2 template per notice, data in, text out (no I/O beyond reading
the template files, no clock).

Each template ``templates/<name>.txt.j2`` defines two blocks, ``subject`` and ``body``. The
environment is sandboxed and strict: a variable the template needs but the context lacks is
an error (``TemplateRenderError``), so the transition that wanted the notice rolls back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES = Path(__file__).parent / "templates"
LONDON = ZoneInfo("Europe/London")

NOTICE_NAMES = (
    "application_received",
    "headteacher_rejection",
    "headteacher_feedback",
    "application_forwarded",
    "not_shortlisted",
    "application_with_agency",
    "assessment_arranged",
    "decision_letter",
    "written_feedback",
    "withdrawal_confirmed",
    "deadline_missed",
    "review_acknowledged",
    "review_refused",
    "assessor_comment_invited",
    "review_assigned",
    "review_decision",
    "appointment_confirmed",
    "ast2_form",
)

# English names, independent of the process locale.
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


@dataclass(frozen=True)
class RenderedNotice:
    template: str
    subject: str
    body: str
    version: str = ""   # the sha256 of the template source that rendered it


# Every version a template has had stays renderable: a notice records the version that rendered
# it, and replay renders it again with that very version, so that rewording a letter never
# makes a case that was sent the old wording look tampered with. When a template changes, its
# previous source is kept here as `earlier/NAME-SHA16.txt.j2` (the first 16 hex digits of the
# sha256 of that source).
EARLIER = TEMPLATES / "earlier"


@lru_cache(maxsize=None)
def version(name: str) -> str:
    """The sha256 of the current source of template `name`: the version a notice records."""
    try:
        return hashlib.sha256((TEMPLATES / f"{name}.txt.j2").read_bytes()).hexdigest()
    except OSError as exc:
        raise TemplateRenderError(name, exc) from exc


def _source_file(name: str, wanted: str | None) -> str:
    """The template file (relative to TEMPLATES) of version `wanted` of `name`."""
    if wanted is None or wanted == version(name):
        return f"{name}.txt.j2"
    earlier = f"earlier/{name}-{wanted[:16]}.txt.j2"
    if not (TEMPLATES / earlier).exists():
        raise TemplateRenderError(name, LookupError(
            f"version {wanted[:16]} is neither the current template nor kept in "
            f"{EARLIER.relative_to(TEMPLATES.parent.parent)}"))
    return earlier


class TemplateRenderError(Exception):
    """A notice template could not be loaded or rendered; the message names the template."""

    def __init__(self, template: str, cause: BaseException) -> None:
        super().__init__(f"notice template {template!r}: {type(cause).__name__}: {cause}")
        self.template = template
        self.cause = cause


# --- filters ---------------------------------------------------------------------------

@lru_cache(maxsize=4096)   # the same few hundred dates recur in every notice of a run
def longdate(value: date | datetime | str) -> str:
    """A date as a letter writes it: 'Wednesday 20 January 2027'.

    Accepts a date, an aware datetime (its Europe/London date is used) or an ISO string
    (case data stores dates as 'YYYY-MM-DD')."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"longdate needs an aware datetime, got naive {value.isoformat()}")
        value = value.astimezone(LONDON).date()
    if not isinstance(value, date):
        raise TypeError(f"longdate needs a date, got {type(value).__name__}")
    return f"{_DAYS[value.weekday()]} {value.day} {_MONTHS[value.month - 1]} {value.year}"


def codes(value: Iterable[str] | str) -> str:
    """Standard codes as a list: ['E3', 'E7', 'A1'] -> 'E3, E7, A1'."""
    if isinstance(value, str):
        return value
    return ", ".join(str(code) for code in value)


def names(value: Iterable[Mapping | str] | Mapping | str) -> str:
    """People as prose: [{'name': 'A'}, 'B', 'C'] -> 'A, B and C'."""
    # (dict before Mapping: a dict is matched without the ABC's slower check)
    if isinstance(value, (str, dict, Mapping)):
        value = [value]
    items = [item["name"] if isinstance(item, (dict, Mapping)) else str(item) for item in value]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


GROUNDS = {  # Annex D paragraph 1: the only grounds on which a review may be asked for
    "relevant_evidence_ignored":
        "the original assessor did not take proper account of relevant evidence",
    "irrelevant_or_inaccurate_evidence":
        "the original assessor took account of irrelevant or inaccurate evidence",
    "bias_or_discrimination":
        "the original assessor was biased, or unlawfully discriminated against the candidate",
}


def ground(value: str) -> str:
    """A review ground's code as the sentence of Annex D it stands for."""
    return GROUNDS.get(value, value)


# --- environment -----------------------------------------------------------------------

_DICT_ATTRIBUTES = frozenset(dir(dict))


class NoticeEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, reading the case's data faster: notices are mostly `case.candidate.name`
    on plain dicts, and the sandbox would first look for a dict attribute of that name, raise
    and catch AttributeError, then read the key. A name that is not an attribute of dict reads
    the key straight away, which is where the sandbox ends up anyway; anything else (a
    missing key, `items`, `_private`) takes the sandbox's own path."""

    def getattr(self, obj, attribute):
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


_env: ImmutableSandboxedEnvironment | None = None
_loaded: dict[str, tuple[jinja2.Template, dict]] = {}


def _environment() -> ImmutableSandboxedEnvironment:
    global _env
    if _env is None:
        env = NoticeEnvironment(
            loader=FileSystemLoader(TEMPLATES),
            undefined=StrictUndefined,
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            # Templates are code: read once, checked at start-up (check_all), changed by a
            # deploy and a restart. Reloading would stat a file for every notice rendered.
            auto_reload=False,
        )
        env.filters.update(longdate=longdate, codes=codes, names=names, ground=ground)
        _loaded.clear()   # what the previous environment loaded is not this one's
        _env = env
    return _env


def _load(name: str) -> jinja2.Template:
    return _template(name)[0]


def _template(name: str, wanted: str | None = None) -> tuple[jinja2.Template, dict]:
    """A template (its current version, or the earlier one `wanted`) and its globals as one
    dict, loaded once (templates do not reload)."""
    env = _environment()   # first: a new environment empties what was loaded
    key = name if wanted is None else f"{name}@{wanted}"
    found = _loaded.get(key)
    if found is None:
        try:
            tmpl = env.get_template(_source_file(name, wanted))
        except jinja2.TemplateError as exc:
            raise TemplateRenderError(name, exc) from exc
        found = _loaded[key] = (tmpl, dict(tmpl.globals))
    return found


def render(name: str, context: Mapping, version_wanted: str | None = None) -> RenderedNotice:
    """Render notice ``name`` with ``context``, with its current template or, for a notice
    rendered before (replay), the version it recorded; any failure is a
    ``TemplateRenderError``."""
    tmpl, template_globals = _template(name, version_wanted)
    try:
        parts = {}
        # One context for both blocks, as rendering the whole template would share it (what a
        # block sets stays in that block), holding the environment's globals and the data:
        # merging them here is cheaper than Jinja's merge through a ChainMap per block.
        shared = tmpl.new_context({**template_globals, **context}, shared=True)
        for block in ("subject", "body"):
            if block not in tmpl.blocks:
                raise jinja2.TemplateError(f"the template has no {{% block {block} %}}")
            parts[block] = "".join(tmpl.blocks[block](shared))
    except (jinja2.TemplateError, TypeError, ValueError, KeyError) as exc:
        # TypeError/ValueError/KeyError come from the filters given bad data.
        raise TemplateRenderError(name, exc) from exc
    subject = " ".join(parts["subject"].split())
    body = parts["body"].strip("\n") + "\n"
    return RenderedNotice(template=name, subject=subject, body=body,
                          version=version_wanted or version(name))


def check_all() -> None:
    """Parse every notice template (fail fast at start-up on a missing file or bad syntax)."""
    for name in NOTICE_NAMES:
        tmpl = _load(name)
        missing = {"subject", "body"} - set(tmpl.blocks)
        if missing:
            raise TemplateRenderError(
                name, jinja2.TemplateError(f"missing block(s): {', '.join(sorted(missing))}"))
