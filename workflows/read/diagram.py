"""Diagrams of the three processes, drawn from the plain data in states/ (`states.PROCESSES`).

`mermaid(kind)` returns Mermaid `stateDiagram-v2` text for the README; `svg(kind)` renders the
same machine with the graphviz `dot` program.

The Mermaid text is generated here from the Process data, not by the `transitions` library.
transitions 0.9.3's own Mermaid engine (`GraphMachine(..., graph_engine="mermaid")`,
`get_graph().draw(None)`) was tried: it needs no graphviz, keeps the Enum names and returns the
text, but the text needs patching on every side: a flat machine's final states get no
`--> [*]`; the initial state is styled as the "active" state of a case (red); the title is
written as front matter without its `title:` key; an internal transition is labelled
`[internal]`; and `timer:NAME` labels go out with a bare colon, which the state-diagram lexer of
older Mermaid releases (edge label `":"[^:\\n;]+`) cuts short, so the diagram fails to parse
there (mermaid 11 accepts it). Writing the lines below is shorter than patching that output.

Labels escape `:` as Mermaid's entity code `#58;` (and `;` as `#59;`, `#` as `#35;`): Mermaid
sets entity codes aside before it parses and draws them decoded, so `timer#58;review_window`
shows as `timer:review_window` in old and new versions alike (the three diagrams were checked
with the parser of mermaid 11.17.2).

What the diagram shows: `[*] --> initial`; one edge `source --> dest : trigger` per source of
every transition (a transition that stays in its state is a self-loop, and `withdraw` and
`cancel` are drawn from each state they leave); `final --> [*]` for each final state. The timers
that guard someone else's duty (`Timer.duty`) fire in whatever state the case is in and never
change it; drawn from every state they would bury the diagram, so they are left out and listed
in a note on the initial state instead. A timer that moves the case (`timer:review_window`) is
drawn like any other trigger.
"""
from __future__ import annotations

import shutil
import subprocess
from enum import Enum

from states import PROCESSES
from states.spec import Process

DOT_TIMEOUT_SECONDS = 60


class GraphvizMissingError(Exception):
    """`svg` needs the graphviz `dot` program, which is not installed."""


def _process(kind: str) -> Process:
    process = PROCESSES.get(kind)
    if process is None:
        raise ValueError(f"unknown kind of case {kind!r}; known kinds: {', '.join(PROCESSES)}")
    return process


def _duty_timer_rows(process: Process) -> set[str]:
    """The `timer:NAME` triggers of duty timers: they report a missed deadline and move nothing."""
    return {f"timer:{t.name}" for t in process.timers if t.duty is not None}


def _edges(process: Process) -> list[tuple[Enum, Enum, str]]:
    """(source, dest, trigger) for every drawn transition, in declaration order, without repeats."""
    skip = _duty_timer_rows(process)
    edges: list[tuple[Enum, Enum, str]] = []
    seen = set()
    for row in process.all_transitions():
        if (row.trigger in skip and row.dest is None) or row.internal or row.retired \
                or row.trigger in NOT_DRAWN:
            continue
        for source in row.sources:
            edge = (source, row.dest if row.dest is not None else source, row.trigger)
            if edge not in seen:
                seen.add(edge)
                edges.append(edge)
    return edges


def drawn_edges(kind: str) -> list[tuple[str, str, str]]:
    """(source, dest, trigger) of every transition the diagrams draw, by state name."""
    return [(s.name, d.name, t) for s, d, t in _edges(_process(kind))]


# Shared by every kind of case and written in the note instead: drawn from each final state it
# would bury the diagram.
NOT_DRAWN = {"erase_personal_data": "from any final state, erases the case's personal data",
             "timer_superseded": "written before a late-keyed event; undoes what the timer "
                                 "entry it overtook did"}


def _duty_timers(process: Process) -> list[tuple[str, str | None]]:
    skip = _duty_timer_rows(process)
    declared = {r.trigger for r in process.transitions if r.dest is not None}
    return [(f"timer:{t.name}", t.duty) for t in process.timers
            if f"timer:{t.name}" in skip and f"timer:{t.name}" not in declared]


