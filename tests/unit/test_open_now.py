"""Whether a trigger is open on a case as it stands (workflows/engine/open_now.py): the case's
own guards say no, and what only the sent data or another case can tell is left to the engine."""
from __future__ import annotations

from datetime import date

from tests.builders import ASSESSOR, application_data, appointment_data
from workflows.core.config import Config
from workflows.engine.apply import Setting
from workflows.engine.open_now import refusal_now

SETTING = Setting.of(Config(), lambda *a, **k: None)
SCHEDULED = {"schedule_assessment": {"data": {"assessment_date": "2027-02-10",
                                              "assessor": ASSESSOR},
                                     "effective_date": "2027-01-11"}}


def open_now(kind, state, trigger, data, records=None, role="headteacher",
             today=date(2027, 2, 10), setting=SETTING):
    return refusal_now(setting, "app-0000000000", kind, state, data, records or {}, [],
                       trigger, role, today)


def test_a_guard_on_the_case_alone_refuses_before_anything_is_sent():
    internal = application_data("internal")
    assert "internally" in open_now("application", "supported", "forward_to_post_school",
                                    internal)
    assert open_now("application", "supported", "send_to_la", internal) is None
    assert open_now("application", "supported", "forward_to_post_school",
                    application_data("external")) is None
    early = open_now("application", "assessment_scheduled", "judge_met", internal, SCHEDULED,
                     role="assessor", today=date(2027, 2, 9))
    assert "before the assessment day" in early
    assert open_now("application", "assessment_scheduled", "judge_met", internal, SCHEDULED,
                    role="assessor") is None


def test_what_turns_on_the_data_sent_or_on_other_cases_is_left_to_the_engine():
    # unmet_standards are judged when sent; a school's live posts are other cases.
    assert open_now("application", "assessment_scheduled", "judge_not_met",
                    application_data(), SCHEDULED, role="assessor") is None
    limited = Setting.of(Config.model_validate({"policy": {"la_limit": "refuse"}}),
                         lambda *a, **k: None)
    la_funded = appointment_data(funding_source="school_development_grant")
    assert open_now("appointment", "post_agreed", "secure_funding", la_funded,
                    role="la_coordinator", setting=limited) is None


def test_a_trigger_the_state_does_not_offer_is_refused():
    assert open_now("application", "received", "judge_met", application_data()) is not None
