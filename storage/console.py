"""The web console's read queries: the case search, the incident list, and the names shown
beside case ids (workflows/console/).

Search reads `case_search` (migration 6), one narrow row per case with its names lower-cased in
`haystack`, instead of the JSON text of `cases.data`: a substring search over 100,000 cases
scans a few megabytes instead of fifty, and needs no JSON function (the same SQL runs on SQLite
and PostgreSQL). The console keeps the table up to date from the transition log, the engine's
own record of every change: `refresh_search` takes in the cases of every entry after
`case_search_head.global_seq`. Each refresh is a few short write transactions (500 cases each),
so it never holds the database from the daemon for long; an erasure deletes its case's row at
once (the trigger of migration 6) and the next refresh puts it back with the erased data."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from states.parties import parties_of
from storage.db import Database
from storage.rows import TimerRow, row_from
from storage.sql_store import TIMER_COLUMNS
from storage.statements import Statements

CHUNK = 500

# Between the fields of a case's haystack: the ASCII unit separator, which no name holds (names
# are one line of printable text: states/common.py, `Line`). With " | " there, `list --search
# "|"` matched every case, and a term could match across two fields (issue 26). A term that
# holds the separator itself matches nothing.
SEPARATOR = "\x1f"

UPSERT = ("INSERT INTO case_search (case_id, kind, state, opened_at, person, school, haystack, "
          "parties) VALUES (:case_id, :kind, :state, :opened_at, :person, :school, :haystack, "
          ":parties) "
          "ON CONFLICT (case_id) DO UPDATE SET kind = excluded.kind, state = excluded.state, "
          "opened_at = excluded.opened_at, person = excluded.person, school = excluded.school, "
          "haystack = excluded.haystack, parties = excluded.parties")

# A case is overdue when a timer of it is pending past its instant (the daemon has not fired it).
OVERDUE_IDS = "SELECT o.case_id FROM timers o WHERE o.status = 'pending' AND o.fires_at <= :now"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def search_fields(case_id: str, kind: str, data: dict[str, Any], records: dict[str, Any]
                  ) -> dict[str, str]:
    """The names a person searches a case by: the candidate's (an appointment's appointee's) name
    and address and the schools' names; and the case id itself."""
    candidate: dict[str, Any] = _mapping(data.get("candidate"))
    appointed = (records.get("appoint") or {}).get("data") or {}
    person = _text(candidate.get("name")) or _text(appointed.get("candidate"))
    email = _text(candidate.get("email")) or _text(appointed.get("email"))
    school, post = _mapping(data.get("school")), _mapping(data.get("post"))
    schools = [s for s in (_text(school.get("name")), _text(post.get("school"))) if s]
    if kind == "appointment" and not person:
        focus = _text(data.get("focus"))
        label = f"{focus} AST post" if focus else "AST post"
    else:
        label = person
    words = [case_id, person, email, *schools, _text(data.get("focus"))]
    return {"person": label, "school": schools[0] if schools else "",
            "haystack": SEPARATOR.join(w.casefold() for w in words if w)}


def joined_parties(parties: Iterable[str]) -> str:
    """The parties of a case as `case_search.parties` holds them: each between two SEPARATORs,
    so that one is found by LIKE and never as a part of another (`headteacher:tom` is not
    within `headteacher:tom.reed`)."""
    kept = sorted(p for p in parties if SEPARATOR not in p)
    return SEPARATOR + SEPARATOR.join(kept) + SEPARATOR if kept else ""


def party_pattern(party: str) -> str:
    """The LIKE pattern of one party in `case_search.parties` (escaped: a name may hold `_`)."""
    return _like(SEPARATOR + party + SEPARATOR)


def split_parties(joined: str) -> set[str]:
    return {p for p in joined.split(SEPARATOR) if p}


def matches(term: str, haystack: str) -> bool:
    """Whether a search term is within one of a case's names (`haystack`)."""
    wanted = term.strip().casefold()
    return SEPARATOR not in wanted and wanted in haystack


