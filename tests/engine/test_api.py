"""The HTTP API under /api/v1 (shared/CLI.md, "HTTP API"), through Starlette's test client on
SQLite and PostgreSQL: bearer tokens, the statuses of refusals as RFC 9457 problems, parties
bound to their cases, idempotent retries and stale versions that write nothing."""
from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from storage import users
from tests.builders import ASSESSOR, FUNDING, application_data, appointment_data
from workflows.console.app import create_app
from workflows.console.auth import new_token, token_sha256
from workflows.core.clock import FixedClock
from workflows.core.config import Config
from workflows.core.times import parse_instant, utc_iso

PROBLEM = "application/problem+json"


class Api:
    def __init__(self, driver):
        self.driver, self.db = driver, driver.engine.db
        self.real = FixedClock(parse_instant("2027-01-04T10:00"))
        self.client = TestClient(create_app(self.db, Config(), driver.clock, self.real),
                                 base_url="http://localhost", follow_redirects=False)
        self.tokens: dict[str, str] = {}

    def token(self, name: str, role: str) -> str:
        if name not in self.tokens:
            made = new_token()
            assert users.add_token(self.db, name, role, token_sha256(made),
                                   utc_iso(self.real.now()))
            self.tokens[name] = made
        return self.tokens[name]

    def headers(self, name: str | None, **more: str) -> dict[str, str]:
        found = {f"authorization": f"Bearer {self.tokens[name]}"} if name else {}
        return {**found, **more}

    def get(self, path: str, who: str | None = None, **kw):
        return self.client.get(path, headers=self.headers(who), **kw)

    def post(self, path: str, who: str | None, body=None, **headers: str):
        content = body if isinstance(body, (bytes, str)) else json.dumps(body or {})
        return self.client.post(path, content=content, headers=self.headers(
            who, **{"content-type": "application/json", **headers}))

    def count(self, table: str) -> int:
        return self.driver.count(table)


@pytest.fixture
def api(driver, clock) -> Api:
    clock.set(parse_instant("2027-01-04T09:00"))
    made = Api(driver)
    made.token("tom.reed", "headteacher")
    made.token("other.head", "headteacher")
    made.token("nas", "agency")
    made.token("it.desk", "operator")
    made.token("ann", "auditor")
    return made


