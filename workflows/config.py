"""The configuration: one TOML file (shared/CLI.md), every key overridable by an environment
variable AST_ENGINE_<SECTION>_<KEY>, and built-in defaults so that the demo needs none. Unknown
keys and wrong types are refused with a message naming the key."""
from __future__ import annotations

import json
import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from workflows.calendar import WorkingCalendar


class ConfigError(Exception):
    pass


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarConfig(_Section):
    nation: Literal["england", "wales"] = "england"
    closures: tuple[date, ...] = ()          # LA closure days: not working days


class Contacts(_Section):
    la_coordinator: str = "ast.coordinator@la.example.org"
    agency: str = "ast.assessment@agency.example.org"
    review_coordinator: str = "ast.reviews@agency.example.org"


class Delivery(_Section):
    channel: Literal["file", "smtp"] = "file"
    folder: str = "outbox"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""                  # login when set; the password only from the
                                             # environment (AST_ENGINE_SMTP_PASSWORD)
    sender: str = "ast-engine@la.example.org"
    max_attempts: int = Field(8, ge=1)


class Policy(_Section):
    ast2_working_days: int = Field(10, ge=1)
    reapplication_weeks: int = Field(26, ge=0)
    la_limits: Literal["warn", "refuse"] = "warn"
    la_limit_primary: int = Field(1, ge=0)      # Annex E: ASTs one primary school is supported to have
    la_limit_secondary: int = Field(3, ge=0)    # and one secondary school (special schools: no limit)
    feedback_max_words: int = Field(500, ge=1)  # "one side of A4" for a certified candidate's feedback


class Config(_Section):
    calendar: CalendarConfig = CalendarConfig()
    contacts: Contacts = Contacts()
    delivery: Delivery = Delivery()
    policy: Policy = Policy()

    def working_calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.calendar.nation, frozenset(self.calendar.closures))


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    environ = os.environ if environ is None else environ
    raw: dict = {}
    if path:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} not found") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"configuration file {path}: {err}") from None
    for section, model in Config.model_fields.items():
        for key in model.annotation.model_fields:
            value = environ.get(f"AST_ENGINE_{section}_{key}".upper())
            if value is not None:
                is_list = "tuple" in str(model.annotation.model_fields[key].annotation)
                raw.setdefault(section, {})[key] = _from_env(value, is_list)
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        source = f"configuration file {path}" if path else "configuration"
        raise ConfigError(f"{source}: {key}: {first['msg']}") from None


def _from_env(value: str, is_list: bool):
    """A list arrives as JSON (`["2027-07-23"]`) or comma-separated; anything else as text,
    which pydantic then converts to the key's type."""
    text = value.strip()
    if not is_list:
        return text
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    return [p.strip() for p in text.split(",") if p.strip()]
