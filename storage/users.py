"""The web console's accounts and signed-in sessions (migration 6), and the HTTP API's tokens
(migration 10). Passwords arrive here already hashed (workflows/console/auth.py); a session and
a token are stored as the sha256 of the random token the client holds, so a copy of these
tables signs no one in."""
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
    disabled_at: str | None = None


@dataclass(frozen=True)
class Token:
    name: str
    role: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None


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
        row = Statements(db, conn).one("SELECT username, role, password_hash, created_at, "
                                       "disabled_at FROM users WHERE username = :u",
                                       {"u": username})
    return User(*row) if row else None


def list_users(db: Database) -> list[User]:
    with db.read() as conn:
        return [User(*r) for r in Statements(db, conn).all(
            "SELECT username, role, password_hash, created_at, disabled_at FROM users "
            "ORDER BY username", {})]


def remove_user(db: Database, username: str) -> bool:
    """Removes the account and signs out every browser it was signed in on, at once."""
    with db.write() as conn:
        q = Statements(db, conn)
        q.run("DELETE FROM console_sessions WHERE username = :u", {"u": username})
        return q.run("DELETE FROM users WHERE username = :u", {"u": username}) > 0


def disable_user(db: Database, username: str, now: str) -> bool:
    """Disables the account (kept, for the log's actors to keep a name): its sessions end and
    the tokens of the same party are revoked, in one transaction, so that its next request,
    already on its way or not, is refused. False when there is no such account."""
    with db.write() as conn:
        q = Statements(db, conn)
        if q.run("UPDATE users SET disabled_at = COALESCE(disabled_at, :now) WHERE username = :u",
                 {"u": username, "now": now}) == 0:
            return False
        q.run("DELETE FROM console_sessions WHERE username = :u", {"u": username})
        q.run("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, :now) WHERE name = :u",
              {"u": username, "now": now})
    return True


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
            "WHERE s.token_sha256 = :t AND s.expires_at > :now AND u.disabled_at IS NULL", {"t": token_sha256, "now": now})
    return Session(*row) if row else None


def end_session(db: Database, token_sha256: str) -> None:
    with db.write() as conn:
        Statements(db, conn).run("DELETE FROM console_sessions WHERE token_sha256 = :t",
                                 {"t": token_sha256})


# -- the HTTP API's tokens --------------------------------------------------------------------------

def add_token(db: Database, name: str, role: str, token_sha256: str, now: str) -> bool:
    """False when a token of that name exists, revoked or not (nothing written): a name is
    the party the token acts as, and its entries in the log must keep meaning one holder."""
    with db.write() as conn:
        q = Statements(db, conn)
        if q.one("SELECT 1 FROM api_tokens WHERE name = :n", {"n": name}):
            return False
        q.run("INSERT INTO api_tokens (name, role, token_sha256, created_at) "
              "VALUES (:n, :r, :t, :now)", {"n": name, "r": role, "t": token_sha256, "now": now})
    return True


def renew_token(db: Database, name: str, role: str, token_sha256: str, now: str) -> bool:
    """A new secret for a revoked token of that name and role: the same party, its key rotated
    (a leaked token revoked, then replaced). False, nothing written, for a live token or one
    of another role: a name keeps meaning one party."""
    with db.write() as conn:
        return Statements(db, conn).run(
            "UPDATE api_tokens SET token_sha256 = :t, created_at = :now, revoked_at = NULL, "
            "last_used_at = NULL WHERE name = :n AND role = :r AND revoked_at IS NOT NULL",
            {"n": name, "r": role, "t": token_sha256, "now": now}) > 0


def list_tokens(db: Database) -> list[Token]:
    with db.read() as conn:
        return [Token(*r) for r in Statements(db, conn).all(
            "SELECT name, role, created_at, revoked_at, last_used_at FROM api_tokens "
            "ORDER BY name", {})]


def revoke_token(db: Database, name: str, now: str) -> bool:
    """False when there is no live token of that name."""
    with db.write() as conn:
        return Statements(db, conn).run(
            "UPDATE api_tokens SET revoked_at = :now WHERE name = :n AND revoked_at IS NULL",
            {"n": name, "now": now}) > 0


def token(db: Database, token_sha256: str) -> Token | None:
    """The live token of that hash: not revoked, and not of a disabled account's party."""
    with db.read() as conn:
        row = Statements(db, conn).one(
            "SELECT t.name, t.role, t.created_at, t.revoked_at, t.last_used_at "
            "FROM api_tokens t WHERE t.token_sha256 = :t AND t.revoked_at IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM users u WHERE u.username = t.name AND u.disabled_at IS NOT NULL)",
            {"t": token_sha256})
    return Token(*row) if row else None


def token_used(db: Database, name: str, now: str) -> None:
    """When a token was last used, to the minute: `token list` shows it (a write a minute at
    most per token, not one per request)."""
    with db.write() as conn:
        Statements(db, conn).run(
            "UPDATE api_tokens SET last_used_at = :now WHERE name = :n AND "
            "(last_used_at IS NULL OR last_used_at < :now)", {"n": name, "now": now[:16]})
