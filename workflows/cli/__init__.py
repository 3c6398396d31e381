"""The command-line adapter: the handlers run_engine.py dispatches to, each taking its command's
typed value (args.py), calling the engine or a read model, and printing for a person or, with
--json, for a script (shared/CLI.md). No business rule here: what to decide is the engine's,
what to read is workflows/read's.

    cli/args.py      one frozen value per command, built from the parsed command line
    cli/cases.py     init, open, fire, show, list, example
    cli/timers.py    tick, recalendar, explain
    cli/audit.py     audit verify, checkpoint and export; replay and its what-if
    cli/delivery.py  deliver, notices, notices retry, status
    cli/data.py      export-person, retention
    cli/diagram.py   diagram
    cli/output.py    what they share: JSON out, an output file, --data in, an unknown case
    cli/present.py   how cases read at a terminal
    cli/demo.py      the demo

May import: read, engine, core, storage, notifications, states. Never the daemon or console.
"""
