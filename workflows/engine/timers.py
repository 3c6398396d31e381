"""THE timer loop: one pass over the timers that are due, walked by `tick` (Engine.tick) and by
the daemon alike, so that both fire a timer, count its failure and word the reason the same way.

Each due timer, in `fires_at` order, is fired in a transaction of its own (Engine.fire_timer).
What happened to it is reported to the caller as one event, which the caller says in its own
way: `tick` its progress lines, the daemon its log lines, metrics, heartbeat and catch-up
progress.

    Fired    it fired: a `timer:NAME` entry was logged
    Gone     no longer pending when its turn came (cancelled meanwhile, or another daemon
             fired it)
    Failed   it could not fire: it stays pending, its attempt counted with the reason; after
             TIMER_ATTEMPTS attempts it is `failed` (a fault that outlasts them needs a person)

A database that is unavailable ends the pass, re-raised with no attempt counted: no timer is at
fault, and nothing can be fired or counted until it answers again. Any other error is the
timer's own: counted, then re-raised if the caller says a failure ends the pass, else reported
while the others go on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Sequence, Union

from storage import queries
from storage.errors import DatabaseUnavailableError, one_line
from storage.rows import TimerRow
from workflows.engine.outcome import Outcome

if TYPE_CHECKING:   # the engine imports this module
    from workflows.engine import Engine

# After this many failed attempts a timer is `failed` (shown by show, list and status) rather
# than tried again at every pass.
TIMER_ATTEMPTS = 5
REASON_CHARS = 500   # a timer's last_error: enough for a traceback's last line, never a page


@dataclass(frozen=True)
class Fired:
    timer: TimerRow
    outcome: Outcome


@dataclass(frozen=True)
class Gone:
    timer: TimerRow


@dataclass(frozen=True)
class Failed:
    timer: TimerRow
    error: Exception
    reason: str      # as stored in the timer's last_error
    status: str      # the timer's status now: `pending`, or `failed` after TIMER_ATTEMPTS


TimerEvent = Union[Fired, Gone, Failed]


def failure_reason(err: Exception) -> str:
    """Why a timer could not fire, as its row keeps it: the error's type and message on one
    line (a driver's message spans several), at most REASON_CHARS."""
    return one_line(f"{type(err).__name__}: {err}")[:REASON_CHARS]


def fire_due(engine: Engine, due: Sequence[TimerRow], report: Callable[[TimerEvent], None], *,
             should_stop: Callable[[], bool] = lambda: False,
             failure_ends_pass: bool = False) -> None:
    """Fire each of `due` (as Engine.due_timers gives them: in `fires_at` order) and report
    its event; before each, stop if `should_stop` says so. With `failure_ends_pass` a timer
    that fails is counted and its error re-raised; without it the pass goes on."""
    assert engine.db is not None, "timers fire on a database"
    for timer in due:
        if should_stop():
            return
        try:
            outcome = engine.fire_timer(timer.id)
        except DatabaseUnavailableError:
            raise
        except Exception as err:
            reason = failure_reason(err)
            status = queries.timer_attempt_failed(engine.db, timer.id, reason, TIMER_ATTEMPTS)
            if failure_ends_pass:
                raise
            report(Failed(timer, err, reason, status))
            continue
        report(Gone(timer) if outcome is None else Fired(timer, outcome))
