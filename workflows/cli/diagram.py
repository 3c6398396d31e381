"""`diagram KIND`: a process drawn as a Mermaid state diagram, or as SVG through graphviz."""
from __future__ import annotations

import sys

from workflows.cli.args import DiagramArgs
from workflows.cli.output import write_file
from workflows.core.errors import RefusedError
from workflows.engine.context import Context


def diagram(ctx: Context, args: DiagramArgs) -> int:
    from workflows.read import diagram as diagrams
    if args.format == "svg":
        try:
            content: bytes | str = diagrams.svg(args.kind)
        except diagrams.GraphvizMissingError as err:
            raise RefusedError(str(err)) from None
    else:
        content = diagrams.mermaid(args.kind)
    if args.output:
        write_file(args.output, content)
        print(f"wrote the {args.kind} diagram to {args.output}", file=sys.stderr)
    elif isinstance(content, bytes):
        sys.stdout.buffer.write(content)
    else:
        print(content)
    return 0
