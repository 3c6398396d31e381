"""Behaviour of the working-day calendar (DOMAIN.md, "Calendar rules").

Every expected date below was counted by hand; the comment next to it lists
the days counted so that a failure can be checked against a paper calendar.
"""

from datetime import date, datetime, timezone

import pytest

from workflows.core.calendar import (
    LONDON,
    WorkingCalendar,
    fires_at,
    local_date,
    six_weeks_after,
)

ENGLAND = WorkingCalendar()
WALES = WorkingCalendar("wales")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# --- the worked examples from DOMAIN.md and the brief -----------------------


def test_twenty_working_days_after_a_friday_before_christmas_skips_the_bank_holidays():
    # Fri 2026-12-18 + 20: Dec 21-24 (4), Fri 25 Christmas, 26-27 weekend,
    # Mon 28 Boxing Day (observed), Dec 29-31 (7), Fri 1 Jan New Year,
    # Jan 4-8 (12), 11-15 (17), 18, 19, 20 (20).
    assert ENGLAND.add_working_days(date(2026, 12, 18), 20) == date(2027, 1, 20)


def test_a_deadline_in_winter_fires_at_london_midnight_which_is_utc_midnight():
    assert fires_at(date(2027, 1, 20)) == utc(2027, 1, 21, 0, 0)


def test_three_working_days_after_the_23rd_of_december_is_the_30th():
    # Wed 2026-12-23 + 3: Thu 24 (1), Fri 25 Christmas, 26-27 weekend,
    # Mon 28 Boxing Day (observed), Tue 29 (2), Wed 30 (3).
    assert ENGLAND.add_working_days(date(2026, 12, 23), 3) == date(2026, 12, 30)


def test_three_working_weeks_across_easter_skip_good_friday_and_easter_monday():
    # Wed 2027-03-24 + 15: Thu 25 (1), Fri 26 Good Friday, 27-28 weekend,
    # Mon 29 Easter Monday, Mar 30-Apr 2 (5), Apr 5-9 (10), Apr 12-16 (15).
    assert ENGLAND.add_working_days(date(2027, 3, 24), 15) == date(2027, 4, 16)


def test_forty_working_days_in_may_and_june_skip_both_may_bank_holidays():
    # Fri 2027-04-30 + 40: Mon 3 May Day, May 4-7 (4), 10-14 (9), 17-21 (14),
    # 24-28 (19), Mon 31 Spring bank holiday, Jun 1-4 (23), 7-11 (28),
    # 14-18 (33), 21-25 (38), Mon 28 (39), Tue 29 (40).
    assert ENGLAND.add_working_days(date(2027, 4, 30), 40) == date(2027, 6, 29)


def test_a_deadline_in_summer_fires_at_london_midnight_which_is_2300_utc_the_day_before():
    assert fires_at(date(2027, 6, 29)) == utc(2027, 6, 29, 23, 0)


# --- substitute days and other bank holidays --------------------------------


def test_christmas_on_a_saturday_makes_the_following_monday_and_tuesday_bank_holidays():
    # 2027: Sat 25 Dec Christmas, Sun 26 Boxing Day -> Mon 27 and Tue 28 substitute.
    assert ENGLAND.bank_holiday(date(2027, 12, 27)) == "Christmas Day (observed)"
    assert ENGLAND.bank_holiday(date(2027, 12, 28)) == "Boxing Day (observed)"
    assert not ENGLAND.is_working_day(date(2027, 12, 27))
    assert not ENGLAND.is_working_day(date(2027, 12, 28))


def test_five_working_days_over_christmas_2027_skip_both_substitute_days_and_new_year():
    # Thu 2027-12-23 + 5: Fri 24 (1), 25-26 weekend, Mon 27 and Tue 28
    # substitutes, Wed 29 (2), Thu 30 (3), Fri 31 (4), Sat 1 Jan 2028 New Year
    # and Sun 2, Mon 3 New Year's Day (observed), Tue 4 (5).
    assert ENGLAND.add_working_days(date(2027, 12, 23), 5) == date(2028, 1, 4)


def test_a_weekday_that_is_not_a_bank_holiday_has_no_holiday_name():
    assert ENGLAND.bank_holiday(date(2027, 12, 29)) is None


def test_easter_2028_skips_good_friday_the_14th_and_easter_monday_the_17th_of_april():
    # Thu 2028-04-13 + 2: Fri 14 Good Friday, 15-16 weekend, Mon 17 Easter
    # Monday, Tue 18 (1), Wed 19 (2).
    assert ENGLAND.add_working_days(date(2028, 4, 13), 2) == date(2028, 4, 19)


