"""Who a case binds, and so who may see it (states/parties.py): one rule for the console's
pages, its task list, its search and the API."""
from __future__ import annotations

from states.parties import may_see, parties_of, party_of, sees_every_case
from storage.console import joined_parties, party_pattern, split_parties

OPENED = {"candidate": {"name": "Ann Lee", "email": "Ann.Lee@hill.example.org"},
          "headteacher": {"id": "tom.reed", "name": "Tom Reed", "email": "t@hill.example.org"}}


def test_an_application_binds_its_headteacher_its_scheduled_assessor_and_its_candidate():
    records = {"schedule_assessment": {"data": {"assessor": {"id": "as-17", "name": "C"}}}}
    assert parties_of("application", OPENED, records) == {
        "headteacher:tom.reed", "assessor:as-17", "candidate:ann.lee@hill.example.org"}


def test_a_change_of_headteacher_binds_the_new_head_and_no_longer_the_old():
    records = {"change_headteacher": {"data": {"headteacher": {"id": "may.green"}}}}
    found = parties_of("application", OPENED, records)
    assert "headteacher:may.green" in found and "headteacher:tom.reed" not in found


def test_an_erased_case_binds_no_one_and_is_read_without_error():
    erased = {"candidate": "erased", "headteacher": "erased"}
    assert parties_of("application", erased, {"schedule_assessment": {"data": "erased"}}) == set()


def test_a_review_concerns_the_headteacher_of_the_application_it_reviews():
    review = {"application": "app-1", "assessor": {"id": "as-17"},
              "candidate": {"email": "ann@hill.example.org"}}
    found = parties_of("review", review, {}, lambda app: {"headteacher:tom.reed",
                                                          "assessor:as-9"})
    assert found == {"headteacher:tom.reed", "assessor:as-17", "candidate:ann@hill.example.org"}


def test_bound_roles_see_their_own_cases_and_the_offices_see_every_case():
    parties = parties_of("application", OPENED, {})
    assert may_see("headteacher", "tom.reed", parties)
    assert not may_see("headteacher", "tom", parties)          # not a part of another's id
    assert not may_see("headteacher", "other.head", parties)
    assert may_see("candidate", "ANN.LEE@hill.example.org", parties)
    for role in ("agency", "la_coordinator", "review_coordinator", "post_school", "operator",
                 "auditor"):
        assert sees_every_case(role) and may_see(role, "anyone", set())
    assert party_of("candidate", "A@B.org") == "candidate:a@b.org"


def test_an_appointment_is_seen_by_the_head_who_opened_it_or_was_keyed_in_for():
    # DOMAIN.md binds no head to an appointment; its log names whom it was opened by or for.
    post = {"school": {"name": "Vale Secondary School"}}
    assert parties_of("appointment", post, {}, opened_by="headteacher:v.vale") == {
        "headteacher:v.vale"}
    assert parties_of("appointment", post, {}, opened_by="la_coordinator:la1") == set()
    assert parties_of("application", OPENED, {}, opened_by="headteacher:x") == parties_of(
        "application", OPENED, {})


def test_the_search_tables_column_finds_a_party_whole_never_a_part_of_another():
    joined = joined_parties({"headteacher:tom.reed", "assessor:as_1"})
    assert split_parties(joined) == {"headteacher:tom.reed", "assessor:as_1"}
    assert joined.startswith("\x1f") and joined.endswith("\x1f")
    assert party_pattern("assessor:as_1") == "%\x1fassessor:as\\_1\x1f%"
    assert joined_parties(set()) == ""
