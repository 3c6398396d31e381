"""Who may act, at its home (workflows/engine/actors.py): a person names a role people act in;
the engine's own `system` role and the read-only auditor's are refused before anything is read.
The command line's `--actor` only passes it on (tests/test_cli.py)."""
from __future__ import annotations

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

