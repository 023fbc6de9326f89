"""The lifecycle actions as pure functions over plain values (shared.domain.subscriptions and
plan_changes): what each decides, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain import subscriptions as rules
from shared.domain.errors import Conflict, Invalid
from shared.domain.periods import Cadence, Interval, Period
from shared.domain.plan_changes import PlanTerms, change_plan
from shared.domain.proration import BilledItem, Proration, change_lines, charge_at_own_rate
from shared.domain.subscriptions import Lifecycle, SubscriptionStatus

MONTHLY, YEARLY = Cadence(Interval.MONTH), Cadence(Interval.YEAR)
START = datetime(2026, 1, 31, tzinfo=UTC)
ACTIVE = Lifecycle(SubscriptionStatus.ACTIVE, START, 1, START, datetime(2026, 2, 28, tzinfo=UTC))
NOW = datetime(2026, 2, 14, 12, tzinfo=UTC)


def plan(id: str, amount: int, cadence: Cadence = MONTHLY, currency: str = "USD", active: bool = True) -> PlanTerms:
    return PlanTerms(id, id.title(), id, amount, currency, cadence, active)


def test_cancel_now_ends_at_once_and_at_period_end_only_marks_it() -> None:
    now = rules.cancel(ACTIVE, NOW, at_period_end=False)
    assert (now.status, now.ended_at, now.canceled_at) == (SubscriptionStatus.CANCELED, NOW, NOW)
    later = rules.cancel(ACTIVE, NOW, at_period_end=True)
    assert (later.status, later.cancel_at_period_end, later.ended_at) == (SubscriptionStatus.ACTIVE, True, None)
    assert rules.resume_cancel(later) == replace(ACTIVE, canceled_at=None)


def test_a_paused_subscription_can_end_now_but_not_at_period_end() -> None:
    paused = rules.pause(ACTIVE, NOW)
    assert (paused.status, paused.paused_at) == (SubscriptionStatus.PAUSED, NOW)
    assert rules.cancel(paused, NOW, at_period_end=False).status is SubscriptionStatus.CANCELED
    with pytest.raises(Conflict):
        rules.cancel(paused, NOW, at_period_end=True)


def test_resume_re_anchors_at_the_resume_time() -> None:
    resumed = rules.resume(rules.pause(ACTIVE, NOW), NOW + timedelta(days=10), MONTHLY)
    at = NOW + timedelta(days=10)
    assert (resumed.status, resumed.anchor, resumed.cycle, resumed.paused_at) == (
        SubscriptionStatus.ACTIVE,
        at,
        1,
        None,
    )
    assert (resumed.period_start, resumed.period_end) == (at, MONTHLY.boundary(at, 1))
    with pytest.raises(Conflict):
        rules.resume(ACTIVE, NOW, MONTHLY)  # only a paused subscription resumes


def test_a_plan_change_refuses_the_same_an_archived_or_another_currency_plan() -> None:
    old = plan("basic", 1000)
    with pytest.raises(Conflict):
        change_plan(ACTIVE, old, old, NOW, Proration.CREATE_PRORATIONS)
    with pytest.raises(Conflict):
        change_plan(ACTIVE, old, plan("gone", 2000, active=False), NOW, Proration.CREATE_PRORATIONS)
    with pytest.raises(Invalid):
        change_plan(ACTIVE, old, plan("euro", 2000, currency="EUR"), NOW, Proration.CREATE_PRORATIONS)


@given(
    old_amount=st.integers(0, 10**9),
    new_amount=st.integers(0, 10**9),
    seconds=st.integers(0, 28 * 86_400),
    cadence=st.sampled_from([MONTHLY, YEARLY, Cadence(Interval.WEEK), Cadence(Interval.DAY)]),
    proration=st.sampled_from(list(Proration)),
)
def test_a_plan_change_prorates_the_rest_and_keeps_the_period(
    old_amount: int, new_amount: int, seconds: int, cadence: Cadence, proration: Proration
) -> None:
    at = ACTIVE.period_start + timedelta(seconds=seconds)
    old, new = plan("old", old_amount), plan("new", new_amount, cadence)
    billed = [BilledItem(old_amount, ACTIVE.period_start, ACTIVE.period_end)]  # the cycle line
    change = change_plan(ACTIVE, old, new, at, proration, billed)
    period = Period(ACTIVE.period_start, ACTIVE.period_end)
    if proration is Proration.NONE or at >= ACTIVE.period_end:
        assert change.lines == []
    else:
        credit, charge = change_lines(old_amount, new_amount, period, at)
        if cadence != MONTHLY:  # the new plan's own rate: per one of its periods from the period start
            charge = charge_at_own_rate(new_amount, cadence, ACTIVE.anchor, ACTIVE.cycle, period, at)
        assert [line.amount for line in change.lines] == [credit, charge]
        assert all(line.period_end == ACTIVE.period_end and line.proration for line in change.lines)
    # The period and anchor stay; renewal re-anchors at the period end if the cadence differs.
    assert change.lifecycle == ACTIVE


def test_a_trial_changes_plan_without_proration() -> None:
    trial = replace(ACTIVE, status=SubscriptionStatus.TRIALING)
    assert change_plan(trial, plan("a", 1000), plan("b", 5000), NOW, Proration.ALWAYS_INVOICE).lines == []
