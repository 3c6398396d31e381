"""`run_engine.py demo`: a fresh database of its own, and five real-looking cases walked through
the winter and spring of 2027 on a simulated clock, deadlines met and missed."""
from __future__ import annotations

import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from storage import queries
from storage.db import Database
from notifications.delivery import FileChannel
from storage.migrations import migrate
from workflows.core.calendar import LONDON
from workflows.core.clock import Clock, FixedClock
from workflows.engine import Actor, Engine, Outcome
from workflows.engine.notice_queue import Outbox
from workflows.core.times import parse_instant, utc_iso

ASSESSOR = {"id": "as-17", "name": "Carol Assessor", "email": "carol.assessor@agency.example.org"}
OFFICER = {"id": "ro-3", "name": "Raj Officer", "email": "raj.officer@agency.example.org"}


def _application(name: str, email: str, school: str, head: str, head_email: str,
                 advertisement: str = "internal", post_school: str | None = None,
                 appointment: str | None = None, stage: str = "post_threshold") -> dict:
    return {"candidate": {"name": name, "email": email}, "career_stage": stage,
            "school": {"name": school}, "headteacher": {"name": head, "email": head_email},
            "post": {"school": post_school or school, "advertisement": advertisement,
                     "email": "office@vale.example.org" if post_school else None,
                     "appointment": appointment}}


class Story:
    def __init__(self, engine: Engine, clock: FixedClock):
        self.engine, self.clock = engine, clock
        self.names: dict[str, str] = {}
        self.pending: dict[str, set] = {}

    def when(self, at: str):
        instant = parse_instant(at)
        self.clock.set(max(instant, self.clock.now()))
        return instant

    def say(self, at, text: str) -> None:
        print(f"{at.astimezone(LONDON):%a %d %b %Y}  {text}")

    def open(self, kind: str, actor: str, data: dict, at: str, label: str) -> str:
        instant = self.when(at)
        outcome = self.engine.open(kind, Actor.parse(actor), data, instant)
        self.names[outcome.case] = label
        self.say(instant, f"{outcome.case} {label}: opened -> {outcome.state}{self.deadlines(outcome)}")
        return outcome.case

    def fire(self, case: str, trigger: str, actor: str, at: str, data: dict | None = None,
             for_: str | None = None) -> Outcome:
        instant = self.when(at)
        late = instant < self.clock.now()
        outcome = self.engine.fire(case, trigger, Actor.parse(actor), data, instant,
                                   Actor.parse(for_) if for_ else None)
        who = f"{actor} for {for_}" if for_ else actor
        keyed = f" (keyed in on {self.clock.now().astimezone(LONDON):%a %d %b})" if late else ""
        self.say(instant, f"{case} {self.names[case]}: {trigger} by {who}{keyed} -> "
                          f"{outcome.state}{self.deadlines(outcome)}")
        if late:
            assert self.engine.db is not None
            detail = queries.case_detail(self.engine.db, case)
            assert detail is not None
            superseded = [e for e in detail["log"] if e["trigger"] == "timer_superseded"
                          and e["data"].get("late_trigger") == trigger]
            for e in superseded:
                print(f"{'':17}it supersedes {e['data']['timer']} (entry "
                      f"{e['data']['superseded_seq']}): the form was in time")
        for w in outcome.warnings:
            print(f"{'':17}warning: {w}")
        for linked in outcome.linked:
            self.names.setdefault(linked.case, f"(review of {self.names[case]})")
            print(f"{'':17}and {linked.case} {self.names[linked.case]}: {linked.trigger} -> "
                  f"{linked.state}{self.deadlines(linked)}")
        return outcome

    def tick(self, at: str) -> None:
        self.clock.set(parse_instant(at))
        fired = self.engine.tick()
        self.say(self.clock.now(), f"tick: {len(fired)} timer(s) due")
        for o in fired:
            missed = " (deadline_missed notice stored)" \
                if o.trigger != "timer:review_window" else ""
            print(f"{'':17}{o.case} {self.names[o.case]}: {o.trigger} -> {o.state}{missed}")

    def deadlines(self, outcome: Outcome) -> str:
        """The timers this step started, with their due dates."""
        assert self.engine.db is not None
        detail = queries.case_detail(self.engine.db, outcome.case)
        assert detail is not None
        pending = {(t["name"], t["due"]) for t in detail["timers"] if t["status"] == "pending"}
        started = sorted(pending - self.pending.get(outcome.case, set()), key=lambda t: t[1])
        self.pending[outcome.case] = pending
        return "".join(f"; {name} due {due}" for name, due in started)


