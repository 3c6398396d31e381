"""The API's OpenAPI 3.1 document, generated from the processes (states/): a request schema for
opening each kind of case and one path for each trigger a person fires, whose `data` is the
JSON schema pydantic gives of the very model that validates it. Nothing here is written per
trigger, so a trigger added to states/ is in the document, and a model changed is changed in
it. Served at /api/v1/openapi.json (shared/CLI.md, "HTTP API")."""
from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from states.spec import Transition

REF = "#/components/schemas/{model}"
PREFIX = "/api/v1"
ERRORS = {401: "no token, or one that is not live", 403: "a role or party that may not act",
          404: "no such case or trigger (or one this party may not see)",
          409: "the case's state or log refuses it, or it is not at expected_version",
          413: "the body is larger than [limits] allow",
          422: "the request or its data is invalid", 503: "the database is not answering"}


def person_fired(row: Transition) -> bool:
    """A trigger a person or another system fires (not a timer's, nor the engine's own)."""
    roles = row.roles if not callable(row.roles) else ("someone",)
    return not (row.internal or row.retired or row.trigger.startswith("timer:")
                or set(roles) <= {"system"})


def triggers() -> dict[str, dict[str, type[BaseModel] | None]]:
    """trigger -> kind -> the model of its data (None: it takes none)."""
    from states import PROCESSES
    found: dict[str, dict[str, type[BaseModel] | None]] = {}
    for kind, process in PROCESSES.items():
        # Every row the engine takes: the shared ones too (erase_personal_data, by the LA).
        for row in process.all_transitions():
            if person_fired(row):
                found.setdefault(row.trigger, {})[kind] = row.data
    return dict(sorted(found.items()))


def openings() -> dict[str, type[BaseModel]]:
    from states import PROCESSES
    return {kind: p.opening.data for kind, p in PROCESSES.items()
            if p.openable and p.opening.data is not None}


