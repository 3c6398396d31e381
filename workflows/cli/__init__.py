"""The command-line adapter: the handlers run_engine.py dispatches to (each reads its typed
arguments, calls the engine or a read model, and prints for a person or, with --json, for a
script: shared/CLI.md), how cases read at a terminal, and the demo. No business rule here.

May import: read, engine, core, storage, notifications, states. Never the daemon or console.
"""