def rebuild_if_written_before_the_separator(db: Database) -> bool:
    """Whether the search table held rows joined with " | " (before SEPARATOR): if so, the next
    refresh takes in every case again. Asked once when the console starts."""
    with db.read() as conn:
        stale = Statements(db, conn).one(
            "SELECT 1 FROM case_search WHERE haystack IS NOT NULL AND haystack NOT LIKE :sep "
            "LIMIT 1", {"sep": f"%{SEPARATOR}%"}) is not None
    if stale:
        with db.write() as conn:
            Statements(db, conn).run("UPDATE case_search_head SET global_seq = 0 WHERE id = 1", {})
    return stale


def rebuild_if_appointments_lack_their_heads(db: Database) -> bool:
    """Whether an appointment opened by (or for) a headteacher is in the search table without
    that head among its parties (taken in before an appointment's head saw it): if so, the
    next refresh takes in every case again. Asked once when the console starts."""
    with db.read() as conn:
        stale = Statements(db, conn).one(
            "SELECT 1 FROM case_search s JOIN transition_log l ON l.case_id = s.case_id AND "
            "l.seq = 1 WHERE s.kind = 'appointment' AND (l.actor LIKE :head OR "
            "l.on_behalf_of LIKE :head) AND COALESCE(s.parties, '') NOT LIKE :within LIMIT 1",
            {"head": "headteacher:%", "within": "%headteacher:%"}) is not None
    if stale:
        with db.write() as conn:
            Statements(db, conn).run("UPDATE case_search_head SET global_seq = 0 WHERE id = 1", {})
    return stale


def refresh_search(db: Database) -> int:
    """Takes in every case the log has touched since the last refresh. Returns how many."""
    with db.read() as conn:
        q = Statements(db, conn)
        head = q.one("SELECT global_seq FROM chain_head WHERE id = 1", {})
        mark = q.one("SELECT global_seq FROM case_search_head WHERE id = 1", {})
        if head is None or mark is None or head[0] <= mark[0]:
            return 0
        ids = [r[0] for r in q.all("SELECT DISTINCT case_id FROM transition_log WHERE "
                                   "global_seq > :mark AND global_seq <= :head",
                                   {"mark": mark[0], "head": head[0]})]
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        params = {f"c{n}": case_id for n, case_id in enumerate(chunk)}
        marks = ", ".join(f":{name}" for name in params)
        # Read and written in one transaction: on SQLite no engine write comes between.
        with db.write() as conn:
            q = Statements(db, conn)
            rows = q.all(f"SELECT id, kind, state, opened_at, data, records FROM cases "
                         f"WHERE id IN ({marks})", params)
            q.many(UPSERT, (_search_row(q, *row) for row in rows))
    with db.write() as conn:
        Statements(db, conn).run("UPDATE case_search_head SET global_seq = :head "
                                 "WHERE id = 1 AND global_seq < :head", {"head": head[0]})
    return len(ids)


def _search_row(q: Statements, case_id: str, kind: str, state: str, opened_at: str,
                data_text: str, records_text: str | None) -> dict[str, Any]:
    data, records = json.loads(data_text), json.loads(records_text or "{}")
    return {"case_id": case_id, "kind": kind, "state": state, "opened_at": opened_at,
            **search_fields(case_id, kind, data, records),
            "parties": joined_parties(_parties(q, case_id, kind, data, records))}


