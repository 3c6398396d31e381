"""THE one-deliverer policy, used by the daemon and by `deliver` alike.

On PostgreSQL any number of processes deliver: each notice is claimed with a lease
(storage/outbox.py) and a lease a dead process left runs out. On SQLite one process delivers:
whoever holds an exclusive flock on a file beside the database. The kernel drops the lock when
its process dies, so a SIGKILL never leaves it stale; and a lease found by the holder is a
dead process's, so the holder frees them all. No other command takes the lock, so `show`,
`fire` and `open` are never blocked by it.
"""
from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import make_url

from storage import outbox
from storage.db import Database
from workflows.core.errors import RefusedError

ONE_DAEMON = ("only one daemon may run per SQLite file: stop it first, or move to PostgreSQL "
              "to run several")


class DaemonAlreadyRunningError(RefusedError):
    pass


class SqliteDaemonLock:
    """An exclusive flock on `DATABASE.daemon.lock`, naming its holder inside."""

    def __init__(self, database_path: str):
        # Beside the file itself, not the name it was reached by: a symlink to the database
        # (or a folder's) must meet the same lock, or two daemons would deliver the same notices.
        real = os.path.realpath(database_path) if database_path not in ("", ":memory:") \
            else database_path
        self.path = Path(f"{real}.daemon.lock")
        self.handle: TextIO | None = None

    def acquire(self, who: str, when_taken: str = ONE_DAEMON) -> None:
        """Take the lock, or refuse saying who holds it and, in `when_taken`, what to do."""
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise DaemonAlreadyRunningError(
                f"a daemon already runs on this database ({holder}); {when_taken}") from None
        handle.seek(0)
        handle.truncate()
        handle.write(who)
        handle.flush()
        self.handle = handle

    def release(self) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle, fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


class OneDeliverer:
    """The right to deliver `db`'s notices: on SQLite the lock, on PostgreSQL always granted."""

    def __init__(self, db: Database):
        self.db = db
        self.lock = SqliteDaemonLock(make_url(db.url).database or "") if db.is_sqlite else None

    @property
    def sole(self) -> bool:
        """Whether this process is the only one that may deliver (SQLite)."""
        return self.lock is not None

    def take(self, who: str, when_taken: str = ONE_DAEMON) -> None:
        """Take the right, or refuse (exit 2) naming who holds it and what to do."""
        if self.lock is not None:
            self.lock.acquire(who, when_taken)

    def free_dead_leases(self) -> None:
        """Holding the SQLite lock, a lease left on a notice is a dead process's: free it.
        (On PostgreSQL another live daemon may hold it: it runs out on its own.)"""
        if self.lock is not None:
            outbox.release_all(self.db)

    def release(self) -> None:
        if self.lock is not None:
            self.lock.release()
