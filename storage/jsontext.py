"""Case data and log data as stored: canonical JSON text (keys sorted, compact, UTF-8 as is), so
that equal data is equal text, which the hash chain and replay's comparison rely on.

`as_read_back` gives the value a store would hand back after writing and reading that text,
without writing it: replay's memory store (storage/memory_store.py) keeps case data that way.
What it gives cannot be changed (`ReadBackDict`, `ReadBackList`), so the memory store can keep
the entries a transition did not touch shared between a case's versions, as nothing can change
one through another (tests/unit/test_jsontext.py)."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, NoReturn, SupportsIndex


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


class ReadBackDict(dict[str, Any]):
    """A JSON object as read back: a dict in every way but that it refuses to change (copy it,
    `{**value}`, to change it). Pickled and copied as itself."""
    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("data read back from a store is not to be changed: copy it first")

    def __setitem__(self, key: str, value: Any) -> NoReturn:
        self._refuse()

    def __delitem__(self, key: str) -> NoReturn:
        self._refuse()

    def __ior__(self, other: object) -> NoReturn:   # type: ignore[misc]
        self._refuse()

    update = clear = pop = popitem = setdefault = _refuse

    def __reduce__(self) -> tuple[type[ReadBackDict], tuple[dict[str, Any]]]:
        return ReadBackDict, (dict(self),)


class ReadBackList(list[Any]):
    """A JSON array as read back: a list that refuses to change (`list(value)` to change it)."""
    __slots__ = ()

    def _refuse(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("data read back from a store is not to be changed: copy it first")

    def __setitem__(self, index: Any, value: Any) -> NoReturn:
        self._refuse()

    def __delitem__(self, index: SupportsIndex | slice) -> NoReturn:
        self._refuse()

    def __iadd__(self, other: object) -> NoReturn:   # type: ignore[misc]
        self._refuse()

    def __imul__(self, other: object) -> NoReturn:
        self._refuse()

    append = extend = insert = remove = pop = clear = sort = reverse = _refuse

    def __reduce__(self) -> tuple[type[ReadBackList], tuple[list[Any]]]:
        return ReadBackList, (list(self),)


def as_read_back(value: Any, previous: dict[str, Any] | None = None) -> Any:
    """`json.loads(dumps(value))` (dicts with their keys in sorted order, tuples as lists,
    dates as text), built without writing the text out, as ReadBackDict and ReadBackList. What
    is read back already is kept, not copied: a value that is `previous`, a top-level entry
    that is the very object `previous` holds under that key (a transition adds one entry to a
    case's records and keeps the rest), and any ReadBackDict or ReadBackList inside `value`.
    Nothing can change them, so sharing them is safe."""
    if value is previous:
        return previous
    if previous is None or type(value) is not dict:
        return _small_read_back(value)
    try:
        keys = sorted(value)
    except TypeError:   # keys of several types: the encoder says what it makes of them
        return _frozen(loads(dumps(value)))
    get = previous.get
    out = {}
    for key in keys:
        item = value[key]
        if get(key, _ABSENT) is not item:
            if type(key) is not str:
                return _frozen(loads(dumps(value)))
            item = _small_read_back(item)
        out[key] = item
    return ReadBackDict(out)


_ABSENT = object()
_DECODER = json.JSONDecoder()


def _small_read_back(value: Any) -> Any:
    # Case data and a trigger's record are plain values (a model's JSON dump): sorting them
    # here costs half of writing and parsing them. Anything else (a date, a number key, NaN)
    # goes through the encoder.
    try:
        return _plain(value)
    except (_NotPlain, TypeError):   # TypeError: keys that cannot be sorted together
        return _frozen(loads(dumps(value)))


def _frozen(value: Any) -> Any:
    """A value parsed from JSON, made of ReadBackDict and ReadBackList."""
    kind = type(value)
    if kind is dict:
        return ReadBackDict({key: _frozen(item) for key, item in value.items()})
    if kind is list:
        return ReadBackList([_frozen(item) for item in value])
    return value


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
        return ReadBackDict(out)
    if kind is list or kind is tuple:
        return ReadBackList([item if type(item) in _TEXT_AS_IS else _plain(item)
                             for item in value])
    if kind in _TEXT_AS_IS or kind is ReadBackDict or kind is ReadBackList:
        return value
    if kind is float and -_INF < value < _INF:   # NaN and infinities are written as names
        return value
    raise _NotPlain


_TEXT_AS_IS = frozenset((str, int, bool, type(None)))   # read back exactly as they are
_INF = float("inf")