def run_demo(real: Clock, keep: str | None = None) -> int:
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="ast-engine-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "demo.db"
    if path.exists():
        path.unlink()
    db = Database(f"sqlite:///{path}")
    migrate(db, utc_iso(real.now()))
    clock = FixedClock(parse_instant("2026-12-01"))
    story = Story(Engine(db, clock=clock, recorder=real), clock)
    print(f"AST case engine demo: a fresh database at {path}")
    print("The business clock is simulated from December 2026; England's bank holidays apply.\n")

    post = story.open("appointment", "headteacher:v.vale", {
        "school": {"name": "Vale Secondary School", "phase": "secondary",
                   "email": "office@vale.example.org"},
        "la": "Exampleshire", "focus": "mathematics", "advertisement": "external",
        "funding_source": "school_development_grant", "pay_range": {"first_point": 5,
                                                                    "last_point": 9},
        "headteacher": {"name": "Vera Vale", "email": "v.vale@vale.example.org"}},
        "2026-12-01", "maths AST post at Vale Secondary")
    story.fire(post, "secure_funding", "la_coordinator:lac", "2026-12-02")
    story.fire(post, "advertise", "headteacher:v.vale", "2026-12-03", {"closing_date": "2027-01-29"})

    ann = story.open("application", "headteacher:h.brown", _application(
        "Ann Lee", "ann.lee@hill.example.org", "Hill Primary School", "Hugh Brown",
        "h.brown@hill.example.org"), "2026-12-18", "Ann Lee")
    ben = story.open("application", "headteacher:o.oak", _application(
        "Ben Okafor", "ben.okafor@oak.example.org", "Oak Secondary School", "Olga Oak",
        "o.oak@oak.example.org", "external", "Vale Secondary School", post),
        "2026-12-18T11:00", "Ben Okafor")
    carla = story.open("application", "headteacher:p.pine", _application(
        "Carla Diaz", "carla.diaz@pine.example.org", "Pine Junior School", "Paul Pine",
        "p.pine@pine.example.org"), "2026-12-18T14:00", "Carla Diaz")
    dev = story.open("application", "headteacher:h.brown", _application(
        "Dev Patel", "dev.patel@hill.example.org", "Hill Primary School", "Hugh Brown",
        "h.brown@hill.example.org", stage="excellent_teacher"), "2026-12-21", "Dev Patel")

    print("\nThe headteachers decide (Carla Diaz's decision reaches the office late):")
    story.fire(ann, "support", "headteacher:h.brown", "2027-01-05",
               {"evaluation": "Strong evidence against E1-E15 and A1-A3."})
    story.fire(ann, "submit_to_agency", "headteacher:h.brown", "2027-01-06",
               {"funding_declaration": {"declared_by": "Hugh Brown", "source": "school"}})
    story.fire(dev, "support", "headteacher:h.brown", "2027-01-06",
               {"evaluation": "Ready for the AST standards."})
    story.fire(dev, "submit_to_agency", "headteacher:h.brown", "2027-01-07",
               {"funding_declaration": {"declared_by": "Hugh Brown", "source": "school"}})
    story.fire(ben, "support", "headteacher:o.oak", "2027-01-07", {"evaluation": "Excellent."})
    story.fire(ben, "forward_to_post_school", "headteacher:o.oak", "2027-01-08")
    story.fire(ann, "agency_receive", "operator:it.jones", "2027-01-08", for_="agency:naa")
    story.fire(dev, "agency_receive", "agency:naa", "2027-01-11")
    story.fire(ben, "shortlist", "post_school:vale", "2027-01-12")
    story.fire(ben, "submit_to_agency", "la_coordinator:lac", "2027-01-13",
               {"funding_declaration": {"declared_by": "Exampleshire LA", "source":
                                        "school_development_grant"}})
    story.fire(ben, "agency_receive", "agency:naa", "2027-01-15")
    for case, day in ((ann, "2027-02-10"), (dev, "2027-02-11"), (ben, "2027-02-17")):
        story.fire(case, "schedule_assessment", "agency:naa", "2027-01-20",
                   {"assessment_date": day, "assessor": ASSESSOR})
    story.tick("2027-01-21T08:00")
    print("\nCarla Diaz's headteacher declined support on 19 January, in time; the letter is keyed "
          "in on the 22nd:")
    story.clock.set(parse_instant("2027-01-22T10:00"))
    story.fire(carla, "decline_support", "operator:it.jones", "2027-01-19", {
        "feedback": "A year of outreach work with partner schools would make the case."},
        for_="headteacher:p.pine")

    print("\nAssessment days, decision letters and written feedback:")
    story.fire(ann, "judge_met", "assessor:as-17", "2027-02-10T16:00")
    story.fire(dev, "judge_not_met", "assessor:as-17", "2027-02-11T16:00",
               {"unmet_standards": ["A2"]})
    story.fire(ann, "send_decision_letter", "agency:naa", "2027-02-12")
    story.fire(dev, "send_decision_letter", "agency:naa", "2027-02-15")
    story.fire(ben, "judge_not_met", "assessor:as-17", "2027-02-17T16:00",
               {"unmet_standards": ["E3", "A1"]})
    story.fire(ben, "send_decision_letter", "agency:naa", "2027-02-19")
    story.fire(ann, "send_written_feedback", "agency:naa", "2027-02-26",
               {"feedback": "A clear, well-evidenced portfolio; outreach work was exemplary."})
    story.tick("2027-03-05T08:00")
    story.fire(ben, "send_written_feedback", "agency:naa", "2027-03-09", {"feedback": {
        "E3": "Little evidence of leading colleagues' professional development.",
        "A1": "Outreach beyond the school was described but not evidenced."}})

    print("\nBen Okafor asks for a review (Annex D); Dev Patel lets the 40 working days pass:")
    review = story.fire(ben, "request_review", "candidate:ben", "2027-03-10", {
        "grounds": ["relevant_evidence_ignored"],
        "explanation": "The assessor did not look at my outreach portfolio."}).linked[0].case
    story.fire(review, "invite_assessor_comment", "review_coordinator:rc", "2027-03-12")
    story.fire(review, "record_assessor_comment", "assessor:as-17", "2027-03-16",
               {"comment": "The portfolio was not in the evidence file on the day."})
    story.fire(review, "assign_review_officer", "review_coordinator:rc", "2027-03-17",
               {"review_officer": OFFICER})
    story.fire(review, "certify", "review_officer:ro-3", "2027-04-09",
               {"reasons": "The outreach portfolio meets E3 and A1."})
    story.tick("2027-04-15T08:00")

    print("\nVale Secondary appoints (a certified candidate only):")
    story.fire(post, "close_applications", "post_school:vale", "2027-04-15", {"shortlist": [
        {"candidate": "Ben Okafor", "application": ben},
        {"candidate": "Ann Lee", "application": ann}]})
    story.fire(post, "appoint", "post_school:vale", "2027-04-20", {
        "candidate": "Ben Okafor", "certified_application": ben, "start_date": "2027-09-01",
        "spine_point": 5})
    story.fire(post, "submit_ast2", "post_school:vale", "2027-04-27")
    story.fire(post, "confirm_funding", "la_coordinator:lac", "2027-05-04")

    outbox_folder = folder / "outbox"
    report = Outbox(db, FileChannel(outbox_folder), "ast-engine@la.example.org", 8,
                    real).deliver_all()

    cases = queries.list_cases(db)
    verdict = queries.verify_log(db)
    notices = queries.notice_count(db)
    print(f"\n{len(cases)} cases, {verdict.entries} log entries, {notices} notices stored; "
          f"{len(report.sent)} delivered as .eml files to {outbox_folder}")
    for row in cases:
        print(f"  {row['case']}  {row['kind']:<12} {row['state']:<16} "
              f"{story.names.get(row['case'], '')}")
    print(f"audit verify: {'both hash chains intact' if verdict.ok else verdict.first_break}")
    engine = f"{invoked_as()} --db {shlex.quote(f'sqlite:///{path}')}"
    print(f"\nLook closer:\n  {engine} show {ben}\n"
          f"  {engine} show {carla}   (a form keyed in late)\n"
          f"  {engine} list\n"
          f"  {engine} notices\n"
          f"  ls {shlex.quote(str(outbox_folder))}   (one RFC 5322 message per notice)")
    db.dispose()
    return 0 if verdict.ok else 3


def invoked_as() -> str:
    """The engine as this shell can run it again: `ast-engine` when that is what PATH finds,
    else the way it was started (`.venv/bin/ast-engine`, or this Python with run_engine.py),
    so that the commands printed work as printed with or without the venv activated."""
    started = sys.argv[0]
    found = shutil.which("ast-engine")
    if found and os.path.exists(started) and os.path.samefile(found, started):
        return "ast-engine"
    if Path(started).name == "ast-engine":
        return shlex.quote(started if os.sep in started else os.path.abspath(started))
    return f"{shlex.quote(sys.executable)} {shlex.quote(os.path.abspath(started))}"
