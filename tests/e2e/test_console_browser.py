"""The web console end to end: `ast-engine web` started as a real process on a free port, driven
by headless Chromium (Debian's package, found or installed by tests/browser.py) through
Playwright. A person logs in, is refused a wrong password, searches, opens a case, reads a missed
deadline and its arithmetic, checks the audit page; a candidate named with markup stays text.
Screenshots of the search, case and audit pages go to each test's temporary folder."""
from __future__ import annotations

import pytest

from storage import users
from storage.db import Database
from storage.migrations import migrate
from tests.builders import Driver, application_data
from tests.web import served
from workflows.core.clock import FixedClock
from workflows.core.config import Config
from workflows.console.auth import hash_password
from workflows.engine import Engine
from workflows.core.times import parse_instant

PASSWORD = "correct horse battery"
INJECTED = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A database with three applications (one with a missed deadline, one whose candidate's
    name is markup), an account, and the console serving it; the business clock 1 March 2027."""
    folder = tmp_path_factory.mktemp("console")
    url = f"sqlite:///{folder / 'cases.db'}"
    db = Database(url)
    migrate(db, "2026-11-01T00:00:00+00:00")
    clock = FixedClock(parse_instant("2026-12-18"))
    driver = Driver(Engine(db, Config(), clock=clock), clock)
    missed = driver.open(at="2026-12-18").case
    driver.open(data=application_data(candidate={"name": INJECTED,
                                                 "email": "mark.up@hill.example.org"}),
                at="2026-12-21")
    certified = driver.to_certified(received="2027-01-04")
    driver.tick("2027-03-01")
    users.add_user(db, "ann", "auditor", hash_password(PASSWORD), "2027-03-01T09:00:00+00:00")
    db.dispose()
    with served(folder, "2027-03-01", url) as (base, log):
        yield {"base": base, "missed": missed, "certified": certified, "log": log}


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    tab = context.new_page()
    tab.blocked = []   # what the Content-Security-Policy stopped: nothing, it must be
    tab.on("console", lambda m: tab.blocked.append(m.text)
           if "Content Security Policy" in m.text else None)
    yield tab
    context.close()


def log_in(page, base: str, password: str = PASSWORD) -> None:
    page.goto(base + "/")
    assert page.url.startswith(base + "/login")
    page.fill("input[name=username]", "ann")
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def test_a_wrong_password_is_refused(site, page):
    log_in(page, site["base"], password="not the password")
    assert page.url.startswith(site["base"] + "/login")
    assert page.text_content("[role=alert]").strip() == "Wrong username or password."
    page.goto(site["base"] + "/audit")
    assert page.url.startswith(site["base"] + "/login")
    assert "failed login for 'ann'" in site["log"].read_text()


def test_log_in_search_open_a_case_and_read_its_missed_deadline(site, page, tmp_path):
    log_in(page, site["base"])
    assert page.url == site["base"] + "/"
    page.fill("input[name=q]", "ann lee")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/?q=ann+lee*")
    found = page.locator("table.results a").all_text_contents()
    assert sorted(found) == sorted([site["missed"], site["certified"]])   # both of Ann Lee's
    page.screenshot(path=str(tmp_path / "search.png"), full_page=True)

    page.click(f"a[href='/cases/{site['missed']}']")
    page.wait_for_url(f"**/cases/{site['missed']}")
    assert page.text_content("#state") == "received"
    row = page.locator("table.deadlines tr.missed")
    assert "headteacher_deadline" in row.text_content()
    assert "MISSED" in row.text_content()
    arithmetic = row.locator("details.arithmetic")
    assert not arithmetic.locator("pre").is_visible()
    arithmetic.locator("summary").click()
    assert "bank holiday: Christmas Day" in arithmetic.locator("pre").text_content()
    assert "due    Wed 2027-01-20" in arithmetic.locator("pre").text_content()
    assert page.locator("svg.statechart .state.current").count() == 1
    page.screenshot(path=str(tmp_path / "case.png"), full_page=True)
    assert page.blocked == []


def test_the_audit_page_says_both_chains_are_intact(site, page, tmp_path):
    log_in(page, site["base"])
    page.click("nav >> text=Audit")
    page.wait_for_url("**/audit")
    assert page.text_content("#verdict").startswith("intact")
    with page.expect_download() as download:
        page.click("form.export button")
    saved = tmp_path / "log.csv"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"\xef\xbb\xbf")
    assert "headteacher_deadline missed (due 2027-01-20)" in saved.read_text("utf-8-sig")
    page.screenshot(path=str(tmp_path / "audit.png"), full_page=True)
    assert page.blocked == []


def test_a_name_written_as_markup_is_shown_as_text_and_runs_nothing(site, page):
    log_in(page, site["base"])
    page.fill("input[name=q]", "mark.up@")
    page.press("input[name=q]", "Enter")
    page.wait_for_url("**/?q=*")
    name_cell = page.locator("table.results td").nth(1)
    assert name_cell.text_content() == INJECTED
    page.locator("table.results a").first.click()
    page.wait_for_url("**/cases/**")
    assert INJECTED in page.text_content("dl.data")
    assert page.evaluate("window.pwned") is None
    assert page.locator("img[src=x]").count() == 0


def test_the_filters_apply_as_soon_as_they_change(site, page):
    log_in(page, site["base"])
    page.select_option("select[name=state]", "certified")   # console.js submits the form
    page.wait_for_url("**state=certified*")
    assert page.locator("table.results a").all_text_contents() == [site["certified"]]
    assert page.blocked == []
