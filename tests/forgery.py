"""What a forger with direct write access to the database does, for the tests that show it is
caught: drop the log's append-only guard, then rewrite an entry with every hash after it."""
from __future__ import annotations

from sqlalchemy import text

from storage import hashchain


def drop_append_only_guard(db):
    """What someone with direct write access would do first before rewriting history."""
    with db.engine.begin() as conn:
        if db.is_sqlite:
            conn.execute(text("DROP TRIGGER transition_log_no_update"))
            conn.execute(text("DROP TRIGGER transition_log_no_delete"))
        else:
            conn.execute(text("DROP TRIGGER transition_log_append_only ON transition_log"))


def rewrite_history(db, case: str, seq: int, data: str) -> None:
    """A forger with write access edits one entry and recomputes every hash after it, the
    chain head and the cases' heads, so that the chains on their own verify again."""
    drop_append_only_guard(db)
    with db.engine.begin() as conn:
        rows = [dict(r) for r in conn.execute(text(
            "SELECT * FROM transition_log ORDER BY global_seq")).mappings()]
        heads, previous = {}, hashchain.GENESIS
        for row in rows:
            if (row["case_id"], row["seq"]) == (case, seq):
                row["data"] = data
                row["data_sha256"] = hashchain.data_sha256(row["data_salt"] or "", data)
            row["prev_hash"] = heads.get(row["case_id"], hashchain.GENESIS)
            row["global_prev_hash"] = previous
            row["hash"] = hashchain.entry_hash(row)
            heads[row["case_id"]] = previous = row["hash"]
            conn.execute(text("UPDATE transition_log SET data = :data, data_sha256 = "
                              ":data_sha256, prev_hash = :prev_hash, global_prev_hash = "
                              ":global_prev_hash, hash = :hash WHERE global_seq = :global_seq"),
                         row)
        conn.execute(text("UPDATE chain_head SET hash = :h"), {"h": previous})
        for case_id, head in heads.items():
            conn.execute(text("UPDATE cases SET last_hash = :h WHERE id = :c"),
                         {"h": head, "c": case_id})
