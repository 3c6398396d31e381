"""The `daemons` table: one row per daemon process, its heartbeat read by `status`."""
from __future__ import annotations

from storage.db import Database
from storage.statements import Statements


def beat(db: Database, daemon_id: str, host: str, pid: int, now: str) -> None:
    """The daemon is alive at `now` (its row made on the first beat)."""
    with db.write() as conn:
        q = Statements(db, conn)
        if q.run("UPDATE daemons SET heartbeat_at = :now WHERE id = :id",
                 {"now": now, "id": daemon_id}) == 0:
            q.run("INSERT INTO daemons (id, host, pid, started_at, heartbeat_at) VALUES "
                  "(:id, :host, :pid, :now, :now)",
                  {"id": daemon_id, "host": host, "pid": pid, "now": now})


def stopped(db: Database, daemon_id: str, now: str, summary: str) -> None:
    with db.write() as conn:
        Statements(db, conn).run("UPDATE daemons SET heartbeat_at = :now, stopped_at = :now, "
                                 "summary = :summary WHERE id = :id",
                                 {"now": now, "id": daemon_id, "summary": summary})
