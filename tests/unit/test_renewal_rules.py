"""The renewal rules for one subscription, as properties over random histories."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.periods import Cadence, Interval
from shared.domain.renewal import State, Terms, advance
from shared.domain.subscriptions import SubscriptionStatus

START = datetime(2026, 1, 31, 10, tzinfo=UTC)


def fresh(cadence: Cadence, trial_days: int = 0) -> State:
    if trial_days:
        end = START + timedelta(days=trial_days)
        return State(SubscriptionStatus.TRIALING, end, 0, START, end)
    return State(SubscriptionStatus.ACTIVE, START, 1, START, cadence.boundary(START, 1))


cadences = st.builds(Cadence, st.sampled_from(list(Interval)), st.integers(1, 3))
offsets = st.lists(st.integers(1, 400 * 86_400), min_size=1, max_size=6)


@given(cadences, st.integers(0, 20), offsets, st.integers(0, 30), st.integers(0, 400))
def test_one_long_step_equals_many_short_steps(
    cadence: Cadence, trial: int, steps: list[int], due_days: int, grace: int
) -> None:
    terms = Terms(cadence, 1000, due_days, grace)
    times = sorted(START + timedelta(seconds=s) for s in steps)
    one = advance(
        fresh(cadence, trial), terms, times[-1], oldest_unpaid_due=None if trial else START + timedelta(days=due_days)
    )

    state, invoices = fresh(cadence, trial), []
    unpaid = None if trial else START + timedelta(days=due_days)
    for moment in times:
        outcome = advance(state, terms, moment, oldest_unpaid_due=unpaid)
        state, invoices = outcome.state, invoices + outcome.invoices
        unpaid = outcome.unpaid_since
    assert state == one.state
    # Same periods, dates and due dates (pending items ride on each run's first invoice).
    substance = lambda items: [(i.period, i.created_at, i.due_at) for i in items]  # noqa: E731
    assert substance(invoices) == substance(one.invoices)


@given(cadences, st.integers(1, 800 * 86_400))
def test_without_dunning_every_period_up_to_now_is_invoiced_once_and_contiguously(
    cadence: Cadence, seconds: int
) -> None:
    now = START + timedelta(seconds=seconds)
    outcome = advance(fresh(cadence), Terms(cadence, 1000, 0, 10_000), now, oldest_unpaid_due=None)
    periods = [i.period for i in outcome.invoices]
    assert all(a.end == b.start for a, b in zip(periods, periods[1:]))
    assert outcome.state.period_start <= now < outcome.state.period_end
    assert outcome.state.period_end == cadence.boundary(START, outcome.state.cycle)
    expected = sum(1 for n in range(2, outcome.state.cycle + 1) if cadence.boundary(START, n - 1) <= now)
    assert len(periods) == expected


@given(cadences, st.integers(0, 60), st.integers(1, 400 * 86_400))
def test_an_unpaid_invoice_ends_the_subscription_exactly_at_the_grace_deadline(
    cadence: Cadence, grace: int, seconds: int
) -> None:
    now = START + timedelta(seconds=seconds)
    outcome = advance(fresh(cadence), Terms(cadence, 1000, 0, grace), now, oldest_unpaid_due=START)
    deadline = START + timedelta(days=grace)
    if deadline <= now and deadline <= cadence.boundary(START, 1):
        assert outcome.dunned and outcome.state.ended_at == deadline and outcome.invoices == []
    if outcome.dunned:
        assert outcome.state.status is SubscriptionStatus.CANCELED
        assert all(i.period.start <= outcome.state.ended_at for i in outcome.invoices)


def test_a_pending_cancel_ends_at_the_period_end_without_an_invoice() -> None:
    cadence = Cadence(Interval.MONTH)
    state = State(SubscriptionStatus.ACTIVE, START, 1, START, cadence.boundary(START, 1), cancel_at_period_end=True)
    outcome = advance(state, Terms(cadence, 1000), START + timedelta(days=200))
    assert (outcome.state.status, outcome.state.ended_at, outcome.invoices, outcome.ended) == (
        SubscriptionStatus.CANCELED,
        datetime(2026, 2, 28, 10, tzinfo=UTC),
        [],
        True,
    )


def test_paused_and_canceled_subscriptions_do_not_move() -> None:
    cadence = Cadence(Interval.MONTH)
    for status in (SubscriptionStatus.PAUSED, SubscriptionStatus.CANCELED):
        state = State(status, START, 1, START, cadence.boundary(START, 1))
        assert advance(state, Terms(cadence, 1000), START + timedelta(days=400)).state == state


@given(
    cadences,
    st.integers(0, 20),
    st.integers(1, 800 * 86_400),
    st.integers(0, 30),
    st.integers(0, 400),
    st.integers(1, 5),
    st.booleans(),
)
def test_many_capped_steps_equal_one_uncapped_run(
    cadence: Cadence, trial: int, seconds: int, due_days: int, grace: int, cap: int, paid: bool
) -> None:
    """The engine's per-batch invoice budget: a capped subscription stays due and the next
    batch continues it; the end result is the same, and every step stays within its cap."""
    terms = Terms(cadence, 0 if paid else 1000, due_days, grace)
    now = START + timedelta(seconds=seconds)
    first_unpaid = None if trial or paid else START + timedelta(days=due_days)
    one = advance(fresh(cadence, trial), terms, now, oldest_unpaid_due=first_unpaid)

    state, invoices, unpaid = fresh(cadence, trial), [], first_unpaid
    for _ in range(10_000):  # bounded: each capped step issues at least one invoice
        outcome = advance(state, terms, now, oldest_unpaid_due=unpaid, max_invoices=cap)
        assert len(outcome.invoices) <= cap
        state, invoices, unpaid = outcome.state, invoices + outcome.invoices, outcome.unpaid_since
        if not outcome.capped:
            break
        # The intermediate state is consistent: as of its last boundary, still due.
        assert outcome.invoices and state.period_start == outcome.invoices[-1].period.start <= now
        assert state.period_end <= now
        assert state.status is (
            SubscriptionStatus.PAST_DUE
            if unpaid is not None and unpaid < state.period_start
            else SubscriptionStatus.ACTIVE
        )
    else:
        raise AssertionError("capped steps never finished")
    assert state == one.state
    substance = lambda items: [(i.period, i.created_at, i.due_at) for i in items]  # noqa: E731
    assert substance(invoices) == substance(one.invoices)


def test_a_cap_below_one_is_refused() -> None:
    cadence = Cadence(Interval.DAY)
    with pytest.raises(ValueError):
        advance(fresh(cadence), Terms(cadence, 1000), START + timedelta(days=3), max_invoices=0)
