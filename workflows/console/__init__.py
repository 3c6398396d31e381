"""The web console and the HTTP API (shared/CLI.md, "The web console" and "Acting through the
console and the HTTP API"): the parties of a case act on it, in the browser and over /api/v1,
through the engine the CLI uses; auditors read. `app` builds the Starlette application, `api`
the routes under /api/v1 and `openapi` their document, `acting` turns a form or a request into
the engine's call, `auth` holds the accounts, sessions and tokens, `forms` makes a trigger's form
from its data model and reads it back into data, `views` computes what the pages show,
`statechart` draws a process, and `cli` holds the `web`, `user` and `token` commands. Its pages
are in templates/, its files in static/.

May import: read, engine, core, storage, states. Never the cli or daemon.
"""
