"""The configuration: one TOML file (shared/CLI.md), every key overridable by an environment
variable AST_ENGINE_<SECTION>_<KEY>, and built-in defaults so that the demo needs none. Unknown
keys, unknown AST_ENGINE_ variables and wrong types are refused with a message naming the key.
Addresses are one plain mailbox each (states/common.py), and no setting may hold a control
character (a CR or LF in an address would add mail headers)."""
from __future__ import annotations

import ipaddress
import json
import os
import tomllib
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Mapping

from pydantic import (AfterValidator, BaseModel, ConfigDict, Field, Strict, ValidationError,
                      model_validator)

from states.common import Email
from workflows.core import text
from workflows.core.environment import DEFAULT_TICK_SECONDS, NOT_SETTINGS, TICK_SECONDS_RANGE

if TYPE_CHECKING:   # imported when a calendar is asked for: `holidays` takes a while to load
    from workflows.core.calendar import Calendars, WorkingCalendar


class ConfigError(Exception):
    pass


def _plain(value: str) -> str:
    why = text.problem(value, name=True)
    if why:
        raise ValueError(why)
    return value


Plain = Annotated[str, AfterValidator(_plain)]


# Numbers are taken as written in the file: `smtp_port = "25"`, `ast2_working_days = true` or
# `max_attempts = 8.0` is refused naming the key (CLI.md: "wrong types are refused"), where
# pydantic would read them as 25, 1 and 8. From the environment, where every value is text,
# the text is read as the number first (_from_env).
Whole = Annotated[int, Strict()]
Number = Annotated[float, Strict()]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarConfig(_Section):
    nation: Literal["england", "wales"] = "england"
    closures: tuple[date, ...] = ()          # LA closure days: not working days for local duties
    schools: dict[Plain, tuple[date, ...]] = {}   # a school's own closure days (its local duties)


class Contacts(_Section):
    la_coordinator: Email = "ast.coordinator@la.example.org"
    agency: Email = "ast.assessment@agency.example.org"
    review_coordinator: Email = "ast.reviews@agency.example.org"


class Delivery(_Section):
    channel: Literal["file", "smtp"] = "file"
    folder: Plain = "outbox"
    smtp_host: Plain = "127.0.0.1"
    smtp_port: Whole = Field(25, ge=1, le=65535)
    smtp_tls: Literal["none", "starttls", "implicit"] = "none"
    smtp_ca_file: Plain = ""                 # a CA bundle for a private relay; else the system's
    smtp_username: Plain = ""                # login when set; the password only from the
                                             # environment (AST_ENGINE_SMTP_PASSWORD)
    sender: Email = "ast-engine@la.example.org"
    max_attempts: Whole = Field(8, ge=1)

    @model_validator(mode="after")
    def _no_login_in_clear(self) -> Delivery:
        # Over smtp_tls = "none" the relay's AUTH would carry the login and the password
        # in clear: refused at start-up, before anything is sent.
        if self.smtp_username and self.smtp_tls == "none":
            raise ValueError('smtp_username is set while smtp_tls is "none": the login and '
                             'its password would cross the network in clear; set smtp_tls '
                             'to "starttls" or "implicit", or leave smtp_username empty')
        return self


class Daemon(_Section):
    tick_seconds: Number = Field(DEFAULT_TICK_SECONDS, ge=TICK_SECONDS_RANGE[0],
                                le=TICK_SECONDS_RANGE[1])
    metrics_port: Whole = Field(0, ge=0, le=65535)   # 0: no metrics endpoint
    metrics_host: Plain = "127.0.0.1"


