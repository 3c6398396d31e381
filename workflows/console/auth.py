"""Who may read the console: accounts with argon2id password hashes, sessions held by a random
token (the database keeps only its sha256), and limits on logins: on failures (per account and
client address together, per address, and per account from everywhere), on the length of what
is sent, and on how many passwords are checked at once. Logins and failed logins are logged
(logger `ast_engine.console`) with at most a short, escaped prefix of the name, never the
password."""
from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import users
from storage.db import Database
from workflows.core import text as texts
from workflows.core.clock import Clock
from workflows.core.times import london, utc_iso

log = logging.getLogger("ast_engine.console")

# Every role of DOMAIN.md but `system` (the engine's own timers): an account acts as ROLE:NAME.
ROLES = ("candidate", "headteacher", "post_school", "la_coordinator", "agency", "assessor",
         "review_coordinator", "review_officer", "operator", "auditor")
# The roles an operator keys forms in for, and its task list filters by.
ACTED_FOR = tuple(r for r in ROLES if r not in ("operator", "auditor"))
COOKIE = "ast_console"
# Longer input is refused before any work: names are at most 64 characters (`user add`), and
# argon2 would take a password of any length, slowly.
MAX_USERNAME = 150    # bytes, UTF-8
MAX_PASSWORD = 1024   # bytes, UTF-8
# Each argon2 check takes 64 MiB and a core for a while: this many at once, and a login beyond
# them is answered at once (503, retry in a second) rather than queued, so that a burst of
# logins can neither exhaust the memory nor slow the pages of those signed in.
CONCURRENT_CHECKS = 2
BUSY_RETRY_SECONDS = 1
SHOWN = 32            # characters of a name the log shows


def _hasher():
    from argon2 import PasswordHasher   # argon2id, RFC 9106's defaults, a random salt each
    return PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher().hash(password)


# Verifying against this when the account does not exist takes as long as a real check, so the
# time a failed login takes does not tell whether the name exists. Made once, under a lock: two
# first logins at once would otherwise each hash a dummy.
_DUMMY: list[str] = []
_DUMMY_MADE = threading.Lock()