def opened(api: Api, who: str = "tom.reed", **body) -> dict:
    response = api.post("/api/v1/cases", who, {"kind": "application",
                                               "data": application_data(), **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_headteacher_token_opens_an_application_bound_to_its_own_party(api):
    response = api.post("/api/v1/cases", "tom.reed", {"kind": "application",
                                                      "data": application_data()})
    assert response.status_code == 201
    case = response.json()
    assert response.headers["location"] == f"/api/v1/cases/{case['case']}"
    assert case["state"] == "received" and case["version"] == 1
    assert case["log"][0]["actor"] == "headteacher:tom.reed"
    assert case["data"]["headteacher"]["id"] == "tom.reed"
    # the same shape as `show --json`, with what may come next
    assert {"timers", "notices", "records", "next"} <= set(case)


def test_no_token_or_a_wrong_one_is_401_as_a_problem(api):
    for headers in ({}, {"authorization": "Bearer ast_nothing"}, {"authorization": "Basic x"}):
        response = api.client.get("/api/v1/cases", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["status"] == 401 and response.json()["detail"]


def test_another_headteacher_gets_404_for_the_case_and_never_finds_it(api):
    case = opened(api)["case"]
    assert api.get(f"/api/v1/cases/{case}", "other.head").status_code == 404
    assert api.get("/api/v1/cases", "other.head").json() == []
    assert [r["case"] for r in api.get("/api/v1/cases", "tom.reed").json()] == [case]
    fired = api.post(f"/api/v1/cases/{case}/triggers/support", "other.head",
                     {"data": {"evaluation": "Strong."}})
    assert fired.status_code == 404
    assert api.get("/api/v1/tasks", "other.head").json()["tasks"] == []


def test_the_head_who_opened_an_appointment_sees_and_acts_on_it_and_no_other_head_does(api):
    # An appointment binds no head (DOMAIN.md), but its log names the shortlisted candidates
    # and their applications: the head it was opened by, or keyed in for, sees it.
    response = api.post("/api/v1/cases", "tom.reed",
                        {"kind": "appointment", "data": appointment_data()})
    assert response.status_code == 201, response.text
    case = response.json()["case"]
    assert api.get(f"/api/v1/cases/{case}", "tom.reed").status_code == 200
    assert api.post(f"/api/v1/cases/{case}/triggers/secure_funding", "tom.reed",
                    {}).status_code == 201
    assert [r["case"] for r in api.get("/api/v1/cases?kind=appointment",
                                       "tom.reed").json()] == [case]
    tasks = api.get("/api/v1/tasks", "tom.reed").json()["tasks"]
    assert [(r["case"], [t["trigger"] for t in r["tasks"]]) for r in tasks] == [
        (case, ["advertise", "cancel"])]
    advertised = api.post(f"/api/v1/cases/{case}/triggers/advertise", "tom.reed",
                          {"data": {"closing_date": "2027-03-12"}})
    assert advertised.status_code == 201, advertised.text
    assert api.get(f"/api/v1/cases/{case}", "other.head").status_code == 404
    assert api.get("/api/v1/cases?kind=appointment", "other.head").json() == []
    assert api.get("/api/v1/tasks", "other.head").json()["tasks"] == []
    keyed = api.post("/api/v1/cases", "it.desk", {"kind": "appointment", "data":
                     appointment_data(), "on_behalf_of": "headteacher:other.head"})
    assert keyed.status_code == 201, keyed.text
    assert api.get(f"/api/v1/cases/{keyed.json()['case']}", "other.head").status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/cases/%00", "/api/v1/cases/app-%00x",
                                  "/api/v1/cases/app-%01x/triggers/support"])
@pytest.mark.parametrize("who", ["tom.reed", "nas"])
def test_a_case_id_no_case_can_have_is_a_404_problem_on_both_databases(api, path, who):
    response = (api.post(path, who, {"data": {"evaluation": "x"}}) if "triggers" in path
                else api.get(path, who))
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == PROBLEM


def test_an_assessor_the_case_does_not_expect_learns_nothing_of_it_not_even_by_a_post(api):
    # The engine's refusals name a case's state, version, opening time and assessor: to a
    # party the case does not bind, every POST is a 404, as its GET is.
    case = api.driver.to_assessment_scheduled(received="2027-01-04")
    api.token("as-99", "assessor")
    api.token("as-17", "assessor")
    judged = {"data": {"unmet_standards": ["A1"]}}
    for trigger, body in (("judge_not_met", judged), ("support", {}),
                          ("judge_met", {"expected_version": 99}),
                          ("judge_met", {"effective_at": "2020-01-01"})):
        probe = api.post(f"/api/v1/cases/{case}/triggers/{trigger}", "as-99", body)
        assert probe.status_code == 404, probe.text
        assert "as-17" not in probe.text and "assessment_scheduled" not in probe.text
    assert api.get(f"/api/v1/cases/{case}", "as-99").status_code == 404
    assert len(api.driver.log(case)) == 5
    api.driver.clock.set(parse_instant("2027-02-27T17:00"))   # the assessment day
    right = api.post(f"/api/v1/cases/{case}/triggers/judge_not_met", "as-17", judged)
    assert right.status_code == 201, right.text


@pytest.mark.parametrize("text", ['"\\ud800"', '"\\udfff x"'])
def test_a_lone_surrogate_with_an_idempotency_key_is_a_422_never_a_500(api, text):
    case = opened(api)["case"]
    for body in ('{"data": {"evaluation": %s}}' % text, '{"on_behalf_of": %s}' % text):
        response = api.post(f"/api/v1/cases/{case}/triggers/support", "tom.reed", body,
                            **{"idempotency-key": "k-surrogate"})
        assert response.status_code == 422, response.text


def test_the_bound_headteacher_sees_its_task_with_the_due_date_and_working_days_left(api):
    case = opened(api)["case"]
    found = api.get("/api/v1/tasks", "tom.reed").json()
    assert found["total"] == 1
    row = found["tasks"][0]
    assert row["case"] == case
    support = next(t for t in row["tasks"] if t["trigger"] == "support")
    # 20 working days after Mon 4 January 2027 is Mon 1 February; 19 after today are left
    assert support["due"]["timer"] == "headteacher_deadline"
    assert support["due"]["due"] == "2027-02-01"
    assert support["due"]["days_left"] == 20 and support["due"]["overdue"] is False


def test_an_operator_sees_every_partys_tasks_and_can_filter_by_role(api):
    opened(api)
    every = api.get("/api/v1/tasks", "it.desk").json()
    assert every["total"] == 1
    roles = {r for t in every["tasks"][0]["tasks"] for r in t["roles"]}
    assert {"headteacher", "candidate", "la_coordinator"} <= roles
    only = api.get("/api/v1/tasks?role=candidate", "it.desk").json()["tasks"][0]["tasks"]
    assert [t["trigger"] for t in only] == ["withdraw"]


def test_a_fired_trigger_answers_201_with_the_case_and_the_refusals_have_their_statuses(api):
    case = opened(api)["case"]
    support = api.post(f"/api/v1/cases/{case}/triggers/support", "tom.reed",
                       {"data": {"evaluation": "Strong practice."}, "expected_version": 1})
    assert support.status_code == 201 and support.json()["state"] == "supported"
    statuses = {
        # the machine refuses: supported already
        409: api.post(f"/api/v1/cases/{case}/triggers/support", "tom.reed",
                      {"data": {"evaluation": "Again."}}),
        # a role that may not
        403: api.post(f"/api/v1/cases/{case}/triggers/submit_to_agency", "nas", FUNDING
                      and {"data": FUNDING}),
        # no such trigger, no such case
        404: api.post(f"/api/v1/cases/{case}/triggers/no_such_thing", "tom.reed", {}),
        422: api.post(f"/api/v1/cases/{case}/triggers/submit_to_agency", "tom.reed",
                      {"data": {"funding_declaration": {"source": "nowhere"}}}),
    }
    for status, response in statuses.items():
        assert response.status_code == status, (status, response.text)
        assert response.headers["content-type"].startswith(PROBLEM)
        assert response.json()["title"] and response.json()["detail"]
    assert api.post("/api/v1/cases/app-0000000000/triggers/support", "tom.reed",
                    {"data": {"evaluation": "x"}}).status_code == 404
    assert api.get(f"/api/v1/cases/{case}", "tom.reed").json()["version"] == 2


def test_a_guard_is_409_when_the_case_refuses_and_422_when_the_data_sent_is_refused(api):
    # CLI.md: 409 the machine refuses, 422 invalid data. A guard on the case alone (an internal
    # post is not forwarded) refuses whatever is sent; one on the data sent (a standard the
    # candidate is not assessed on) refuses only that data.
    case = opened(api)["case"]
    api.post(f"/api/v1/cases/{case}/triggers/support", "tom.reed",
             {"data": {"evaluation": "Strong."}})
    internal = api.post(f"/api/v1/cases/{case}/triggers/forward_to_post_school", "tom.reed", {})
    assert internal.status_code == 409, internal.text
    assert "advertised internally" in internal.json()["detail"]
    judged = api.driver.to_assessment_scheduled(received="2027-01-04")
    api.token("as-17", "assessor")
    api.driver.clock.set(parse_instant("2027-02-27T17:00"))   # the assessment day
    p4 = api.post(f"/api/v1/cases/{judged}/triggers/judge_not_met", "as-17",
                  {"data": {"unmet_standards": ["P4"]}})
    assert p4.status_code == 422, p4.text
    assert "P4" in p4.json()["detail"]
    assert len(api.driver.log(judged)) == 5


def test_a_role_that_fires_a_trigger_from_no_state_is_403_whatever_state_the_case_is_in(api):
    # CLI.md: 403 a role that may not act, 409 the machine refuses. The agency never sends a
    # head's support; that the case is past it too is not what it needs to hear.
    case = opened(api)["case"]
    api.post(f"/api/v1/cases/{case}/triggers/support", "tom.reed",
             {"data": {"evaluation": "Strong."}})
    by_agency = api.post(f"/api/v1/cases/{case}/triggers/support", "nas",
                         {"data": {"evaluation": "Strong."}})
    assert by_agency.status_code == 403, by_agency.text
    assert by_agency.json()["detail"] == (f"role agency may not fire support on case {case}, "
                                          "in any state; allowed: headteacher")
    again = api.post(f"/api/v1/cases/{case}/triggers/support", "tom.reed",
                     {"data": {"evaluation": "Strong."}})
    assert again.status_code == 409, again.text   # the right role, a state past it
    assert len(api.driver.log(case)) == 2


def test_an_auditor_reads_but_its_post_is_403(api):
    case = opened(api)["case"]
    assert api.get(f"/api/v1/cases/{case}", "ann").status_code == 200
    refused = api.post(f"/api/v1/cases/{case}/triggers/withdraw", "ann", {})
    assert refused.status_code == 403
    assert api.get(f"/api/v1/cases/{case}", "ann").json()["version"] == 1


def test_an_idempotent_retry_answers_the_first_result_and_writes_nothing_more(api):
    first = api.post("/api/v1/cases", "tom.reed", {"kind": "application",
                                                   "data": application_data()},
                     **{"idempotency-key": "ast1-2027-0001"})
    assert first.status_code == 201
    before = (api.count("cases"), api.count("transition_log"), api.count("notices"))
    again = api.post("/api/v1/cases", "tom.reed", {"kind": "application",
                                                   "data": application_data()},
                     **{"idempotency-key": "ast1-2027-0001"})
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert (api.count("cases"), api.count("transition_log"), api.count("notices")) == before
    other = api.post("/api/v1/cases", "tom.reed", {"kind": "application",
                                                   "data": application_data(
                                                       supporting_evidence="more")},
                     **{"idempotency-key": "ast1-2027-0001"})
    assert other.status_code == 422 and "another request" in other.json()["detail"]
    # keys are each sender's own: another token's same key is a new request
    mine = api.post("/api/v1/cases", "other.head", {"kind": "application",
                                                    "data": application_data()},
                    **{"idempotency-key": "ast1-2027-0001"})
    assert mine.status_code == 201 and mine.json()["case"] != first.json()["case"]


def test_an_idempotent_retry_of_a_trigger_after_the_case_moved_on_answers_the_first(api):
    case = opened(api)["case"]
    path = f"/api/v1/cases/{case}/triggers/support"
    body = {"data": {"evaluation": "Strong."}}
    first = api.post(path, "tom.reed", body, **{"idempotency-key": "k1"})
    api.post(f"/api/v1/cases/{case}/triggers/submit_to_agency", "tom.reed", {"data": FUNDING})
    again = api.post(path, "tom.reed", body, **{"idempotency-key": "k1"})
    assert again.status_code == 201
    assert again.json()["version"] == 2 and again.json()["state"] == "supported"
    assert again.json() == first.json()
    assert api.get(f"/api/v1/cases/{case}", "tom.reed").json()["version"] == 3
    # The same JSON spelt another way (spacing, the keys' order) is the same request.
    spelt = json.dumps({"data": {"evaluation": "Strong."}}, indent=2).encode()
    respelt = api.post(path, "tom.reed", spelt, **{"idempotency-key": "k1"})
    assert respelt.status_code == 201 and respelt.json() == first.json()
    assert api.get(f"/api/v1/cases/{case}", "tom.reed").json()["version"] == 3


def test_a_stale_expected_version_is_409_and_writes_nothing(api):
    case = opened(api)["case"]
    before = api.count("transition_log")
    stale = api.post(f"/api/v1/cases/{case}/triggers/support", "tom.reed",
                     {"data": {"evaluation": "Strong."}, "expected_version": 7})
    assert stale.status_code == 409
    assert api.count("transition_log") == before


def test_an_operator_keys_a_form_in_late_for_a_headteacher_as_the_cli_would(api, clock):
    case = opened(api)["case"]
    clock.set(parse_instant("2027-01-07T11:00"))   # the paper form came on Tuesday
    keyed = api.post(f"/api/v1/cases/{case}/triggers/support", "it.desk",
                     {"data": {"evaluation": "Strong."}, "on_behalf_of": "headteacher:tom.reed",
                      "effective_at": "2027-01-05T09:30"})
    assert keyed.status_code == 201, keyed.text
    entry = keyed.json()["log"][-1]
    assert entry["actor"] == "operator:it.desk"
    assert entry["for"] == "headteacher:tom.reed"
    assert entry["effective_at"] == "2027-01-05T09:30:00+00:00"
    wrong = api.post(f"/api/v1/cases/{case}/triggers/submit_to_agency", "it.desk",
                     {"data": FUNDING, "on_behalf_of": "headteacher:other.head"})
    assert wrong.status_code == 403 and "headteacher:tom.reed" in wrong.json()["detail"]


@pytest.mark.parametrize("body, status", [
    (b"{not json", 422), (b"[1, 2]", 422), (b'{"data": 5}', 422),
    (b'{"data": {}, "surprise": 1}', 422), (b'{"expected_version": "3"}', 422),
    (b'{"effective_at": "yesterday"}', 422), (b'{"effective_at": "2099-01-01"}', 422),
    (b'{"on_behalf_of": "nobody"}', 422), (b"\xff\xfe", 422),
    (b'{"data": {"a": 1, "a": 2}}', 422), (b"[" * 5000, 422),
])
def test_a_body_no_client_should_send_is_refused_with_a_problem_never_a_500(api, body, status):
    case = opened(api)["case"]
    response = api.post(f"/api/v1/cases/{case}/triggers/support", "tom.reed", body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)


@pytest.mark.parametrize("kind", ["bogus", 5, "", "review", None])
def test_an_opening_of_a_kind_that_cannot_be_opened_is_422_naming_the_kinds(api, kind):
    response = api.post("/api/v1/cases", "tom.reed", {"kind": kind, "data": {}})
    assert response.status_code == 422, response.text
    assert "application" in response.json()["detail"]
    assert api.count("cases") == 0


def test_a_body_over_the_limits_is_413_before_it_is_read(api):
    case = opened(api)["case"]
    huge = json.dumps({"data": {"evaluation": "x" * (2 << 20)}})
    response = api.post(f"/api/v1/cases/{case}/triggers/support", "tom.reed", huge)
    assert response.status_code == 413


def test_a_revoked_token_and_a_disabled_accounts_token_are_401_at_once(api):
    assert api.get("/api/v1/cases", "nas").status_code == 200
    users.revoke_token(api.db, "nas", utc_iso(api.real.now()))
    assert api.get("/api/v1/cases", "nas").status_code == 401
    users.add_user(api.db, "tom.reed", "headteacher", "x", utc_iso(api.real.now()))
    users.disable_user(api.db, "tom.reed", utc_iso(api.real.now()))
    assert api.get("/api/v1/cases", "tom.reed").status_code == 401


def test_the_openapi_document_has_a_request_schema_for_every_trigger_a_person_fires(api):
    doc = api.client.get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    paths = doc["paths"]
    erase = paths["/api/v1/cases/{case_id}/triggers/erase_personal_data"]["post"]
    assert erase["requestBody"]["content"]["application/json"]["example"] == {
        "data": {"reason": "Retention period ended (subject's request 2031-03-02)."}}
    assert "/api/v1/cases/{case_id}/triggers/deadline_recomputed" not in paths   # the engine's
    support = paths["/api/v1/cases/{case_id}/triggers/support"]["post"]
    data = support["requestBody"]["content"]["application/json"]["schema"]["properties"]["data"]
    assert data == {"$ref": "#/components/schemas/Evaluation"} or "$ref" in data
    scheduled = paths["/api/v1/cases/{case_id}/triggers/schedule_assessment"]["post"]
    ref = scheduled["requestBody"]["content"]["application/json"]["schema"]["properties"][
        "data"]["$ref"].rsplit("/", 1)[1]
    assert set(doc["components"]["schemas"][ref]["required"]) == {"assessment_date", "assessor"}
    assert not any("timer:" in p for p in paths)
    for status in ("401", "403", "404", "409", "413", "422"):
        assert status in support["responses"]



def test_the_case_list_reads_overdue_in_any_case_of_letters(api):
    opened(api)
    wanted = api.get("/api/v1/cases?overdue=true", "nas").json()
    for written in ("TRUE", "True", "1"):
        answer = api.get(f"/api/v1/cases?overdue={written}", "nas")
        assert answer.status_code == 200 and answer.json() == wanted
    assert api.get("/api/v1/cases?overdue=yes", "nas").status_code == 422


def test_a_guard_that_reads_other_cases_refusing_a_trigger_that_takes_no_data_is_409(driver,
                                                                                    clock):
    # The LA's limit of posts it funds at one school (la_limit = "refuse") is the case's
    # school's other posts: no data sent could change it, so it is the machine's 409.
    clock.set(parse_instant("2027-01-04T09:00"))
    limited = Config.model_validate({"policy": {"la_limit": "refuse"}})
    api = Api(driver)
    api.client = TestClient(create_app(api.db, limited, driver.clock, api.real),
                            base_url="http://localhost", follow_redirects=False)
    api.token("la1", "la_coordinator")
    primary = appointment_data(school={"name": "Hill Primary School", "phase": "primary",
                                       "email": "office@hill.example.org"},
                               funding_source="school_development_grant")
    posts = [api.post("/api/v1/cases", "la1", {"kind": "appointment", "data": primary}).json()[
        "case"] for _ in range(2)]
    assert api.post(f"/api/v1/cases/{posts[0]}/triggers/secure_funding", "la1",
                    {}).status_code == 201
    second = api.post(f"/api/v1/cases/{posts[1]}/triggers/secure_funding", "la1", {})
    assert second.status_code == 409, second.text
    assert "la_limit" in second.json()["detail"]
