"""The HTTP API tested from its own OpenAPI document by Schemathesis: `ast-engine web` runs as a
real process, the document is read from it live (/api/v1/openapi.json), and for every operation
Schemathesis sends a bounded number of requests generated from the schema (and some made to
break it), with an operator's token and with a headteacher's. No answer may be a 5xx, and each
must be one the document promises: its status, its media type, its headers and its body."""
from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_headers_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from tests.builders import application_data
from tests.cli import Cli
from tests.web import served

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api")
    cli = Cli(folder)
    cli.ok("init")
    now = "2027-01-07T11:00"
    cases = [cli.ok("open", "application", "--actor", "headteacher:tom.reed", "--data",
                    json.dumps(application_data()), "--at", "2027-01-04",
                    now=now).stdout.strip() for _ in range(3)]
    tokens = {role: cli.ok("token", "add", name, "--role", role).stdout.strip()
              for name, role in (("it.desk", "operator"), ("tom.reed", "headteacher"))}
    with served(folder, now) as (base, log):
        yield {"base": base, "tokens": tokens, "log": log, "cases": cases}
    assert "Traceback" not in (folder / "web.log").read_text()


BOUNDED = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


def run_every_operation(live, role: str, taken: set[int]) -> int:
    """Each operation of the live document, with a bounded number of generated requests (run
    through Hypothesis directly: schemathesis's pytest plugin does not run on pytest 9).
    Returns how many operations were tried."""
    schema = schemathesis.openapi.from_url(live["base"] + "/api/v1/openapi.json")
    tried, answers = 0, []
    for result in schema.get_all_operations():
        operation = result.ok()

        @BOUNDED
        @given(case=operation.as_strategy())
        def each(case) -> None:
            if "case_id" in (case.path_parameters or {}):
                # half the requests at a case that is there, so that 2xx answers are checked too
                if len(str(case.path_parameters["case_id"])) % 2 == 0:
                    case.path_parameters["case_id"] = live["cases"][0]
            answers.append(case.call_and_validate(base_url=live["base"],
                                   headers={"authorization": f"Bearer {live['tokens'][role]}"},
                                   checks=CHECKS).status_code)
        each()
        tried += 1
    assert taken <= set(answers), sorted(set(answers))   # answers whose bodies were checked
    return tried


def test_an_operators_answers_are_ones_the_document_promises_and_none_is_a_5xx(live):
    assert run_every_operation(live, "operator", {200}) > 30


def test_a_headteachers_answers_are_ones_the_document_promises_and_none_is_a_5xx(live):
    # the examples (`ast-engine example`) at a live case: a support is taken, and its 201 checked
    assert run_every_operation(live, "headteacher", {200, 201}) > 30
