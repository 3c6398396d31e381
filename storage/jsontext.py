"""Case data and log data as stored: canonical JSON text (keys sorted, compact, UTF-8 as is), so
that equal data is equal text, which the hash chain and replay's comparison rely on.

`as_read_back` gives the value a store would hand back after writing and reading that text,
without writing it: replay's memory store (storage/memory_store.py) keeps case data that way."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_jsonable)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise TypeError(f"not JSON: a naive datetime {value.isoformat()}")
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


def as_read_back(value: Any, previous: dict | None = None) -> Any:
    """`json.loads(dumps(value))`, built directly: dicts with their keys in sorted order, tuples
    as lists. A top-level entry that is the very object `previous` holds under that key was
    built by this function already and is shared, not copied again: a transition adds one
    entry to a case's data and keeps the rest. Callers must not change what this returns."""
    if value is previous:
        return previous
    try:
        if previous is not None and type(value) is dict:
            return {k: v if previous.get(k, _ABSENT) is v else _native(v)
                    for k, v in sorted(value.items())}
        return _native(value)
    except _NotNative:   # a date, a number key: let the encoder decide what it reads back as
        return json.loads(dumps(value))


_ABSENT = object()


class _NotNative(Exception):
    pass


def _native(value: Any) -> Any:
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        if not all(type(k) is str for k in value):
            raise _NotNative
        return {k: _native(v) for k, v in sorted(value.items())}
    if kind is list or kind is tuple:
        return [_native(v) for v in value]
    if kind is float and value == value and value not in (_INF, -_INF):
        return value   # NaN and infinities are written as names; let the encoder handle them
    raise _NotNative


_INF = float("inf")
