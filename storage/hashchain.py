"""The transition log's two hash chains, and the hashes that anchor each notice in them.

Each entry's hash covers its content, the hash of the case's previous entry and the hash of the
previous entry of all cases, so editing, deleting or reordering any row breaks both chains from
that row on. Since migration 5 (hash version 2) an entry covers its data through `data_sha256`, a
hash of the data and a random salt, rather than through the data itself: a case's personal data
can then be erased (the data and salt replaced, `erased` set) while both chains still verify,
and the salt, erased with it, keeps the remaining hash from being guessed back. A version 2
entry also covers the notices it stored (`notices_sha256`), and each notice's hash covers its
template, the version of it, and (through `content_sha256`, salted likewise) its recipients,
subject and body: a notice edited in the database fails `audit verify`, and every channel checks
it again before sending (notifications/delivery.py).

Entries written before migration 5 (version 1) hash their data text itself, as they always did.
Erasing one of them leaves its hash unrecomputable, so the entry that erases it records, for
each such entry, a digest of everything else in it (`legacy`): the entry is checked against that
record instead, and the record is itself covered by the chain.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

GENESIS = "0" * 64

# The columns a hash covers, in this order.
HASHED_V1 = ("global_seq", "case_id", "seq", "trigger", "source", "dest", "actor",
             "on_behalf_of", "effective_at", "recorded_at", "data", "prev_hash",
             "global_prev_hash")
HASHED_V2 = ("global_seq", "case_id", "seq", "trigger", "source", "dest", "actor",
             "on_behalf_of", "effective_at", "recorded_at", "data_sha256", "engine",
             "notices_sha256", "prev_hash", "global_prev_hash")
CURRENT = 2


def _sha(values: Sequence[Any]) -> str:
    canonical = json.dumps(list(values), separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _get(entry: Any, key: str) -> Any:
    return entry[key] if isinstance(entry, Mapping) else getattr(entry, key)


def entry_hash(entry: Any) -> str:
    version = _get(entry, "hash_version") if _has(entry, "hash_version") else 1
    columns = HASHED_V2 if version == 2 else HASHED_V1
    return _sha([_get(entry, k) for k in columns])


def _has(entry: Any, key: str) -> bool:
    return key in entry if isinstance(entry, Mapping) else hasattr(entry, key)


def data_sha256(salt: str, data: str) -> str:
    """What a version 2 entry's hash covers of its data: the salt and the data text."""
    return hashlib.sha256(f"{salt}\n{data}".encode("utf-8")).hexdigest()


def notice_content_sha256(salt: str, recipients: Sequence[str], subject: str, body: str) -> str:
    return _sha([salt, list(recipients), subject, body])


def notice_hash(notice_id: str, case_id: str, log_seq: int, template: str,
                template_sha256: str | None, content_sha256: str | None) -> str:
    return _sha([notice_id, case_id, log_seq, template, template_sha256, content_sha256])


def notices_sha256(hashes: Sequence[str]) -> str | None:
    """What an entry's hash covers of the notices it stored (in the order of their ids)."""
    return _sha(list(hashes)) if hashes else None


def legacy_digest(entry: Any) -> str:
    """A version 1 entry without its data: what the entry erasing its data records of it."""
    return _sha([_get(entry, k) for k in HASHED_V1 if k != "data"] + [_get(entry, "hash")])


@dataclass(frozen=True)
class Break:
    global_seq: int
    case_id: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"entry {self.global_seq} (case {self.case_id}, seq {self.seq}): {self.problem}"


@dataclass(frozen=True)
class Verdict:
    entries: int
    cases: int
    notices: int
    head: str
    first_break: Break | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def notice_problem(n: Any) -> str | None:
    """Why a stored notice does not match its own hashes, or None."""
    if n.hash is None:
        return None   # cannot happen after migration 5, which seals every notice
    if not n.erased and n.content_sha256 != notice_content_sha256(
            n.salt or "", n.recipients, n.subject, n.body):
        return (f"notice {n.id}: its recipients, subject or body no longer match its hash "
                "(edited after it was stored)")
    if n.hash != notice_hash(n.id, n.case_id, n.log_seq, n.template, n.template_sha256,
                             n.content_sha256):
        return f"notice {n.id}: its template or its place in the log no longer match its hash"
    return None


