"""The schema, as SQLModel tables. Instants are stored as UTC ISO 8601 text ending `+00:00` and
dates as `YYYY-MM-DD`: both sort correctly as text, read the same on SQLite and PostgreSQL, and
hash the same on both. JSON is stored as text for the same reason.

Migration 1 creates these tables as they stand in this file; later migrations add to a
database made before them what these classes already have (storage/migrations.py)."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import Column, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    id: str = Field(primary_key=True)
    kind: str = Field(index=True)
    state: str = Field(index=True)
    version: int                        # = the seq of its latest log entry; guards concurrent fires
    data: str = Field(sa_column=Column(Text, nullable=False))   # what it was opened with
    # trigger -> {"data", "effective_date", "engine"}: each trigger's record, apart from the
    # opening data so that no opening key can stand for a trigger (migration 5)
    records: str = Field(default="{}", sa_column=Column(Text, nullable=False,
                                                        server_default="{}"))
    opened_at: str                      # effective time of the opening
    last_effective_at: str              # the latest effective time of its log
    last_hash: str                      # head of the case's own hash chain
    updated_at: str                     # recorded time of the latest change
    erased_at: Optional[str] = None     # when its personal data was erased (migration 5)


class TransitionLog(SQLModel, table=True):
    """Append-only: one row per transition, chained per case (prev_hash) and across all cases
    (global_prev_hash); `hash` covers the content and both links (storage/hashchain.py). The
    only change the database lets through is the erasure of an entry's personal data."""
    __tablename__ = "transition_log"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_transition_log_case_seq"),
                      Index("ix_transition_log_trigger", "trigger"))
    global_seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    case_id: str = Field(foreign_key="cases.id", index=True)
    seq: int
    trigger: str
    source: Optional[str] = None
    dest: str
    actor: str
    on_behalf_of: Optional[str] = None
    effective_at: str
    recorded_at: str
    data: str = Field(sa_column=Column(Text, nullable=False))   # what the person submitted
    # Migration 4: what the engine recorded about the entry (warnings it gave, a case it
    # opened, facts it derived), kept apart from `data` so that no submitted key can pose as
    # one of the engine's own. NULL on entries written before the migration.
    engine: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    # Migration 5 (hash version 2): the data is covered through a salted hash, so it can be
    # erased; the notices the entry stored are covered too.
    data_salt: Optional[str] = None
    data_sha256: Optional[str] = None
    notices_sha256: Optional[str] = None
    hash_version: int = Field(default=1, sa_column=Column(Integer, nullable=False,
                                                          server_default="1"))
    prev_hash: str
    global_prev_hash: str
    hash: str
    erased: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class ChainHead(SQLModel, table=True):
    """The head of the global chain: one row, locked by each transaction that appends."""
    __tablename__ = "chain_head"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    global_seq: int
    hash: str


class Timer(SQLModel, table=True):
    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due_work", "status", "fires_at"),)
    id: Optional[int] = Field(default=None, primary_key=True)
    case_id: str = Field(foreign_key="cases.id", index=True)
    name: str
    due: str                            # the last day on which the duty is in time (local date)
    fires_at: str                       # 00:00 Europe/London the day after `due`, in UTC
    status: str                         # pending, fired, cancelled, superseded, failed
    rule: str                           # the arithmetic in words, for auditors
    # Migration 5: the rule as data (what explain counts), and whose calendar it counted on.
    rule_kind: str = Field(default="working_days", sa_column_kwargs={"server_default": "working_days"})
    rule_n: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    calendar: str = Field(default="local", sa_column_kwargs={"server_default": "local"})
    counted_from: str                   # the date the rule counts from
    nation: str
    closures: str                       # JSON list of the LA closure days it was computed with
    school: Optional[str] = None        # the school whose own closure days it skipped
    school_closures: str = Field(default="[]", sa_column_kwargs={"server_default": "[]"})
    started_seq: int                    # the case log entry that started it
    ended_seq: Optional[int] = None     # the case log entry that fired or cancelled it
    attempts: int = Field(default=0, sa_column_kwargs={"server_default": "0"})   # failed firings
    last_error: Optional[str] = None


