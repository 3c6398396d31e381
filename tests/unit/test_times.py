"""Behaviour of time parsing and formatting (CLI.md, "Times")."""

from datetime import date, datetime, timedelta, timezone

import pytest
from freezegun import freeze_time

from workflows.core.calendar import LONDON, fires_at
from workflows.core.times import TimeFormatError, parse_date, parse_instant, to_utc, utc_iso


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# --- parse_instant ---------------------------------------------------------------


def test_a_bare_date_in_winter_means_0900_london_which_is_0900_utc():
    assert parse_instant("2027-01-20") == utc(2027, 1, 20, 9, 0)


def test_a_bare_date_in_summer_means_0900_london_which_is_0800_utc():
    assert parse_instant("2027-06-29") == utc(2027, 6, 29, 8, 0)


def test_a_bare_date_on_the_days_the_clocks_change_uses_that_mornings_offset():
    # 09:00 on 2027-03-28 is after the 01:00 UTC change to BST; on 2027-10-31
    # it is after the change back to GMT.
    assert parse_instant("2027-03-28") == utc(2027, 3, 28, 8, 0)
    assert parse_instant("2027-10-31") == utc(2027, 10, 31, 9, 0)


def test_a_bare_date_does_not_depend_on_the_season_of_the_machine_clock():
    with freeze_time("2027-07-15 12:00:00"):
        assert parse_instant("2027-01-20") == utc(2027, 1, 20, 9, 0)
    with freeze_time("2027-01-15 12:00:00"):
        assert parse_instant("2027-06-29") == utc(2027, 6, 29, 8, 0)


def test_a_date_time_without_an_offset_in_summer_is_london_wall_clock_in_bst():
    assert parse_instant("2027-06-29T14:30") == utc(2027, 6, 29, 13, 30)
    assert parse_instant("2027-06-29T14:30:15") == utc(2027, 6, 29, 13, 30, 15)


def test_a_date_time_without_an_offset_in_winter_is_london_wall_clock_in_gmt():
    assert parse_instant("2027-01-20T14:30") == utc(2027, 1, 20, 14, 30)


def test_a_space_may_separate_the_date_and_the_time():
    assert parse_instant("2027-06-29 14:30") == utc(2027, 6, 29, 13, 30)


def test_fractional_seconds_are_kept():
    assert parse_instant("2027-01-20T14:30:00.250Z") == utc(2027, 1, 20, 14, 30, 0, 250000)


def test_an_explicit_offset_is_kept_as_that_instant():
    assert parse_instant("2027-06-29T14:30:00+02:00") == utc(2027, 6, 29, 12, 30)
    assert parse_instant("2027-01-20T14:30:00-05:00") == utc(2027, 1, 20, 19, 30)


def test_z_means_utc_even_in_summer():
    assert parse_instant("2027-06-29T14:30:00Z") == utc(2027, 6, 29, 14, 30)
    assert parse_instant("2027-06-29T14:30Z") == utc(2027, 6, 29, 14, 30)
    assert parse_instant("2027-06-29T14:30:00+00:00") == utc(2027, 6, 29, 14, 30)


def test_parsed_instants_are_always_in_utc():
    for text in ["2027-06-29", "2027-06-29T14:30", "2027-06-29T14:30:00+02:00"]:
        assert parse_instant(text).tzinfo is timezone.utc


def test_a_wall_clock_time_in_the_spring_gap_is_read_with_the_winter_offset():
    # 01:30 on 2027-03-28 never happens in London (01:00 GMT jumps to 02:00 BST);
    # fold=0 reads it as 01:30 GMT, the same instant as 02:30 BST.
    assert parse_instant("2027-03-28T01:30") == utc(2027, 3, 28, 1, 30)
    assert parse_instant("2027-03-28T02:30") == utc(2027, 3, 28, 1, 30)
    assert parse_instant("2027-03-28T00:30") == utc(2027, 3, 28, 0, 30)


