"""A worked example of the data each kind of case opens with and each trigger takes, as
`ast-engine example NAME` prints it: a form an operator can copy and change, not a schema.

Each example is checked against its trigger's model by the tests (tests/integration/test_examples.py), so
an example never teaches data the engine would refuse. Case ids in them (`app-...`) stand for
cases of the reader's own.
"""
from __future__ import annotations

import pprint
from pathlib import Path
from typing import Any

from states import PROCESSES

_ASSESSOR = {"id": "as-17", "name": "Carol Assessor", "email": "carol.assessor@agency.example.org"}
_OFFICER = {"id": "ro-3", "name": "Raj Officer", "email": "raj.officer@agency.example.org"}

OPENING: dict[str, dict[str, Any]] = {
    "application": {
        "candidate": {"name": "Ann Lee", "email": "ann.lee@hill.example.org"},
        "career_stage": "post_threshold",
        "school": {"name": "Hill Primary School"},
        "headteacher": {"name": "Hugh Brown", "email": "h.brown@hill.example.org"},
        "post": {"school": "Hill Primary School", "email": "office@hill.example.org",
                 "advertisement": "internal", "appointment": None},
        "supporting_evidence": "Portfolio of outreach work with two partner schools.",
    },
    "appointment": {
        "school": {"name": "Vale Secondary School", "phase": "secondary",
                   "email": "office@vale.example.org"},
        "la": "Exampleshire", "focus": "mathematics", "advertisement": "external",
        "funding_source": "school", "pay_range": {"first_point": 5, "last_point": 9},
        "headteacher": {"name": "Vera Vale", "email": "v.vale@vale.example.org"},
    },
}

TRIGGER: dict[str, dict[str, Any]] = {
    "reject": {"reasons": "The application does not show work beyond the candidate's school."},
    "decline_support": {"feedback": "Evidence of leading colleagues is not yet sufficient."},
    "support": {"evaluation": "Ready: an outstanding classroom practitioner who leads others."},
    "submit_to_agency": {"funding_declaration": {"declared_by": "Hugh Brown",
                                                 "source": "school"}},
    "schedule_assessment": {"assessment_date": "2027-02-10", "assessor": _ASSESSOR},
    # Standards the opening example's candidate is assessed on (post_threshold: E and A).
    "judge_not_met": {"unmet_standards": ["E3", "A2"]},
    "send_written_feedback": {"feedback": "E3: the lessons seen did not yet show progression "
                                          "for every group. A2: outreach was planned but not "
                                          "yet delivered."},
    "request_review": {"grounds": ["relevant_evidence_ignored"],
                       "explanation": "The assessor did not read the outreach portfolio.",
                       "evidence": ["Outreach portfolio, pages 4-9"]},
    "review_certified": {"review": "rev-7f3k9qxw2m"},
    "review_upheld": {"review": "rev-7f3k9qxw2m"},
    "record_assessor_comment": {"comment": "The portfolio was read; A2 remains unmet."},
    "assign_review_officer": {"review_officer": _OFFICER},
    "certify": {"reasons": "The portfolio shows A2 met; the standards are met."},
    "uphold": {"reasons": "The assessment was fair and followed the guidance."},
    "erase_personal_data": {"reason": "Retention period ended (subject's request 2031-03-02)."},
    "advertise": {"closing_date": "2027-03-12"},
    "close_applications": {"shortlist": [{"candidate": "Ann Lee",
                                          "application": "app-7f3k9qxw2m"}]},
    "appoint": {"candidate": "Ann Lee", "email": "ann.lee@hill.example.org",
                "certified_application": "app-7f3k9qxw2m", "start_date": "2027-09-01",
                "spine_point": 5},
    "vacate": {"reason": "left"},
    "give_notice": {"last_day": "2028-08-31", "reason": "moving_post"},
    "change_headteacher": {"headteacher": {"id": "m.green", "name": "Maya Green",
                                           "email": "m.green@hill.example.org"},
                           "reason": "Hugh Brown retired; Maya Green is the new headteacher."},
    "review_withdrawn": {"review": "rev-7f3k9qxw2m", "window": "open",
                         "review_window_due": "2027-04-13"},
    "cancel": {"reason": "The post is no longer needed."},
}


class UnknownExampleError(LookupError):
    pass


def example(name: str) -> tuple[dict[str, Any], str]:
    """The example data for a kind of case or a trigger, and one line saying what it is for."""
    if name in PROCESSES:
        process = PROCESSES[name]
        if process.opened_by:
            raise UnknownExampleError(f"a {name} case is not opened with data of its own: it is "
                                      f"opened by {process.opened_by}; try `ast-engine example "
                                      "request_review`")
        return OPENING[name], (f"the data `ast-engine open {name}` needs (change the names, "
                               "keep the keys)")
    rows = [(kind, t) for kind, p in PROCESSES.items() for t in p.all_transitions()
            if t.trigger == name and not t.internal and not t.retired]
    if not rows:
        raise UnknownExampleError(f"no kind of case or trigger {name!r}; kinds: "
                                  f"{', '.join(PROCESSES)}; triggers: {', '.join(triggers())}")
    kinds = ", ".join(dict.fromkeys(kind for kind, _ in rows))
    if name not in TRIGGER:
        return {}, f"{name} ({kinds}) takes no data: `--data` may be left out"
    return TRIGGER[name], f"the data `ast-engine fire CASE {name}` needs ({kinds})"


def triggers() -> list[str]:
    """Every trigger a person can fire, once each, in process order."""
    names = (t.trigger for p in PROCESSES.values() for t in p.all_transitions()
             if t.trigger != "open" and not t.internal and not t.retired
             and not t.trigger.startswith("timer:"))
    return list(dict.fromkeys(names))


def next_table() -> dict[str, dict[str, list[dict[str, Any]]]]:
    """kind -> state -> next_triggers(kind, state), for every state: what states/next_steps.py
    holds, so that `show` can say it without building the processes."""
    return {kind: {s.value: next_triggers(kind, s.value) for s in process.states}
            for kind, process in PROCESSES.items()}


def write_next_table(path: Path = Path(__file__).with_name("next_steps.py")) -> None:
    path.write_text(
        '"""Generated by `python -m states.examples` from the processes\n'
        '(tests/integration/test_examples.py checks it still agrees with them): the triggers a '
        'person\nmay fire next in each state, as `show` lists them."""\n\n'
        f"NEXT = {pprint.pformat(next_table(), width=99, sort_dicts=False)}\n",
        encoding="utf-8")


def next_triggers(kind: str, state: str) -> list[dict[str, Any]]:
    """The triggers a person may fire on a case of `kind` in `state` (the rules of the trigger
    may still refuse one, e.g. a deadline passed), each with the roles that fire it and the
    data keys it needs and may take."""
    process = PROCESSES[kind]
    found: dict[str, dict[str, Any]] = {}
    for row in process.transitions:
        if (row.internal or row.retired or row.trigger.startswith("timer:")
                or state not in {s.value for s in row.sources}):
            continue
        entry = found.setdefault(row.trigger, {"trigger": row.trigger, "roles": [],
                                               "needs": [], "may_add": []})
        roles = ["(depends on the case)"] if callable(row.roles) else list(row.roles)
        entry["roles"] = list(dict.fromkeys(entry["roles"] + roles))
        if row.data is not None:
            fields = row.data.model_fields
            entry["needs"] = [n for n, f in fields.items() if f.is_required()]
            entry["may_add"] = [n for n, f in fields.items() if not f.is_required()]
    return list(found.values())


if __name__ == "__main__":
    write_next_table()