def check_password(stored: str | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError
    with _DUMMY_MADE:
        if not _DUMMY:
            _DUMMY.append(hash_password(secrets.token_hex(16)))
    try:
        return _hasher().verify(stored or _DUMMY[0], password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def shown(name: str) -> str:
    """A name as the log shows it: quoted and escaped (a line break is `\\n`, a bidi control
    `\\u202e`), and when long, only its first characters and its length: a log line cannot be
    forged or flooded through the login form."""
    if len(name) <= SHOWN:
        return repr(name)
    return f"{name[:SHOWN]!r}... ({len(name)} characters)"


def shown_address(address: str) -> str:
    if address.isascii() and address.isprintable() and len(address) <= 64:
        return address
    return shown(address)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class Limits:
    """Failed logins within `window`: at most `per_account_address` for one account from one
    client address (so that failures from elsewhere cannot lock its owner out), `per_address`
    from one address across accounts, and `per_account` for one account from everywhere, far
    higher, against a slow spray from many addresses. When one is reached, logins there are refused
    until its oldest failure ages out (a correct password included: a guesser learns nothing
    while limited). At most `table` counters are kept."""
    per_account_address: int = 5
    per_address: int = 20
    per_account: int = 100
    window: timedelta = timedelta(minutes=15)
    table: int = 10_000


Key = tuple[str, ...]


class Attempt:
    """One login counted against the limits: by identity, so that the same one can be taken
    back from each counter it was added to."""
    __slots__ = ("at",)

    def __init__(self, at: datetime):
        self.at = at


@dataclass(frozen=True)
class Reservation:
    keys: tuple[Key, ...]      # the account-and-address counter first
    attempt: Attempt


class RateLimiter:
    """Logins remembered in this process (a second console process keeps its own). A login is
    counted when it is let through, before its password is checked, under one lock: logins
    sent at once cannot all pass the limit while the first is still being checked."""

    def __init__(self, clock: Clock, limits: Limits | None = None):
        self.clock, self.limits = clock, limits or Limits()
        # Least recently used first: when the table is full, those are dropped.
        self._attempts: OrderedDict[Key, deque[Attempt]] = OrderedDict()
        self._lock = threading.Lock()
        self._swept = clock.now()

    def _counters(self, username: str, address: str) -> tuple[tuple[Key, int], ...]:
        name = username.casefold()
        return ((("account+address", name, address), self.limits.per_account_address),
                (("address", address), self.limits.per_address),
                (("account", name), self.limits.per_account))

    def _recent(self, key: Key, now: datetime) -> int:
        times = self._attempts.get(key)
        if times is None:
            return 0
        horizon = now - self.limits.window
        while times and times[0].at <= horizon:
            times.popleft()
        if not times:
            del self._attempts[key]
        return len(times)

    def _sweep(self, now: datetime) -> None:
        """Drops what has aged out, once a minute: a counter no login touches again would
        otherwise stay (the cap in `reserve` bounds the table in between)."""
        if now - self._swept < timedelta(minutes=1):
            return
        self._swept = now
        for key in list(self._attempts):
            self._recent(key, now)

    def reserve(self, username: str, address: str) -> Reservation | timedelta:
        """Counts this login as a failure before its password is checked (`succeeded` or
        `cancel` takes it back), or says how long until one may be tried here."""
        with self._lock:
            now = self.clock.now()
            self._sweep(now)
            counters = self._counters(username, address)
            waits = []
            for key, most in counters:
                count = self._recent(key, now)
                if count >= most:
                    waits.append(self._attempts[key][count - most].at + self.limits.window - now)
            if waits:
                return max(waits)
            attempt = Attempt(now)
            for key, _ in counters:
                self._attempts.setdefault(key, deque()).append(attempt)
                self._attempts.move_to_end(key)
            while len(self._attempts) > self.limits.table:
                self._attempts.popitem(last=False)
            return Reservation(tuple(key for key, _ in counters), attempt)

    def _take_back(self, reservation: Reservation) -> None:
        for key in reservation.keys:
            times = self._attempts.get(key)
            if times is not None and reservation.attempt in times:
                times.remove(reservation.attempt)
                if not times:
                    del self._attempts[key]

    def cancel(self, reservation: Reservation) -> None:
        """The password was not checked (the console was busy): no attempt was made."""
        with self._lock:
            self._take_back(reservation)

    def succeeded(self, reservation: Reservation) -> None:
        """The right password: no failure, and this account's failures from this address are
        forgotten (those from elsewhere stand: they may be a guesser's)."""
        with self._lock:
            self._take_back(reservation)
            self._attempts.pop(reservation.keys[0], None)

    def counters(self) -> int:
        """How many counters are kept (bounded by `Limits.table`)."""
        with self._lock:
            return len(self._attempts)


@dataclass(frozen=True)
class LoginResult:
    session: users.Session | None
    token: str | None
    refusal: str | None        # what the login page says when it failed
    status: int = 200
    retry_after: int | None = None   # seconds, for the Retry-After header of a refusal


class Accounts:
    """Logging in and out, and the session behind a cookie, against one database."""

    def __init__(self, db: Database, clock: Clock, session_hours: float,
                 limiter: RateLimiter | None = None):
        self.db, self.clock = db, clock
        self.lifetime = timedelta(hours=session_hours)
        self.limiter = limiter or RateLimiter(clock)
        self._checks = threading.BoundedSemaphore(CONCURRENT_CHECKS)

    def login(self, username: str, password: str, address: str) -> LoginResult:
        address = address[:64]
        if len(username.encode("utf-8", "replace")) > MAX_USERNAME \
                or len(password.encode("utf-8", "replace")) > MAX_PASSWORD:
            log.warning("login refused for %s from %s: username or password too long",
                        shown(username), shown_address(address))
            return LoginResult(None, None, "That username or password is too long (at most "
                               f"{MAX_USERNAME} and {MAX_PASSWORD} bytes).", 400)
        username = username.strip()
        reserved = self.limiter.reserve(username, address)
        if isinstance(reserved, timedelta):
            log.warning("login refused for %s from %s: too many failed attempts",
                        shown(username), shown_address(address))
            return self._limited(reserved)
        if not self._checks.acquire(blocking=False):
            self.limiter.cancel(reserved)
            log.warning("login refused for %s from %s: %d password checks already running",
                        shown(username), shown_address(address), CONCURRENT_CHECKS)
            return LoginResult(None, None, "The console is busy checking other logins: try "
                               "again in a moment.", 503, BUSY_RETRY_SECONDS)
        try:
            # No account's name holds a control character (nor may PostgreSQL's text NUL).
            user = users.get_user(self.db, username) \
                if username and not texts.problem(username) else None
            ok = check_password(user.password_hash if user else None, password)
            if ok and user is not None and _hasher().check_needs_rehash(user.password_hash):
                users.set_password_hash(self.db, user.username, hash_password(password))
        finally:
            self._checks.release()
        if not ok or user is None:
            log.warning("failed login for %s from %s", shown(username), shown_address(address))
            return LoginResult(None, None, "Wrong username or password.", 401)
        if user.disabled_at is not None:
            # Said only to the one who knows the password: it tells a guesser nothing.
            log.warning("login refused for %s from %s: the account is disabled",
                        shown(username), shown_address(address))
            return LoginResult(None, None, "This account is disabled.", 403)
        self.limiter.succeeded(reserved)
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = self.clock.now()
        expires = utc_iso(now + self.lifetime)
        users.start_session(self.db, token_sha256(token), user.username, csrf, utc_iso(now),
                            expires)
        log.info("login: %s (%s) from %s", user.username, user.role, shown_address(address))
        return LoginResult(users.Session(user.username, user.role, csrf, expires), token, None)

    def _limited(self, wait: timedelta) -> LoginResult:
        """The refusal says when the lock ends, to the minute (rounded up), in London time."""
        seconds = max(1, math.ceil(wait.total_seconds()))
        minutes = (seconds + 59) // 60
        ends = london(utc_iso(self.clock.now() + wait + timedelta(seconds=60) -
                              timedelta(microseconds=1)))   # the minute it ends, rounded up
        return LoginResult(None, None, "Too many failed logins: try again after "
                           f"{ends} (London time), in {minutes} "
                           f"minute{'s' if minutes != 1 else ''}.", 429, seconds)

    def session(self, token: str | None) -> users.Session | None:
        if not token:
            return None
        return users.session(self.db, token_sha256(token), utc_iso(self.clock.now()))

    def logout(self, token: str, who: str, address: str) -> None:
        users.end_session(self.db, token_sha256(token))
        log.info("logout: %s from %s", who, shown_address(address))


@dataclass(frozen=True)
class Bearer:
    """What an API token authenticates: the party it acts as."""
    name: str
    role: str


def new_token() -> str:
    """A bearer token: 256 random bits, with a prefix that says what it is when it turns up in
    a file or a secret scanner's report."""
    return "ast_" + secrets.token_urlsafe(32)


class Tokens:
    """The API's bearer tokens against one database: each use is logged (the service log, never
    the hash chain), a failed one with no more than the token's first characters."""

    def __init__(self, db: Database, clock: Clock):
        self.db, self.clock = db, clock
        self._noted: dict[str, str] = {}   # token name -> the minute its use was last written

    def bearer(self, header: str | None, address: str) -> Bearer | None:
        if not header or not header.startswith("Bearer ") or len(header) > 200:
            return None
        sent = header[len("Bearer "):].strip()
        found = users.token(self.db, token_sha256(sent)) if sent else None
        if found is None:
            log.warning("api: refused a bearer token %s from %s", shown(sent[:8] + "..."),
                        shown_address(address[:64]))
            return None
        minute = utc_iso(self.clock.now())[:16]
        if self._noted.get(found.name) != minute:   # a write a minute, not one a request
            users.token_used(self.db, found.name, minute)
            self._noted[found.name] = minute
        log.info("api: token %s (%s) from %s", found.name, found.role,
                 shown_address(address[:64]))
        return Bearer(found.name, found.role)