def test_a_wall_clock_time_in_the_autumn_fold_is_read_as_its_first_occurrence():
    # 01:30 on 2027-10-31 happens twice: 00:30Z in BST, then 01:30Z in GMT.
    assert parse_instant("2027-10-31T01:30") == utc(2027, 10, 31, 0, 30)
    # The second occurrence is reachable with an explicit offset.
    assert parse_instant("2027-10-31T01:30+00:00") == utc(2027, 10, 31, 1, 30)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "tomorrow",
        "2027-1-20",
        "20270120",
        "2027-W03-3",
        "2027-13-01",
        "2027-02-30",
        "2027-01-20T25:00",
        "2027-01-20T14",
        "2027-01-20T14:30+0100",
        "2027-01-20T14:30 Europe/London",
        " 2027-01-20",
        "2027-01-20\n",
        "２０２７-01-20",
    ],
)
def test_garbage_is_refused_with_a_message_naming_the_text_and_the_accepted_forms(text):
    with pytest.raises(TimeFormatError) as caught:
        parse_instant(text)
    message = str(caught.value)
    assert repr(text) in message
    assert "2027-01-20T14:30:00Z" in message


def test_a_time_format_error_is_a_value_error():
    assert issubclass(TimeFormatError, ValueError)


def test_a_value_that_is_not_text_is_refused():
    with pytest.raises(TimeFormatError):
        parse_instant(20270120)


# --- parse_date -------------------------------------------------------------------


def test_a_date_parses_to_a_plain_date():
    assert parse_date("2027-01-20") == date(2027, 1, 20)
    assert parse_date("2028-02-29") == date(2028, 2, 29)


@pytest.mark.parametrize(
    "text",
    ["", "2027-1-20", "20270120", "2027-01-20T09:00", "2027-02-29", "20-01-2027", "2027-01-20 "],
)
def test_anything_but_yyyy_mm_dd_is_refused_as_a_date_with_a_message_naming_the_text(text):
    with pytest.raises(TimeFormatError, match="YYYY-MM-DD") as caught:
        parse_date(text)
    assert repr(text) in str(caught.value)


# --- utc_iso and to_utc -------------------------------------------------------------


def test_utc_iso_writes_utc_midnight_with_a_plus_zero_offset():
    assert utc_iso(utc(2027, 1, 21, 0, 0)) == "2027-01-21T00:00:00+00:00"


def test_utc_iso_converts_a_london_summer_time_to_utc():
    assert utc_iso(datetime(2027, 6, 30, 0, 0, tzinfo=LONDON)) == "2027-06-29T23:00:00+00:00"


def test_utc_iso_converts_a_fixed_offset_to_utc():
    plus_two = timezone(timedelta(hours=2))
    assert utc_iso(datetime(2027, 6, 29, 14, 30, tzinfo=plus_two)) == "2027-06-29T12:30:00+00:00"


def test_utc_iso_shows_microseconds_only_when_there_are_some():
    assert utc_iso(utc(2027, 1, 20, 9, 0, 0, 123)) == "2027-01-20T09:00:00.000123+00:00"
    assert utc_iso(utc(2027, 1, 20, 9, 0, 0)) == "2027-01-20T09:00:00+00:00"


def test_utc_iso_writes_a_timer_firing_instant_as_cli_output_expects():
    assert utc_iso(fires_at(date(2027, 1, 20))) == "2027-01-21T00:00:00+00:00"
    assert utc_iso(fires_at(date(2027, 6, 29))) == "2027-06-29T23:00:00+00:00"


def test_utc_iso_output_parses_back_to_the_same_instant():
    instant = utc(2027, 10, 31, 1, 30, 5, 42)
    assert parse_instant(utc_iso(instant)) == instant


def test_utc_iso_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="naive"):
        utc_iso(datetime(2027, 1, 20, 9, 0))


def test_to_utc_keeps_the_instant_and_changes_the_zone_to_utc():
    london = datetime(2027, 6, 29, 14, 30, tzinfo=LONDON)
    converted = to_utc(london)
    assert converted == london
    assert converted.tzinfo is timezone.utc
    assert converted.hour == 13


def test_to_utc_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="naive"):
        to_utc(datetime(2027, 6, 29, 14, 30))