def verify(entries: Iterable[tuple[Any, Sequence[Any]]],
           stored_head: tuple[int, str] | None = None,
           stored_cases: Mapping[str, tuple[int, str]] | None = None,
           checkpoint: tuple[int, str] | None = None,
           attested: Mapping[tuple[str, int], str] | None = None,
           erasing: Mapping[str, int] | None = None) -> Verdict:
    """Walk the log in global order, each entry with the notices it stored, and recompute
    every hash and both links; report the first entry where anything disagrees.

    The stored heads (the chain_head row, each case's version and last hash) catch entries cut
    off the end of a chain; a checkpoint (a head an auditor kept outside the system) catches a
    whole chain rewritten with fresh hashes. `attested` maps (case, seq) of each erased version
    1 entry to the digest its erasing entry recorded; `erasing` maps each case with an
    `erase_personal_data` entry to that entry's seq."""
    attested = attested or {}
    erasing = erasing or {}
    case_heads: dict[str, tuple[int, str]] = {}
    global_head, expected_seq, count, notices = GENESIS, 1, 0, 0

    def verdict(problem: Break | None) -> Verdict:
        return Verdict(count, len(case_heads), notices, global_head, problem)

    for e, stored_notices in entries:
        where = (e.global_seq, e.case_id, e.seq)
        last_seq, last_hash = case_heads.get(e.case_id, (0, GENESIS))
        if e.global_seq != expected_seq:
            return verdict(Break(*where, f"expected global entry {expected_seq}: an entry is missing"))
        if e.seq != last_seq + 1:
            return verdict(Break(*where, f"expected case seq {last_seq + 1}: an entry is missing"))
        if e.prev_hash != last_hash:
            return verdict(Break(*where, "prev_hash does not match the case's previous entry"))
        if e.global_prev_hash != global_head:
            return verdict(Break(*where, "global_prev_hash does not match the previous entry"))
        problem = _entry_problem(e, stored_notices, attested, erasing)
        if problem:
            return verdict(Break(*where, problem))
        if checkpoint is not None and e.global_seq == checkpoint[0] and e.hash != checkpoint[1]:
            return verdict(Break(*where, "does not match the checkpoint kept for it: the log "
                                         "was rewritten since"))
        notices += len(stored_notices)
        case_heads[e.case_id] = (e.seq, e.hash)
        global_head, expected_seq, count = e.hash, expected_seq + 1, count + 1

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


def _entry_problem(e: Any, stored_notices: Sequence[Any],
                   attested: Mapping[tuple[str, int], str], erasing: Mapping[str, int]
                   ) -> str | None:
    if e.erased and e.case_id not in erasing:
        return "its data is marked erased, but no erase_personal_data entry of the case did so"
    if e.erased and erasing[e.case_id] < e.seq:
        return "its data is marked erased, but it was written after the case was erased"
    if e.hash_version == 1:
        if e.erased:
            if attested.get((e.case_id, e.seq)) != legacy_digest(e):
                return ("its data was erased and the rest of it does not match what the "
                        "erasing entry recorded of it (the row was edited)")
        elif entry_hash(e) != e.hash:
            return "content does not match its hash (the row was edited)"
    else:
        if not e.erased and e.data_sha256 != data_sha256(e.data_salt or "", e.data):
            return "its data does not match its hash (the row was edited)"
        if entry_hash(e) != e.hash:
            return "content does not match its hash (the row was edited)"
        stored = notices_sha256([n.hash for n in sorted(stored_notices, key=lambda n: n.id)])
        if stored != e.notices_sha256:
            return ("the notices it stored do not match its hash (a notice was added, "
                    "removed or changed)")
    for n in stored_notices:
        if n.erased and e.case_id not in erasing:
            return f"notice {n.id} is marked erased, but no erase_personal_data entry did so"
        problem = notice_problem(n)
        if problem:
            return problem
    return None
