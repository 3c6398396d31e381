"""The engine's house, in rooms (each room's __init__ says what it holds and what it may import;
the directions are import-linter contracts in pyproject.toml, checked in CI):

    core/      no I/O but reading the configuration file: clock, calendar, deadlines, times,
               text, errors, configuration
    engine/    decides and writes: one trigger in named steps, the tick loop, the outbox
               worker and its one-deliverer lock, replay
    read/      rows in, plain values out, for every adapter: the deadline-outcome rule, the
               audit log, explain, lateness, a person's data, the diagrams
    cli/       the command line's handlers, how they print, the demo
    daemon/    the long-running loop, its logs, metrics, sd_notify and systemd unit
    console/   the web console: app, accounts, views, statechart, its templates and static files

An adapter (cli, daemon, console) may import read, engine and core, never another adapter.
"""
