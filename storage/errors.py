"""The storage layer's own errors. Every failure of a database driver (sqlite3, psycopg,
SQLAlchemy) is translated into one of these at the boundary of storage/ (storage/db.py), so that
no caller ever meets `sqlite3.OperationalError` and each says, in one line, which database
failed and why."""
from __future__ import annotations

import re


class StorageError(Exception):
    """A database failure the engine did not cause by its own rules (exit code 1)."""


class DatabaseUnavailableError(StorageError):
    """The database cannot be reached or used just now (down, locked, gone): worth waiting for."""


class SchemaError(StorageError):
    """The database has no schema, an older one (`init` mends it) or a newer one (upgrade)."""


class AppendOnlyError(StorageError):
    """The database refused to change or remove a row of the log or the notices."""


def one_line(text: str) -> str:
    """A driver's message, folded to one line (psycopg's span several)."""
    return re.sub(r"\s+", " ", text).strip()


def safe_url(url: str) -> str:
    """The URL without its password."""
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)
