"""What the command handlers share: printing JSON for scripts, writing an output file whole or
not at all, reading `--data`, and refusing a case id that names no case."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from storage import queries
from storage.db import Database
from workflows.core.errors import RefusedError, UnknownCaseError


def emit(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def write_file(name: str, content: str | bytes, option: str = "--output") -> None:
    """Write an output file whole or not at all, readable by its owner only (an export holds
    personal data). A missing folder or a file that cannot be written is refused in one line."""
    import tempfile
    target = Path(name)
    if target.is_dir():
        raise RefusedError(f"{option} {name}: is a folder; name a file")
    if not target.parent.is_dir():
        raise RefusedError(f"{option} {name}: no folder {str(target.parent)!r}; create it first")
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        handle, part = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=".part")   # created 0600
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(part, target)
        except BaseException:
            os.unlink(part)
            raise
    except OSError as err:
        raise RefusedError(f"{option} {name}: cannot write it: {err.strerror}") from None


def read_data(text: str | None, limits: Any = None) -> dict[str, Any]:
    """`--data`: JSON text, or @FILE. At most [limits] data_bytes of it are read (a file that
    never ends, /dev/zero, is refused, not read), and its nesting is measured before it is
    parsed (the parser recurses)."""
    from workflows.core import text as texts
    from workflows.core.config import Limits
    limits = limits or Limits()
    if text is None:
        return {}
    if text.startswith("@"):
        name = text[1:]
        try:
            with open(name, "rb") as source:
                raw = source.read(limits.data_bytes + 1)
        except OSError as err:
            raise RefusedError(f"--data: cannot read {name}: {err.strerror}") from None
        if len(raw) > limits.data_bytes:
            raise RefusedError(f"--data: {name} is larger than {limits.data_bytes:,} bytes "
                               "(configuration [limits] data_bytes)")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise RefusedError(f"--data: {name} is not UTF-8 text (byte {err.start})") from None
    elif len(text.encode("utf-8", "surrogatepass")) > limits.data_bytes:
        raise RefusedError(f"--data: larger than {limits.data_bytes:,} bytes (configuration "
                           "[limits] data_bytes)")
    deep = texts.text_depth(text)
    if deep > limits.data_depth:
        raise RefusedError(f"--data: nested {deep} deep; at most {limits.data_depth} "
                           "(configuration [limits] data_depth)")
    try:
        value = texts.loads_data(text)
    except json.JSONDecodeError as err:
        raise RefusedError(f"--data: not JSON ({err.msg} at line {err.lineno} column "
                           f"{err.colno})") from None
    except texts.DataTextError as err:
        raise RefusedError(f"--data: {err}") from None
    except RecursionError:   # text_depth counted what the parser reads; kept as a last guard
        raise RefusedError("--data: nested too deep") from None
    if not isinstance(value, dict):
        raise RefusedError("--data: give a JSON object, e.g. '{\"reasons\": \"...\"}'")
    return value


def known_case(db: Database, case: str) -> None:
    """Refuse a case id that names no case, as every command that reads one case does."""
    if not queries.case_exists(db, case):
        raise UnknownCaseError(f"no case {case!r}", case=case)