def _parties(q: Statements, case_id: str, kind: str, data: dict[str, Any],
             records: dict[str, Any]) -> set[str]:
    def application(app_id: str) -> set[str]:
        found = q.one("SELECT data, records FROM cases WHERE id = :id", {"id": app_id})
        return parties_of("application", json.loads(found[0]), json.loads(found[1] or "{}")) \
            if found else set()

    opened_by = None
    if kind == "appointment":   # its head is whoever opened it, or was keyed in for
        first = q.one("SELECT actor, on_behalf_of FROM transition_log WHERE case_id = :id "
                      "AND seq = 1", {"id": case_id})
        opened_by = (first[1] or first[0]) if first else None
    return parties_of(kind, data, records, application, opened_by)


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(db: Database, text: str, kind: str | None, state: str | None, overdue_only: bool,
           now: str, limit: int, offset: int, party: str | None = None) -> Page:
    """Cases whose names or id contain `text` (any case of letters), overdue ones first, then
    the most recently opened; one page of them and how many there are in all. The overdue and
    the other cases are read apart, each in the order of the index on `opened_at`, so that a
    deep page does not sort every case. With `party`, only the cases that bind that party."""
    clauses, params = [], {"now": now}
    if party is not None:
        clauses.append("s.parties LIKE :party ESCAPE '\\'")
        params["party"] = party_pattern(party)
    if text.strip():
        clauses.append("s.haystack LIKE :pattern ESCAPE '\\'")
        params["pattern"] = _like(text.strip().casefold())
        if SEPARATOR in text:
            clauses.append("1 = 0")
    if kind:
        clauses.append("s.kind = :kind")
        params["kind"] = kind
    if state:
        clauses.append("s.state = :state")
        params["state"] = state
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    overdue = " AND ".join(clauses + [f"s.case_id IN ({OVERDUE_IDS})"])
    others = " AND ".join(clauses + [f"s.case_id NOT IN ({OVERDUE_IDS})"])
    columns = "s.case_id, s.kind, s.state, s.opened_at, s.person, s.school"
    order = "ORDER BY s.opened_at DESC, s.case_id DESC"
    with db.read() as conn:
        q = Statements(db, conn)
        # One scan counts both: how many match, and how many of those are overdue.
        counted = q.one(f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN s.case_id IN ({OVERDUE_IDS}) "
                        f"THEN 1 ELSE 0 END), 0) FROM case_search s{where}", params)
        assert counted is not None   # COUNT(*) always gives a row
        late = int(counted[1])
        rest = 0 if overdue_only else int(counted[0]) - late
        found = []
        if offset < late:
            found = [(r, True) for r in q.all(
                f"SELECT {columns} FROM case_search s WHERE {overdue} {order} "
                f"LIMIT {int(limit)} OFFSET {int(offset)}", params)]
        wanted = limit - len(found)
        if wanted > 0 and not overdue_only:
            found += [(r, False) for r in q.all(
                f"SELECT {columns} FROM case_search s WHERE {others} {order} "
                f"LIMIT {int(wanted)} OFFSET {int(max(0, offset - late))}", params)]
        due = _next_due(q, [r[0] for r, _ in found])
    rows = [{"case": r[0], "kind": r[1], "state": r[2], "opened_at": r[3], "person": r[4],
             "school": r[5], "overdue": late_one, "next_due": due.get(r[0])}
            for r, late_one in found]
    return Page(rows, late + rest)


def task_cases(db: Database, pairs: Sequence[tuple[str, str]], timer_names: Sequence[str],
               party: str | None, limit: int, offset: int) -> Page:
    """The cases in one of the (kind, state) `pairs`, binding `party` when given: one page, the
    earliest pending timer of `timer_names` first (so the overdue first), then those with none,
    newest first; and how many there are in all."""
    params: dict[str, Any] = {}
    alternatives = []
    for n, (kind, state) in enumerate(pairs):
        alternatives.append(f"(s.kind = :k{n} AND s.state = :s{n})")
        params[f"k{n}"], params[f"s{n}"] = kind, state
    names = {f"t{n}": name for n, name in enumerate(timer_names)} or {"t0": ""}
    params.update(names)
    clauses = ["(" + " OR ".join(alternatives) + ")"]
    if party is not None:
        clauses.append("s.parties LIKE :party ESCAPE '\\'")
        params["party"] = party_pattern(party)
    where = " AND ".join(clauses)
    due = ("(SELECT MIN(t.due) FROM timers t WHERE t.case_id = s.case_id AND t.status = "
           f"'pending' AND t.name IN ({', '.join(':' + n for n in names)}))")
    with db.read() as conn:
        q = Statements(db, conn)
        counted = q.one(f"SELECT COUNT(*) FROM case_search s WHERE {where}", params)
        rows = q.all(
            f"SELECT s.case_id, s.kind, s.state, s.opened_at, s.person, s.school, s.parties, "
            f"{due} AS due FROM case_search s WHERE {where} ORDER BY CASE WHEN {due} IS NULL "
            f"THEN 1 ELSE 0 END, due, s.opened_at DESC, s.case_id DESC "
            f"LIMIT {int(limit)} OFFSET {int(offset)}", params)
    return Page([{"case": r[0], "kind": r[1], "state": r[2], "opened_at": r[3], "person": r[4],
                  "school": r[5], "parties": r[6]} for r in rows],
                int(counted[0]) if counted else 0)


