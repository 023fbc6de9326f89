"""The plan-change and resume rules as pure functions: what was billed and is unused, the new
plan's own rate, where a period re-anchors, the resume credit and the invoice range."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain import subscriptions as rules
from shared.domain.errors import Invalid
from shared.domain.invoices import LineDraft, PendingItem, require_in_range, resume_credit
from shared.domain.money import MAX_AMOUNT
from shared.domain.periods import Cadence, Interval, Period, is_cycle, next_period
from shared.domain.proration import BilledItem, charge_at_own_rate, prorate, unused_billed
from shared.domain.renewal import State, Terms, advance
from shared.domain.subscriptions import Lifecycle, SubscriptionStatus

DAY, WEEK, MONTH, YEAR = (Cadence(i) for i in (Interval.DAY, Interval.WEEK, Interval.MONTH, Interval.YEAR))
APRIL = Period(datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC))
MID_APRIL = datetime(2026, 4, 16, tzinfo=UTC)
cadences = st.builds(Cadence, st.sampled_from(list(Interval)), st.integers(1, 3))


def test_unused_billed_takes_each_item_pro_rata_to_its_own_interval() -> None:
    cycle = BilledItem(1000, APRIL.start, APRIL.end)
    assert unused_billed([cycle], MID_APRIL, APRIL.end) == 500
    # 10.00 -> 100.00 with `none` billed nothing more: the credit is half of 10.00, not of 100.00.
    assert unused_billed([cycle], MID_APRIL, APRIL.end) == 500
    # Apr 11: credit -666.67 and charge +6666.67 for the last 20 days; at Apr 21 half of each is unused.
    apr11, apr21 = datetime(2026, 4, 11, tzinfo=UTC), datetime(2026, 4, 21, tzinfo=UTC)
    items = [cycle, BilledItem(-667, apr11, APRIL.end), BilledItem(6667, apr11, APRIL.end)]
    assert unused_billed(items, apr21, APRIL.end) == 3333  # 333.33 - 333.5 + 3333.5, rounded once
    # Items outside the rest contribute nothing (last period's prorations, a later window).
    assert unused_billed([BilledItem(999, APRIL.start - timedelta(days=30), APRIL.start)], MID_APRIL, APRIL.end) == 0


@given(amount=st.integers(-(10**12), 10**12), seconds=st.integers(-86_400, 31 * 86_400))
def test_a_single_cycle_line_is_unused_exactly_as_prorated(amount: int, seconds: int) -> None:
    at = APRIL.start + timedelta(seconds=seconds)
    assert unused_billed([BilledItem(amount, APRIL.start, APRIL.end)], at, APRIL.end) == prorate(amount, APRIL, at)


@given(
    amounts=st.lists(st.integers(0, 10**9), min_size=1, max_size=5),
    starts=st.lists(st.integers(0, 29 * 86_400), min_size=5, max_size=5),
    seconds=st.integers(0, 30 * 86_400),
)
def test_the_unused_rest_never_exceeds_what_was_billed(amounts: list[int], starts: list[int], seconds: int) -> None:
    items = [BilledItem(a, APRIL.start + timedelta(seconds=s), APRIL.end) for a, s in zip(amounts, starts)]
    unused = unused_billed(items, APRIL.start + timedelta(seconds=seconds), APRIL.end)
    assert 0 <= unused <= sum(amounts)


@pytest.mark.parametrize(
    ("cadence", "amount", "expected"),
    [
        (DAY, 100, 1500),  # 1.00 a day for the 15 days left
        (WEEK, 700, 1500),  # 7.00 a week
        (MONTH, 1000, 500),  # the same interval: the current period itself (today's rule)
        (YEAR, 12000, 493),  # 120.00 x 15/365 = 4.93
        (Cadence(Interval.MONTH, 3), 3000, 495),  # a quarter from Apr 1 is 91 days: 30.00 x 15/91 = 4.945
    ],
)
def test_the_new_plan_is_charged_at_its_own_rate(cadence: Cadence, amount: int, expected: int) -> None:
    assert charge_at_own_rate(amount, cadence, APRIL.start, 1, APRIL, MID_APRIL) == expected


@pytest.mark.parametrize(("old", "new"), [(a, b) for a in (DAY, WEEK, MONTH, YEAR) for b in (DAY, WEEK, MONTH, YEAR)])
def test_every_interval_pair_charges_per_one_new_plan_period_from_the_period_start(old: Cadence, new: Cadence) -> None:
    period = old.period(APRIL.start, 0)
    at = period.start + (period.end - period.start) / 4
    unit = period if old == new else Period(period.start, new.boundary(period.start, 1))
    share = Fraction(int((period.end - at).total_seconds()), int((unit.end - unit.start).total_seconds()))
    expected = int(1_000_003 * share + Fraction(1, 2))
    assert charge_at_own_rate(1_000_003, new, period.start, 1, period, at) == expected


def test_the_anchor_moves_only_when_the_cadence_at_the_period_end_differs() -> None:
    jan31 = datetime(2027, 1, 31, tzinfo=UTC)
    first = MONTH.period(jan31, 0)  # Jan 31 - Feb 28
    # Monthly -> yearly -> monthly within the period: still a monthly period from Jan 31.
    assert next_period(MONTH, jan31, 1, first) == (jan31, 2, Period(first.end, datetime(2027, 3, 31, tzinfo=UTC)))
    # Yearly at the period end: re-anchored there.
    assert next_period(YEAR, jan31, 1, first) == (first.end, 1, Period(first.end, datetime(2028, 2, 28, tzinfo=UTC)))
    # 12 months and a year make the same boundaries: no re-anchor.
    yearly = YEAR.period(jan31, 0)
    assert next_period(Cadence(Interval.MONTH, 12), jan31, 1, yearly)[0] == jan31


@given(cadence=cadences, cycle=st.integers(1, 40), other=cadences)
def test_a_period_of_the_cadence_continues_and_any_other_re_anchors_at_its_end(
    cadence: Cadence, cycle: int, other: Cadence
) -> None:
    anchor = datetime(2028, 1, 31, 10, tzinfo=UTC)
    current = cadence.period(anchor, cycle - 1)
    assert is_cycle(cadence, anchor, cycle, current)
    assert next_period(cadence, anchor, cycle, current) == (anchor, cycle + 1, cadence.period(anchor, cycle))
    new_anchor, new_cycle, period = next_period(other, anchor, cycle, current)
    assert period.start == current.end and new_cycle >= 1
    assert period == other.period(new_anchor, new_cycle - 1)


@settings(max_examples=50, deadline=None)
@given(old=cadences, new=cadences, steps=st.lists(st.integers(1, 200 * 86_400), min_size=1, max_size=5))
def test_after_a_cadence_change_many_short_advances_equal_one_long_one(
    old: Cadence, new: Cadence, steps: list[int]
) -> None:
    start = datetime(2027, 1, 31, tzinfo=UTC)
    state = State(SubscriptionStatus.ACTIVE, start, 1, start, old.boundary(start, 1))  # then switched to `new`
    terms = Terms(new, 1000, 30, 10_000)
    times = sorted(start + timedelta(seconds=s) for s in steps)
    one = advance(state, terms, times[-1])
    many, periods, unpaid = state, [], None
    for moment in times:
        outcome = advance(many, terms, moment, oldest_unpaid_due=unpaid)
        many, periods, unpaid = outcome.state, periods + [i.period for i in outcome.invoices], outcome.unpaid_since
    assert many == one.state and periods == [i.period for i in one.invoices]
    assert all(a.end == b.start for a, b in zip(periods, periods[1:]))  # contiguous, none billed twice


def _pending(*amounts: int) -> list[PendingItem]:
    return [
        PendingItem(f"ii_{n}", LineDraft("item", a, MID_APRIL, APRIL.end, "plan", True)) for n, a in enumerate(amounts)
    ]


def test_the_resume_credit_is_the_whole_unused_rest_even_beyond_the_invoices_charges() -> None:
    billed = [BilledItem(3000, APRIL.start, APRIL.end)]
    apr11 = datetime(2026, 4, 11, tzinfo=UTC)
    [line] = resume_credit(3000, "plan", [], billed, APRIL, apr11)
    assert (line.amount, line.period_start, line.period_end, line.proration) == (-2000, apr11, APRIL.end, True)
    # Beyond the charges the invoice's total is negative: that goes to the balance, never lost.
    assert [c.amount for c in resume_credit(500, "plan", [], billed, APRIL, apr11)] == [-2000]
    assert [c.amount for c in resume_credit(500, "plan", _pending(-600), billed, APRIL, apr11)] == [-2000]
    assert resume_credit(3000, "plan", [], billed, APRIL, APRIL.end + timedelta(days=3)) == []  # period over


@settings(max_examples=50, deadline=None)
@given(
    charge=st.integers(0, 10**6),
    pending=st.lists(st.integers(-(10**6), 10**6), max_size=3),
    unused=st.integers(0, 10**6),
)
def test_a_resume_credit_is_exactly_the_unused_rest(charge: int, pending: list[int], unused: int) -> None:
    billed = [BilledItem(unused, APRIL.start, APRIL.end)]
    credits = resume_credit(charge, "plan", _pending(*pending), billed, APRIL, APRIL.start)
    assert sum(c.amount for c in credits) == -unused


def test_resuming_in_the_instant_the_period_began_resumes_that_period() -> None:
    active = Lifecycle(SubscriptionStatus.ACTIVE, APRIL.start, 1, APRIL.start, APRIL.end)
    paused = rules.pause(active, APRIL.start)
    assert rules.resumes_in_place(paused, APRIL.start)
    assert rules.resume(paused, APRIL.start, MONTH) == replace(active, paused_at=None)
    later = rules.resume(rules.pause(active, MID_APRIL), MID_APRIL, MONTH)
    assert (later.anchor, later.period_start) == (MID_APRIL, MID_APRIL)


def test_an_invoice_out_of_the_databases_range_is_refused() -> None:
    require_in_range([MAX_AMOUNT], "it")
    require_in_range([-MAX_AMOUNT, MAX_AMOUNT, MAX_AMOUNT], "it")
    for amounts in ([MAX_AMOUNT + 1, -5], [MAX_AMOUNT, 1], [-MAX_AMOUNT, -1]):
        with pytest.raises(Invalid, match=str(MAX_AMOUNT)):
            require_in_range(amounts, "it")
