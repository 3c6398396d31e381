"""Names, schools, ids and references are one line, as a person gives them: a candidate named
"Ann\\r\\nBcc: ..." or a school "Hill\\r\\n\\r\\nInjected body" reached the letter's body as forged
lines, and a bidi control made the audit trail read otherwise (issue 26, point 10). Free text
keeps its line breaks, and an entry logged before the rule still replays."""
from __future__ import annotations

import pytest

from tests.builders import HEADTEACHER, Driver, application_data
from workflows.core.errors import InvalidDataError
from workflows.engine.modes import Live

FORGED = {
    "a candidate's name with a header": ({"candidate": {"name": "Ann\r\nBcc: evil@attacker.example",
                                                        "email": "ann.lee@hill.example.org"}},
                                         "candidate.name", "a line break"),
    "a school with a body": ({"school": {"name": "Hill\r\n\r\nInjected body"}}, "school.name",
                             "a line break"),
    "a right-to-left override in a name": ({"candidate": {"name": "Ann \u202eeeL",
                                                          "email": "ann.lee@hill.example.org"}},
                                           "candidate.name", "U+202E"),
    "a line separator in the post's school": ({"post": {"school": "Hill\u2028Primary",
                                                        "advertisement": "internal"}},
                                              "post.school", "a line break"),
}


@pytest.mark.parametrize("changes, key, says", FORGED.values(), ids=FORGED.keys())
def test_a_name_that_is_not_one_line_is_refused_naming_the_key(driver: Driver, changes, key,
                                                               says):
    before = driver.snapshot()
    with pytest.raises(InvalidDataError, match=key) as refused:
        driver.open(data=application_data(**changes))
    assert says in str(refused.value)
    assert driver.snapshot() == before


def test_free_text_keeps_its_line_breaks(driver: Driver):
    case = driver.open(at="2026-12-18").case
    driver.fire(case, "support", HEADTEACHER,
                {"evaluation": "Strong in class.\n\nLeads the maths department."},
                at="2027-01-05")
    assert driver.log(case)[-1].data.count("\\n") == 2


def test_a_name_logged_before_the_rule_still_replays(driver: Driver):
    # As an engine before the rule took it: the driver's teardown replays and verifies it.
    driver.engine.live = Live(validation=None)
    case = driver.open(data=application_data(candidate={"name": "Ann\nLee",
                                                        "email": "ann.lee@hill.example.org"}),
                       at="2026-12-18").case
    assert driver.log(case)[0].trigger == "open"
