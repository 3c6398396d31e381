"""Who a case concerns, and so who may see it: one rule for the console's pages, its task list,
its search and the HTTP API (shared/CLI.md, "Acting through the console and the HTTP API").

A case binds some parties by id (DOMAIN.md, "Parties bound to a case"): an application its
headteacher (`headteacher.id`, until a `change_headteacher`) and the assessor of its current
schedule, a review its original assessor and its review officer; a review also concerns the
headteacher of the application it reviews. Those roles see only the cases that bind them: a
headteacher never sees another head's application. An appointment binds no headteacher
(any head may advertise or cancel a post), but its log says which head opened it, or for
which head an operator did: that head sees it, and the others do not (its log names the
shortlisted candidates and their applications). A candidate's account is named by the
candidate's address, and sees the cases of that address. The roles of whole offices (the
agency, the LA's co-ordinator, the review co-ordinator, a post school's office, operators and
auditors) see every case, as they may act on any.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

# Roles that see only the cases that bind them, by the party's id.
BOUND = frozenset({"headteacher", "assessor", "review_officer", "candidate"})


@dataclass(frozen=True)
class _Recorded:
    """Enough of a case for the parties' rules of states/ (which read `case` and `records`)."""
    case: Mapping[str, Any]
    records: Mapping[str, Mapping[str, Any]]
    kind: str = ""
    case_id: str = ""
    state: str = ""
    contacts: Mapping[str, str] = field(default_factory=dict)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def parties_of(kind: str, data: Mapping[str, Any], records: Mapping[str, Any],
               application: Callable[[str], set[str]] | None = None,
               opened_by: str | None = None) -> set[str]:
    """The parties (`ROLE:ID`) a case binds, from its opening data and its stored records
    (trigger -> {"data", ...}). `application` gives the parties of an application by id, for a
    review (whose headteacher is the application's); `opened_by` the party its opening entry
    was made by or for, which an appointment's head is (for who sees it, not who may act)."""
    from states import PROCESSES   # built on first use: the search's import stays quick
    process = PROCESSES.get(kind)
    if process is None:
        return set()
    recorded = _Recorded(case=data, kind=kind, records={
        t: r.get("data") or {} for t, r in records.items() if isinstance(r, Mapping)})
    found: set[str] = set()
    for party in process.parties:
        try:
            expected = party.expected(recorded)   # type: ignore[arg-type]
        except (KeyError, TypeError, AttributeError):
            expected = None   # an erased or older case records no one
        if isinstance(expected, Mapping) and _text(expected.get("id")):
            found.add(f"{party.role}:{_text(expected['id'])}")
    email = _text((data.get("candidate") or {}).get("email")
                  if isinstance(data.get("candidate"), Mapping) else None)
    if email:
        found.add(f"candidate:{email.casefold()}")
    if kind == "appointment" and opened_by and opened_by.startswith("headteacher:"):
        found.add(opened_by)
    if kind == "review" and application is not None and _text(data.get("application")):
        found |= {p for p in application(_text(data["application"]))
                  if p.startswith("headteacher:")}
    return found


def party_of(role: str, name: str) -> str:
    """The party an account or token is: `ROLE:NAME` (a candidate's by its address, in any
    case of letters)."""
    return f"{role}:{name.casefold() if role == 'candidate' else name}"


def sees_every_case(role: str) -> bool:
    return role not in BOUND


def may_see(role: str, name: str, parties: set[str]) -> bool:
    """Whether an account of `role` named `name` may see a case binding `parties`."""
    return sees_every_case(role) or party_of(role, name) in parties