def test_the_late_summer_bank_holiday_pushes_a_friday_deadline_to_tuesday():
    # Fri 2027-08-27 + 1: 28-29 weekend, Mon 30 Late Summer bank holiday, Tue 31 (1).
    assert ENGLAND.add_working_days(date(2027, 8, 27), 1) == date(2027, 8, 31)


@pytest.mark.parametrize(
    "friday, monday, name",
    [
        # One-off bank holidays proclaimed for a single year.
        (date(2022, 9, 16), date(2022, 9, 19), "State Funeral of Queen Elizabeth II"),
        (date(2023, 5, 5), date(2023, 5, 8), "Coronation of Charles III"),
    ],
)
def test_one_off_bank_holidays_on_a_monday_push_the_next_working_day_to_tuesday(
    friday, monday, name
):
    # Friday + 1: Saturday, Sunday, Monday one-off holiday, Tuesday (1).
    assert ENGLAND.bank_holiday(monday) == name
    assert ENGLAND.add_working_days(friday, 1) == date.fromordinal(monday.toordinal() + 1)


def test_the_platinum_jubilee_moved_the_spring_bank_holiday_into_a_four_day_weekend():
    # Wed 2022-06-01 + 1: Thu 2 Spring bank holiday (moved from Mon 30 May),
    # Fri 3 Platinum Jubilee, 4-5 weekend, Mon 6 (1).
    assert ENGLAND.bank_holiday(date(2022, 5, 30)) is None
    assert ENGLAND.add_working_days(date(2022, 6, 1), 1) == date(2022, 6, 6)


def test_bank_holidays_are_known_for_years_far_ahead():
    assert ENGLAND.bank_holiday(date(2035, 12, 25)) == "Christmas Day"


# --- where counting starts ---------------------------------------------------


def test_one_working_day_after_a_friday_is_the_following_monday():
    # Fri 2027-01-22 + 1: 23-24 weekend, Mon 25 (1).
    assert ENGLAND.add_working_days(date(2027, 1, 22), 1) == date(2027, 1, 25)


def test_counting_from_a_saturday_starts_the_day_after_it():
    # Sat 2027-01-23 + 1: Sun 24, Mon 25 (1).
    assert ENGLAND.add_working_days(date(2027, 1, 23), 1) == date(2027, 1, 25)


def test_counting_from_good_friday_starts_after_it_and_skips_easter_monday():
    # Fri 2027-03-26 (Good Friday) + 1: 27-28 weekend, Mon 29 Easter Monday, Tue 30 (1).
    assert ENGLAND.add_working_days(date(2027, 3, 26), 1) == date(2027, 3, 30)


def test_counting_from_boxing_day_on_a_sunday_skips_both_substitute_days():
    # Sun 2027-12-26 + 3: Mon 27, Tue 28 substitutes, Wed 29 (1), Thu 30 (2), Fri 31 (3).
    assert ENGLAND.add_working_days(date(2027, 12, 26), 3) == date(2027, 12, 31)


@pytest.mark.parametrize("n", [0, -1])
def test_a_count_below_one_is_refused(n):
    with pytest.raises(ValueError, match="at least 1"):
        ENGLAND.add_working_days(date(2027, 1, 22), n)


# --- LA closure days ---------------------------------------------------------


def test_an_la_closure_day_pushes_a_deadline_back_by_one_day():
    # Mon 2027-07-19 + 5 with no closures: 20, 21, 22, 23 (4), 24-25 weekend, Mon 26 (5).
    assert ENGLAND.add_working_days(date(2027, 7, 19), 5) == date(2027, 7, 26)
    # With Fri 23 closed: 20, 21, 22 (3), 23 closed, 24-25 weekend, 26 (4), Tue 27 (5).
    closed = WorkingCalendar(closures=frozenset({date(2027, 7, 23)}))
    assert closed.add_working_days(date(2027, 7, 19), 5) == date(2027, 7, 27)


def test_two_closure_days_either_side_of_a_weekend_push_a_deadline_back_by_two_days():
    # Mon 2027-07-19 + 5 with 23 and 26 closed: 20, 21, 22 (3), 23 closed,
    # 24-25 weekend, 26 closed, Tue 27 (4), Wed 28 (5).
    closed = WorkingCalendar(closures=frozenset({date(2027, 7, 23), date(2027, 7, 26)}))
    assert closed.add_working_days(date(2027, 7, 19), 5) == date(2027, 7, 28)


