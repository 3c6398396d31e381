"""The web console (shared/CLI.md, "The web console" and "Acting through the console and the
HTTP API"): a Starlette application on the engine's database. Accounts act on cases as the
parties they are, through forms made from the trigger models (workflows/console/forms.py),
and other systems through the API under /api/v1 (workflows/console/api.py); both call the
engine as the CLI does (workflows/console/acting.py), which decides everything about a case.
Pages are Jinja2 templates (workflows/console/templates/, autoescaped: every value is text,
never markup), the few static files sit in static/ beside this module, and every response
carries a Content-Security-Policy that lets only the console's own script and style run.

Besides the entries the engine makes, it writes its own tables only: a session row at login
(deleted at logout), and the search table it refreshes from the log (storage/console.py)."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import secrets
from pathlib import Path
from datetime import datetime
from typing import Any, Iterator, Mapping
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import (HTMLResponse, PlainTextResponse, RedirectResponse, Response,
                                 StreamingResponse)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from storage import console as search_store
from storage import queries
from storage.db import Database
from workflows.read import auditlog
from workflows.read.checkpoint import MAX_BYTES as CHECKPOINT_BYTES
from workflows.read.checkpoint import NotACheckpointError, read_checkpoint
from workflows.core.clock import Clock
from workflows.core import text as texts
from workflows.core.config import Config
from states.parties import may_see, sees_every_case
from storage import users
from workflows.console import forms, statechart, views
from workflows.console.acting import Asked, FrontDoor
from workflows.console.api import create_api, problem, status_of
from workflows.core.errors import ConcurrentChangeError, RefusedError
from workflows.console.auth import ACTED_FOR, COOKIE, Accounts, RateLimiter
from workflows.console.workers import Workers
from workflows.core.calendar import local_date
from workflows.engine import Engine, Idempotency
from workflows.read.tasks import Viewer, case_tasks, judged, tasks as tasks_of
from workflows.core.times import LONDON, day, london
from workflows.core.times import TimeFormatError, utc_iso

log = logging.getLogger("ast_engine.console")

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).resolve().parent / "templates"
LOGIN_CSRF = "ast_console_login"
LOGIN_BODY = 8192   # bytes: a username and password at their limits, percent-encoded, fit
PAGE_SIZE = 50
# A form sent twice, or after another change to its case (shared/CLI.md's words).
CHANGED_SINCE = "the case changed since you opened this form"
KINDS = ("application", "review", "appointment")
SENT_ONCE = re.compile(r"[A-Za-z0-9_-]+")
CASE_ID = re.compile(r"(?:app|rev|apt)-[0-9a-z]{10}")

# No inline script or style anywhere: the console's one script and one style sheet are files.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"content-security-policy": CSP, "x-content-type-options": "nosniff",
           "x-frame-options": "DENY", "referrer-policy": "no-referrer",
           "cross-origin-opener-policy": "same-origin"}


class LoginRequired(Exception):
    pass


class SecurityHeaders:
    """Adds the headers above to every response; pages (not static files) are never cached,
    as they hold personal data. It also answers a request that failed inside the console
    with a plain 500 of its own, carrying the same headers: Starlette's own error response
    comes from a layer outside every middleware, so it carried none (issue 26, point 8)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/")

        started = False

        async def sending(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.decode("latin-1").lower() not in HEADERS]
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:
            if started:
                raise   # the answer is on its way: the server ends it
            log.exception("console: %s %s failed", scope.get("method", "-"),
                          scope.get("path", "-")[:200])
            await PlainTextResponse("the console could not answer that: the operators have "
                                    "it in the service log\n", status_code=500)(
                scope, receive, sending)


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["london"] = lambda v: london(v) if v else "-"
    env.filters["day"] = day
    env.filters["pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False, sort_keys=True)
    env.tests["case_id"] = lambda v: isinstance(v, str) and CASE_ID.fullmatch(v) is not None
    env.tests["mapping"] = lambda v: isinstance(v, dict)
    env.tests["sequence"] = lambda v: isinstance(v, list)
    return env


def create_app(db: Database, config: Config, clock: Clock, real: Clock,
               limiter: RateLimiter | None = None) -> Starlette:
    """`clock`: the business clock (what is overdue, and the engine's now); `real`: recorded
    times, sessions and failed logins."""
    env = _environment()
    accounts = Accounts(db, real, config.web.session_hours, limiter or RateLimiter(real))
    door = FrontDoor(Engine(db, config, clock=clock, recorder=real))
    workers = Workers()

    def render(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
        session = getattr(request.state, "session", None)
        html = env.get_template(name).render(user=session, path=request.url.path, **context)
        return HTMLResponse(html, status_code=code)

    def signed_in(request: Request):
        session = accounts.session(request.cookies.get(COOKIE))
        if session is None:
            raise LoginRequired()
        request.state.session = session
        return session

    def now() -> str:
        return utc_iso(clock.now())

    def judged_now(case: Mapping[str, Any], timers: list[Any], today: Any) -> Any:
        """The engine's answer, for this case as it stands, to whether a trigger is open."""
        return judged(door.engine.setting, case["case"], case["kind"], case["state"],
                      case["data"], case["records"], timers, today)

    def viewer_of(session: users.Session) -> Viewer:
        return Viewer(session.role, session.username)

    def visible_case(session: users.Session, case_id: str) -> None:
        """A case this account may not see is, to it, no case at all: a 404, as for an id
        that names no case (shared/CLI.md, "`/tasks`")."""
        if texts.problem(case_id):   # no case has one (and PostgreSQL's text holds no NUL)
            raise HTTPException(404, f"no case {case_id!r}")
        if sees_every_case(session.role):
            return
        if not may_see(session.role, session.username,
                       search_store.parties_of_case(db, case_id)):
            raise HTTPException(404, f"no case {case_id!r}")

    def whole_office(session: users.Session) -> None:
        """Pages about every case (the audit, its export, the incidents) are for the roles
        that see every case."""
        if not sees_every_case(session.role):
            raise HTTPException(403, f"the {session.role} role sees only its own cases")

    # -- logging in and out ---------------------------------------------------------------------

    def login_form(request: Request, message: str | None = None, status: int = 200,
                   username: str = "") -> HTMLResponse:
        token = request.cookies.get(LOGIN_CSRF) or secrets.token_urlsafe(24)
        response = render(request, "login.html.j2", status, message=message, csrf=token,
                          username=username, next=_safe_next(request.query_params.get("next")))
        response.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict",
                            secure=_secure(request), path="/login")
        return response

    def login_page(request: Request) -> Response:
        if accounts.session(request.cookies.get(COOKIE)) is not None:
            return RedirectResponse("/", status_code=303)
        return login_form(request)

    async def login(request: Request) -> Response:
        # Refused before it is read: the form holds a name, a password and two short values,
        # and a browser always says how long it is.
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > LOGIN_BODY:
            return login_form(request, "That username or password is too long.", 413)
        form = await request.form()
        username, password = str(form.get("username", "")), str(form.get("password", ""))
        sent, kept = str(form.get("csrf", "")), request.cookies.get(LOGIN_CSRF, "")
        if not kept or not secrets.compare_digest(sent, kept):
            return login_form(request, "The form had expired: please log in again.", 400,
                              username)
        address = request.client.host if request.client else "-"
        result = await workers.run(accounts.login, username, password, address)
        if result.token is None:
            refused = login_form(request, result.refusal, result.status,
                                 username if result.status != 400 else "")
            if result.retry_after is not None:
                refused.headers["retry-after"] = str(result.retry_after)
            return refused
        target = _safe_next(str(form.get("next", ""))) or "/"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, result.token, max_age=int(accounts.lifetime.total_seconds()),
                            httponly=True, samesite="strict", path="/",
                            secure=_secure(request))
        response.delete_cookie(LOGIN_CSRF, path="/login", httponly=True, samesite="strict")
        return response

    async def logout(request: Request) -> Response:
        session = await workers.run(signed_in, request)
        form = await request.form()
        if not secrets.compare_digest(str(form.get("csrf", "")), session.csrf):
            raise HTTPException(400, "the form had expired: reload the page and try again")
        address = request.client.host if request.client else "-"
        await workers.run(accounts.logout, request.cookies[COOKIE], session.username,
                          address)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    # -- the pages -------------------------------------------------------------------------------

    def search(request: Request) -> Response:
        session = signed_in(request)
        party = None if sees_every_case(session.role) else viewer_of(session).party
        p = request.query_params
        q = p.get("q", "")[:200]
        kind = p.get("kind") if p.get("kind") in KINDS else None
        states = views.all_states()
        state = p.get("state") if p.get("state") in states else None
        overdue = p.get("overdue") == "1"
        page = _page_number(p.get("page"))
        search_store.refresh_search(db)
        # No case's names hold a control character (nor may PostgreSQL's text hold NUL).
        found = search_store.Page([], 0) if texts.problem(q.strip()) else search_store.search(
            db, q, kind, state, overdue, now(), PAGE_SIZE, (page - 1) * PAGE_SIZE, party)
        base = {k: v for k, v in (("q", q), ("kind", kind), ("state", state),
                                  ("overdue", "1" if overdue else None)) if v}
        return render(request, "search.html.j2", q=q, kind=kind, state=state, overdue=overdue,
                      kinds=KINDS, states=states, found=found, page=page,
                      pages=_pages(found.total), query=lambda n: urlencode({**base, "page": n}))

    def case_page(request: Request) -> Response:
        session = signed_in(request)
        case_id = request.path_params["case_id"]
        visible_case(session, case_id)
        detail = queries.case_detail(db, case_id)
        if detail is None:
            raise HTTPException(404, f"no case {case_id!r}")
        at = now()
        rows = queries.case_timers(db, case_id)
        visited = {e["dest"] for e in detail["log"]} | {e["source"] for e in detail["log"]
                                                        if e["source"]}
        parties = search_store.parties_of_case(db, case_id)
        today = local_date(clock.now())
        actions = case_tasks(viewer_of(session), detail["kind"], detail["state"], parties,
                             rows, today, refused=judged_now(detail, rows, today))
        marked = request.query_params.get("entry", "")
        return render(request, "case.html.j2", case=detail, now=at, actions=actions,
                      in_words=forms.in_words,
                      marked=int(marked) if marked.isdigit() and len(marked) < 9 else None,
                      timeline=views.timeline(detail, at),
                      deadlines=views.deadlines(detail, rows, at),
                      diagram=statechart.svg(detail["kind"], detail["state"], visited)
                      if detail["kind"] in KINDS else "")

    def audit_page(request: Request, checkpoint: tuple[int, str] | None = None,
                   problem: str | None = None) -> Response:
        session = signed_in(request)
        whole_office(session)
        verdict = queries.verify_log(db, checkpoint)
        return render(request, "audit.html.j2", 400 if problem else 200, verdict=verdict,
                      checkpoint=checkpoint, problem=problem, csrf=session.csrf,
                      checked_at=utc_iso(real.now()))

    def audit(request: Request) -> Response:
        return audit_page(request)

    async def audit_checkpoint(request: Request) -> Response:
        session = await workers.run(signed_in, request)
        form = await request.form(max_files=1, max_fields=5)
        if not secrets.compare_digest(str(form.get("csrf", "")), session.csrf):
            raise HTTPException(400, "the form had expired: reload the page and try again")
        upload = form.get("checkpoint")
        content = await upload.read(CHECKPOINT_BYTES + 1) if isinstance(upload, UploadFile) \
            else b""
        checkpoint, problem = parse_checkpoint(content)
        return await workers.run(audit_page, request, checkpoint, problem)

    def export(request: Request) -> Response:
        whole_office(signed_in(request))
        p = request.query_params
        fmt = p.get("format", "csv")
        if fmt not in ("csv", "jsonl"):
            raise HTTPException(400, "format: csv or jsonl")
        try:
            chosen = auditlog.ExportFilter(p.get("case") or None, p.get("since") or None,
                                           p.get("until") or None, p.get("actor") or None)
        except TimeFormatError as err:
            raise HTTPException(400, str(err)) from None
        search_store.refresh_search(db)
        body = _csv(db, chosen, config, now()) if fmt == "csv" else _jsonl(db, chosen, config)
        name = f"transition-log.{fmt}"
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
        return StreamingResponse(body, media_type=media, headers={
            "content-disposition": f'attachment; filename="{name}"'})

    def incidents(request: Request) -> Response:
        whole_office(signed_in(request))
        p = request.query_params
        what = p.get("what") if p.get("what") in search_store.INCIDENT_KINDS else None
        page = _page_number(p.get("page"))
        search_store.refresh_search(db)
        found, counts = search_store.incidents(db, views.duty_timers(), what, now(), PAGE_SIZE,
                                               (page - 1) * PAGE_SIZE)
        base = {"what": what} if what else {}
        return render(request, "incidents.html.j2", found=found, counts=counts, what=what,
                      page=page, pages=_pages(found.total), duties=views.duties(),
                      query=lambda n: urlencode({**base, "page": n}))

    # -- acting: a form for each trigger, and one for opening each kind of case -----------------

    def form_page(request: Request, session: users.Session, kind: str, model: Any,
                  values: Mapping[str, Any], *, case: dict[str, Any] | None = None,
                  trigger: str = "open", effective_at: str = "", on_behalf_of: str = "",
                  refusal: str | None = None, status: int = 200,
                  sent_once: str = "") -> Response:
        allowed = forms.allowed_standards(case["data"], config.calendar.nation) if case \
            else None
        viewer = viewer_of(session)
        open_now = True
        if case is not None:
            today, timers = local_date(clock.now()), queries.case_timers(db, case["case"])
            open_now = any(t["trigger"] == trigger for t in case_tasks(
                viewer, kind, case["state"], search_store.parties_of_case(db, case["case"]),
                timers, today, refused=judged_now(case, timers, today)))
        return render(request, "act.html.j2", status, kind=kind, case=case, trigger=trigger,
                      button=forms.in_words(trigger) if trigger != "open"
                      else f"Open the {kind}", csrf=session.csrf,
                      form_fields=forms.fields_for(model, values, allowed_standards=allowed),
                      effective_at=effective_at or _wall_clock(clock.now()),
                      effective_default="" if effective_at else _wall_clock(clock.now()),
                      sent_once=sent_once or secrets.token_urlsafe(16),
                      latest=_wall_clock(clock.now()), on_behalf_of=on_behalf_of,
                      operator=session.role == "operator", refusal=refusal, open_now=open_now,
                      expected=_expected_party(viewer, kind, case, trigger))

    def act_form(request: Request) -> Response:
        session = signed_in(request)
        case_id, trigger = request.path_params["case_id"], request.path_params["trigger"]
        visible_case(session, case_id)
        case = queries.case_detail(db, case_id)
        if case is None:
            raise HTTPException(404, f"no case {case_id!r}")
        model = _model(lambda: forms.model_for_trigger(case["kind"], trigger))
        return form_page(request, session, case["kind"], model, _example(trigger), case=case,
                         trigger=trigger)

    def open_form(request: Request) -> Response:
        session = signed_in(request)
        kind = request.path_params["kind"]
        model = _model(lambda: forms.model_for_opening(kind))
        return form_page(request, session, kind, model, _example(kind))

    async def submitted(request: Request, session: users.Session) -> dict[str, list[str]]:
        length = request.headers.get("content-length", "")
        if not length.isdigit() or int(length) > config.limits.data_bytes:
            raise HTTPException(413, f"the form is larger than {config.limits.data_bytes:,} "
                                "bytes (configuration [limits] data_bytes)")
        form = await request.form(max_files=0, max_fields=2000)
        sent = {k: [str(v) for v in form.getlist(k) if isinstance(v, str)] for k in form.keys()}
        if not secrets.compare_digest((sent.get("csrf") or [""])[0], session.csrf):
            raise HTTPException(400, "the form had expired: reload the page and try again")
        return sent

    async def act(request: Request) -> Response:
        session = await workers.run(signed_in, request)
        case_id, trigger = request.path_params["case_id"], request.path_params["trigger"]
        await workers.run(visible_case, session, case_id)
        sent = await submitted(request, session)
        return await workers.run(act_on, request, session, case_id, trigger, sent)

    def act_on(request: Request, session: users.Session, case_id: str, trigger: str,
               sent: dict[str, list[str]]) -> Response:
        case = queries.case_detail(db, case_id)
        if case is None:
            raise HTTPException(404, f"no case {case_id!r}")
        model = _model(lambda: forms.model_for_trigger(case["kind"], trigger))
        first = {k: (v[0] if v else "") for k, v in sent.items()}
        version = first.get("version", "")
        asked = Asked(forms.data_from_form(model, sent), _effective(first),
                      first.get("on_behalf_of"),
                      int(version) if version.isdigit() and len(version) < 10 else -1)
        try:
            outcome = door.fire(viewer_of(session), case_id, trigger, asked)
        except RefusedError as err:
            said = str(err)
            if isinstance(err, ConcurrentChangeError):
                said = (f"{CHANGED_SINCE}: the form now holds the case as it stands (version "
                        f"{case['version']}); check it and send it again if it still "
                        f"applies. {said}")
            return form_page(request, session, case["kind"], model,
                             forms.values_from_form(model, sent), case=case, trigger=trigger,
                             effective_at=_effective(first) or "",
                             on_behalf_of=first.get("on_behalf_of", ""), refusal=said,
                             status=status_of(err))
        return RedirectResponse(f"/cases/{outcome.case}?entry={outcome.version}"
                                f"#seq-{outcome.version}", status_code=303)

    async def open_kind(request: Request) -> Response:
        session = await workers.run(signed_in, request)
        sent = await submitted(request, session)
        return await workers.run(open_with, request, session, request.path_params["kind"],
                                 sent)

    def open_with(request: Request, session: users.Session, kind: str,
                  sent: dict[str, list[str]]) -> Response:
        model = _model(lambda: forms.model_for_opening(kind))
        first = {k: (v[0] if v else "") for k, v in sent.items()}
        asked = Asked(forms.data_from_form(model, sent), _effective(first),
                      first.get("on_behalf_of"))
        viewer, once = viewer_of(session), first.get("sent_once", "")
        try:
            # The form's own id, as an Idempotency-Key: sent twice (a double click, a reload),
            # the second finds the case the first opened and writes nothing.
            outcome = door.open(viewer, kind, asked, _once(viewer, kind, once))
            if outcome.repeated:
                raise ConcurrentChangeError(f"{CHANGED_SINCE}: it was sent before and opened "
                                            f"{outcome.case}", case=outcome.case)
        except RefusedError as err:
            return form_page(request, session, kind, model, forms.values_from_form(model, sent),
                             effective_at=_effective(first) or "",
                             on_behalf_of=first.get("on_behalf_of", ""), refusal=str(err),
                             status=status_of(err), sent_once=once)
        return RedirectResponse(f"/cases/{outcome.case}?entry={outcome.version}"
                                f"#seq-{outcome.version}", status_code=303)

    def task_page(request: Request) -> Response:
        session = signed_in(request)
        viewer = viewer_of(session)
        p = request.query_params
        role = p.get("role") if session.role == "operator" and p.get("role") in ACTED_FOR \
            else None
        page = _page_number(p.get("page"))
        search_store.refresh_search(db)
        found = tasks_of(db, viewer, local_date(clock.now()), PAGE_SIZE, (page - 1) * PAGE_SIZE,
                         role, door.engine.setting)
        base = {"role": role} if role else {}
        return render(request, "tasks.html.j2", found=found, role=role, roles=ACTED_FOR,
                      viewer=viewer, page=page, pages=_pages(found.total),
                      query=lambda n: urlencode({**base, "page": n}))

    # -- errors ----------------------------------------------------------------------------------

    async def login_required(request: Request, exc: Exception) -> Response:
        if request.method in ("GET", "HEAD"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        return Response("log in first: /login\n", status_code=401,
                        media_type="text/plain; charset=utf-8")

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if request.url.path.startswith("/api/"):
            return problem(exc.status_code, str(exc.detail))
        return render(request, "error.html.j2", exc.status_code, status=exc.status_code,
                      detail=exc.detail)

    routes = [
        # First: the API's callers are other systems, many requests a second each.
        Mount("/api/v1", routes=create_api(db, config, clock, real, door, workers)),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", search, methods=["GET"]),
        Route("/cases/{case_id}", case_page, methods=["GET"]),
        Route("/audit", audit, methods=["GET"]),
        Route("/audit", audit_checkpoint, methods=["POST"]),
        Route("/audit/export", export, methods=["GET"]),
        Route("/incidents", incidents, methods=["GET"]),
        Route("/tasks", task_page, methods=["GET"]),
        Route("/cases/{case_id}/act/{trigger}", act_form, methods=["GET"]),
        Route("/cases/{case_id}/act/{trigger}", act, methods=["POST"]),
        Route("/open/{kind}", open_form, methods=["GET"]),
        Route("/open/{kind}", open_kind, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={LoginRequired: login_required,
                                                       HTTPException: http_error})
    app.add_middleware(SecurityHeaders)
    return app


def _model(lookup: Any) -> Any:
    """The data model of a trigger or an opening; a 404 for one no person fires."""
    try:
        return lookup()
    except RefusedError as err:
        raise HTTPException(404, str(err)) from None


def _example(name: str) -> dict[str, Any]:
    """What a form is prefilled with: as `ast-engine example NAME` prints it."""
    from states.examples import UnknownExampleError, example
    try:
        return example(name)[0]
    except UnknownExampleError:
        return {}


def _effective(first: Mapping[str, str]) -> str | None:
    """The form's effective time as typed; None (now) when it is still the minute the form
    was shown with: that minute may be before the case's last entry, made seconds ago."""
    typed = first.get("effective_at", "").strip()
    return None if not typed or typed == first.get("effective_default") else typed


def _once(viewer: Viewer, kind: str, sent_once: str) -> Idempotency | None:
    """The idempotency of an opening form, keyed by the id it was shown with."""
    if not 16 <= len(sent_once) <= 64 or SENT_ONCE.fullmatch(sent_once) is None:
        return None   # not an id this console made (secrets.token_urlsafe's alphabet)
    return Idempotency(viewer.actor, f"form:{sent_once}",
                       hashlib.sha256(f"open {kind} {sent_once}".encode()).hexdigest())


def _wall_clock(instant: datetime) -> str:
    """An instant as a datetime-local field shows it: London wall-clock, to the minute."""
    return instant.astimezone(LONDON).strftime("%Y-%m-%dT%H:%M")


def _expected_party(viewer: Viewer, kind: str, case: dict[str, Any] | None,
                    trigger: str) -> list[str]:
    """For an operator's "on behalf of": the parties the trigger is keyed in for, as the case
    records them (`headteacher:tom.reed`), or as the role alone (`candidate:`)."""
    if viewer.role != "operator":
        return []
    from states.parties import parties_of
    from workflows.read.tasks import roles_open
    if case is None:
        from states import PROCESSES
        roles = PROCESSES[kind].opening.roles if kind in PROCESSES else ()
        bound: set[str] = set()
    else:
        roles = roles_open(kind, case["state"], trigger)
        bound = parties_of(kind, case["data"], case["records"])
    found = []
    for role in roles if isinstance(roles, tuple) else ():
        named = sorted(p for p in bound if p.startswith(role + ":"))
        found += named or [role + ":"]
    return found


def _secure(request: Request) -> bool:
    """Whether the session's cookies are marked Secure: always but on this machine's own
    loopback address over plain HTTP (the one place a browser reaches the console without TLS,
    and where no one on the network can read the cookie). On any other address the browser
    sends them back over HTTPS only, so a console exposed without TLS cannot leak a session."""
    if request.url.scheme == "https":
        return True
    server = request.scope.get("server") or ("", 0)
    return not _loopback(str(server[0]))


def _loopback(host: str) -> bool:
    import ipaddress
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _safe_next(target: str | None) -> str | None:
    """Only a path of this site: never `//elsewhere` or `https://elsewhere`."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target and not target.startswith("/login"):
        return target
    return None


def _page_number(text: str | None) -> int:
    try:
        return max(1, min(int(text or 1), 100_000))
    except ValueError:
        return 1


def _pages(total: int) -> int:
    return max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)


def parse_checkpoint(content: bytes) -> tuple[tuple[int, str] | None, str | None]:
    """A file written by `audit checkpoint --write`, or what is wrong with it (one reader for
    the console and the command line: workflows/read/checkpoint.py)."""
    try:
        return read_checkpoint(content), None
    except NotACheckpointError as err:
        return None, ("that file is not a checkpoint written by `ast-engine audit checkpoint "
                      f"--write` (a JSON object with `count` and `hash`): {err}")


def _batches(db: Database, chosen: auditlog.ExportFilter, size: int = 2000):
    batch = []
    for entry in auditlog.entries(db, chosen):
        batch.append(entry)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _csv(db: Database, chosen: auditlog.ExportFilter, config: Config,
         now: str) -> Iterator[str]:
    """As `ast-engine audit export --format csv > FILE` writes it (workflows/read/auditlog.py), with
    the byte-order mark that makes a spreadsheet read it as UTF-8; sent a batch at a time."""
    out = io.StringIO()
    writer = csv.writer(out)
    out.write("\ufeff")
    for n, line in enumerate(auditlog.spreadsheet(db, chosen, config.calendars().national(),
                                                  now), start=1):
        writer.writerow(line)
        if n % 2000 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def _jsonl(db: Database, chosen: auditlog.ExportFilter, config: Config) -> Iterator[str]:
    """As `ast-engine audit export --format jsonl` prints it."""
    rows = auditlog.Rows(db, config.calendars().national())
    for batch in _batches(db, chosen):
        yield "".join(json.dumps(rows.row(e), ensure_ascii=False) + "\n" for e in batch)
