"""The web console: a read-only view of the engine's database for auditors and operators
(shared/CLI.md, "The web console"). `app` builds the Starlette application, `auth` holds the
accounts and sessions, `views` computes what the pages show, `statechart` draws a process,
`forms` makes a trigger's form from its data model and reads it back into data, and `cli` holds
the `web` and `user` commands. Its pages are in templates/, its files in static/.

May import: read, engine, core, storage, states. Never the cli or daemon.
"""
