"""The core: what every other room counts and checks with, and does no I/O (but
`config.load`, which reads the one TOML file it is given): the clocks, the working-day
calendar, a timer's deadline, times as the CLI reads and writes them, text that may enter the
engine, the refusals, the configuration.

May import: states. Nothing in workflows outside core, and no storage.
"""