def test_a_closure_day_on_a_weekend_changes_nothing():
    closed = WorkingCalendar(closures=frozenset({date(2027, 7, 24)}))
    assert closed.add_working_days(date(2027, 7, 19), 5) == date(2027, 7, 26)


def test_closure_days_given_as_a_list_are_kept_as_a_frozenset():
    calendar = WorkingCalendar(closures=[date(2027, 7, 23)])
    assert calendar.closures == frozenset({date(2027, 7, 23)})
    assert calendar == WorkingCalendar(closures=frozenset({date(2027, 7, 23)}))
    hash(calendar)


# --- nations -------------------------------------------------------------------


def test_wales_has_exactly_the_same_bank_holidays_as_england_in_the_holidays_package():
    day = date(2022, 1, 1)
    while day <= date(2028, 12, 31):
        assert WALES.bank_holiday(day) == ENGLAND.bank_holiday(day), day
        day = date.fromordinal(day.toordinal() + 1)


def test_wales_counts_the_christmas_example_the_same_way_as_england():
    assert WALES.add_working_days(date(2026, 12, 18), 20) == date(2027, 1, 20)


@pytest.mark.parametrize("calendar", [ENGLAND, WALES], ids=["england", "wales"])
@pytest.mark.parametrize(
    "scottish_holiday",
    [
        date(2026, 1, 2),  # Fri, New Year Holiday (Scotland)
        date(2027, 1, 4),  # Mon, New Year Holiday (observed) (Scotland)
        date(2027, 8, 2),  # Mon, Summer bank holiday (Scotland)
        date(2026, 11, 30),  # Mon, St Andrew's Day (Scotland)
    ],
)
def test_scotland_only_bank_holidays_are_working_days_in_england_and_wales(
    calendar, scottish_holiday
):
    assert calendar.bank_holiday(scottish_holiday) is None
    assert calendar.is_working_day(scottish_holiday)


def test_the_day_after_new_years_day_2026_is_a_working_day_in_england_and_wales():
    # Thu 2026-01-01 + 1: Fri 2 (1); only Scotland has 2 January off.
    assert ENGLAND.add_working_days(date(2026, 1, 1), 1) == date(2026, 1, 2)
    assert WALES.add_working_days(date(2026, 1, 1), 1) == date(2026, 1, 2)


@pytest.mark.parametrize("nation", ["scotland", "England", "northern ireland", ""])
def test_an_unknown_nation_is_refused_by_name(nation):
    with pytest.raises(ValueError, match=repr(nation)):
        WorkingCalendar(nation)


# --- explaining why a day does not count ---------------------------------------


def test_why_not_working_gives_none_for_an_ordinary_weekday():
    assert ENGLAND.why_not_working(date(2027, 1, 25)) is None
    assert ENGLAND.is_working_day(date(2027, 1, 25))


def test_why_not_working_names_saturday_and_sunday():
    assert ENGLAND.why_not_working(date(2027, 1, 23)) == "Saturday"
    assert ENGLAND.why_not_working(date(2027, 1, 24)) == "Sunday"


def test_why_not_working_names_the_bank_holiday():
    assert ENGLAND.why_not_working(date(2026, 12, 25)) == "bank holiday: Christmas Day"
    assert ENGLAND.why_not_working(date(2027, 3, 29)) == "bank holiday: Easter Monday"


def test_a_bank_holiday_falling_on_a_weekend_is_explained_as_the_weekend_day():
    # Christmas 2027 is a Saturday; its substitute Monday carries the holiday.
    assert ENGLAND.bank_holiday(date(2027, 12, 25)) == "Christmas Day"
    assert ENGLAND.why_not_working(date(2027, 12, 25)) == "Saturday"


def test_why_not_working_names_an_la_closure_day():
    closed = WorkingCalendar(closures=frozenset({date(2027, 7, 23)}))
    assert closed.why_not_working(date(2027, 7, 23)) == "LA closure day"


def test_a_closure_day_that_is_also_a_bank_holiday_is_explained_as_the_bank_holiday():
    closed = WorkingCalendar(closures=frozenset({date(2027, 8, 30)}))
    assert closed.why_not_working(date(2027, 8, 30)) == "bank holiday: Late Summer Bank Holiday"


def test_skipped_between_lists_the_christmas_days_with_their_reasons():
    assert ENGLAND.skipped_between(date(2026, 12, 23), date(2026, 12, 30)) == [
        (date(2026, 12, 25), "bank holiday: Christmas Day"),
        (date(2026, 12, 26), "Saturday"),  # Boxing Day, substituted on Monday 28
        (date(2026, 12, 27), "Sunday"),
        (date(2026, 12, 28), "bank holiday: Boxing Day (observed)"),
    ]


