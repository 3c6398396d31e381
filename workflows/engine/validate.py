"""Validate: the data a trigger is given, and the time it is said to take effect. A refusal
names the key (every invalid key of the data at once) and writes nothing."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Mapping

from pydantic import BaseModel, ValidationError

from states.common import EARLIEST, LATEST
from states.spec import Transition
from workflows.core import text
from workflows.core.errors import EffectiveTimeError, InvalidDataError
from workflows.core.times import utc_iso

if TYPE_CHECKING:
    from workflows.core.config import Limits


def refuse_invalid_text(data: Any, trigger: str, limits: Limits | None = None) -> None:
    """Data that is not an object, nests deeper or holds longer text than `limits` allow
    (configuration [limits]), or holds text that cannot be stored (workflows/core/text.py), is
    refused before anything is read."""
    if data is not None and not isinstance(data, Mapping):
        raise InvalidDataError(f"{trigger}: invalid data: give an object of keys and values, "
                               f"not {type(data).__name__}", trigger=trigger)
    if limits is not None and data:
        deep = text.depth(data)
        if deep > limits.data_depth:
            raise InvalidDataError(
                f"{trigger}: invalid data: nested {deep} deep; at most {limits.data_depth} "
                "(configuration [limits] data_depth)", trigger=trigger)
        where, size = text.longest_text(data)
        if size > limits.text_bytes:
            raise InvalidDataError(
                f"{trigger}: invalid data: {where or 'a key'}: a text of {size:,} bytes; at "
                f"most {limits.text_bytes:,} (configuration [limits] text_bytes)",
                trigger=trigger, field=where)
    found = text.first_invalid(dict(data or {}))
    if found:
        where, why = found
        raise InvalidDataError(f"{trigger}: invalid data: {where}: {why}", trigger=trigger,
                               field=where)


def validate(row: Transition, data: Mapping[str, Any], case_id: str | None,
             state: str | None, context: Mapping[str, Any] | None = None) -> BaseModel | None:
    """The trigger's data as its model reads it; a refusal lists every invalid key. `context`
    is the mode's (`Mode.validation`): the rules a person's data meets at the door and an
    entry logged before them need not (states/common.py, `Line`)."""
    if row.data is None:
        return None
    try:
        return row.data.model_validate(data if type(data) is dict else dict(data),
                                       context=context)
    except ValidationError as err:
        problems = []
        for error in err.errors():
            where = ".".join(str(p) for p in error["loc"])
            message = error["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}" if where else message)
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or problems[0].split(":")[0]
        raise InvalidDataError(f"{row.trigger}: invalid data: {'; '.join(problems)}",
                               case=case_id, trigger=row.trigger, state=state,
                               field=field) from None


def dumped(model: BaseModel | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """A trigger's data twice: as guards, deadlines and notices read it (dates as dates), and
    as the log stores it (JSON: dates as text, keys as strings)."""
    if model is None:
        return {}, {}
    return model.model_dump(), model.model_dump(mode="json")


def effective_time(at: datetime, now: datetime, *, by_a_person: bool, opened_at: str | None,
                   case_id: str | None, trigger: str) -> datetime:
    """When the event takes effect. A person's event may not be in the future of the engine's
    clock, nor before its case was opened; whether it may come before later entries of its
    case is the late-keyed rule's to say (steps.late_keyed)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise EffectiveTimeError("effective time without a time zone", trigger=trigger)
    if not _EARLIEST <= at <= _LATEST:
        raise EffectiveTimeError(
            f"effective time {at.isoformat()} is outside the years {EARLIEST.year}-"
            f"{LATEST.year}: is the date mistyped?", case=case_id, trigger=trigger)
    if by_a_person and at > now:
        raise EffectiveTimeError(
            f"effective time {utc_iso(at)} is in the future of the engine's clock "
            f"({utc_iso(now)}): a form can only be keyed in after it arrived",
            case=case_id, trigger=trigger)
    if by_a_person and opened_at and utc_iso(at) < opened_at:
        raise EffectiveTimeError(
            f"effective time {utc_iso(at)} is before case {case_id} was opened ({opened_at})",
            case=case_id, trigger=trigger)
    return at


_EARLIEST = datetime(EARLIEST.year, 1, 1, tzinfo=timezone.utc)
_LATEST = datetime(LATEST.year, 12, 31, 23, 59, 59, tzinfo=timezone.utc)