def _proxy(value: str) -> str:
    # An address or a network (`10.0.0.0/24`); never `*`, which would let anyone who can reach
    # the console name their own client address.
    try:
        ipaddress.ip_network(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address or network (e.g. \"127.0.0.1\" "
                         "or \"10.0.0.0/24\")") from None
    return value


class Web(_Section):
    session_hours: Number = Field(8, gt=0, le=24 * 30)
    # Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed; from anyone else they
    # are ignored, so a local process cannot choose the address its failed logins count to.
    trusted_proxies: tuple[Annotated[str, AfterValidator(_proxy)], ...] = ()


class Limits(_Section):
    """What one `--data` may hold: beyond these it is refused before it is read (a document
    keyed in by mistake, or sent to exhaust the engine)."""
    data_bytes: Whole = Field(1 << 20, ge=1024, le=64 << 20)     # the whole document, 1 MiB
    data_depth: Whole = Field(32, ge=4, le=256)                  # objects and lists within others
    text_bytes: Whole = Field(64 << 10, ge=256, le=16 << 20)     # each text, 64 KiB


FundingSource = Literal["school_development_grant", "school", "group", "local_formula"]


class Policy(_Section):
    ast2_working_days: Whole = Field(10, ge=1)
    reapplication_weeks: Whole = Field(26, ge=0)
    # The LA's own cap on the posts it funds at one school: off, warn or refuse (Annex E is one
    # LA's example: 1 per primary, 3 per secondary school; special schools: no limit).
    la_limit: Literal["off", "warn", "refuse"] = "off"
    la_limit_primary: Whole = Field(1, ge=0)
    la_limit_secondary: Whole = Field(3, ge=0)
    la_funded_sources: tuple[FundingSource, ...] = ("school_development_grant", "local_formula")
    review_window_from: Literal["letter", "assessment_day"] = "letter"
    ast_spine_points: Whole = Field(18, ge=5)     # the AST spine of the pay document (STPCD)
    feedback_max_words: Whole = Field(500, ge=1)  # "one side of A4" for a certified candidate's feedback
    retention_years: Whole = Field(0, ge=0)       # 0: keep personal data; N: erasable N years on


class Config(_Section):
    calendar: CalendarConfig = CalendarConfig()
    contacts: Contacts = Contacts()
    delivery: Delivery = Delivery()
    daemon: Daemon = Daemon()
    web: Web = Web()
    policy: Policy = Policy()
    limits: Limits = Limits()

    def calendars(self) -> Calendars:
        from workflows.core.calendar import Calendars
        return Calendars(self.calendar.nation, frozenset(self.calendar.closures),
                         tuple(sorted((school, frozenset(days))
                                      for school, days in self.calendar.schools.items())))

    def working_calendar(self) -> WorkingCalendar:
        """The LA's calendar (local duties of no particular school)."""
        return self.calendars().local()


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = _read(path) if path else {}
    known = {f"AST_ENGINE_{section}_{key}".upper(): (section, key, model)
             for section, field_info in Config.model_fields.items()
             for key, model in _fields(field_info.annotation).items()}
    for name, value in sorted(environ.items()):
        if not name.startswith("AST_ENGINE_") or name in NOT_SETTINGS:
            continue
        if name not in known:
            raise ConfigError(f"environment variable {name} names no setting (settings are "
                              "AST_ENGINE_<SECTION>_<KEY>, e.g. AST_ENGINE_DELIVERY_CHANNEL)")
        section, key, model = known[name]
        raw.setdefault(section, {})[key] = _from_env(value, model.annotation)
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        source = f"configuration file {path}" if path else "configuration"
        message = first["msg"].removeprefix("Value error, ")
        if key in RENAMED:
            message += f" (renamed: {RENAMED[key]})"
        raise ConfigError(f"{source}: {key}: {message}") from None


# Settings an earlier version read, and what says it now: a file written for it is refused
# with the way forward.
RENAMED = {"policy.la_limits": 'policy.la_limit, now "off" by default, "warn" or "refuse", '
                               "counting only the posts funded through the LA"}


def _fields(annotation: Any) -> dict[str, Any]:
    return getattr(annotation, "model_fields", {})


def _read(path: str | Path) -> dict[str, Any]:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"configuration file {path} is a folder, not a file") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"configuration file {path} is not UTF-8 text (byte {err.start})"
                          ) from None
    except OSError as err:
        raise ConfigError(f"configuration file {path}: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"configuration file {path}: {err}") from None


def _from_env(value: str, kind: Any) -> Any:
    """A number arrives as its digits, a list as JSON (`["2027-07-23"]`) or comma-separated, a
    table as JSON; anything else as text, which pydantic then converts to the key's type."""
    stripped = value.strip()
    for number in (int, float):
        if kind is number:
            try:
                return number(stripped)
            except ValueError:
                return stripped   # refused by the key's type, naming it
    annotation = str(kind)
    if "dict" in annotation:
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            return stripped
    if "tuple" not in annotation:
        return stripped
    if stripped.startswith("["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError:
            pass
    return [p.strip() for p in stripped.split(",") if p.strip()]
