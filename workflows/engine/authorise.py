"""Authorise: is this person, in this role (for an operator: the role it keys a form in for),
allowed to fire this trigger? DOMAIN.md lists the roles of each trigger; an operator always
names whom it acts for."""
from __future__ import annotations

from states.roles import ACTS_FOR_NOBODY
from states.spec import Party, Process, Transition
from workflows.engine.actors import Actor
from workflows.engine.facts import CaseFacts
from workflows.core.errors import RoleNotAllowedError


def acting_role(actor: Actor, on_behalf_of: Actor | None, trigger: str) -> str:
    """The role whose right is checked: the actor's own, or the one an operator acts for."""
    if actor.role == "operator":
        if on_behalf_of is None:
            raise RoleNotAllowedError(
                "an operator keys in a form for someone: name them with --for ROLE:ID",
                trigger=trigger)
        if on_behalf_of.role in ACTS_FOR_NOBODY:
            raise RoleNotAllowedError(
                f"an operator may not act for {on_behalf_of.role}", trigger=trigger)
        return on_behalf_of.role
    if on_behalf_of is not None:
        raise RoleNotAllowedError("only an operator acts for someone else (--for)",
                                  trigger=trigger)
    return actor.role


def refuse_a_role_that_never_fires(process: Process, trigger: str, actor: Actor,
                                   on_behalf_of: Actor | None, case_id: str,
                                   state: str) -> None:
    """A person whose role fires `trigger` from no state at all is refused for the role, before
    the state is looked at: the agency sending `support` is told it is the head's to send, not
    that the case is not in a state for it (CLI.md: 403 a role that may not act, 409 the
    machine refuses). A trigger whose roles depend on the case is left to `authorise`."""
    rows = [r for r in process.rows(trigger) if not r.retired]
    if not rows or any(callable(r.roles) for r in rows):
        return
    role = acting_role(actor, on_behalf_of, trigger)
    allowed = list(dict.fromkeys(r for row in rows for r in row.roles_for(None)))
    if role not in allowed:
        raise RoleNotAllowedError(
            f"role {role} may not fire {trigger} on case {case_id}, in any state; allowed: "
            f"{', '.join(allowed)}", case=case_id, trigger=trigger, state=state)


def authorise(row: Transition, actor: Actor, on_behalf_of: Actor | None, facts: CaseFacts,
              parties: tuple[Party, ...] = ()) -> str:
    """The role checked, or a refusal naming the roles that may; then, for a role the case
    binds (`parties`), the person: one who is not the party the case expects is refused, and
    the refusal names that party."""
    role = "system" if actor.is_system else acting_role(actor, on_behalf_of, row.trigger)
    allowed = row.roles_for(facts)
    if role not in allowed or (role == "system") != actor.is_system:
        if row.trigger == "open":
            raise RoleNotAllowedError(
                f"role {role} may not open {_a(facts.kind)} case; allowed: "
                f"{', '.join(allowed)} (or an operator acting for one of them)", trigger="open")
        raise RoleNotAllowedError(
            f"role {role} may not fire {row.trigger} on case {facts.case_id} in state "
            f"{facts.state}; allowed: {', '.join(allowed)}", case=facts.case_id,
            trigger=row.trigger, state=facts.state)
    if row.trigger != "open":
        for party in parties:
            if party.role == role:
                _refuse_unless_the_party(party, role, actor, facts, row.trigger)
    return role


def _refuse_unless_the_party(party: Party, role: str, actor: Actor, facts: CaseFacts,
                             trigger: str) -> None:
    expected = party.expected(facts)
    if not expected or not expected.get("id"):
        return   # the case records no one yet (a case opened before the rule: editions 1-2)
    if str(expected["id"]) == facts.actor_id:
        return
    acting = f"{role}:{facts.actor_id}"
    by = f" (keyed in by {actor})" if actor.role == "operator" else ""
    raise RoleNotAllowedError(
        f"{acting}{by} may not fire {trigger} on case {facts.case_id}: the case expects "
        f"{party.who}, {expected.get('name') or expected['id']} ({role}:{expected['id']})",
        case=facts.case_id, trigger=trigger, state=facts.state)


def _a(noun: str) -> str:
    return ("an " if noun[0] in "aeiou" else "a ") + noun
