"""A checkpoint file read back (workflows/read/checkpoint.py): what `audit checkpoint --write`
wrote is read; a crafted file is refused saying what is wrong, never with a traceback."""
from __future__ import annotations

import pytest

from workflows.read.checkpoint import NotACheckpointError, read_checkpoint

HEAD = "ab" * 32

CRAFTED = {
    "a 5,000-digit count": ('{"count": ' + "9" * 5000 + f', "hash": "{HEAD}"}}', "not JSON"),
    "1e999": (f'{{"count": 1e999, "hash": "{HEAD}"}}', "`count` is inf"),
    "Infinity": (f'{{"count": Infinity, "hash": "{HEAD}"}}', "`Infinity` is no number"),
    "NaN": (f'{{"count": NaN, "hash": "{HEAD}"}}', "`NaN` is no number"),
    "100,000 [": ("[" * 100_000, "larger than 65,536 bytes"),
    "1,000 [": ("[" * 1_000, "nested deeper"),
    "a count that is text": (f'{{"count": "7", "hash": "{HEAD}"}}', "`count` is \"7\""),
    "a negative count": (f'{{"count": -1, "hash": "{HEAD}"}}', "`count` is -1"),
    "true as a count": (f'{{"count": true, "hash": "{HEAD}"}}', "`count` is true"),
    "a short hash": ('{"count": 3, "hash": "abc"}', "`hash` is \"abc\""),
    "a list": ("[1, 2]", "not a JSON object"),
    "not UTF-8": (b'{"count": 3, "hash": "\xff"}', "not UTF-8"),
    "too large": ("{" + " " * 70_000 + "}", "larger than 65,536 bytes"),
}


def test_a_checkpoint_as_written_is_read():
    assert read_checkpoint(f'{{"count": 12, "hash": "{HEAD}", "time": "2027-01-04T09:00:00+00:00", '
                           f'"database": "cases.db"}}'.encode()) == (12, HEAD)


@pytest.mark.parametrize("what", CRAFTED)
def test_a_crafted_checkpoint_is_refused_saying_what_is_wrong(what):
    content, says = CRAFTED[what]
    raw = content if isinstance(content, bytes) else content.encode()
    with pytest.raises(NotACheckpointError) as refused:
        read_checkpoint(raw)
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)
