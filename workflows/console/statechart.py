"""A case's process as an inline SVG drawing, with the case's current state marked and the
states it passed through shaded: drawn here from the same edges as `ast-engine diagram`
(workflows/read/diagram.py), because the console has no JavaScript diagram library and no build
step. States are placed in columns by their distance from the initial state; a final state
that most states lead to (`withdrawn`, `cancelled`) goes in the last column with its edges
left out and said in words instead, or its lines would cross everything."""
from __future__ import annotations

from collections import defaultdict, deque
from html import escape

from states import PROCESSES
from workflows.read.diagram import drawn_edges

BOX_W, BOX_H, COL, ROW, PAD = 150, 28, 190, 40, 12
FROM_ANYWHERE = 4   # a state reached from this many others is drawn without its edges


def svg(kind: str, current: str | None, visited: set[str]) -> str:
    process = PROCESSES[kind]
    names = [s.name for s in process.states]
    finals = {s.name for s in process.final}
    edges = [(a, b, t) for a, b, t in drawn_edges(kind) if a != b]
    sources = defaultdict(set)
    for a, b, _ in edges:
        sources[b].add(a)
    sinks = {b for b, came in sources.items() if len(came) >= FROM_ANYWHERE}
    depth = {process.initial.name: 0}
    queue = deque([process.initial.name])
    while queue:
        here = queue.popleft()
        for a, b, _ in edges:
            if a == here and b not in depth and b not in sinks:
                depth[b] = depth[here] + 1
                queue.append(b)
    last = max(depth.values(), default=0) + 1
    for name in names:
        depth.setdefault(name, last)
    columns: dict[int, list[str]] = defaultdict(list)
    for name in names:
        columns[depth[name]].append(name)
    at = {name: (PAD + col * COL, PAD + row * ROW)
          for col, members in columns.items() for row, name in enumerate(members)}
    width = PAD * 2 + (max(columns) * COL) + BOX_W
    height = PAD * 2 + max(len(m) for m in columns.values()) * ROW + 24
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="statechart" role="img" '
           f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
           f'aria-label="the {escape(kind)} process; current state {escape(current or "-")}">',
           '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" '
           'class="arrowhead"/></marker></defs>']
    for a, b, trigger in edges:
        if b in sinks:
            continue
        (x1, y1), (x2, y2) = at[a], at[b]
        sx: float
        sy: float
        ex: float
        ey: float
        if x2 > x1:
            sx, sy, ex, ey = x1 + BOX_W, y1 + BOX_H / 2, x2, y2 + BOX_H / 2
            bend = (ex - sx) / 2
            path = f"M{sx},{sy} C{sx + bend},{sy} {ex - bend},{ey} {ex},{ey}"
        else:   # a step back or within a column: a curve below the boxes
            sx, sy, ex, ey = x1 + BOX_W / 2, y1 + BOX_H, x2 + BOX_W / 2, y2 + BOX_H
            low = max(sy, ey) + 18
            path = f"M{sx},{sy} C{sx},{low} {ex},{low} {ex},{ey}"
        passed = " passed" if a in visited and b in visited else ""
        out.append(f'<path class="edge{passed}" d="{path}" marker-end="url(#arrow)">'
                   f'<title>{escape(a)} → {escape(b)}: {escape(trigger)}</title></path>')
    for name in names:
        x, y = at[name]
        classes = ["state"]
        if name in finals:
            classes.append("final")
        if name in visited:
            classes.append("visited")
        if name == current:
            classes.append("current")
        label = escape(name)
        out.append(f'<g class="{" ".join(classes)}"><title>{label}'
                   f'{" (final)" if name in finals else ""}'
                   f'{" (current state)" if name == current else ""}</title>'
                   f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
                   + (f'<rect class="inner" x="{x + 3}" y="{y + 3}" width="{BOX_W - 6}" '
                      f'height="{BOX_H - 6}" rx="6"/>' if name in finals else "")
                   + f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2 + 4}" '
                     f'text-anchor="middle">{label}</text></g>')
    if sinks:
        note = ", ".join(sorted(sinks))
        out.append(f'<text class="note" x="{PAD}" y="{height - 8}">{escape(note)}: reached from '
                   'any state that is not final (edges not drawn); deadlines fire in any state '
                   'and change none.</text>')
    out.append("</svg>")
    return "\n".join(out)
