import calendar
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.periods import Cadence, Interval, Period, add_months, shift, utc

UTC = UTC


def d(y: int, m: int, day: int, h: int = 0) -> datetime:
    return datetime(y, m, day, h, tzinfo=UTC)


def test_monthly_from_jan_31_keeps_the_anchor_day_across_a_leap_year() -> None:
    cadence = Cadence(Interval.MONTH)
    anchor = d(2028, 1, 31, 9)
    ends = [cadence.period(anchor, n).end for n in range(4)]
    assert ends == [d(2028, 2, 29, 9), d(2028, 3, 31, 9), d(2028, 4, 30, 9), d(2028, 5, 31, 9)]


def test_monthly_from_jan_31_in_a_common_year_ends_feb_28_then_mar_31() -> None:
    cadence = Cadence(Interval.MONTH)
    first, second = cadence.period(d(2027, 1, 31), 0), cadence.period(d(2027, 1, 31), 1)
    assert (first.start, first.end) == (d(2027, 1, 31), d(2027, 2, 28))
    assert (second.start, second.end) == (d(2027, 2, 28), d(2027, 3, 31))


def test_yearly_from_feb_29_lands_on_feb_28_then_back_on_feb_29() -> None:
    cadence = Cadence(Interval.YEAR)
    anchor = d(2028, 2, 29)
    ends = [cadence.period(anchor, n).end for n in range(4)]
    assert ends == [d(2029, 2, 28), d(2030, 2, 28), d(2031, 2, 28), d(2032, 2, 29)]


def test_weeks_and_days_are_exact_durations() -> None:
    anchor = d(2026, 3, 28)
    assert Cadence(Interval.WEEK, 2).period(anchor, 1) == Period(
        anchor + timedelta(weeks=2), anchor + timedelta(weeks=4)
    )
    assert Cadence(Interval.DAY, 1).period(anchor, 3).end == d(2026, 4, 1)


def test_quarterly_is_three_months_from_the_anchor() -> None:
    assert Cadence(Interval.MONTH, 3).period(d(2026, 11, 30), 1) == Period(d(2027, 2, 28), d(2027, 5, 30))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        utc(datetime(2026, 1, 1))


anchors = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC))
cadences = st.builds(Cadence, st.sampled_from(list(Interval)), st.integers(1, 12))


@given(anchors, cadences, st.integers(0, 60))
def test_consecutive_periods_are_contiguous_and_nonempty(anchor: datetime, cadence: Cadence, n: int) -> None:
    this, following = cadence.period(anchor, n), cadence.period(anchor, n + 1)
    assert this.start < this.end == following.start < following.end


@given(anchors, st.integers(0, 600))
def test_month_shift_keeps_the_anchor_day_or_the_month_end(anchor: datetime, months: int) -> None:
    shifted = add_months(anchor, months)
    month_length = calendar.monthrange(shifted.year, shifted.month)[1]
    assert shifted.day == min(anchor.day, month_length)
    assert (shifted.year - anchor.year) * 12 + shifted.month - anchor.month == months
    assert shifted.time() == anchor.time() and shifted.tzinfo == anchor.tzinfo


@given(anchors, cadences, st.integers(0, 60))
def test_periods_never_drift_from_the_anchor(anchor: datetime, cadence: Cadence, n: int) -> None:
    # Chaining from the previous end (Jan 31 -> Feb 28 -> Mar 28) would drift; anchoring cannot.
    assert cadence.period(anchor, n).end == shift(anchor, cadence.interval, (n + 1) * cadence.count)


@given(anchors, st.integers(0, 40))
def test_monthly_period_lengths_are_between_28_and_31_days(anchor: datetime, n: int) -> None:
    period = Cadence(Interval.MONTH).period(anchor, n)
    assert timedelta(days=28) <= period.end - period.start <= timedelta(days=31)
