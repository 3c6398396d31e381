"""A process definition is checked when it loads, and so is the configuration."""
from __future__ import annotations

from enum import Enum

import pytest

from states import PROCESSES
from states.spec import InvalidDefinition, Process, StartTimer, Transition
from workflows.core.config import ConfigError, load


class Door(Enum):
    shut = "shut"        # closed
    open_ = "open"       # open
    locked = "locked"    # locked
    gone = "gone"        # removed


def door(transitions, final=frozenset({Door.gone}), timers=()):
    return Process(kind="door", states=Door, final=final, timers=timers,
                   opening=Transition("open", (), Door.shut, ("operator",)),
                   transitions=tuple(transitions))


def test_a_state_no_trigger_reaches_is_named_as_unreachable():
    with pytest.raises(InvalidDefinition, match="unreachable state.*locked"):
        door([Transition("swing", (Door.shut,), Door.open_, ("candidate",)),
              Transition("remove", (Door.open_,), Door.gone, ("candidate",))])


def test_a_non_final_state_with_no_way_out_is_named_as_a_dead_end():
    with pytest.raises(InvalidDefinition, match="no way out: locked"):
        door([Transition("swing", (Door.shut,), Door.open_, ("candidate",)),
              Transition("lock", (Door.shut,), Door.locked, ("candidate",)),
              Transition("remove", (Door.open_,), Door.gone, ("candidate",))])


def test_a_trigger_to_a_state_outside_the_enum_is_named():
    class Other(Enum):
        elsewhere = "elsewhere"
    with pytest.raises(InvalidDefinition, match="unknown state"):
        door([Transition("swing", (Door.shut,), Other.elsewhere, ("candidate",))])


def test_a_trigger_that_starts_an_undeclared_timer_is_refused():
    with pytest.raises(InvalidDefinition, match="undeclared timer 'alarm'"):
        door([Transition("swing", (Door.shut,), Door.open_, ("candidate",),
                         effects=(StartTimer("alarm"),)),
              Transition("lock", (Door.open_,), Door.locked, ("candidate",)),
              Transition("remove", (Door.locked,), Door.gone, ("candidate",))])


def test_the_three_processes_use_the_public_vocabulary_of_the_domain():
    assert set(PROCESSES) == {"application", "review", "appointment"}
    assert {s.value for s in PROCESSES["application"].states} == {
        "received", "rejected", "not_supported", "supported", "awaiting_shortlist",
        "shortlisted", "not_shortlisted", "with_la", "submitted", "with_agency",
        "assessment_scheduled",
        "certified", "not_met", "under_review", "closed_not_met", "withdrawn"}
    assert {t.name for t in PROCESSES["application"].timers} == {
        "headteacher_deadline", "assessment_window", "decision_letter", "written_feedback",
        "review_window"}
    # `refused` stays only so that a review refused before 2026-11-30 can be read and replayed:
    # no trigger a person may fire leads to it (Annex D gives no one the power to refuse).
    assert {s.value for s in PROCESSES["review"].states} == {
        "requested", "refused", "assessor_commenting", "with_review_officer", "certified",
        "original_stands", "withdrawn"}
    into_refused = [r for r in PROCESSES["review"].all_transitions()
                    if r.dest is not None and r.dest.value == "refused"]
    assert [(r.trigger, r.retired) for r in into_refused] == [("refuse", True)]
    assert {s.value for s in PROCESSES["appointment"].states} == {
        "post_agreed", "funding_secured", "advertised", "shortlisting", "appointed",
        "ast2_submitted", "filled", "leaving", "vacated", "cancelled"}
    assert {t.name for t in PROCESSES["appointment"].timers} == {"ast2_notification", "post_ends"}
    assert "change_headteacher" in PROCESSES["application"].triggers()
    assert {"give_notice", "timer:post_ends"} <= set(PROCESSES["appointment"].triggers())


def test_built_in_defaults_need_no_file(tmp_path):
    config = load(None, environ={})
    assert config.calendar.nation == "england"
    assert config.contacts.la_coordinator == "ast.coordinator@la.example.org"
    assert config.policy.ast2_working_days == 10