def test_skipped_between_lists_closure_days_alongside_the_weekend():
    closed = WorkingCalendar(closures=frozenset({date(2027, 7, 23)}))
    assert closed.skipped_between(date(2027, 7, 19), date(2027, 7, 27)) == [
        (date(2027, 7, 23), "LA closure day"),
        (date(2027, 7, 24), "Saturday"),
        (date(2027, 7, 25), "Sunday"),
    ]


def test_skipped_between_excludes_the_start_day_and_includes_the_end_day():
    # (Sat 23, Sun 24]: the Saturday is the start, so only Sunday is listed.
    assert ENGLAND.skipped_between(date(2027, 1, 23), date(2027, 1, 24)) == [
        (date(2027, 1, 24), "Sunday")
    ]


def test_skipped_between_explains_exactly_the_days_a_deadline_stepped_over():
    start = date(2026, 12, 18)
    due = ENGLAND.add_working_days(start, 20)
    skipped = ENGLAND.skipped_between(start, due)
    assert (due - start).days - len(skipped) == 20
    assert [reason for _, reason in skipped if reason.startswith("bank holiday")] == [
        "bank holiday: Christmas Day",
        "bank holiday: Boxing Day (observed)",
        "bank holiday: New Year's Day",
    ]


def test_describe_names_the_nation_and_says_when_there_are_no_closure_days():
    assert ENGLAND.describe() == "England, no LA closure days"


def test_describe_lists_closure_days_in_date_order():
    calendar = WorkingCalendar("wales", frozenset({date(2027, 7, 26), date(2027, 7, 23)}))
    assert calendar.describe() == "Wales, LA closure days 2027-07-23, 2027-07-26"


# --- six weeks ---------------------------------------------------------------------


def test_six_weeks_after_crosses_a_month_end_by_calendar_days():
    # 2027-01-20 + 42: Jan 31 is +11, Feb 28 is +39, Mar 3 is +42.
    assert six_weeks_after(date(2027, 1, 20)) == date(2027, 3, 3)


def test_six_weeks_after_counts_the_29th_of_february_in_a_leap_year():
    # 2028-01-20 + 42: Jan 31 is +11, Feb 29 is +40, Mar 2 is +42.
    assert six_weeks_after(date(2028, 1, 20)) == date(2028, 3, 2)


def test_six_weeks_after_is_not_moved_off_a_bank_holiday():
    # 2027-11-15 + 42: Nov 30 is +15, Dec 27 is +42 (Christmas Day observed).
    assert six_weeks_after(date(2027, 11, 15)) == date(2027, 12, 27)


# --- firing instants and the clock changes --------------------------------------------


@pytest.mark.parametrize(
    "due, fires",
    [
        # Clocks go forward at 01:00 UTC on Sun 2027-03-28.
        (date(2027, 3, 27), utc(2027, 3, 28, 0, 0)),  # midnight before the change: GMT
        (date(2027, 3, 28), utc(2027, 3, 28, 23, 0)),  # next midnight: BST
        # Clocks go back at 01:00 UTC on Sun 2027-10-31.
        (date(2027, 10, 30), utc(2027, 10, 30, 23, 0)),  # midnight before the change: BST
        (date(2027, 10, 31), utc(2027, 11, 1, 0, 0)),  # next midnight: GMT
    ],
)
def test_a_timer_fires_at_london_midnight_across_the_clock_changes(due, fires):
    assert fires_at(due) == fires


def test_fires_at_returns_an_aware_utc_datetime():
    fired = fires_at(date(2027, 6, 29))
    assert fired.tzinfo is timezone.utc


def test_a_timer_fires_on_the_first_instant_of_the_london_day_after_its_due_date():
    for due in [date(2027, 1, 20), date(2027, 3, 28), date(2027, 6, 29), date(2027, 10, 31)]:
        fired = fires_at(due)
        assert local_date(fired) == date.fromordinal(due.toordinal() + 1)
        assert fired.astimezone(LONDON).time().isoformat() == "00:00:00"


# --- local dates of instants --------------------------------------------------------


def test_a_late_evening_instant_in_summer_is_already_the_next_day_in_london():
    assert local_date(utc(2027, 6, 29, 23, 30)) == date(2027, 6, 30)


def test_a_late_evening_instant_in_winter_is_the_same_day_in_london():
    assert local_date(utc(2027, 1, 20, 23, 30)) == date(2027, 1, 20)


def test_local_date_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="naive"):
        local_date(datetime(2027, 1, 20, 12, 0))