class Notice(SQLModel, table=True):
    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_status", "status"),
                      # the delivery queue: pending notices in the order they were stored
                      Index("ix_notices_queue", "status", "created_at", "id"))
    id: str = Field(primary_key=True)   # CASE.SEQ.N: stable, so a resend is recognisable
    case_id: str = Field(foreign_key="cases.id", index=True)
    log_seq: int
    template: str
    template_sha256: Optional[str] = None   # migration 4: the template version that rendered it
    recipients: str                     # JSON list of addresses
    subject: str
    body: str = Field(sa_column=Column(Text, nullable=False))
    body_sha256: str
    # Migration 5: the content is covered through a salted hash (so it can be erased), and the
    # notice's hash, which its log entry's hash covers, through that.
    salt: Optional[str] = None
    content_sha256: Optional[str] = None
    hash: Optional[str] = None
    status: str                         # pending, sent, failed
    attempts: int = 0
    last_error: Optional[str] = None
    created_at: str
    sent_at: Optional[str] = None
    next_attempt_at: Optional[str] = None   # migration 3: a failed delivery waits until then
    # Migration 5: a daemon's claim on it while it talks to the mail server.
    lease_until: Optional[str] = None
    lease_owner: Optional[str] = None
    erased: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))


class Daemon(SQLModel, table=True):
    """One row per daemon process that ran: `status` reads its heartbeat."""
    __tablename__ = "daemons"
    id: str = Field(primary_key=True)       # host:pid:start
    host: str
    pid: int
    started_at: str
    heartbeat_at: str
    stopped_at: Optional[str] = None
    summary: Optional[str] = None


class SchemaMigration(SQLModel, table=True):
    __tablename__ = "schema_migrations"
    version: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    description: str
    applied_at: str


class RuleEdition(SQLModel, table=True):
    """From which log entry each edition of the rules applies (states/editions.py; migration 7
    and every later one that brings in an edition)."""
    __tablename__ = "rule_editions"
    edition: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    from_global_seq: int
    description: str


# -- the web console (migration 6) ---------------------------------------------------------------

class ConsoleUser(SQLModel, table=True):
    """An account of the web console (`ast-engine user add`): auditors and operators, who read."""
    __tablename__ = "users"
    username: str = Field(primary_key=True)
    role: str                           # any role of DOMAIN.md but system (migration 10)
    password_hash: str                  # argon2id, salted: the password itself is never stored
    created_at: str
    disabled_at: Optional[str] = None   # `user disable`: no login, no session (migration 10)


class ConsoleSession(SQLModel, table=True):
    """A signed-in browser: the cookie holds a random token, this row only its sha256."""
    __tablename__ = "console_sessions"
    token_sha256: str = Field(primary_key=True)
    username: str = Field(index=True)
    csrf: str                           # the token its POST forms must carry back
    created_at: str
    expires_at: str


class CaseSearch(SQLModel, table=True):
    """What the console's search reads: one narrow row per case, derived from `cases` and kept up
    to date by the console from the transition log (storage/console.py). Never the truth: it can
    be dropped and rebuilt from `cases` at any time."""
    __tablename__ = "case_search"
    __table_args__ = (Index("ix_case_search_kind_state", "kind", "state"),
                      Index("ix_case_search_opened", "opened_at", "case_id"))
    case_id: str = Field(primary_key=True)
    kind: str
    state: str
    opened_at: str
    person: str                         # the candidate's (or appointee's) name, as shown
    school: str                         # the school's name, as shown
    haystack: str = Field(sa_column=Column(Text, nullable=False))   # lower-cased, searched
    # The parties the case binds (`ROLE:ID`), each between two SEPARATORs (storage/console.py),
    # so that a headteacher's search and tasks read only their own cases (migration 10).
    parties: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))


class CaseSearchHead(SQLModel, table=True):
    """How far `case_search` has read the log: the global_seq of the last entry it took in."""
    __tablename__ = "case_search_head"
    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    global_seq: int


# -- the front door (migration 10) ---------------------------------------------------------------

class ApiToken(SQLModel, table=True):
    """A bearer token of the HTTP API (`ast-engine token add`): it acts as `role:name`. Only the
    sha256 of the token is kept, so a copy of this table authenticates no one."""
    __tablename__ = "api_tokens"
    name: str = Field(primary_key=True)
    role: str
    token_sha256: str = Field(unique=True)
    created_at: str
    revoked_at: Optional[str] = None
    last_used_at: Optional[str] = None


class IdempotencyKey(SQLModel, table=True):
    """A POST of the API that carried an `Idempotency-Key`: written in the transaction of the
    entry it made, so that a retry finds either both or neither. `fingerprint` is the sha256 of
    what was asked (method, path, body): the same key with another request is refused."""
    __tablename__ = "idempotency_keys"
    principal: str = Field(primary_key=True)    # ROLE:NAME of the token that sent it
    key: str = Field(primary_key=True)
    fingerprint: str
    case_id: str
    kind: str
    state: str
    version: int
    trigger: str
    effective_at: str
    created_at: str
