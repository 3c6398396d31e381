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
