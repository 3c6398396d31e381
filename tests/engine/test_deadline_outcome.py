"""THE deadline-outcome rule (workflows/read/deadline_outcome.py): one row per word, with the
timer and the log entries that give it; then one case, walked through the engine, read by
`show`, the console and the CSV export alike, each giving every deadline the same word."""
from __future__ import annotations

import pytest

from storage import queries
from tests.builders import AGENCY, Driver
from workflows.read.deadline_outcome import WORDS, deadline_outcome

NOW = "2027-01-10T09:00:00+00:00"
DUE, FIRES = "2027-01-20", "2027-01-21T00:00:00+00:00"   # headteacher_deadline's


def timer(status: str, name: str = "headteacher_deadline", **more) -> dict:
    return {"name": name, "due": DUE, "fires_at": FIRES, "status": status, "ended_seq": None,
            "attempts": 0, "last_error": None, **more}


def entry(seq: int, trigger: str, effective_at: str, **more) -> dict:
    return {"seq": seq, "trigger": trigger, "effective_at": effective_at, **more}


def ended_by(trigger: str, effective_at: str) -> tuple[dict, dict]:
    return timer("cancelled", ended_seq=2), {2: entry(2, trigger, effective_at)}


LATE_KEYED = {   # a timer fired, then a decline keyed in dated before it: DOMAIN.md
    2: entry(2, "timer:headteacher_deadline", FIRES, superseded_by=3),
    3: entry(3, "timer_superseded", "2027-01-19T10:00:00+00:00"),
    4: entry(4, "decline_support", "2027-01-19T10:00:00+00:00"),
}

# word, timer, entries, now, what follows the due date
TABLE = [
    ("running", timer("pending"), {}, NOW, "running"),
    ("running", timer("pending"), {}, "2027-01-20T23:59:59+00:00", "running"),
    ("overdue", timer("pending"), {}, FIRES,
     "passed, and the timer has not fired yet (is the daemon running?)"),
    ("failed", timer("failed", attempts=5, last_error="RuntimeError: template broke"), {}, NOW,
     "FAILED to fire after 5 attempts: RuntimeError: template broke"),
    ("failed", timer("failed", attempts=5), {}, NOW,
     "FAILED to fire after 5 attempts: see the daemon log"),
    ("superseded", timer("superseded", ended_seq=2), LATE_KEYED, NOW,
     "superseded by entry 3: decline_support effective Tue 2027-01-19, keyed in after it fired"),
    ("superseded", timer("superseded", ended_seq=2), {}, NOW,
     "superseded, a late-keyed event overtook its firing"),
    ("missed", timer("fired", ended_seq=2), {}, NOW,
     "MISSED: reported to the LA on Thu 2027-01-21 00:00 London"),
    ("passed", timer("fired", name="review_window"), {}, NOW,
     "passed (the window closed: the judgement became final)"),
    ("passed", timer("fired", name="post_ends"), {}, NOW,
     "passed (the post was vacated after its last day)"),
    ("met", *ended_by("forward_to_post_school", "2027-01-05T09:00:00+00:00"), NOW,
     "met by forward_to_post_school on Tue 2027-01-05"),
    ("met", *ended_by("send_to_la", "2027-01-20T23:30:00+00:00"), NOW,   # the due day, London
     "met by send_to_la on Wed 2027-01-20"),
    ("met late", *ended_by("send_to_la", "2027-01-21T10:00:00+00:00"), NOW,
     "done late, by send_to_la on Thu 2027-01-21"),
    ("ended", *ended_by("withdraw", "2027-01-05T09:00:00+00:00"), NOW,
     "no longer owed (withdraw on Tue 2027-01-05)"),
    ("ended", *ended_by("erase_personal_data", "2027-01-05T09:00:00+00:00"), NOW,
     "no longer owed (erase_personal_data on Tue 2027-01-05)"),
    ("ended", timer("cancelled", ended_seq=2), {}, NOW, "cancelled"),
    ("recomputed", *ended_by("deadline_recomputed", "2027-01-12T11:00:00+00:00"), NOW,
     "recomputed on Tue 2027-01-12 (see the next row of this deadline)"),
]


@pytest.mark.parametrize("word, given, entries, now, detail", TABLE,
                         ids=[f"{row[0]}: {row[4][:40]}" for row in TABLE])
def test_each_deadline_reads_as_one_word_and_a_sentence(word, given, entries, now, detail):
    outcome = deadline_outcome(given, entries, now)
    assert (outcome.word, outcome.detail, outcome.due) == (word, detail, DUE)
    assert outcome.text == f"due Wed 2027-01-20: {detail}"


def test_the_table_has_a_row_for_every_word():
    assert sorted({row[0] for row in TABLE}) == sorted(WORDS)


# -- one case, read by every adapter ----------------------------------------------------------------

EXPECTED = {"headteacher_deadline": "met", "assessment_window": "met",
            "decision_letter": "met late", "written_feedback": "missed",
            "review_window": "running"}
# How `show`, which gives the sentence and not the word, says each word.
SHOW_SAYS = {"met": "met by ", "met late": "done late, by ", "missed": "MISSED: ",
             "running": "running"}
THEN = "2027-03-10T09:00:00+00:00"


@pytest.fixture
def walked(driver: Driver) -> str:
    """Not met: the form left the school in time, the assessment within its six weeks, the
    decision letter a day late, the written feedback never; the review window runs."""
    case = driver.to_not_met(letter=False)                               # assessed 2027-02-10
    driver.fire(case, "send_decision_letter", AGENCY, at="2027-02-16T10:00")   # due 02-15
    driver.tick(THEN)                                                  # feedback due 03-03
    return case


def test_show_the_console_and_the_csv_give_each_deadline_the_same_word(walked, db, capsys):
    from workflows.cli.args import ShowArgs
    from workflows.cli.cases import show
    from workflows.console import views
    from workflows.core.clock import REAL
    from workflows.core.config import Config
    from workflows.engine.context import Context
    from workflows.read import auditlog

    ctx = Context.build(db.url, Config(), THEN, REAL)
    assert show(ctx, ShowArgs(walked, None, False)) == 0
    shown = capsys.readouterr().out.splitlines()
    for name, word in EXPECTED.items():
        line = next(line for line in shown if line.startswith(f"  {name} "))
        assert SHOW_SAYS[word] in line, (name, line)

    detail = queries.case_detail(db, walked)
    console = views.deadlines(detail, queries.case_timers(db, walked), THEN)
    assert {d.name: d.outcome.word for d in console} == EXPECTED
    on_timeline = [word for e in views.timeline(detail, THEN) for word, _ in e.deadlines]
    assert sorted(on_timeline) == sorted(w for w in EXPECTED.values() if w != "running")

    header, *rows = auditlog.spreadsheet(db, auditlog.ExportFilter(case=walked),
                                         Config().calendars().national(), THEN)
    exported = [dict(zip(header, row)) for row in rows]
    column = "; ".join(r["deadlines"] for r in exported if r["deadlines"])
    for name, word in EXPECTED.items():
        if word == "running":   # no entry has ended it: no row says anything of it
            assert name not in column
        else:
            assert f"{name} {word} (due " in column, (name, column)
