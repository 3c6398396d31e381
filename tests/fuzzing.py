"""A property-based fuzz of trigger sequences: random valid and invalid triggers, roles, data and
effective times, clock ticks that fire timers and cases that name each other, run through the
engine's API on a fresh SQLite database per sequence (a hypothesis rule-based state machine).

After every call: it succeeded or raised one of the engine's refusals (`RefusedError`); any other
exception is a defect. A refusal changed no table. After every sequence: both hash chains
verify, replaying every case from its log finds no difference, each case's versions are 1..N
with no gap, no case has two pending timers of one name, and every fired timer has exactly one
`timer:NAME` entry.

Shared by tests/engine/test_fuzz_sequences.py (a bounded run with a fixed seed) and
bench/fuzz_sequences.py (the long form, with counts).
"""
from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from states import PROCESSES, standards
from storage import queries
from storage.db import Database
from storage.migrations import migrate
from tests.builders import ASSESSOR, OFFICER, application_data, appointment_data
from workflows.core.clock import FixedClock
from workflows.core.config import Config
from workflows.engine import ROLES, Actor, Engine
from workflows.core.errors import RefusedError
from workflows.engine.replay import replay_many
from workflows.core.times import parse_instant

TABLES = ("cases", "transition_log", "chain_head", "timers", "notices")
START = "2026-12-01"

# Text a person might key in, and text no one should get stored.
ODD_TEXT = ["", " ", "\t\n", "\udfff", "x\ud800y", "nul\x00", "\x1b[2J", "a" * 70_000,
            "<script>alert(1)</script>", "Zoë Ñúñez 🙂", "\u202eevil", "{{ case }}", "NaN",
            "'; DROP TABLE cases; --"]
NAMES = ["Ann Lee", "Ben Okafor", "Zoë Ñúñez", "O'Brien", "李华"]
CERTIFICATE = {"agency_reference": "NAA-2019-0042", "certified_on": "2019-06-14",
               "checked_by": "LA AST Co-ordinator"}
# Keys a person might add to data: some are names the engine itself uses.
EXTRA_KEYS = ["extra", "warnings", "effective_date", "review", "funding_stream", "engine",
              "send_decision_letter", "judge_not_met", "schedule_assessment", "due"]
MISTYPED = [42, -1, 3.5, True, None, [], {}, "2027-13-45", ["x"], {"a": 1}]


class Stats:
    """Counts across every sequence of a run (the bench prints them)."""

    def __init__(self) -> None:
        self.calls = Counter()       # ok, refused, unexpected
        self.sequences = 0
        self.broken: list[str] = []


STATS = Stats()


def _template_database() -> Path:
    """One migrated SQLite file per process, copied for each sequence (migrating takes far
    longer than copying)."""
    global _TEMPLATE
    if _TEMPLATE is None:
        folder = Path(tempfile.mkdtemp(prefix="ast-fuzz-template-"))
        path = folder / "template.db"
        db = Database(f"sqlite:///{path}")
        migrate(db, "2026-11-01T00:00:00+00:00")
        db.dispose()
        _TEMPLATE = path
    return _TEMPLATE


_TEMPLATE: Path | None = None


class UnexpectedError(AssertionError):
    """A call raised something other than a refusal."""


