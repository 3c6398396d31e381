"""Render notices: one Jinja2 template per notice, data in, text out (no I/O beyond reading
the template files, no clock).

Each template ``templates/<name>.txt.j2`` sets ``subject`` (``{% set subject %}...{% endset %}``)
and writes the body. Every version a template has had stays renderable (``templates/earlier/``),
so that replay renders a notice again with the very version it recorded; the earliest ones,
written with ``{% block subject %}`` and ``{% block body %}``, are read in the current form.

Templates are the security boundary: they render in Jinja's ``ImmutableSandboxedEnvironment``,
so a template can read its data and call the notice filters (``longdate``, ``codes``,
``names``, ``ground``) but cannot change the data, reach a private or dunder attribute
(``''.__class__``) or call anything the sandbox calls unsafe: that is a ``SecurityError``.
Two things make rendering cheaper, each measured (bench/count_replay.py), neither letting a
template reach more: ``NoticeEnvironment.getattr`` reads a key of a plain dict at once, where
the sandbox would first fail to find an attribute of that name (a plain dict, or one read
back from a store), and answers as the sandbox does; and a template is given its data alone (``make_module``'s ``shared``), without Jinja's
default globals (``range``, ``cycler`` ...), which no notice uses. The environment is strict:
a variable the template needs but the context lacks is an error. Any failure is a
``TemplateRenderError``, so the transition that wanted the notice rolls back.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from storage.jsontext import ReadBackDict

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
    "deadline_missed_withdrawn",
    "assessment_outcome",
    "review_acknowledged",
    "assessor_comment_invited",
    "review_assigned",
    "review_decision",
    "review_outcome",
    "appointment_confirmed",
    "ast2_form",
    "post_ending",
    "post_vacated",
    "post_cancelled",
)

# English names, independent of the process locale.
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


@dataclass(slots=True)
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
    # A retired notice (review_refused) has no current template, only the versions kept.
    current = (TEMPLATES / f"{name}.txt.j2").exists()
    if wanted is None or (current and wanted == version(name)):
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


def names(value: Iterable[Mapping[str, Any] | str] | Mapping[str, Any] | str) -> str:
    """People as prose: [{'name': 'A'}, 'B', 'C'] -> 'A, B and C'."""
    # (list, str and dict before Mapping: they are matched without the ABC's slower check)
    if not isinstance(value, list) and isinstance(value, (str, dict, Mapping)):
        value = [value]
    items = [item if isinstance(item, str) else item["name"]
             if isinstance(item, (dict, Mapping)) else str(item) for item in value]
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

# The names an attribute of a plain dict can have: an instance of dict has no __dict__ of its own
# and its type cannot be changed, so what getattr finds on it is what dir(dict) lists (dict's
# and object's attributes), and nothing else.
# The exact types of case data whose every attribute dir() lists (no instance __dict__: a
# ReadBackDict has empty __slots__): on them, a name dir() does not list can only be a key.
_ATTRIBUTES_OF = {kind: frozenset(dir(kind)) for kind in (dict, ReadBackDict)}


class NoticeEnvironment(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with a shorter path to what it reads on a plain dict.

    Notices mostly read `case.candidate.name` on plain dicts. For `obj.name` the sandbox first
    asks for the attribute, which raises and catches AttributeError, then reads `obj["name"]`,
    returned unchecked as a key's value always is. When `obj` is exactly a dict, or a
    ReadBackDict (case data read back from a store, with no attribute of its own but methods
    that refuse changes), and `name` is not in dir() of its type, that attribute cannot exist,
    so reading the key at once gives the same answer. Everything else (a dict's own attribute
    such as `items` or `__class__`, a missing key, any other type, another subclass of dict)
    takes the sandbox's own path, with its safety checks. tests/unit/test_notice_templates.py pins its answers to the stock sandbox's. Without it
    a replayed entry costs 10.6% more (460,800 instructions against 416,500, count_replay)."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        names = _ATTRIBUTES_OF.get(type(obj))
        if names is not None and attribute not in names:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


class NoticeLoader(FileSystemLoader):
    """The templates folder. A version kept from before notices moved to `{% set subject %}`
    (earlier/ files written with `{% block subject %}` and `{% block body %}`) is read in the
    current form, which renders the same text: Jinja has no public way to render one block."""

    def get_source(self, environment: jinja2.Environment, template: str
                   ) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if "{% block subject %}" in source:
            source = _from_blocks(source)
        return source, filename, uptodate


def _from_blocks(source: str) -> str:
    source = re.sub(r"\{% block subject %\}(.*?)\{% endblock %\}",
                    r"{% set subject %}\1{% endset %}", source, count=1, flags=re.S)
    source = source.replace("{% block body %}", "", 1)
    end = source.rfind("{% endblock %}")
    return source if end < 0 else source[:end] + source[end + len("{% endblock %}"):]


_env: ImmutableSandboxedEnvironment | None = None
_loaded: dict[str, tuple[jinja2.Template, bool]] = {}


def _environment() -> ImmutableSandboxedEnvironment:
    """The environment every notice renders in (see the module's docstring), made once."""
    global _env
    if _env is None:
        env = NoticeEnvironment(
            loader=NoticeLoader(TEMPLATES),
            undefined=StrictUndefined,
            # Notices are plain text (every template is NAME.txt.j2), so nothing is escaped:
            # select_autoescape(["html"]) said so too, at a call for every notice rendered.
            autoescape=False,
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


def _template(name: str, wanted: str | None = None) -> tuple[jinja2.Template, bool]:
    """A template (its current version, or the earlier one `wanted`), loaded once (templates
    do not reload), and whether it is a version from before migration 5, which reads each
    trigger's record from `case` (they were all written with blocks)."""
    env = _environment()   # first: a new environment empties what was loaded
    key = name if wanted is None else f"{name}@{wanted}"
    found = _loaded.get(key)
    if found is None:
        source_file = _source_file(name, wanted)
        try:
            tmpl = env.get_template(source_file)
        except jinja2.TemplateError as exc:
            raise TemplateRenderError(name, exc) from exc
        legacy = "{% block subject %}" in (TEMPLATES / source_file).read_text(encoding="utf-8")
        found = _loaded[key] = (tmpl, legacy)
    return found


def _legacy_context(context: Mapping[str, Any]) -> Mapping[str, Any]:
    """The context a version from before trigger records were kept apart (migration 5) reads:
    each record under its trigger's name in `case`, with its `effective_date`."""
    if "records" not in context:
        return context
    case = dict(context["case"])
    for trigger, data in context["records"].items():
        case[trigger] = {**data, "effective_date": context["done"][trigger]}
    return {**context, "case": case}


def render(name: str, context: Mapping[str, Any], version_wanted: str | None = None
           ) -> RenderedNotice:
    """Render notice ``name`` with ``context``, with its current template or, for a notice
    rendered before (replay), the version it recorded; any failure is a
    ``TemplateRenderError``. The template sets ``subject``; what it writes is the body."""
    tmpl, legacy = _template(name, version_wanted)
    if legacy:
        context = _legacy_context(context)
    try:
        # shared: the context reads this dict as it is, where Jinja would otherwise merge it
        # with its default globals (none of which a notice uses) through a ChainMap at every
        # notice: without it a replayed entry costs 8.4% more (451,500 instructions against
        # 416,500, bench/count_replay.py). What a template sets goes to the context's own
        # variables, never into this dict.
        module = tmpl.make_module(dict(context), shared=True)
        # What a template sets is an attribute of its module, which Jinja's TemplateModule
        # does not declare to a type checker: hence getattr.
        subject = str(getattr(module, "subject"))
        body = str(module)
    except AttributeError as exc:
        raise TemplateRenderError(name, jinja2.TemplateError(
            "the template sets no subject ({% set subject %}...{% endset %})")) from exc
    except (jinja2.TemplateError, TypeError, ValueError, KeyError) as exc:
        # TypeError/ValueError/KeyError come from the filters given bad data.
        raise TemplateRenderError(name, exc) from exc
    return RenderedNotice(name, " ".join(subject.split()), body.strip("\n") + "\n",
                          version_wanted or version(name))


def check_all() -> None:
    """Parse every notice template (fail fast at start-up on a missing file or bad syntax)."""
    for name in NOTICE_NAMES:
        _template(name)

