"""Acting through the console (shared/CLI.md, "Acting through the console and the HTTP API"),
through Starlette's test client on SQLite and PostgreSQL: accounts as parties, the task list,
forms made from the trigger models, refusals shown with what was typed, stale and repeated
forms that write nothing, and a disabled account that loses its session at once."""
from __future__ import annotations

import re
from html import unescape

import pytest
from starlette.testclient import TestClient

from storage import users
from tests.builders import ASSESSOR, application_data
from tests.engine.test_console import PASSWORD, Console, password_hash
from workflows.core.times import parse_instant, utc_iso


class Desk(Console):
    """The console with accounts of several roles, each with a browser of its own."""

    def __init__(self, driver):
        super().__init__(driver)
        for name, role in (("tom.reed", "headteacher"), ("other.head", "headteacher"),
                           ("it.desk", "operator")):
            users.add_user(self.db, name, role, password_hash(), utc_iso(self.real.now()))
        self.browsers: dict[str, TestClient] = {}

    def as_(self, name: str) -> TestClient:
        if name not in self.browsers:
            client = TestClient(self.app, base_url="http://localhost", follow_redirects=False)
            assert self.login(name, PASSWORD, client).status_code == 303
            self.browsers[name] = client
        return self.browsers[name]

    def form(self, name: str, path: str) -> tuple[str, dict[str, str]]:
        """The form page and the values its fields hold, as a browser would send them."""
        page = self.as_(name).get(path)
        assert page.status_code == 200, page.text
        values: dict[str, str] = {}
        for tag in re.findall(r"<input [^>]*>", page.text):
            named = re.search(r'name="([^"]+)"', tag)
            value = re.search(r'value="([^"]*)"', tag)
            if named and "checkbox" not in tag:
                values[named.group(1)] = unescape(value.group(1)) if value else ""
        for name_, text in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>\n?(.*?)</textarea>',
                                      page.text, re.S):
            values[name_] = unescape(text)
        for name_, body in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>',
                                      page.text, re.S):
            chosen = re.search(r'<option value="([^"]*)" selected', body)
            values[name_] = unescape(chosen.group(1)) if chosen else ""
        return page.text, values


@pytest.fixture
def desk(driver, clock) -> Desk:
    clock.set(parse_instant("2027-01-04T09:00"))
    return Desk(driver)


def opened_by_tom(desk: Desk) -> str:
    return desk.driver.open(actor="headteacher:tom.reed", at="2027-01-04T09:00").case


def test_a_headteacher_sees_its_task_with_its_due_date_and_another_head_gets_404(desk):
    case = opened_by_tom(desk)
    tasks = desk.as_("tom.reed").get("/tasks")
    assert tasks.status_code == 200 and case in tasks.text
    assert "1 February 2027" in tasks.text or "2027-02-01" in tasks.text
    assert "20 working days left" in tasks.text and "headteacher_deadline" in tasks.text
    other = desk.as_("other.head")
    assert case not in other.get("/tasks").text
    assert other.get(f"/cases/{case}").status_code == 404
    assert other.get(f"/cases/{case}/act/support").status_code == 404
    assert f'href="/cases/{case}"' not in other.get(f"/?q={case}").text
    assert f'href="/cases/{case}"' not in other.get("/?q=Ann").text
    assert f'href="/cases/{case}"' in desk.as_("tom.reed").get("/?q=Ann").text
    assert other.get("/audit").status_code == 403
    assert other.get("/audit/export").status_code == 403


def test_the_case_page_offers_a_button_for_each_trigger_the_account_may_fire_now(desk):
    case = opened_by_tom(desk)
    page = desk.as_("tom.reed").get(f"/cases/{case}").text
    buttons = re.findall(r'href="/cases/[^"]+/act/([a-z_]+)"', page)
    assert sorted(buttons) == ["decline_support", "reject", "support"]
    operator = desk.as_("it.desk").get(f"/cases/{case}").text
    assert {"support", "withdraw", "change_headteacher"} <= set(
        re.findall(r'href="/cases/[^"]+/act/([a-z_]+)"', operator))
    auditor = desk.client.get(f"/cases/{case}").text
    assert "/act/" not in auditor