def _final_states(process: Process) -> list[Enum]:
    # In the Enum's order; a retired state (only old entries reach it) is not drawn.
    return [s for s in process.states if s in process.final and s not in process.retired_states]


_MERMAID_ESCAPES = str.maketrans({"#": "#35;", ":": "#58;", ";": "#59;"})


def _mermaid_label(text: str) -> str:
    # Mermaid ends an edge label at ':' or ';': write them as entity codes, which it decodes.
    return text.translate(_MERMAID_ESCAPES)


def mermaid(kind: str) -> str:
    """The process of this kind as Mermaid `stateDiagram-v2` text."""
    process = _process(kind)
    lines = ["stateDiagram-v2",
             f"    %% the {kind} process, generated from states/ by workflows/read/diagram.py",
             "    direction LR",
             f"    [*] --> {process.initial.name}"]
    for source, dest, trigger in _edges(process):
        lines.append(f"    {source.name} --> {dest.name} : {_mermaid_label(trigger)}")
    for final in _final_states(process):
        lines.append(f"    {final.name} --> [*]")
    duty = _duty_timers(process)
    if duty:
        lines.append(f"    note right of {process.initial.name}")
        lines.append("        Deadline timers, not drawn: each fires in whatever state the case")
        lines.append("        is in (unless cancelled before), reports deadline_missed and")
        lines.append("        leaves the state unchanged.")
        for trigger, what in duty:
            lines.append(f"        {trigger}: {what}")
        lines.append("        Also not drawn, as it leaves the state unchanged:")
        for trigger, what in NOT_DRAWN.items():
            lines.append(f"        {trigger}: {what}")
        lines.append("    end note")
    return "\n".join(lines) + "\n"


# -- graphviz -----------------------------------------------------------------------------------

def _dot_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot(kind: str) -> str:
    """The process of this kind as graphviz DOT text (what `svg` renders)."""
    process = _process(kind)
    finals = set(process.final)
    out = [f"digraph {_dot_quote(kind)} {{",
           "  rankdir=LR;",
           f"  label={_dot_quote(f'the {kind} process')}; labelloc=t; fontname=Helvetica;",
           "  node [shape=box, style=rounded, fontname=Helvetica];",
           "  edge [fontname=Helvetica, fontsize=10];",
           "  __start [shape=point, width=0.15, label=\"\"];"]
    for state in process.states:
        if state in process.retired_states:
            continue
        shape = ", peripheries=2" if state in finals else ""
        out.append(f"  {_dot_quote(state.name)} [label={_dot_quote(state.name)}{shape}];")
    out.append(f"  __start -> {_dot_quote(process.initial.name)};")
    for source, dest, trigger in _edges(process):
        out.append(f"  {_dot_quote(source.name)} -> {_dot_quote(dest.name)} "
                   f"[label={_dot_quote(trigger)}];")
    duty = _duty_timers(process)
    if duty:
        text = ("Deadline timers, not drawn: each fires in whatever state\\lthe case is in, "
                "reports deadline_missed and leaves the state unchanged.\\l"
                + "".join(f"{trigger}: {what}\\l" for trigger, what in duty))
        text = text.replace('"', '\\"')
        out.append(f"  __duty_timers [shape=note, fontsize=10, label=\"{text}\"];")
    out.append("}")
    return "\n".join(out) + "\n"


def svg(kind: str) -> bytes:
    """The process of this kind as SVG, rendered by graphviz `dot`."""
    text = dot(kind)
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissingError(
            "the graphviz 'dot' program is not installed: install graphviz "
            "(apt-get install graphviz) to draw SVG diagrams")
    result = subprocess.run([program, "-Tsvg"], input=text.encode("utf-8"),
                            capture_output=True, timeout=DOT_TIMEOUT_SECONDS, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"dot -Tsvg failed for the {kind} process: "
                           f"{result.stderr.decode('utf-8', 'replace').strip()}")
    return result.stdout
