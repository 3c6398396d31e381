"""The HTTP API under /api/v1 (shared/CLI.md, "HTTP API"): JSON for the agency's or a school's
own systems, authenticated by bearer tokens (`ast-engine token add`), never by the console's
cookie, so that no page of another site can make a browser act through it.

Reads answer as the CLI's `--json` does (`list`, `show`, the task list); a POST opens a case or
fires a trigger through the same engine call as the CLI (workflows/console/acting.py) and
answers 201 with the case as `show --json` gives it just after its entry. Every refusal is an
RFC 9457 problem (`application/problem+json`) whose `detail` is the CLI's `error:` text, with
the status the engine's refusal calls for; nothing a client sends ends in a 500.

Built on Starlette with the OpenAPI document generated from the trigger models
(workflows/console/openapi.py), rather than on FastAPI: the engine validates every request's
data itself, with its own messages, and FastAPI would validate it a second time first, with
its own, against the same models."""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import date
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from states import PROCESSES
from states.parties import may_see, sees_every_case
from storage import console as search_store
from storage import queries
from storage.db import Database
from storage.errors import DatabaseUnavailableError
from workflows.console.acting import Asked, FrontDoor
from workflows.console.auth import ACTED_FOR, Tokens
from workflows.console.openapi import document
from workflows.console.workers import Workers
from workflows.core import text as texts
from workflows.core.clock import Clock
from workflows.core.config import Config
from workflows.core.errors import (ConcurrentChangeError, GuardFailedError,
                                   IdempotencyKeyReusedError, LaterEntryError,
                                   NotAllowedInStateError, RefusedError, RoleNotAllowedError,
                                   UnknownCaseError, UnknownTriggerError)
from workflows.core.calendar import local_date
from workflows.core.times import utc_iso
from workflows.engine import Idempotency, Outcome
from workflows.engine.apply import Setting
from workflows.engine.modes import DatabaseReader
from workflows.engine.open_now import refusal_now
from workflows.read import case_view
from workflows.read.tasks import Viewer, as_json, tasks

log = logging.getLogger("ast_engine.api")

PROBLEM = "application/problem+json"
PAGE_SIZE = 50
MAX_KEY = 200          # characters of an Idempotency-Key
ENVELOPE = 16 << 10    # bytes a request body may hold beyond its data's [limits] data_bytes
OPEN_KEYS = frozenset({"kind", "data", "effective_at", "on_behalf_of"})
FIRE_KEYS = frozenset({"data", "effective_at", "on_behalf_of", "expected_version"})
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
          409: "Conflict", 413: "Request body too large", 422: "Unprocessable request",
          503: "Service unavailable"}


class Problem(Exception):
    def __init__(self, status: int, detail: str, **extra: Any):
        super().__init__(detail)
        self.status, self.detail, self.extra = status, detail, extra


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
            "detail": detail, **extra}
    headers = {"www-authenticate": 'Bearer realm="ast-engine"'} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def status_of(err: RefusedError) -> int:
    """The status a refusal of the engine calls for (shared/CLI.md, "HTTP API")."""
    if isinstance(err, (UnknownCaseError, UnknownTriggerError)):
        return 404
    if isinstance(err, RoleNotAllowedError):
        return 403
    if isinstance(err, (NotAllowedInStateError, GuardFailedError, ConcurrentChangeError,
                        LaterEntryError)):
        return 409
    return 422   # invalid data or times, a reused key, and the rest: the request itself


def guard_status(db: Database, setting: Setting, today: date, case_id: str, trigger: str,
                 role: str) -> int:
    """The status of a failed guard: 409 when the case refuses the trigger whatever is sent
    (its own guards: an internal post is not forwarded, a letter is sent once), 422 when what
    was refused is the data sent (a standard the candidate is not assessed on, a last day
    already past): CLI.md's "409 the machine refuses", "422 invalid data"."""
    case = queries.case_row(db, case_id)
    if case is None:
        return 409
    refused = refusal_now(setting, case_id, case.kind, case.state, case.data, case.records,
                          queries.case_timers(db, case_id), trigger, role, today,
                          DatabaseReader(db))
    return 409 if refused is not None else 422


