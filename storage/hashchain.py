"""The transition log's two hash chains. Each entry's hash covers its content, the hash of the
case's previous entry and the hash of the previous entry of all cases, so editing, deleting or
reordering any row breaks both chains from that row on."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable, Mapping

GENESIS = "0" * 64

# The columns a hash covers, in this order; `data` is hashed as the stored JSON text.
HASHED = ("global_seq", "case_id", "seq", "trigger", "source", "dest", "actor", "on_behalf_of",
          "effective_at", "recorded_at", "data", "prev_hash", "global_prev_hash")


def entry_hash(entry: Mapping) -> str:
    values = [entry[k] for k in HASHED]
    if entry.get("engine") is not None:
        # Entries since migration 4 also cover the engine's own record; the ones before it
        # have none and hash as they always did.
        values.append(entry["engine"])
    canonical = json.dumps(values, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Break:
    global_seq: int
    case_id: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return (f"entry {self.global_seq} (case {self.case_id}, seq {self.seq}): {self.problem}")


@dataclass(frozen=True)
class Verdict:
    entries: int
    cases: int
    head: str
    first_break: Break | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify(entries: Iterable[Mapping], stored_head: tuple[int, str] | None = None,
           stored_cases: Mapping[str, tuple[int, str]] | None = None,
           checkpoint: tuple[int, str] | None = None) -> Verdict:
    """Walk the log in global order and recompute every hash and both links; report the first
    entry where anything disagrees. The stored heads (the chain_head row, each case's version
    and last hash) catch entries cut off the end of a chain; a checkpoint (a head an auditor
    kept outside the system) catches a whole chain rewritten with fresh hashes."""
    case_heads: dict[str, tuple[int, str]] = {}
    global_head, expected_seq, count = GENESIS, 1, 0

    def verdict(problem: Break | None) -> Verdict:
        return Verdict(count, len(case_heads), global_head, problem)

    for e in entries:
        where = (e["global_seq"], e["case_id"], e["seq"])
        last_seq, last_hash = case_heads.get(e["case_id"], (0, GENESIS))
        if e["global_seq"] != expected_seq:
            return verdict(Break(*where, f"expected global entry {expected_seq}: an entry is missing"))
        if e["seq"] != last_seq + 1:
            return verdict(Break(*where, f"expected case seq {last_seq + 1}: an entry is missing"))
        if e["prev_hash"] != last_hash:
            return verdict(Break(*where, "prev_hash does not match the case's previous entry"))
        if e["global_prev_hash"] != global_head:
            return verdict(Break(*where, "global_prev_hash does not match the previous entry"))
        if entry_hash(e) != e["hash"]:
            return verdict(Break(*where, "content does not match its hash (the row was edited)"))
        if checkpoint is not None and e["global_seq"] == checkpoint[0] \
                and e["hash"] != checkpoint[1]:
            return verdict(Break(*where, "does not match the checkpoint kept for it: the log "
                                         "was rewritten since"))
        case_heads[e["case_id"]] = (e["seq"], e["hash"])
        global_head, expected_seq, count = e["hash"], expected_seq + 1, count + 1

    if checkpoint is not None and count < checkpoint[0]:
        return verdict(Break(count, "-", 0, f"the checkpoint records entry {checkpoint[0]} but "
                                            f"the log ends at entry {count}"))
    if stored_head is not None and stored_head != (count, global_head):
        return verdict(Break(count, "-", 0, f"the chain head records entry {stored_head[0]} but "
                                            f"the log ends at entry {count}: entries were removed"))
    for case_id, (version, last_hash) in sorted((stored_cases or {}).items()):
        if case_heads.get(case_id, (0, GENESIS)) != (version, last_hash):
            logged = case_heads.get(case_id, (0, GENESIS))[0]
            return verdict(Break(count, case_id, logged,
                                 f"the case is at version {version} but its log ends at seq "
                                 f"{logged} with another hash: entries were removed"))
    return verdict(None)