def test_a_toml_file_and_environment_variables_set_values(tmp_path):
    path = tmp_path / "la.toml"
    path.write_text('[calendar]\nnation = "wales"\nclosures = ["2027-07-23"]\n')
    config = load(path, environ={"AST_ENGINE_POLICY_LA_LIMIT": "refuse",
                                 "AST_ENGINE_POLICY_LA_FUNDED_SOURCES": "school_development_grant",
                                 "AST_ENGINE_CALENDAR_CLOSURES": "2027-07-23,2027-07-26"})
    assert config.calendar.nation == "wales"
    assert [d.isoformat() for d in config.calendar.closures] == ["2027-07-23", "2027-07-26"]
    assert config.policy.la_limit == "refuse"
    assert config.policy.la_funded_sources == ("school_development_grant",)
    assert config.working_calendar().is_working_day(config.calendar.closures[0]) is False


def test_an_unknown_key_is_refused_naming_it(tmp_path):
    path = tmp_path / "la.toml"
    path.write_text("[calendar]\nnaton = \"wales\"\n")
    with pytest.raises(ConfigError, match="calendar.naton"):
        load(path, environ={})


def test_a_wrong_type_is_refused_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match="policy.ast2_working_days"):
        load(None, environ={"AST_ENGINE_POLICY_AST2_WORKING_DAYS": "ten"})


@pytest.mark.parametrize("line, key", [
    ('[delivery]\nsmtp_port = "25"', "delivery.smtp_port"),
    ("[policy]\nast2_working_days = true", "policy.ast2_working_days"),
    ("[delivery]\nmax_attempts = 8.0", "delivery.max_attempts"),
    ('[web]\nsession_hours = "8"', "web.session_hours"),
    ('[daemon]\nmetrics_port = "9100"', "daemon.metrics_port"),
])
def test_a_number_written_as_text_a_boolean_or_a_fraction_in_the_file_is_refused(tmp_path, line,
                                                                                  key):
    # pydantic would read "25" as 25 and true as 1: a file says what it means or is refused.
    path = tmp_path / "la.toml"
    path.write_text(line + "\n")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load(path, environ={})


def test_numbers_from_the_environment_are_read_from_their_digits(tmp_path):
    path = tmp_path / "la.toml"
    path.write_text("[web]\nsession_hours = 8\n[daemon]\ntick_seconds = 1\n")
    config = load(path, environ={"AST_ENGINE_DELIVERY_SMTP_PORT": "2525",
                                 "AST_ENGINE_WEB_SESSION_HOURS": "1.5"})
    assert config.delivery.smtp_port == 2525 and config.web.session_hours == 1.5
    assert config.daemon.tick_seconds == 1.0
    with pytest.raises(ConfigError, match="delivery.smtp_port"):
        load(None, environ={"AST_ENGINE_DELIVERY_SMTP_PORT": "25.0"})


def test_a_missing_file_is_refused_with_its_name(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml", environ={})


def test_a_relay_login_without_tls_is_refused_naming_both_keys():
    from workflows.core.config import ConfigError, load
    with pytest.raises(ConfigError, match='delivery: smtp_username is set while smtp_tls is '
                                          '"none"'):
        load(environ={"AST_ENGINE_DELIVERY_SMTP_USERNAME": "ast-engine"})
    for tls in ("starttls", "implicit"):
        assert load(environ={"AST_ENGINE_DELIVERY_SMTP_USERNAME": "ast-engine",
                             "AST_ENGINE_DELIVERY_SMTP_TLS": tls}).delivery.smtp_tls == tls


def test_the_consoles_trusted_proxies_are_none_by_default_and_addresses_only(tmp_path):
    assert load(environ={}).web.trusted_proxies == ()
    path = tmp_path / "la.toml"
    path.write_text('[web]\ntrusted_proxies = ["127.0.0.1", "10.0.0.0/24", "::1"]\n')
    assert load(path, environ={}).web.trusted_proxies == ("127.0.0.1", "10.0.0.0/24", "::1")
    assert load(environ={"AST_ENGINE_WEB_TRUSTED_PROXIES": "127.0.0.1, ::1"}
                ).web.trusted_proxies == ("127.0.0.1", "::1")
    for anyone in ("*", "localhost", "10.0.0.1/24"):
        with pytest.raises(ConfigError, match=r"web.trusted_proxies.0: .* is not an IP address"):
            load(environ={"AST_ENGINE_WEB_TRUSTED_PROXIES": anyone})