def test_no_button_or_task_is_offered_that_the_cases_own_guards_refuse_today(desk):
    # An internal post's application goes to the LA, never to a post school (DOMAIN.md:
    # forward_to_post_school is for an external post only); a decision letter is sent once.
    case = opened_by_tom(desk)
    desk.driver.fire(case, "support", "headteacher:tom.reed", {"evaluation": "Strong."})
    page = desk.as_("tom.reed").get(f"/cases/{case}").text
    assert sorted(re.findall(r'href="/cases/[^"]+/act/([a-z_]+)"', page)) == [
        "send_to_la", "submit_to_agency"]
    tasks = desk.as_("tom.reed").get("/tasks").text
    assert f"/cases/{case}/act/send_to_la" in tasks
    assert "forward_to_post_school" not in tasks
    form = desk.as_("tom.reed").get(f"/cases/{case}/act/forward_to_post_school").text
    assert "is not open to headteacher tom.reed" in form   # the form says so before it is sent

    letter = desk.driver.to_not_met(letter=True, received="2026-12-21")
    desk.driver.clock.set(parse_instant("2027-02-23T09:00"))
    users.add_user(desk.db, "nas", "agency", password_hash(), utc_iso(desk.real.now()))
    page = desk.as_("nas").get(f"/cases/{letter}").text
    assert re.findall(r'href="/cases/[^"]+/act/([a-z_]+)"', page) == ["send_written_feedback"]


def test_the_headteacher_supports_through_the_form_and_lands_on_the_new_entry(desk):
    case = opened_by_tom(desk)
    desk.driver.clock.set(parse_instant("2027-01-05T10:00"))
    page, values = desk.form("tom.reed", f"/cases/{case}/act/support")
    # labelled from the model's own descriptions, prefilled as `example support` prints
    assert re.search(r'<label for="[^"]+">[A-Z][a-z]+ [^<]*</label>', page)
    assert "evaluation" in values and values["evaluation"].strip()
    assert values["version"] == "1" and values["effective_at"] == "2027-01-05T10:00"
    assert 'type="submit" class="primary">Support' in page
    sent = desk.as_("tom.reed").post(f"/cases/{case}/act/support", data=values)
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/cases/{case}?entry=2#seq-2"
    landed = desk.as_("tom.reed").get(f"/cases/{case}?entry=2").text
    assert 'id="seq-2" class="entry new"' in landed and "just recorded" in landed
    log = desk.driver.log(case)
    assert log[-1].trigger == "support" and log[-1].actor == "headteacher:tom.reed"


def test_a_refusal_is_shown_on_the_form_with_what_was_typed_kept_and_nothing_written(desk):
    case = opened_by_tom(desk)
    _, values = desk.form("tom.reed", f"/cases/{case}/act/support")
    typed = {**values, "evaluation": "   "}   # the engine refuses empty text
    refused = desk.as_("tom.reed").post(f"/cases/{case}/act/support", data=typed)
    assert refused.status_code == 422
    assert 'role="alert"' in refused.text and "nothing was written" in refused.text
    assert len(desk.driver.log(case)) == 1
    markup = {**values, "evaluation": "<script>alert(1)</script> kept"}
    future = {**markup, "effective_at": "2031-01-01T09:00"}
    again = desk.as_("tom.reed").post(f"/cases/{case}/act/support", data=future)
    assert again.status_code == 422 and "in the future" in again.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; kept" in again.text
    assert "<script>alert(1)" not in again.text
    assert 'value="2031-01-01T09:00"' in again.text


def test_a_form_sent_twice_or_after_another_change_is_refused_and_writes_nothing(desk):
    case = opened_by_tom(desk)
    _, values = desk.form("tom.reed", f"/cases/{case}/act/support")
    assert desk.as_("tom.reed").post(f"/cases/{case}/act/support",
                                     data=values).status_code == 303
    twice = desk.as_("tom.reed").post(f"/cases/{case}/act/support", data=values)
    assert twice.status_code == 409
    assert "the case changed since you opened this form" in twice.text
    assert "send it again if it still applies" in twice.text
    assert len(desk.driver.log(case)) == 2
    stale = desk.as_("tom.reed").post(f"/cases/{case}/act/submit_to_agency", data={
        **values, "funding_declaration.declared_by": "Tom Reed",
        "funding_declaration.source": "school", "version": "1"})
    assert stale.status_code == 409, stale.text[-1500:]
    assert len(desk.driver.log(case)) == 2


