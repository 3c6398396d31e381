"""Who may act, at its home (workflows/engine/actors.py): a person names a role people act in;
the engine's own `system` role and the read-only auditor's are refused before anything is read.
The command line's `--actor` only passes it on (tests/integration/test_cli.py)."""
from __future__ import annotations

import re

import pytest

from workflows.core.errors import RefusedError
from workflows.engine.actors import Actor, refuse_roles_that_never_fire


@pytest.mark.parametrize("written", ["system:x", "auditor:a.nolan", "auditor:a:b"])
def test_the_system_and_auditor_roles_never_fire_a_trigger(written):
    role = written.split(":")[0]
    with pytest.raises(RefusedError, match=f"^--actor {written}: the {role} role cannot fire "
                                           "triggers from the command line$"):
        refuse_roles_that_never_fire(Actor.parse(written))


@pytest.mark.parametrize("written", ["headteacher:h.smith", "operator:it.jones",
                                     "la_coordinator:lac", "candidate:ann"])
def test_the_roles_people_act_in_may_fire(written):
    refuse_roles_that_never_fire(Actor.parse(written))



@pytest.mark.parametrize("written, says", [
    ("headteacher:h.brown\u202e", "formatting character (U+202E, RIGHT-TO-LEFT OVERRIDE)"),
    ("headteacher:h.\u2066brown", "formatting character (U+2066"),
    ("headteacher:" + "h" * 101, "an id of 101 characters; at most 100"),
])
def test_an_id_that_would_change_how_the_log_reads_is_refused_at_the_door(written, says):
    from workflows.engine.actors import refuse_unreadable_id
    with pytest.raises(RefusedError, match=re.escape(says)):
        refuse_unreadable_id(Actor.parse(written))


def test_an_ordinary_id_passes_the_door():
    from workflows.engine.actors import refuse_unreadable_id
    refuse_unreadable_id(Actor.parse("headteacher:" + "h" * 100))
    refuse_unreadable_id(Actor.parse("headteacher:ännä.öst"))
