"""Acting through the console end to end: `ast-engine web` as a real process, driven by headless
Chromium through Playwright. An operator keys an application from the AST1 to its certificate
through the forms alone, paper keyed in late among them; a headteacher's account finds its task
with its due date and supports, at 390 px wide and by the keyboard alone; another headteacher
gets a 404. The task list and a form are photographed; with AST_ENGINE_TEST_SCREENSHOTS=1 into
tests/e2e/screenshots/, the README's pictures."""
from __future__ import annotations

from pathlib import Path

import pytest

from storage import users
from storage.db import Database
from storage.migrations import migrate
from tests.e2e.test_console_browser import browser  # noqa: F401  (the module's Chromium)
from tests.web import served
from workflows.console.auth import hash_password

PASSWORD = "correct horse battery"
NOW = "2027-03-01T12:00"   # the business clock of the console under test
# The README's screenshots are written here when AST_ENGINE_TEST_SCREENSHOTS=1 (then commit
# them); otherwise into the run's own folder, so that a test run leaves the tree as it was.
README_SHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    import os
    return README_SHOTS if os.environ.get("AST_ENGINE_TEST_SCREENSHOTS") == "1" \
        else tmp_path_factory.mktemp("screenshots")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("front-door")
    url = f"sqlite:///{folder / 'cases.db'}"
    db = Database(url)
    migrate(db, "2026-11-01T00:00:00+00:00")
    hashed = hash_password(PASSWORD)
    for name, role in (("it.desk", "operator"), ("tom.reed", "headteacher"),
                       ("other.head", "headteacher")):
        users.add_user(db, name, role, hashed, "2027-01-01T09:00:00+00:00")
    db.dispose()
    with served(folder, NOW, url) as (base, log):
        yield {"base": base, "log": log, "db": url}


def new_page(browser, width: int = 1280):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.blocked = []   # what the Content-Security-Policy stopped: nothing, it must be
    page.on("console", lambda m: page.blocked.append(m.text)
            if "Content Security Policy" in m.text else None)
    return page


def log_in(page, base: str, name: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def keyed(page, base: str, path: str, fields: dict[str, str], *, on_behalf_of: str,
          effective_at: str | None = None) -> str:
    """An operator's paper form: the form at `path`, prefilled as `example` prints, with these
    fields changed; sent, it lands on the case with the new entry marked. Returns the case."""
    page.goto(base + path)
    for name, value in fields.items():
        control = page.locator(f"[name='{name}']")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    page.fill("input[name=on_behalf_of]", on_behalf_of)
    if effective_at:
        page.fill("input[name=effective_at]", effective_at)
    page.click("button.primary")
    page.wait_for_url("**/cases/*?entry=*")
    assert page.locator("li.entry.new").count() == 1, page.content()
    return page.url.split("/cases/")[1].split("?")[0]


def test_an_operator_keys_an_application_from_the_ast1_to_the_certificate(site, browser, shots):
    base, page = site["base"], new_page(browser)
    log_in(page, base, "it.desk")
    case = keyed(page, base, "/open/application", {"candidate.name": "Ann Lee"},
                 on_behalf_of="headteacher:tom.reed", effective_at="2027-01-04T09:00")
    keyed(page, base, f"/cases/{case}/act/support", {}, on_behalf_of="headteacher:tom.reed",
          effective_at="2027-01-05T10:00")
    page.goto(base + f"/cases/{case}/act/submit_to_agency")
    page.screenshot(path=str(shots / "form.png"), full_page=True)
    keyed(page, base, f"/cases/{case}/act/submit_to_agency",
          {"funding_declaration.source": "school"}, on_behalf_of="headteacher:tom.reed",
          effective_at="2027-01-06T10:00")
    keyed(page, base, f"/cases/{case}/act/agency_receive", {}, on_behalf_of="agency:naa",
          effective_at="2027-01-08T10:00")
    keyed(page, base, f"/cases/{case}/act/schedule_assessment",
          {"assessment_date": "2027-02-10"}, on_behalf_of="agency:naa",
          effective_at="2027-01-11T10:00")
    # the assessor's judgement keyed in now (the form's default), weeks after the paper ones
    page.goto(base + f"/cases/{case}/act/judge_met")
    assert page.input_value("input[name=on_behalf_of]") == "assessor:as-17"   # as scheduled
    assert page.input_value("input[name=effective_at]") == NOW
    page.click("button.primary")
    page.wait_for_url("**/cases/*?entry=6*")
    assert page.text_content("#state") == "certified"
    timeline = page.locator("ol.timeline li").all_text_contents()
    assert len(timeline) == 6 and all("operator:it.desk" in t for t in timeline)
    assert "keyed in" in timeline[1] and "late" in page.locator(
        "ol.timeline li").nth(1).inner_html()
    assert page.blocked == []


def test_a_headteacher_finds_its_task_and_supports_by_keyboard_at_390_px(site, browser, shots):
    base = site["base"]
    desk = new_page(browser)
    log_in(desk, base, "it.desk")
    case = keyed(desk, base, "/open/application", {"candidate.name": "Raj Singh",
                                                    "candidate.email": "raj@hill.example.org"},
                 on_behalf_of="headteacher:tom.reed", effective_at="2027-02-25T09:00")
    phone = new_page(browser, width=390)
    log_in(phone, base, "tom.reed")
    phone.goto(base + "/tasks")
    row = phone.locator("table.tasks tr", has_text=case)
    # 20 working days after Thu 25 February 2027 on the school's calendar: Thu 25 March
    assert row.locator("time").get_attribute("datetime") == "2027-03-25"
    assert "working days left" in row.text_content()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(shots / "tasks-390px.png"), full_page=True)
    phone.goto(base + f"/cases/{case}/act/support")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390   # no sideways scroll
    for _ in range(80):   # the keyboard alone: Tab to the button, Enter
        phone.keyboard.press("Tab")
        if phone.evaluate("document.activeElement.classList.contains('primary')"):
            break
    else:
        pytest.fail("the submit button is not reached by Tab")
    phone.keyboard.press("Enter")
    phone.wait_for_url(f"**/cases/{case}?entry=2*")
    assert phone.text_content("#state") == "supported"
    entry = phone.locator("li.entry.new").text_content()
    assert "headteacher:tom.reed" in entry and "support" in entry
    assert phone.blocked == []


def test_another_headteacher_gets_a_404_for_that_application(site, browser, shots):
    base = site["base"]
    desk = new_page(browser)
    log_in(desk, base, "it.desk")
    case = keyed(desk, base, "/open/application", {"candidate.name": "Lee Park",
                                                    "candidate.email": "lee@hill.example.org"},
                 on_behalf_of="headteacher:tom.reed", effective_at="2027-02-26T09:00")
    desk.goto(base + "/tasks")   # every party's tasks, as the operator sees them
    assert case in desk.content()
    desk.screenshot(path=str(shots / "tasks.png"), full_page=True)
    other = new_page(browser)
    log_in(other, base, "other.head")
    answer = other.goto(base + f"/cases/{case}")
    assert answer.status == 404
    other.goto(base + "/tasks")
    assert case not in other.content()
    other.goto(base + "/?q=Lee")
    assert case not in other.locator("main table").all_text_contents().__str__()