class TriggerSequences(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="ast-fuzz-"))
        path = self.folder / "cases.db"
        shutil.copyfile(_template_database(), path)
        self.db = Database(f"sqlite:///{path}")
        self.clock = FixedClock(parse_instant(START))
        self.config = Config()
        # Case ids by a counter: what a sequence draws next may depend on the ids it has seen,
        # and hypothesis replays a sequence only if the same choices draw the same things.
        counter = iter(range(1, 1_000_000))
        self.engine = Engine(self.db, self.config, clock=self.clock,
                             new_id=lambda prefix: f"{prefix}-{next(counter):010d}")
        self.cases: dict[str, str] = {}   # case id -> kind
        STATS.sequences += 1

    # -- drawing the parts of a call ----------------------------------------------------------

    def actor_for(self, data, allowed: tuple[str, ...]) -> tuple[Actor, Actor | None]:
        """Mostly a role the trigger allows (sometimes through an operator), else any role."""
        how = data.draw(st.sampled_from(["allowed", "allowed", "allowed", "operator", "any",
                                         "operator_alone"]))
        role = data.draw(st.sampled_from(allowed)) if allowed and how != "any" \
            else data.draw(st.sampled_from(ROLES))
        person = {"assessor": ASSESSOR["id"], "review_officer": OFFICER["id"]}.get(role, "p1")
        if how == "operator":
            return Actor("operator", "it.jones"), Actor(role, person)
        if how == "operator_alone":
            return Actor("operator", "it.jones"), None
        return Actor(role, person), None

    def when(self, data):
        """The effective time: mostly now; sometimes days before (paper keyed late) or, to be
        refused, after the engine's clock."""
        offset = data.draw(st.sampled_from([0, 0, 0, 0, -1, -3, -15, 2]))
        return self.clock.now() + timedelta(days=offset) if offset else None

    def spoil(self, data, value: dict) -> dict:
        """The data as a person might really key it in: mostly valid, else with a key missing,
        a value mistyped, an extra key, or odd text."""
        how = data.draw(st.sampled_from(["valid"] * 5 + ["missing", "mistyped", "extra",
                                                          "odd"]))
        value = dict(value)
        keys = sorted(value)
        if how == "missing" and keys:
            value.pop(data.draw(st.sampled_from(keys)))
        elif how == "mistyped" and keys:
            value[data.draw(st.sampled_from(keys))] = data.draw(st.sampled_from(MISTYPED))
        elif how == "extra":
            value[data.draw(st.sampled_from(EXTRA_KEYS))] = data.draw(
                st.sampled_from(MISTYPED + ODD_TEXT))
        elif how == "odd":
            text_keys = [k for k in keys if isinstance(value[k], str)]
            if text_keys:
                value[data.draw(st.sampled_from(text_keys))] = data.draw(st.sampled_from(ODD_TEXT))
        return value

    def some(self, data, kind: str) -> str | None:
        ids = sorted(c for c, k in self.cases.items() if k == kind)
        return data.draw(st.sampled_from(ids)) if ids else None

    def day(self, data, low: int, high: int) -> str:
        return (self.clock.now() + timedelta(days=data.draw(st.integers(low, high)))).date() \
            .isoformat()

    # -- the data a trigger needs -------------------------------------------------------------

    def sample(self, data, kind: str, trigger: str, case: str | None) -> dict:
        text = lambda: data.draw(st.sampled_from(["Ready.", "Not signed.", "See the file.",
                                                  "Zoë's portfolio is strong."]))
        stored, records = self.stored(case) if case else ({}, {})
        if trigger == "open" and kind == "application":
            changes = {"career_stage": data.draw(st.sampled_from(standards.CAREER_STAGES)),
                       "candidate": {"name": data.draw(st.sampled_from(NAMES)),
                                     "email": data.draw(st.sampled_from(
                                         ["ann.lee@hill.example.org", "ben@oak.example.org"]))}}
            advertisement = data.draw(st.sampled_from(["internal", "external"]))
            post = {"school": "Vale Secondary School", "email": "office@vale.example.org",
                    "advertisement": advertisement,
                    "appointment": self.some(data, "appointment") if data.draw(st.booleans())
                    else None}
            changes["post"] = post
            previous = self.some(data, "application") if data.draw(st.booleans()) else None
            if previous:
                changes.update(previous_application=previous,
                               supporting_evidence="New evidence of outreach.")
            return application_data(advertisement, **changes)
        if trigger == "open" and kind == "appointment":
            return appointment_data(
                funding_source=data.draw(st.sampled_from(
                    ["school_development_grant", "school", "group", "local_formula"])),
                school={"name": data.draw(st.sampled_from(["Vale Secondary School",
                                                           "Brook Primary School"])),
                        "phase": data.draw(st.sampled_from(["primary", "secondary", "special"])),
                        "email": "office@vale.example.org"},
                pay_range={"first_point": 5, "last_point": 9},
                **({"pay_area": "inner_london"} if data.draw(st.booleans()) else {}))
        if trigger in ("reject",):
            return {"reasons": text()}
        if trigger in ("decline_support",):
            return {"feedback": text()}
        if trigger == "support":
            return {"evaluation": text()}
        if trigger == "submit_to_agency":
            return {"funding_declaration": {"declared_by": "Hugh Brown", "source": data.draw(
                st.sampled_from(["school", "school_development_grant", "group",
                                 "local_formula"]))}}
        if trigger == "schedule_assessment":
            out = {"assessment_date": self.day(data, -3, 60), "assessor": ASSESSOR}
            if data.draw(st.booleans()):
                out["delay_reason"] = "The assessor was ill."
            return out
        if trigger == "judge_not_met":
            stage = stored.get("career_stage")
            codes = list(standards.externally_assessed(
                stage if stage in standards.CAREER_STAGES else "post_threshold"))
            return {"unmet_standards": data.draw(st.lists(st.sampled_from(codes), min_size=1,
                                                          max_size=3, unique=True))}
        if trigger == "send_written_feedback":
            unmet = records.get("judge_not_met", {}).get("unmet_standards")
            if unmet and data.draw(st.booleans()):
                return {"feedback": {code: "Not evidenced." for code in unmet}}
            return {"feedback": text()}
        if trigger == "request_review":
            return {"grounds": data.draw(st.lists(st.sampled_from(
                ["relevant_evidence_ignored", "irrelevant_or_inaccurate_evidence",
                 "bias_or_discrimination"]), min_size=1, max_size=3, unique=True)),
                "explanation": text(), "evidence": ["portfolio.pdf"]}
        if trigger in ("certify", "uphold"):
            return {"reasons": text()}
        if trigger == "record_assessor_comment":
            return {"comment": text()}
        if trigger == "assign_review_officer":
            return {"review_officer": data.draw(st.sampled_from([OFFICER, OFFICER, ASSESSOR]))}
        if trigger == "advertise":
            return {"closing_date": self.day(data, -2, 20)}
        if trigger == "close_applications":
            ids = sorted(c for c, k in self.cases.items() if k == "application")
            chosen = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=3,
                                        unique=True)) if ids else []
            listed: list[dict] = [{"candidate": self.candidate_name(a), "application": a}
                                  for a in chosen]
            if data.draw(st.booleans()):
                listed.append({"candidate": "Cara Moss", "certificate": CERTIFICATE})
            return {"shortlist": listed}
        if trigger == "appoint":
            shortlist = records.get("close_applications", {}).get("shortlist") or [
                {"candidate": "Ann Lee", "application": "app-none"}]
            chosen = data.draw(st.sampled_from(shortlist))
            out = {"candidate": chosen["candidate"], "start_date": self.day(data, 0, 90),
                   "spine_point": data.draw(st.sampled_from([5, 6, 9, 10]))}
            if chosen.get("certificate"):
                out.update(certificate=chosen["certificate"],
                           email=data.draw(st.sampled_from(["cara.moss@elsewhere.example.org",
                                                            "ann.lee@hill.example.org"])))
            else:
                out["certified_application"] = chosen.get("application")
            return out
        if trigger == "vacate":
            return {"reason": data.draw(st.sampled_from(["left", "funding_ended", "reverted"]))}
        if trigger == "cancel":
            return {"reason": text()}
        return {}

    def stored(self, case: str) -> tuple[dict, dict]:
        """The case's opening data, and trigger -> the data it recorded."""
        detail = queries.case_detail(self.db, case)
        if detail is None:
            return {}, {}
        return detail["data"], {t: r["data"] for t, r in detail["records"].items()}

    def candidate_name(self, case: str) -> str:
        candidate = self.stored(case)[0].get("candidate")
        return candidate.get("name", "Ann Lee") if isinstance(candidate, dict) else "Ann Lee"

    # -- calling the engine -------------------------------------------------------------------

    def snapshot(self) -> dict:
        with self.db.read() as conn:
            return {t: conn.exec_driver_sql(f"SELECT * FROM {t} ORDER BY 1").all()
                    for t in TABLES}

    def call(self, what: str, action) -> object | None:
        before = self.snapshot()
        try:
            result = action()
        except RefusedError:
            STATS.calls["refused"] += 1
            after = self.snapshot()
            if after != before:
                changed = [t for t in TABLES if after[t] != before[t]]
                raise AssertionError(f"{what} was refused but changed {', '.join(changed)}")
            return None
        except Exception as err:
            STATS.calls["unexpected"] += 1
            raise UnexpectedError(f"{what} raised {type(err).__name__}: {err}") from err
        STATS.calls["ok"] += 1
        return result

    @rule(data=st.data(), kind=st.sampled_from(["application", "application", "appointment",
                                                 "review"]))
    def open_case(self, data, kind):
        process = PROCESSES[kind]
        actor, for_ = self.actor_for(data, process.opening.roles_for(None))
        value = self.spoil(data, self.sample(data, kind, "open", None))
        at = self.when(data)
        outcome = self.call(f"open {kind} as {actor} for {for_} at {at}: {value!r}",
                            lambda: self.engine.open(kind, actor, value, at, for_))
        if outcome is not None:
            self.cases[outcome.case] = kind
            self.cases.update((linked.case, linked.kind) for linked in outcome.linked)

    @precondition(lambda self: self.cases)
    @rule(data=st.data())
    def fire(self, data):
        case = data.draw(st.sampled_from(sorted(self.cases) + ["app-nosuchcase"]))
        kind = self.cases.get(case, "application")
        process = PROCESSES[kind]
        state = self.state_of(case)
        # Retired and internal triggers only now and then: the engine refuses them as unknown.
        triggers = [t for t in process.triggers() if not t.startswith("timer:")]
        allowed_here = [r.trigger for r in process.all_transitions()
                        if state and any(s.value == state for s in r.sources)
                        and not r.trigger.startswith("timer:") and not r.retired
                        and not r.internal]
        pool = allowed_here if allowed_here and data.draw(st.integers(0, 3)) else triggers
        trigger = data.draw(st.sampled_from(sorted(set(pool)) + ["no_such_trigger"]))
        rows = process.rows(trigger)
        roles = tuple(sorted({role for r in rows if isinstance(r.roles, tuple)
                              for role in r.roles})) or ("headteacher", "la_coordinator")
        actor, for_ = self.actor_for(data, roles)
        value = self.spoil(data, self.sample(data, kind, trigger, case if state else None))
        at = self.when(data)
        outcome = self.call(f"fire {case} ({state}) {trigger} as {actor} for {for_} at {at}: "
                            f"{value!r}",
                            lambda: self.engine.fire(case, trigger, actor, value, at, for_))
        if outcome is not None:
            self.cases.update((linked.case, linked.kind) for linked in outcome.linked)

    @rule(days=st.sampled_from([1, 2, 5, 10, 20, 30, 45, 70]))
    def tick(self, days):
        self.clock.advance(days=days)
        outcomes = self.call(f"tick to {self.clock.now()}", self.engine.tick) or []
        self.cases.update((o.case, o.kind) for o in outcomes)

    def state_of(self, case: str) -> str | None:
        with self.db.read() as conn:
            row = conn.exec_driver_sql(self.db.sql("SELECT state FROM cases WHERE id = :id"),
                                       {"id": case}).first()
        return row[0] if row else None

    # -- the properties ---------------------------------------------------------------------------

    @invariant()
    def no_two_pending_timers_of_one_name(self):
        with self.db.read() as conn:
            twice = conn.exec_driver_sql(
                "SELECT case_id, name, COUNT(*) FROM timers WHERE status = 'pending' "
                "GROUP BY case_id, name HAVING COUNT(*) > 1").all()
        assert not twice, f"two pending timers of one name: {twice}"

    def teardown(self):
        try:
            if self.cases:
                self.check_sequence()
        finally:
            self.db.dispose()
            shutil.rmtree(self.folder, ignore_errors=True)

    def check_sequence(self) -> None:
        try:
            verdict = queries.verify_log(self.db)
            assert verdict.ok, f"audit verify: {verdict.first_break}"
            with self.db.read() as conn:
                ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM cases ORDER BY id")]
                versions = conn.exec_driver_sql(
                    "SELECT c.id, c.version, COUNT(l.seq), MIN(l.seq), MAX(l.seq) FROM cases c "
                    "JOIN transition_log l ON l.case_id = c.id GROUP BY c.id, c.version").all()
                fired = conn.exec_driver_sql(
                    "SELECT t.case_id, t.name, t.ended_seq, COUNT(l.seq) FROM timers t "
                    "LEFT JOIN transition_log l ON l.case_id = t.case_id AND "
                    "l.seq = t.ended_seq AND l.trigger = 'timer:' || t.name "
                    "WHERE t.status = 'fired' GROUP BY t.id, t.case_id, t.name, t.ended_seq").all()
                entries = conn.exec_driver_sql(
                    "SELECT case_id, trigger, COUNT(*) FROM transition_log "
                    "WHERE trigger LIKE 'timer:%' GROUP BY case_id, trigger").all()
                fired_count = Counter((r.case_id, f"timer:{r.name}") for r in conn.exec_driver_sql(
                    "SELECT case_id, name FROM timers WHERE status IN ('fired', 'superseded')"))
            for case, version, count, low, high in versions:
                assert (count, low, high) == (version, 1, version), \
                    f"case {case} at version {version} has log seqs {low}..{high} ({count})"
            for case, name, seq, count in fired:
                assert count == 1, f"fired timer {name} of {case} has {count} entries at {seq}"
            for case, trigger, count in entries:
                assert count == fired_count[(case, trigger)], \
                    f"{case} has {count} {trigger} entries, {fired_count[(case, trigger)]} fired"
            results = replay_many(self.db, self.config, ids, verify=True, workers=1)
            bad = [r.as_json() for r in results if not r.ok]
            assert not bad, f"replay --verify: {bad}"
        except AssertionError as err:
            STATS.broken.append(str(err))
            raise
