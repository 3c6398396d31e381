"""Whether the machine would take a trigger on a case as it stands today, whatever data is sent:
its state, and the guards that read only the case (an internal post is never forwarded to a
post school, a decision letter is sent once, no judgement before the assessment day). The task
list and the case page's buttons offer only what this allows (shared/CLI.md: "a trigger is open
to its party now", "a button for each trigger the account may fire now").

A guard that turns on the data sent (the standards named, a declared funding source) or on
other cases (a school's live posts) cannot be judged before that data comes: such a trigger is
offered, and the engine judges it when it is sent, as always. Nothing here writes, and nothing
here decides what the engine does: it asks the engine's own machine (decide.py)."""
from __future__ import annotations

from datetime import date
from typing import Any, Iterator, Mapping, Sequence

from storage.rows import TimerRow
from workflows.engine.apply import Setting
from workflows.engine.decide import decide, triggers_from
from workflows.engine.facts import CaseFacts, CaseReader, CaseView


class _Unknown(Exception):
    """A guard asked for what only the sent data or another case can say."""


class _Unsent(Mapping[str, Any]):
    """The data of a trigger not yet sent: any reading of it is unknowable."""

    def __getitem__(self, key: str) -> Any:
        raise _Unknown(key)

    def get(self, key: str, default: Any = None) -> Any:
        raise _Unknown(key)

    def __iter__(self) -> Iterator[str]:
        raise _Unknown("keys")

    def __len__(self) -> int:
        raise _Unknown("len")

    def __contains__(self, key: object) -> bool:
        raise _Unknown(str(key))


class _NoOtherCases:
    """A guard that reads other cases is judged when the trigger is sent."""

    def lookup(self, case_id: str) -> CaseView | None:
        raise _Unknown(case_id)

    def cases_of_kind(self, kind: str, state: str | None = None,
                      email: str | None = None) -> Sequence[CaseView]:
        raise _Unknown(kind)

    def deadlines_of(self, case_id: str) -> Mapping[str, date]:
        raise _Unknown(case_id)


def refusal_now(setting: Setting, case_id: str, kind: str, state: str,
                data: Mapping[str, Any], records: Mapping[str, Mapping[str, Any]],
                timers: Sequence[TimerRow], trigger: str, role: str, today: date,
                reader: CaseReader | None = None) -> str | None:
    """Why the machine refuses `trigger` in `role` on this case today whatever is sent, or None
    when it may take it (or only the sent data can tell). `records` as the case row keeps them
    (trigger -> {"data", "effective_date", ...}); `timers` the case's, oldest first. With a
    `reader`, guards that read other cases are judged too (the API's status of a refusal: a
    school's live posts refuse `secure_funding` whatever is sent); without, they are offered
    (the task list does not read other cases for every row)."""
    if trigger not in triggers_from(kind, state):
        return f"{trigger} is not open in {state}"
    deadlines = {t.name: date.fromisoformat(t.due) for t in timers}
    facts = CaseFacts(case_id=case_id, kind=kind, role=role, actor_id="", state=state,
                      case=data, stored_records=records, effective_date=today,
                      contacts=setting.contacts, policy=setting.policy,
                      reader=reader or _NoOtherCases(), nation=setting.nation,
                      event=_Unsent(),
                      pending_timers={t.name: date.fromisoformat(t.due) for t in timers
                                      if t.status == "pending"},
                      deadlines=deadlines, statuses={t.name: t.status for t in timers})
    try:
        return decide(kind, state, trigger, facts).refusal
    except (_Unknown, KeyError, TypeError, AttributeError, ValueError):
        # Unknowable before the data comes (or an erased case's data): the engine will say.
        return None
