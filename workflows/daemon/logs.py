"""The daemon's log: the standard `logging` module, one line per event, with levels.

Under systemd (its journal is the process's standard output: JOURNAL_STREAM names that stream)
each line starts with the sd-daemon priority prefix `<N>` and carries no timestamp of its own
(the journal stamps it), so `journalctl -p err` finds a timer that could not fire. Elsewhere a
line is `2027-01-21T00:00:03Z WARNING text`, in UTC. Either way a message is folded to one line:
a driver's multi-line error text never splits an event."""
from __future__ import annotations

import logging
import os
import re
import time
from typing import Mapping, TextIO

LOGGER = "ast_engine.daemon"

# syslog priorities (sd-daemon(3)): what journalctl -p filters on.
PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6,
            logging.DEBUG: 7}


def one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class OneLine(logging.Formatter):
    """A timestamped line in UTC: `2027-01-21T00:00:03Z WARNING text`."""
    converter = staticmethod(time.gmtime)

    def __init__(self) -> None:
        super().__init__("%(asctime)sZ %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return one_line(super().format(record))


class JournalLine(logging.Formatter):
    """`<3>text`: the priority for the journal, no timestamp (the journal keeps its own)."""

    def format(self, record: logging.LogRecord) -> str:
        priority = PRIORITY.get(record.levelno) or (3 if record.levelno > logging.ERROR else 6)
        return f"<{priority}>{one_line(record.getMessage())}"


def under_journal(stream: TextIO, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether `stream` is connected to the journal: systemd sets JOURNAL_STREAM to the
    `device:inode` of the stream it connected (systemd.exec(5))."""
    wanted = environ.get("JOURNAL_STREAM")
    if not wanted:
        return False
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return wanted == f"{stat.st_dev}:{stat.st_ino}"


def daemon_logger(stream: TextIO, environ: Mapping[str, str] = os.environ) -> logging.Logger:
    """The daemon's logger, writing to `stream` (standard output) in the form that suits where
    it goes."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for old in list(logger.handlers):
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JournalLine() if under_journal(stream, environ) else OneLine())
    logger.addHandler(handler)
    # A library's warning with no handler of its own (psycopg's "error ignored terminating
    # <Pipeline>" when PostgreSQL drops the connection mid-write) would go to logging's last
    # resort: bare text on standard error, with no time or level. It is an event like ours, so it
    # is written as one: the same stream, one line, a level the journal can filter on.
    logging.lastResort = _Through(handler, logging.WARNING)
    return logger


class _Through(logging.Handler):
    """Hands a record at `level` or above to `handler`, under that handler's lock, so that a
    library's line and the daemon's never interleave on the stream."""

    def __init__(self, handler: logging.Handler, level: int) -> None:
        super().__init__(level)
        self.handler = handler

    def emit(self, record: logging.LogRecord) -> None:
        self.handler.handle(record)
