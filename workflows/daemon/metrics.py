"""The daemon's Prometheus metrics (prometheus_client), served at http://HOST:PORT/metrics when
`[daemon] metrics_port` is set (shared/CLI.md names them).

Counters count what this process did; the gauges are set by the daemon's own loop at each
heartbeat, so a scrape never touches the database (it answers even while the database is away,
with `ast_engine_database_up 0`)."""
from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from workflows.core.config import ConfigError


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.timers_fired = Counter("ast_engine_timers_fired", "Timers this daemon fired",
                                    registry=r)
        self.timer_errors = Counter("ast_engine_timer_errors",
                                    "Attempts to fire a timer that failed (it stays pending, "
                                    "or is failed after its last attempt)", registry=r)
        self.notices_sent = Counter("ast_engine_notices_sent", "Notices this daemon delivered",
                                    registry=r)
        self.notices_failed = Counter("ast_engine_notices_failed",
                                      "Notices given up on (failed after their last attempt, "
                                      "or refused for a broken seal)", registry=r)
        self.notices_retrying = Counter("ast_engine_notices_retrying",
                                        "Delivery attempts that failed and will be tried again",
                                        registry=r)
        self.outages = Counter("ast_engine_database_outages",
                               "Times the database became unavailable", registry=r)
        self.timers_overdue = Gauge("ast_engine_timers_overdue",
                                    "Pending timers whose instant has passed", registry=r)
        self.notices_pending = Gauge("ast_engine_notices_pending",
                                     "Notices waiting to be delivered", registry=r)
        self.heartbeat = Gauge("ast_engine_heartbeat_timestamp_seconds",
                               "Unix time of this daemon's last heartbeat", registry=r)
        self.database_up = Gauge("ast_engine_database_up",
                                 "1 while the database answers, 0 during an outage", registry=r)
        self.server: Any = None

    def serve(self, host: str, port: int) -> None:
        """Listen on host:port (port 0: no endpoint). A port that cannot be had is a fault of
        the configuration, not one to wait out."""
        if not port:
            return
        try:
            self.server, _thread = start_http_server(port, addr=host, registry=self.registry)
        except OSError as err:
            raise ConfigError(f"[daemon] metrics_port: cannot serve metrics on {host}:{port}: "
                              f"{err.strerror or err}") from None

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
