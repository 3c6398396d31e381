"""Text that may enter the engine. Every string it stores is written as UTF-8, hashed and sent
in mail, so one that cannot be encoded (a lone surrogate, which JSON's `\\udfff` escapes and
undecodable command-line bytes both produce) is refused at the boundary with the key it is in,
before anything is read or written. So are control characters other than tab and line breaks:
NUL cannot be stored by PostgreSQL, and the others (an ANSI escape) would rewrite an operator's
terminal when `show` prints them."""
from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

# Lone surrogates, and C0/C1 control characters but tab, line feed and carriage return.
_BAD = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# In a name or an id (an actor, a case, a trigger): no line breaks or tabs either.
_BAD_IN_NAME = re.compile("[\ud800-\udfff\x00-\x1f\x7f-\x9f]")


def problem(text: str, name: bool = False) -> str | None:
    """Why `text` may not be stored, or None."""
    found = (_BAD_IN_NAME if name else _BAD).search(text)
    if found is None:
        return None
    char = found.group()
    if "\ud800" <= char <= "\udfff":
        return f"not valid Unicode text (a lone surrogate, U+{ord(char):04X})"
    return f"contains a control character (U+{ord(char):04X})"


def first_invalid(value: Any, path: str = "") -> tuple[str, str] | None:
    """The first string in a JSON-like value (keys included) that may not be stored, as
    (where, why); None when all may."""
    if isinstance(value, str):
        why = problem(value)
        return (path, why) if why else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path and isinstance(key, str) else str(key)
            if isinstance(key, str) and (why := problem(key, name=True)):
                return (path or "a key", f"key {key!r} {why}")
            found = first_invalid(item, where)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for n, item in enumerate(value):
            found = first_invalid(item, f"{path}[{n}]" if path else f"[{n}]")
            if found:
                return found
    return None


def depth(value: Any) -> int:
    """How deep objects and lists nest in a parsed JSON-like value (a scalar: 0)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, (list, tuple)):
            deepest = max(deepest, level)
            stack.extend((v, level + 1) for v in item)
    return deepest


def text_depth(document: str) -> int:
    """How deep objects and arrays nest in JSON text, found without parsing it (the parser
    recurses, so text nested 100,000 deep would exhaust it)."""
    deepest = level = 0
    in_string = escaped = False
    for char in document:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return deepest


def longest_text(value: Any, path: str = "") -> tuple[str, int]:
    """(where, UTF-8 bytes) of the longest string in a JSON-like value, keys included (a
    70,000-character key once passed the limit on texts)."""
    best = ("", 0)
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            size = len(item.encode("utf-8", "surrogatepass"))
            if size > best[1]:
                best = (where, size)
        elif isinstance(item, dict):
            for k, v in item.items():
                if isinstance(k, str):
                    size = len(k.encode("utf-8", "surrogatepass"))
                    if size > best[1]:
                        best = (f"a key in {where}" if where else "a key", size)
                stack.append((v, f"{where}.{k}" if where else str(k)))
        elif isinstance(item, (list, tuple)):
            stack.extend((v, f"{where}[{n}]") for n, v in enumerate(item))
    return best


class DataTextError(ValueError):
    """JSON text a form may not hold, with where in it (a key path) and why."""


class _NotFinite:
    """Stands where the text held NaN, Infinity or a number too large for a float."""
    __slots__ = ("written",)

    def __init__(self, written: str):
        self.written = written


def loads_data(document: str) -> Any:
    """JSON text as a form's data, parsed strictly: a key given twice in one object, NaN,
    Infinity or a number beyond a float (1e999, which JSON parsers read as infinity) and an
    integer of more digits than Python reads are refused, naming the key (the last silently
    won, and the numbers were stored as null: issue 26). Nesting is the caller's to measure
    first (`text_depth`): the parser recurses."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                raise DataTextError(f"key {key!r} is given twice in one object; give it once")
            seen[key] = value
        return seen

    def number(written: str) -> float | _NotFinite:
        value = float(written)
        return value if math.isfinite(value) else _NotFinite(written)

    try:
        value = json.loads(document, object_pairs_hook=pairs, parse_constant=_NotFinite,
                           parse_float=number)
    except (json.JSONDecodeError, DataTextError):
        raise   # the caller says where the text is not JSON; ours name the key already
    except ValueError:   # an integer of more digits than sys.get_int_max_str_digits
        raise DataTextError(f"a number of more than {sys.get_int_max_str_digits():,} digits"
                            ) from None
    found = _first_not_finite(value, "")
    if found is not None:
        where, written = found
        raise DataTextError(f"{where or 'the value'}: {written} is not a number a form may "
                            "hold (JSON has no NaN or infinity)")
    return value


def _first_not_finite(value: Any, path: str) -> tuple[str, str] | None:
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, _NotFinite):
            return where, item.written
        if isinstance(item, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k))
                         for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend((v, f"{where}[{n}]") for n, v in reversed(list(enumerate(item))))
    return None