def cases_of_party(db: Database, party: str) -> set[str]:
    """The ids of the cases that bind `party`, as the search table last took them in."""
    with db.read() as conn:
        return {r[0] for r in Statements(db, conn).all(
            "SELECT case_id FROM case_search WHERE parties LIKE :party ESCAPE '\\'",
            {"party": party_pattern(party)})}


def parties_of_case(db: Database, case_id: str) -> set[str]:
    """The parties a case binds, read from the case itself (the search table may lag behind
    the log until the next refresh)."""
    with db.read() as conn:
        q = Statements(db, conn)
        row = q.one("SELECT kind, data, records FROM cases WHERE id = :id", {"id": case_id})
        if row is None:
            return set()
        # Kept as the search table keeps them: one rule for both (joined_parties).
        return split_parties(joined_parties(
            _parties(q, case_id, row[0], json.loads(row[1]), json.loads(row[2] or "{}"))))


def _next_due(q: Statements, ids: Sequence[str]) -> dict[str, str]:
    if not ids:
        return {}
    params = {f"c{n}": case_id for n, case_id in enumerate(ids)}
    return dict(q.all("SELECT case_id, MIN(due) FROM timers WHERE status = 'pending' AND "
                      f"case_id IN ({', '.join(':' + p for p in params)}) GROUP BY case_id",
                      params))


# -- incidents ---------------------------------------------------------------------------------

INCIDENT_KINDS = ("missed", "failed_timer", "overdue", "failed_notice", "retrying_notice")


def _incident_parts(duty_timers: Sequence[str]) -> tuple[dict[str, str], dict[str, Any]]:
    """Per kind of incident: the kind, the row's id and when it happened, read from an index
    alone (migration 6's ix_timers_incidents; notices' ix_notices_queue), so that ordering and
    counting 50,000 incidents never reads the rows themselves."""
    names = {f"d{n}": name for n, name in enumerate(duty_timers)} or {"d0": ""}
    marks = ", ".join(f":{n}" for n in names)
    timer = ("SELECT '{what}' AS what, CAST(id AS TEXT) AS ref, fires_at AS happened_at "
             "FROM timers WHERE ")
    notice = "SELECT '{what}' AS what, id AS ref, created_at AS happened_at FROM notices WHERE "
    parts = {
        # a deadline that passed with its duty undone (review_window has no duty: its passing
        # is the process, not an incident)
        "missed": timer.format(what="missed") + f"status = 'fired' AND name IN ({marks})",
        "failed_timer": timer.format(what="failed_timer") + "status = 'failed'",
        "overdue": timer.format(what="overdue") + "status = 'pending' AND fires_at <= :now",
        "failed_notice": notice.format(what="failed_notice") + "status = 'failed'",
        "retrying_notice": notice.format(what="retrying_notice")
        + "status = 'pending' AND attempts > 0",
    }
    return parts, names


def incidents(db: Database, duty_timers: Sequence[str], what: str | None, now: str, limit: int,
              offset: int) -> tuple[Page, dict[str, int]]:
    """Missed deadlines, timers that failed (or have yet) to fire, notices that failed or wait
    to be tried again: newest first, one page, and how many of each kind there are."""
    parts, names = _incident_parts(duty_timers)
    chosen = [parts[what]] if what in parts else list(parts.values())
    params = {**names, "now": now}
    with db.read() as conn:
        q = Statements(db, conn)
        counts = {}
        for kind, sql in parts.items():
            row = q.one(f"SELECT COUNT(*) FROM ({sql}) AS x", params)
            counts[kind] = int(row[0]) if row else 0
        union = " UNION ALL ".join(f"SELECT * FROM ({part}) AS p{n}"
                                   for n, part in enumerate(chosen))
        page = q.all(f"SELECT what, ref, happened_at FROM ({union}) AS i ORDER BY "
                     f"happened_at DESC, what, ref DESC LIMIT {int(limit)} OFFSET {int(offset)}",
                     params)
        details = _incident_details(q, page)
        labels = _labels(q, sorted({d["case"] for d in details.values()}))
    rows = []
    for what_, ref, happened_at in page:
        found = details.get((what_ in ("failed_notice", "retrying_notice"), str(ref)))
        if found:
            rows.append({"what": what_, "at": happened_at, **found,
                         **labels.get(found["case"], {})})
    total = counts[what] if what in counts else sum(counts.values())
    return Page(rows, total), counts


