"""The `daemons` table: one row per daemon process, its heartbeat read by `status`.

A row is open (`stopped_at` empty) while its daemon runs. A daemon that stops cleanly closes its
own row; one that was killed cannot, so a row whose heartbeat is older than the limit is dead:
`status` treats it so, and each daemon closes such rows (`close_dead`) when it starts and as it
goes."""
from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database
from storage.statements import Statements

HEARTBEAT_LIMIT_SECONDS = 60   # a daemon silent this long is dead (status, close_dead)


@dataclass(frozen=True)
class Heartbeats:
    """What `status` needs about the daemons: the latest row, and how many are alive."""
    latest: tuple[str, str, str | None, str | None] | None        # (id, heartbeat_at, stopped_at, summary) of the latest heartbeat
    alive: int                  # open rows whose heartbeat is at or after the cutoff
    newest_alive: str | None    # the freshest heartbeat among those


def beat(db: Database, daemon_id: str, host: str, pid: int, now: str) -> None:
    """The daemon is alive at `now` (its row made on the first beat). A row that another
    daemon closed as dead while this one could not reach the database is opened again."""
    with db.write() as conn:
        q = Statements(db, conn)
        if q.run("UPDATE daemons SET heartbeat_at = :now, stopped_at = NULL, summary = NULL "
                 "WHERE id = :id", {"now": now, "id": daemon_id}) == 0:
            q.run("INSERT INTO daemons (id, host, pid, started_at, heartbeat_at) VALUES "
                  "(:id, :host, :pid, :now, :now)",
                  {"id": daemon_id, "host": host, "pid": pid, "now": now})


def stopped(db: Database, daemon_id: str, now: str, summary: str) -> None:
    with db.write() as conn:
        Statements(db, conn).run("UPDATE daemons SET heartbeat_at = :now, stopped_at = :now, "
                                 "summary = :summary WHERE id = :id",
                                 {"now": now, "id": daemon_id, "summary": summary})


def close_dead(db: Database, cutoff: str) -> int:
    """Close the rows of daemons silent since before `cutoff` (killed, or their host lost):
    stopped at their last heartbeat. Returns how many."""
    with db.write() as conn:
        return Statements(db, conn).run(
            "UPDATE daemons SET stopped_at = heartbeat_at, summary = 'no heartbeat since ' || "
            "heartbeat_at || ': presumed dead (killed, or its host lost)' "
            "WHERE stopped_at IS NULL AND heartbeat_at < :cutoff", {"cutoff": cutoff})


def heartbeats(db: Database, cutoff: str) -> Heartbeats:
    """The latest daemon row, and the open rows with a heartbeat at or after `cutoff`."""
    with db.read() as conn:
        q = Statements(db, conn)
        latest = q.one("SELECT id, heartbeat_at, stopped_at, summary FROM daemons "
                       "ORDER BY heartbeat_at DESC, id LIMIT 1", {})
        alive = q.one("SELECT COUNT(*), MAX(heartbeat_at) FROM daemons WHERE stopped_at IS NULL "
                      "AND heartbeat_at >= :cutoff", {"cutoff": cutoff})
    return Heartbeats(tuple(latest) if latest else None, int(alive[0]) if alive else 0,
                      alive[1] if alive else None)