def test_a_post_without_the_forms_csrf_token_is_refused(desk):
    case = opened_by_tom(desk)
    _, values = desk.form("tom.reed", f"/cases/{case}/act/support")
    forged = desk.as_("tom.reed").post(f"/cases/{case}/act/support",
                                       data={**values, "csrf": "guessed"})
    assert forged.status_code == 400 and len(desk.driver.log(case)) == 1


def test_an_operator_opens_an_application_for_a_headteacher_through_the_form(desk):
    page, values = desk.form("it.desk", "/open/application")
    assert values["candidate.name"] == "Ann Lee"   # as `example application` prints
    assert 'name="on_behalf_of"' in page
    values.update({"on_behalf_of": "headteacher:tom.reed", "candidate.name": "Bea Stone",
                   "candidate.email": "bea.stone@hill.example.org"})
    sent = desk.as_("it.desk").post("/open/application", data=values)
    assert sent.status_code == 303, sent.text
    case = sent.headers["location"].split("?")[0].rsplit("/", 1)[1]
    entry = desk.driver.log(case)[0]
    assert entry.actor == "operator:it.desk" and entry.on_behalf_of == "headteacher:tom.reed"
    assert case in desk.as_("tom.reed").get("/tasks").text
    assert case not in desk.as_("other.head").get("/tasks").text


def test_unmet_standards_are_check_boxes_of_the_candidates_externally_assessed_set(desk):
    driver = desk.driver
    case = driver.to_assessment_scheduled(received="2027-01-04")
    users.add_user(desk.db, "as-17", "assessor", password_hash(), utc_iso(desk.real.now()))
    page, _ = desk.form("it.desk", f"/cases/{case}/act/judge_not_met")
    offered = set(re.findall(r'type="checkbox"[^>]*name="unmet_standards" value="([^"]+)"',
                             page))
    # a post-threshold candidate is assessed on E1-E15 and A1-A3 (DOMAIN.md, Annex A)
    assert offered and all(code[0] in "EA" for code in offered)
    assert "A2" in offered and not any(code.startswith("P") for code in offered)


def test_a_disabled_account_loses_its_session_mid_use(desk):
    case = opened_by_tom(desk)
    browser = desk.as_("tom.reed")
    _, values = desk.form("tom.reed", f"/cases/{case}/act/support")
    assert browser.get("/tasks").status_code == 200
    users.disable_user(desk.db, "tom.reed", utc_iso(desk.real.now()))
    assert browser.get("/tasks").status_code == 303   # to the login page
    refused = browser.post(f"/cases/{case}/act/support", data=values)
    assert refused.status_code == 401 and len(desk.driver.log(case)) == 1
    again = desk.login("tom.reed", PASSWORD, TestClient(desk.app, base_url="http://localhost"))
    assert again.status_code == 403 and "disabled" in again.text


def test_an_auditors_form_is_refused_by_the_engine_naming_who_may(desk):
    case = opened_by_tom(desk)
    _, values = desk.form("tom.reed", f"/cases/{case}/act/support")
    desk.login()   # ann, the auditor
    refused = desk.client.post(f"/cases/{case}/act/support",
                               data={**values, "csrf": desk.csrf()})
    assert refused.status_code == 403
    assert "role auditor may not fire support" in unescape(refused.text)
    assert "allowed: headteacher" in unescape(refused.text)
    alert = re.search(r'role="alert"[^>]*>(.*?)</div>', refused.text, re.S).group(1)
    assert "--actor" not in alert and len(desk.driver.log(case)) == 1


def test_an_opening_form_sent_twice_opens_one_case_and_says_so(desk):
    _, values = desk.form("tom.reed", "/open/application")
    first = desk.as_("tom.reed").post("/open/application", data=values)
    assert first.status_code == 303, first.text
    case = first.headers["location"].split("?")[0].rsplit("/", 1)[1]
    again = desk.as_("tom.reed").post("/open/application", data=values)
    assert again.status_code == 409
    assert "the case changed since you opened this form" in again.text and case in again.text
    assert desk.driver.count("cases") == 1
    # An id the console never made is no key (nothing is looked up with it): a new case.
    odd = desk.as_("tom.reed").post("/open/application", data={**values,
                                                               "sent_once": "\x00" * 20})
    assert odd.status_code == 303, odd.text[-500:]
    assert desk.driver.count("cases") == 2
    # A new form is a new case.
    _, fresh = desk.form("tom.reed", "/open/application")
    assert fresh["sent_once"] != values["sent_once"]
    assert desk.as_("tom.reed").post("/open/application", data=fresh).status_code == 303
    assert desk.driver.count("cases") == 3