def create_api(db: Database, config: Config, clock: Clock, real: Clock,
               door: FrontDoor, workers: Workers) -> list[Route]:
    """The API's routes, to be mounted under /api/v1 by the console's application."""
    tokens = Tokens(db, real)
    openapi = document()

    def address(request: Request) -> str:
        return request.client.host if request.client else "-"

    def bearer(request: Request) -> Viewer:
        found = tokens.bearer(request.headers.get("authorization"), address(request))
        if found is None:
            raise Problem(401, "give a live API token: Authorization: Bearer TOKEN "
                          "(ast-engine token add NAME --role ROLE)")
        return Viewer(found.role, found.name)

    def handled(endpoint: Callable[[Request], Awaitable[Response]]
                ) -> Callable[[Request], Awaitable[Response]]:
        async def answer(request: Request) -> Response:
            try:
                return await endpoint(request)
            except Problem as err:
                return problem(err.status, err.detail, **err.extra)
            except RefusedError as err:
                return problem(status_of(err), str(err))
            except DatabaseUnavailableError as err:
                response = problem(503, f"the database is not answering: {err}")
                response.headers["retry-after"] = "5"
                return response
        return answer

    def visible(viewer: Viewer, case_id: str) -> None:
        """A case the viewer may not see is, to it, no case at all, for a POST as for a GET:
        the engine's refusals would tell a stranger the case's state, version and parties."""
        if texts.problem(case_id):   # no case has one (and PostgreSQL's text holds no NUL)
            raise UnknownCaseError(f"no case {case_id!r}", case=case_id)
        if sees_every_case(viewer.role):
            return
        if not may_see(viewer.role, viewer.name, search_store.parties_of_case(db, case_id)):
            raise UnknownCaseError(f"no case {case_id!r}", case=case_id)

    def shown(case_id: str, version: int | None = None) -> dict[str, Any]:
        found = case_view.detail(db, config, case_id, version=version)
        if found is None:
            raise UnknownCaseError(f"no case {case_id!r}", case=case_id)
        return found

    # -- reading -----------------------------------------------------------------------------

    def list_cases(request: Request) -> Response:
        viewer = bearer(request)
        p = request.query_params
        kind = p.get("kind") or None
        if kind is not None and kind not in PROCESSES:
            raise Problem(422, f"kind {kind!r}: one of {', '.join(PROCESSES)}")
        overdue = p.get("overdue", "").lower()   # TRUE, True and true alike
        if overdue not in ("", "0", "1", "true", "false"):
            raise Problem(422, "overdue: 1 or true, 0 or false")
        q, state = p.get("q") or None, p.get("state") or None
        for name, value in (("q", q), ("state", state)):
            why = value and texts.problem(value[:200], name=False)
            if value and (len(value) > 200 or why):
                raise Problem(422, f"{name}: {why or 'at most 200 characters'}")
        at = utc_iso(clock.now()) if overdue in ("1", "true") else None
        rows = queries.list_cases(db, kind, state, at, q)
        if not sees_every_case(viewer.role):
            search_store.refresh_search(db)
            mine = search_store.cases_of_party(db, viewer.party)
            rows = [r for r in rows if r["case"] in mine]
        return JSONResponse(rows)

    def show_case(request: Request) -> Response:
        viewer = bearer(request)
        case_id = request.path_params["case_id"]
        visible(viewer, case_id)
        return JSONResponse(shown(case_id))

    def task_list(request: Request) -> Response:
        viewer = bearer(request)
        p = request.query_params
        role = p.get("role") or None
        if role is not None and role not in ACTED_FOR:
            raise Problem(422, f"role {role!r}: one of {', '.join(ACTED_FOR)}")
        page = p.get("page", "1")
        if not page.isdigit() or not 1 <= int(page) <= 100_000:
            raise Problem(422, "page: a whole number from 1")
        search_store.refresh_search(db)
        found = tasks(db, viewer, local_date(clock.now()), PAGE_SIZE,
                      (int(page) - 1) * PAGE_SIZE, role if viewer.role == "operator" else None,
                      door.engine.setting)
        return JSONResponse({"total": found.total, "page": int(page),
                             "tasks": [as_json(r) for r in found.rows]})

    # -- acting ------------------------------------------------------------------------------

    async def body_of(request: Request) -> Any:
        most = config.limits.data_bytes + ENVELOPE
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > most):
            raise Problem(413, f"the request body is larger than {most:,} bytes (configuration "
                          "[limits] data_bytes, and the request around it)")
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > most:
                raise Problem(413, f"the request body is larger than {most:,} bytes")
        try:
            written = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise Problem(422, f"the request body is not UTF-8 text (byte {err.start})") from None
        if texts.text_depth(written) > config.limits.data_depth + 1:
            raise Problem(422, f"the request body nests deeper than [limits] data_depth "
                          f"({config.limits.data_depth})")
        try:
            body = texts.loads_data(written) if written.strip() else {}
        except json.JSONDecodeError as err:
            raise Problem(422, f"the request body is not JSON ({err.msg} at line {err.lineno} "
                          f"column {err.colno})") from None
        except (texts.DataTextError, RecursionError) as err:
            raise Problem(422, f"the request body: {err}") from None
        return body

    def refuse_unknown(body: Any, allowed: frozenset[str]) -> None:
        """Checked once the sender is known: a stranger learns only that it is not."""
        if not isinstance(body, dict):
            raise Problem(422, "the request body is a JSON object, e.g. {\"data\": {...}}")
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise Problem(422, f"unknown key(s) {', '.join(map(repr, unknown))}: a request "
                          f"holds {', '.join(sorted(allowed))} (the trigger's own keys go "
                          "in data)")

    def asked_of(body: dict[str, Any]) -> Asked:
        data = body.get("data", {})
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise Problem(422, "data: a JSON object of the trigger's keys and values")
        for key in ("effective_at", "on_behalf_of"):
            if body.get(key) is not None and not isinstance(body[key], str):
                raise Problem(422, f"{key}: text, e.g. "
                              + ('"2027-01-05T09:30"' if key == "effective_at"
                                 else '"headteacher:tom.reed"'))
        version = body.get("expected_version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)
                                    or not 0 <= version < 1 << 31):
            raise Problem(422, "expected_version: the case's version, a whole number")
        return Asked(data, body.get("effective_at"), body.get("on_behalf_of"), version)

    def idempotency(request: Request, viewer: Viewer, body: Any) -> Idempotency | None:
        key = request.headers.get("idempotency-key")
        if key is None:
            return None
        if not 1 <= len(key) <= MAX_KEY or not key.isascii() or not key.isprintable():
            raise Problem(422, f"Idempotency-Key: 1 to {MAX_KEY} printable ASCII characters")
        # What was asked, not how it was spelt: a retry that writes the same JSON with other
        # spacing or its keys in another order is the same request.
        asked = f"{request.method} {request.url.path}\n" + json.dumps(
            body, sort_keys=True, separators=(",", ":"))   # ASCII: a lone surrogate encodes
        return Idempotency(viewer.actor, key, hashlib.sha256(asked.encode()).hexdigest())

    def created(outcome: Outcome) -> Response:
        response = JSONResponse(shown(outcome.case, outcome.version), status_code=201)
        response.headers["location"] = f"/api/v1/cases/{outcome.case}"
        if outcome.repeated:
            response.headers["idempotent-replayed"] = "true"
        return response

    def refuse_readers(viewer: Viewer) -> None:
        if viewer.role == "auditor":
            raise Problem(403, f"{viewer.actor}: an auditor reads; it acts on no case")

    # Each POST is read first, then answered in one call on a worker thread: every hop between
    # the event loop and a worker costs a thread switch, and four of them took longer than the
    # entry itself (bench/bench_console.py).
    async def read_body(request: Request) -> Any:
        """The body, or the problem with it: told only once the sender is known (a request
        without a live token is a 401, whatever it carries)."""
        try:
            return await body_of(request)
        except Problem as err:
            return err

    def sender(request: Request, body: Any) -> Viewer:
        viewer = bearer(request)
        if isinstance(body, Problem):
            raise body
        refuse_readers(viewer)
        return viewer

    async def open_case(request: Request) -> Response:
        return await workers.run(opened, request, await read_body(request))

    def opened(request: Request, body: Any) -> Response:
        viewer = sender(request, body)
        refuse_unknown(body, OPEN_KEYS)
        kind = body.get("kind")
        if not isinstance(kind, str) or kind not in PROCESSES:
            # An unknown kind is a request's invalid data (422), not a case or trigger (404).
            openable = ", ".join(k for k, p in PROCESSES.items() if p.openable)
            raise Problem(422, f"kind {kind!r}: open one of {openable}")
        asked, key = asked_of(body), idempotency(request, viewer, body)
        try:
            return created(door.open(viewer, kind, asked, key))
        except GuardFailedError as err:
            # A case not yet opened has no state to refuse it: the data sent is what was.
            raise Problem(422, str(err)) from None

    async def fire(request: Request) -> Response:
        return await workers.run(fired, request, await read_body(request))

    def fired(request: Request, body: Any) -> Response:
        viewer = sender(request, body)
        case_id, trigger = request.path_params["case_id"], request.path_params["trigger"]
        visible(viewer, case_id)
        refuse_unknown(body, FIRE_KEYS)
        asked, key = asked_of(body), idempotency(request, viewer, body)
        try:
            return created(door.fire(viewer, case_id, trigger, asked, key))
        except GuardFailedError as err:
            # Asked again of the case as it stands (nothing was written): in the role acted
            # in, an operator's for the party it names.
            role = viewer.role
            if viewer.role == "operator" and asked.on_behalf_of:
                role = asked.on_behalf_of.strip().split(":", 1)[0]
            raise Problem(guard_status(db, door.engine.setting, local_date(clock.now()),
                                       case_id, trigger, role), str(err)) from None

    def sync(endpoint: Callable[[Request], Response]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            return await workers.run(endpoint, request)
        return run

    async def schema(request: Request) -> Response:
        return JSONResponse(openapi)

    return [
        Route("/openapi.json", handled(schema), methods=["GET"]),
        Route("/cases", handled(sync(list_cases)), methods=["GET"]),
        Route("/cases", handled(open_case), methods=["POST"]),
        Route("/cases/{case_id}", handled(sync(show_case)), methods=["GET"]),
        Route("/cases/{case_id}/triggers/{trigger}", handled(fire), methods=["POST"]),
        Route("/tasks", handled(sync(task_list)), methods=["GET"]),
    ]
