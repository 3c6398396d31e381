"""The daemon adapter: `ast-engine daemon`, one loop that runs the engine's tick and outbox
worker until SIGTERM, with its logs, Prometheus metrics, sd_notify and systemd unit
(systemd/ast-engine.service).

May import: read, engine, core, storage, notifications, states. Never the cli or console.
"""