def _problem() -> dict[str, Any]:
    return {"type": "object", "required": ["title", "status", "detail"],
            "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                           "status": {"type": "integer"}, "detail": {"type": "string"}}}


def _case() -> dict[str, Any]:
    """The case as `show --json` gives it."""
    return {"type": "object",
            "required": ["case", "kind", "state", "version", "data", "records", "timers", "log",
                         "notices"],
            "properties": {"case": {"type": "string"}, "kind": {"type": "string"},
                           "state": {"type": ["string", "null"]},
                           "version": {"type": "integer"}, "data": {"type": "object"},
                           "records": {"type": "object"},
                           "erased_at": {"type": ["string", "null"]},
                           "timers": {"type": "array", "items": {"type": "object"}},
                           "log": {"type": "array", "items": {"type": "object"}},
                           "notices": {"type": "array", "items": {"type": "object"}},
                           "next": {"type": "array", "items": {"type": "object"}}}}


def _tasks() -> dict[str, Any]:
    due = {"type": ["object", "null"], "required": ["timer", "due", "days_left", "overdue"],
           "properties": {"timer": {"type": "string"}, "due": {"type": "string",
                                                               "format": "date"},
                          "days_left": {"type": "integer"}, "overdue": {"type": "boolean"},
                          "calendar": {"type": "string"}}}
    task = {"type": "object", "required": ["trigger", "roles", "due"],
            "properties": {"trigger": {"type": "string"},
                           "roles": {"type": "array", "items": {"type": "string"}}, "due": due}}
    row = {"type": "object", "required": ["case", "kind", "state", "due", "tasks"],
           "properties": {"case": {"type": "string"}, "kind": {"type": "string"},
                          "state": {"type": "string"}, "person": {"type": "string"},
                          "school": {"type": "string"}, "due": due,
                          "tasks": {"type": "array", "items": task}}}
    return {"type": "object", "required": ["total", "page", "tasks"],
            "properties": {"total": {"type": "integer"}, "page": {"type": "integer"},
                           "tasks": {"type": "array", "items": row}}}


def _answers(ok: int, schema: dict[str, Any], codes: tuple[int, ...]) -> dict[str, Any]:
    answers: dict[str, Any] = {str(ok): {"description": "the case" if ok == 201 else "found",
                                         "content": {"application/json": {"schema": schema}}}}
    if ok == 201:
        answers["201"]["headers"] = {"Location": {"schema": {"type": "string"},
                                                  "description": "the case's address"}}
    for code in codes:
        answers[str(code)] = {"description": ERRORS[code], "content": {
            "application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}}}
    return answers


IDEMPOTENCY = {"name": "Idempotency-Key", "in": "header", "required": False,
               "description": "the same key again (same token) answers the first result and "
                              "writes nothing more; with another body it is 422",
               "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
CASE_ID = {"name": "case_id", "in": "path", "required": True, "schema": {"type": "string"}}
WRITES = (401, 403, 404, 409, 413, 422, 503)


def _envelope(data: dict[str, Any], opening: str | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "data": data,
        "effective_at": {"type": ["string", "null"],
                         "description": "when it happened, London wall-clock (as --at): "
                                        "earlier than now for a paper form keyed in late"},
        "on_behalf_of": {"type": ["string", "null"],
                         "description": "ROLE:ID, for an operator: whom it keys this in for"}}
    required = []
    if opening is None:
        properties["expected_version"] = {"type": ["integer", "null"], "minimum": 0,
                                          "description": "refused (409) unless the case is "
                                                         "at this version"}
    else:
        properties = {"kind": {"const": opening}, **properties}
        required = ["kind", "data"]
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


@cache
def document() -> dict[str, Any]:
    fired = triggers()
    opened = openings()
    models = {m for kinds in fired.values() for m in kinds.values() if m is not None}
    models |= set(opened.values())
    keyed = sorted(models, key=lambda m: (m.__module__, m.__qualname__))
    refs, defs = models_json_schema([(m, "validation") for m in keyed], ref_template=REF)
    schemas: dict[str, Any] = {**defs.get("$defs", {}), "Problem": _problem(), "Case": _case(),
                               "Tasks": _tasks()}

    def data_of(model: type[BaseModel] | None) -> dict[str, Any]:
        if model is None:
            return {"type": "object"}
        return dict(refs[(model, "validation")])

    paths: dict[str, Any] = {
        f"{PREFIX}/cases": {
            "get": {"summary": "cases, as `list --json`", "operationId": "listCases",
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string",
                                                                "maxLength": 200}},
                        {"name": "kind", "in": "query", "schema": {"enum": _kinds()}},
                        {"name": "state", "in": "query", "schema": {"type": "string",
                                                                    "maxLength": 200}},
                        {"name": "overdue", "in": "query",
                         "schema": {"enum": ["0", "1", "true", "false"]}}],
                    "responses": _answers(200, {"type": "array", "items": {"type": "object"}},
                                          (401, 422, 503))},
            "post": {"summary": "open a case", "operationId": "openCase",
                     "parameters": [IDEMPOTENCY],
                     "requestBody": {"required": True, "content": {"application/json": {
                         "schema": {"oneOf": [_envelope(data_of(m), kind)
                                              for kind, m in sorted(opened.items())]},
                         "examples": {kind: {"value": {"kind": kind, "data": _example(kind)}}
                                      for kind in sorted(opened)}}}},
                     "responses": _answers(201, {"$ref": REF.format(model="Case")}, WRITES)}},
        f"{PREFIX}/cases/{{case_id}}": {
            "get": {"summary": "one case, as `show --json`", "operationId": "showCase",
                    "parameters": [CASE_ID],
                    "responses": _answers(200, {"$ref": REF.format(model="Case")},
                                          (401, 404, 503))}},
        f"{PREFIX}/tasks": {
            "get": {"summary": "what waits on this token's party, overdue first",
                    "operationId": "tasks",
                    "parameters": [{"name": "role", "in": "query",
                                    "description": "an operator's filter: one role's tasks",
                                    "schema": {"type": "string"}},
                                   {"name": "page", "in": "query",
                                    "schema": {"type": "integer", "minimum": 1,
                                               "maximum": 100000}}],
                    "responses": _answers(200, {"$ref": REF.format(model="Tasks")},
                                          (401, 422, 503))}},
    }
    for trigger, kinds in fired.items():
        datas = [data_of(m) for _, m in sorted(kinds.items(), key=lambda km: km[0])]
        unique = [d for n, d in enumerate(datas) if d not in datas[:n]]
        data = unique[0] if len(unique) == 1 else {"anyOf": unique}
        paths[f"{PREFIX}/cases/{{case_id}}/triggers/{trigger}"] = {"post": {
            "summary": f"{trigger.replace('_', ' ')} ({', '.join(sorted(kinds))})",
            "operationId": f"fire_{trigger}", "parameters": [CASE_ID, IDEMPOTENCY],
            "requestBody": {"required": False,
                            "content": {"application/json": {
                                "schema": _envelope(data),
                                "example": {"data": _example(trigger)}}}},
            "responses": _answers(201, {"$ref": REF.format(model="Case")}, WRITES)}}
    return {"openapi": "3.1.0",
            "info": {"title": "AST case engine", "version": "1",
                     "description": "Advanced Skills Teacher cases: applications, reviews and "
                                    "appointments (shared/CLI.md, \"HTTP API\")."},
            "paths": paths,
            "components": {"schemas": schemas, "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "ast-engine token add NAME --role ROLE"}}},
            "security": [{"bearer": []}]}


def _example(name: str) -> dict[str, Any]:
    """As `ast-engine example NAME` prints it: what a form is prefilled with."""
    from states.examples import example
    return example(name)[0]


def _kinds() -> list[str]:
    from states import PROCESSES
    return list(PROCESSES)
