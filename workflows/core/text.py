"""Text that may enter the engine. Every string it stores is written as UTF-8, hashed and sent
in mail, so one that cannot be encoded (a lone surrogate, which JSON's `\\udfff` escapes and
undecodable command-line bytes both produce) is refused at the boundary with the key it is in,
before anything is read or written. So are control characters other than tab and line breaks:
NUL cannot be stored by PostgreSQL, and the others (an ANSI escape) would rewrite an operator's
terminal when `show` prints them."""
from __future__ import annotations

import re
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
    """(where, UTF-8 bytes) of the longest string in a JSON-like value."""
    best = ("", 0)
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            size = len(item.encode("utf-8", "surrogatepass"))
            if size > best[1]:
                best = (where, size)
        elif isinstance(item, dict):
            stack.extend((v, f"{where}.{k}" if where else str(k)) for k, v in item.items())
        elif isinstance(item, (list, tuple)):
            stack.extend((v, f"{where}[{n}]") for n, v in enumerate(item))
    return best
