"""Who may read the console: accounts with argon2id password hashes, sessions held by a random
token (the database keeps only its sha256), and a limit on failed logins per account and per
client address. Logins and failed logins are logged (logger `ast_engine.console`), never the
password."""
from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import users
from storage.db import Database
from workflows.core.clock import Clock
from workflows.core.times import utc_iso

log = logging.getLogger("ast_engine.console")

ROLES = ("auditor", "operator")
COOKIE = "ast_console"
MAX_PASSWORD = 1024   # longer input is refused before hashing (argon2 would take it, slowly)


def _hasher():
    from argon2 import PasswordHasher   # argon2id, RFC 9106's defaults, a random salt each
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


# Verifying against this when the account does not exist takes as long as a real check, so the
# time a failed login takes does not tell whether the name exists.
_DUMMY: list[str] = []


def check_password(stored: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_hex(16)))
    try:
        return _hasher().verify(stored or _DUMMY[0], password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class Limits:
    """At most `per_user` failed logins for one account, and `per_address` from one client
    address, within `window`; then logins there are refused until the oldest failure ages out
    (a correct password included: a guesser learns nothing while limited)."""
    per_user: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


class RateLimiter:
    """Failed logins remembered in this process (a second console process keeps its own)."""

    def __init__(self, clock: Clock, limits: Limits | None = None):
        self.clock, self.limits = clock, limits or Limits()
        self._failures: dict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[datetime]:
        times = self._failures[key]
        horizon = self.clock.now() - self.limits.window
        while times and times[0] <= horizon:
            times.popleft()
        return times

    def wait(self, username: str, address: str) -> timedelta | None:
        """How long until a login may be tried for this account from this address; None: now."""
        with self._lock:
            waits = []
            for key, most in ((("user", username.casefold()), self.limits.per_user),
                              (("address", address), self.limits.per_address)):
                times = self._recent(key)
                if len(times) >= most:
                    waits.append(times[0] + self.limits.window - self.clock.now())
            return max(waits) if waits else None

    def failed(self, username: str, address: str) -> None:
        with self._lock:
            now = self.clock.now()
            self._recent(("user", username.casefold())).append(now)
            self._recent(("address", address)).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(("user", username.casefold()), None)


@dataclass(frozen=True)
class LoginResult:
    session: users.Session | None
    token: str | None
    refusal: str | None        # what the login page says when it failed
    status: int = 200


class Accounts:
    """Logging in and out, and the session behind a cookie, against one database."""

    def __init__(self, db: Database, clock: Clock, session_hours: float,
                 limiter: RateLimiter | None = None):
        self.db, self.clock = db, clock
        self.lifetime = timedelta(hours=session_hours)
        self.limiter = limiter or RateLimiter(clock)

    def login(self, username: str, password: str, address: str) -> LoginResult:
        username = username.strip()
        wait = self.limiter.wait(username, address)
        if wait is not None:
            minutes = max(1, int(wait.total_seconds() + 59) // 60)
            log.warning("login refused for %r from %s: too many failed attempts", username,
                        address)
            return LoginResult(None, None, "Too many failed logins: try again in "
                               f"{minutes} minute{'s' if minutes != 1 else ''}.", 429)
        user = users.get_user(self.db, username) if username else None
        ok = len(password) <= MAX_PASSWORD and check_password(
            user.password_hash if user else None, password)
        if not ok or user is None:
            self.limiter.failed(username, address)
            log.warning("failed login for %r from %s", username, address)
            return LoginResult(None, None, "Wrong username or password.", 401)
        self.limiter.succeeded(username)
        hasher = _hasher()
        if hasher.check_needs_rehash(user.password_hash):
            users.set_password_hash(self.db, user.username, hasher.hash(password))
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = self.clock.now()
        expires = utc_iso(now + self.lifetime)
        users.start_session(self.db, token_sha256(token), user.username, csrf, utc_iso(now),
                            expires)
        log.info("login: %s (%s) from %s", user.username, user.role, address)
        return LoginResult(users.Session(user.username, user.role, csrf, expires), token, None)

    def session(self, token: str | None) -> users.Session | None:
        if not token:
            return None
        return users.session(self.db, token_sha256(token), utc_iso(self.clock.now()))

    def logout(self, token: str, who: str, address: str) -> None:
        users.end_session(self.db, token_sha256(token))
        log.info("logout: %s from %s", who, address)