def _incident_details(q: Statements, page: list[tuple[Any, ...]]
                      ) -> dict[tuple[bool, str], dict[str, Any]]:
    """(is a notice, id) -> the case, what it is about, its due date and its last error."""
    found: dict[tuple[bool, str], dict[str, Any]] = {}
    timers = {f"t{n}": int(ref) for n, (what, ref, _) in enumerate(page)
              if what not in ("failed_notice", "retrying_notice")}
    notices = {f"n{n}": ref for n, (what, ref, _) in enumerate(page)
               if what in ("failed_notice", "retrying_notice")}
    if timers:
        for ref, case_id, name, due, error in q.all(
                "SELECT id, case_id, name, due, last_error FROM timers WHERE id IN "
                f"({', '.join(':' + k for k in timers)})", timers):
            found[(False, str(ref))] = {"case": case_id, "detail": name, "due": due,
                                        "last_error": error}
    if notices:
        for ref, case_id, template, error in q.all(
                "SELECT id, case_id, template, last_error FROM notices WHERE id IN "
                f"({', '.join(':' + k for k in notices)})", notices):
            found[(True, str(ref))] = {"case": case_id, "detail": template, "due": None,
                                       "last_error": error}
    return found


# -- names beside case ids ----------------------------------------------------------------------

def _labels(q: Statements, ids: Sequence[str]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for start in range(0, len(ids), CHUNK):
        params = {f"c{n}": case_id for n, case_id in enumerate(ids[start:start + CHUNK])}
        for case_id, kind, person, school in q.all(
                "SELECT case_id, kind, person, school FROM case_search WHERE case_id IN "
                f"({', '.join(':' + p for p in params)})", params):
            found[case_id] = {"kind": kind, "person": person, "school": school}
    return found


def labels_from_cases(db: Database, ids: Iterable[str]) -> dict[str, dict[str, str]]:
    """As `labels`, read from the cases themselves: for a command that must not write (the
    search table is brought up to date by the console, which writes)."""
    ids = sorted(set(ids))
    found: dict[str, dict[str, str]] = {}
    with db.read() as conn:
        q = Statements(db, conn)
        for start in range(0, len(ids), CHUNK):
            params = {f"c{n}": case_id for n, case_id in enumerate(ids[start:start + CHUNK])}
            for case_id, kind, data, records in q.all(
                    "SELECT id, kind, data, records FROM cases WHERE id IN "
                    f"({', '.join(':' + p for p in params)})", params):
                names = search_fields(case_id, kind, json.loads(data), json.loads(records or "{}"))
                found[case_id] = {"kind": kind, "person": names["person"],
                                  "school": names["school"]}
    return found


def data_of_cases(db: Database, ids: Iterable[str]
                  ) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """case id -> (its opening data, its records as the case row keeps them)."""
    ids = sorted(set(ids))
    found: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    with db.read() as conn:
        q = Statements(db, conn)
        for start in range(0, len(ids), CHUNK):
            params = {f"c{n}": case_id for n, case_id in enumerate(ids[start:start + CHUNK])}
            for case_id, data, records in q.all(
                    f"SELECT id, data, records FROM cases WHERE id IN "
                    f"({', '.join(':' + p for p in params)})", params):
                found[case_id] = (json.loads(data), json.loads(records or "{}"))
    return found


def timers_of_cases(db: Database, ids: Iterable[str]) -> dict[str, list[TimerRow]]:
    ids = sorted(set(ids))
    found: dict[str, list[TimerRow]] = {}
    with db.read() as conn:
        q = Statements(db, conn)
        for start in range(0, len(ids), CHUNK):
            params = {f"c{n}": case_id for n, case_id in enumerate(ids[start:start + CHUNK])}
            for r in q.all(f"SELECT {TIMER_COLUMNS} FROM timers WHERE case_id IN "
                           f"({', '.join(':' + p for p in params)}) ORDER BY id", params):
                timer = row_from(TimerRow, r)
                found.setdefault(timer.case_id, []).append(timer)
    return found
