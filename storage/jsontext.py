"""Case data and log data as stored: canonical JSON text (keys sorted, compact, UTF-8 as is), so
that equal data is equal text, which the hash chain and replay's comparison rely on.

`as_read_back` gives the value a store would hand back after writing and reading that text,
without writing it: replay's memory store (storage/memory_store.py) keeps case data that way."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any


def dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def loads(text: str) -> Any:
    """`json.loads` for the text this module writes: no surrounding whitespace to skip, so the
    decoder is called directly (the whitespace matching cost two calls per text)."""
    value, end = _DECODER.raw_decode(text)
    return value if end == len(text) else json.loads(text)   # json.loads names what is wrong


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise TypeError(f"not JSON: a naive datetime {value.isoformat()}")
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON: {value!r}")


# Built once: json.dumps with options builds an encoder per call, which costs twice the
# encoding of a log entry's data. Data is a tree read from forms, so there is no cycle to check.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            default=_jsonable, check_circular=False)


def as_read_back(value: Any, previous: dict | None = None) -> Any:
    """`json.loads(dumps(value))` (dicts with their keys in sorted order, tuples as lists,
    dates as text), without writing out again what is already read back: a top-level entry
    that is the very object `previous` holds under that key is shared, not copied, since a
    transition adds one entry to a case's data and keeps the rest. Callers must not change
    what this returns."""
    if value is previous:
        return previous
    if previous is None or type(value) is not dict:
        return _small_read_back(value)
    try:
        keys = sorted(value)
    except TypeError:   # keys of several types: the encoder says what it makes of them
        return loads(dumps(value))
    get = previous.get
    out = {}
    for key in keys:
        item = value[key]
        if get(key, _ABSENT) is not item:
            if type(key) is not str:
                return loads(dumps(value))
            item = _small_read_back(item)
        out[key] = item
    return out


_ABSENT = object()
_DECODER = json.JSONDecoder()


def _small_read_back(value: Any) -> Any:
    # Case data and a trigger's record are plain values (a model's JSON dump): sorting them
    # here costs half of writing and parsing them. Anything else (a date, a number key, NaN)
    # goes through the encoder.
    try:
        return _plain(value)
    except (_NotPlain, TypeError):   # TypeError: keys that cannot be sorted together
        return loads(dumps(value))


class _NotPlain(Exception):
    pass


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        out = {}
        for key in sorted(value):   # (a key of another type than str raises TypeError or below)
            if type(key) is not str:
                raise _NotPlain
            item = value[key]
            out[key] = item if type(item) in _TEXT_AS_IS else _plain(item)
        return out
    if kind is list or kind is tuple:
        return [item if type(item) in _TEXT_AS_IS else _plain(item) for item in value]
    if kind in _TEXT_AS_IS:
        return value
    if kind is float and -_INF < value < _INF:   # NaN and infinities are written as names
        return value
    raise _NotPlain


_TEXT_AS_IS = frozenset((str, int, bool, type(None)))   # read back exactly as they are
_INF = float("inf")
