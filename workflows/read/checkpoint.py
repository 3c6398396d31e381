"""A checkpoint as `audit checkpoint --write` writes it (`{"count": N, "hash": "..."}`), read
back for `audit verify --checkpoint` and for the console's audit page alike: one reader, so
that a crafted file is refused by both in the same words, in one line, and never ends in a
traceback (a 5,000-digit count, `Infinity`, `1e999`, 100,000 `[`: issue 26)."""
from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from workflows.core.text import text_depth

MAX_BYTES = 65536        # a checkpoint is about 200 bytes
MAX_DEPTH = 2            # an object of plain values, or within one more
_HASH = re.compile(r"[0-9a-f]{64}")


class NotACheckpointError(ValueError):
    """What is wrong with the file, in words a person can act on."""


def read_checkpoint(content: bytes) -> tuple[int, str]:
    """The log's entry count and head hash a checkpoint file holds, or NotACheckpointError."""
    if len(content) > MAX_BYTES:
        raise NotACheckpointError(f"larger than {MAX_BYTES:,} bytes")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as err:
        raise NotACheckpointError(f"not UTF-8 text (byte {err.start})") from None
    if text_depth(text) > MAX_DEPTH:
        raise NotACheckpointError("nested deeper than a checkpoint is")
    try:
        saved = json.loads(text, parse_constant=_no_constant)
    except ValueError as err:   # JSONDecodeError, and an integer of more digits than Python reads
        raise NotACheckpointError(f"not JSON ({_first_line(err)})") from None
    if not isinstance(saved, dict):
        raise NotACheckpointError("not a JSON object")
    count, head = saved.get("count"), saved.get("hash")
    if type(count) is not int or count < 0:
        raise NotACheckpointError(f"`count` is {_shown(count)}, not a number of log entries")
    if not isinstance(head, str) or not _HASH.fullmatch(head):
        raise NotACheckpointError(f"`hash` is {_shown(head)}, not a sha256 in hex")
    return count, head


def _no_constant(name: str) -> NoReturn:
    raise NotACheckpointError(f"`{name}` is no number of log entries")


def _shown(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, float) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0][:120]