def test_a_form_left_at_its_effective_minute_acts_now_even_seconds_after_the_last_entry(desk):
    # The field shows the minute (a datetime-local holds no seconds): sent unchanged, it means
    # now, not that minute's start, which is before an entry made seconds into it.
    desk.driver.clock.set(parse_instant("2027-01-04T09:00:40"))
    case = desk.driver.open(actor="headteacher:tom.reed").case
    _, values = desk.form("tom.reed", f"/cases/{case}/act/support")
    assert values["effective_at"] == values["effective_default"] == "2027-01-04T09:00"
    sent = desk.as_("tom.reed").post(f"/cases/{case}/act/support", data=values)
    assert sent.status_code == 303, sent.text[-1500:]
    entry = desk.driver.log(case)[-1]
    assert entry.effective_at == "2027-01-04T09:00:40+00:00"
    # Typed, the minute is what was meant: before the opening, it is refused.
    case = desk.driver.open(actor="headteacher:tom.reed").case
    _, values = desk.form("tom.reed", f"/cases/{case}/act/support")
    early = desk.as_("tom.reed").post(f"/cases/{case}/act/support",
                                      data={**values, "effective_default": ""})
    assert early.status_code == 422 and len(desk.driver.log(case)) == 1


@pytest.mark.parametrize("path", ["/cases/%00", "/cases/app-%00x/act/support", "/?q=%00",
                                  "/?q=a%00b", "/open/%00", "/cases/app-%00x/act/%00"])
def test_text_no_case_can_hold_is_no_case_on_both_databases_never_a_500(desk, path):
    for who in ("tom.reed", "it.desk"):
        page = desk.as_(who).get(path)
        assert page.status_code in (200, 404), (who, page.status_code, page.text[-500:])
        if path.startswith("/?"):
            assert page.status_code == 200 and "app-" not in page.text
    if "/act/" in path:
        _, values = desk.form("tom.reed", "/open/application")
        sent = desk.as_("tom.reed").post(path, data=values)
        assert sent.status_code == 404


def test_a_login_name_holding_nul_is_a_wrong_name_on_both_databases(desk):
    refused = desk.login("tom\x00reed", PASSWORD, TestClient(desk.app,
                                                               base_url="http://localhost"))
    assert refused.status_code == 401 and "Wrong username or password" in refused.text


def test_the_task_lists_pages_and_total_agree_when_a_cases_own_guards_close_its_tasks(desk):
    # Two certified cases whose letters were both sent offer the agency nothing today; they
    # stay in the count and on their pages with no task, so that paging stays whole.
    from datetime import date
    from workflows.read.tasks import Viewer, tasks
    done = []
    for received in ("2026-12-21", "2026-12-22"):
        case = desk.driver.to_certified(received=received)
        desk.driver.fire(case, "send_decision_letter", "agency:nas")
        desk.driver.fire(case, "send_written_feedback", "agency:nas",
                         {"feedback": "The standards are met."})
        done.append(case)
    waiting = desk.driver.open(actor="headteacher:tom.reed").case
    desk.driver.fire(waiting, "support", "headteacher:tom.reed", {"evaluation": "Strong."})
    desk.driver.fire(waiting, "submit_to_agency", "headteacher:tom.reed",
                     {"funding_declaration": {"declared_by": "Tom Reed", "source": "school"}})
    from notifications.render import render
    from storage.console import refresh_search
    from workflows.core.config import Config
    from workflows.engine.apply import Setting
    setting = Setting.of(Config(), render)
    refresh_search(desk.db)
    agency, today = Viewer("agency", "nas"), date(2027, 3, 1)
    pages = [tasks(desk.db, agency, today, 1, offset, None, setting) for offset in range(4)]
    assert {p.total for p in pages} == {3}
    rows = [r for p in pages for r in p.rows]
    assert sorted(r["case"] for r in rows) == sorted(done + [waiting])
    offered = {r["case"]: [t["trigger"] for t in r["tasks"]] for r in rows}
    assert offered[waiting] == ["agency_receive"]
    assert all(offered[case] == [] for case in done)
