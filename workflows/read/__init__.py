"""Read models: rows in, plain values out, for every adapter alike, so that a question asked
by `show`, the console and the CSV export has one answer: whether a deadline was met, the
audit log as auditors get it, the arithmetic behind a deadline (explain), how late an entry was
keyed in, everything held about one person, and the processes drawn.

May import: core, engine, storage, states. Never an adapter (cli, daemon, console).
"""
