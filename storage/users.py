"""The web console's accounts and signed-in sessions (migration 6). Passwords arrive here already
hashed (workflows/console/auth.py); a session is stored as the sha256 of the token its cookie
holds, so a copy of this table signs no one in."""
from __future__ import annotations

from dataclasses import dataclass

from storage.db import Database
from storage.statements import Statements


@dataclass(frozen=True)
class User:
    username: str
    role: str
    password_hash: str
    created_at: str


@dataclass(frozen=True)
class Session:
    username: str
    role: str
    csrf: str
    expires_at: str


def add_user(db: Database, username: str, role: str, password_hash: str, now: str) -> bool:
    """False when the name is taken (nothing written)."""
    with db.write() as conn:
        q = Statements(db, conn)
        if q.one("SELECT 1 FROM users WHERE username = :u", {"u": username}):
            return False
        q.run("INSERT INTO users (username, role, password_hash, created_at) "
              "VALUES (:u, :r, :h, :t)", {"u": username, "r": role, "h": password_hash, "t": now})
    return True


def get_user(db: Database, username: str) -> User | None:
    with db.read() as conn:
        row = Statements(db, conn).one("SELECT username, role, password_hash, created_at "
                                       "FROM users WHERE username = :u", {"u": username})
    return User(*row) if row else None


def list_users(db: Database) -> list[User]:
    with db.read() as conn:
        return [User(*r) for r in Statements(db, conn).all(
            "SELECT username, role, password_hash, created_at FROM users ORDER BY username", {})]


def remove_user(db: Database, username: str) -> bool:
    """Removes the account and signs out every browser it was signed in on, at once."""
    with db.write() as conn:
        q = Statements(db, conn)
        q.run("DELETE FROM console_sessions WHERE username = :u", {"u": username})
        return q.run("DELETE FROM users WHERE username = :u", {"u": username}) > 0


def set_password_hash(db: Database, username: str, password_hash: str) -> None:
    """A rehash at login when the hashing parameters have grown stronger since."""
    with db.write() as conn:
        Statements(db, conn).run("UPDATE users SET password_hash = :h WHERE username = :u",
                                 {"u": username, "h": password_hash})


def start_session(db: Database, token_sha256: str, username: str, csrf: str, now: str,
                  expires_at: str) -> None:
    """Stores a new session, and forgets the sessions that have expired by now."""
    with db.write() as conn:
        q = Statements(db, conn)
        q.run("DELETE FROM console_sessions WHERE expires_at <= :now", {"now": now})
        q.run("INSERT INTO console_sessions (token_sha256, username, csrf, created_at, "
              "expires_at) VALUES (:t, :u, :c, :now, :e)",
              {"t": token_sha256, "u": username, "c": csrf, "now": now, "e": expires_at})


def session(db: Database, token_sha256: str, now: str) -> Session | None:
    """The session of that token while it lasts and its account exists."""
    with db.read() as conn:
        row = Statements(db, conn).one(
            "SELECT s.username, u.role, s.csrf, s.expires_at FROM console_sessions s "
            "JOIN users u ON u.username = s.username "
            "WHERE s.token_sha256 = :t AND s.expires_at > :now", {"t": token_sha256, "now": now})
    return Session(*row) if row else None


def end_session(db: Database, token_sha256: str) -> None:
    with db.write() as conn:
        Statements(db, conn).run("DELETE FROM console_sessions WHERE token_sha256 = :t",
                                 {"t": token_sha256})
