"""Which AST_ENGINE_* variables are settings, whether a command was given any, and the defaults a
light command reads: all known before the configuration is (its models take a while to load,
and a command given no settings runs on the built-in defaults, valid by construction)."""
from __future__ import annotations

from typing import Mapping

# Variables of the engine's that are not settings of the file.
NOT_SETTINGS = frozenset({"AST_ENGINE_DB", "AST_ENGINE_CONFIG", "AST_ENGINE_SMTP_PASSWORD",
                          "AST_ENGINE_DEBUG", "AST_ENGINE_TEST_PG"})


def settings_given(path: str | None, environ: Mapping[str, str]) -> bool:
    """A configuration file, or an AST_ENGINE_<SECTION>_<KEY> variable (known or misspelt:
    either must be read and checked before the command runs)."""
    return bool(path) or any(name.startswith("AST_ENGINE_") and name not in NOT_SETTINGS
                             for name in environ)


DEFAULT_TICK_SECONDS = 60.0   # [daemon] tick_seconds, and `daemon --tick`:
TICK_SECONDS_RANGE = (0.1, 3600.0)   # shorter would spin the loop, longer leaves timers waiting
