"""The subscription state machine: statuses, which actions each allows, and the first-period rule.

Every rule about "may this subscription do X now?" is answered here, once. The SQL of the
renewal engine and the partial indexes it relies on are built from the same sets
(`BILLABLE`, `DUNNABLE`), and a test fails if any status list drifts from them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from shared.domain.errors import Conflict
from shared.domain.periods import Cadence, Period


class SubscriptionStatus(StrEnum):
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    PAUSED = "paused"
    CANCELED = "canceled"


# Statuses whose periods roll over and get invoiced by the renewal run.
BILLABLE: frozenset[SubscriptionStatus] = frozenset(
    {SubscriptionStatus.TRIALING, SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE}
)
# Statuses the dunning steps apply to inside a period (overdue -> past_due; grace -> canceled).
DUNNABLE: frozenset[SubscriptionStatus] = frozenset({SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE})


class Action(StrEnum):
    """What a client may ask of a subscription."""

    CANCEL_NOW = "cancel"
    CANCEL_AT_PERIOD_END = "cancel at period end"
    RESUME_CANCEL = "resume cancel"
    PAUSE = "pause"
    RESUME = "resume"
    CHANGE_PLAN = "change plan"


# The transition table: the actions each status allows. Anything else is a 409.
# (resume cancel also needs a pending cancel; see `require_pending_cancel`.)
ALLOWED: dict[SubscriptionStatus, frozenset[Action]] = {
    SubscriptionStatus.TRIALING: frozenset(
        {Action.CANCEL_NOW, Action.CANCEL_AT_PERIOD_END, Action.RESUME_CANCEL, Action.CHANGE_PLAN}
    ),
    SubscriptionStatus.ACTIVE: frozenset(
        {Action.CANCEL_NOW, Action.CANCEL_AT_PERIOD_END, Action.RESUME_CANCEL, Action.PAUSE, Action.CHANGE_PLAN}
    ),
    SubscriptionStatus.PAST_DUE: frozenset(
        {Action.CANCEL_NOW, Action.CANCEL_AT_PERIOD_END, Action.RESUME_CANCEL, Action.PAUSE, Action.CHANGE_PLAN}
    ),
    SubscriptionStatus.PAUSED: frozenset({Action.CANCEL_NOW, Action.RESUME_CANCEL, Action.RESUME}),
    SubscriptionStatus.CANCELED: frozenset(),
}

_DONE = {
    Action.CANCEL_NOW: "canceled",
    Action.CANCEL_AT_PERIOD_END: "canceled at period end",
    Action.RESUME_CANCEL: "uncanceled",
    Action.PAUSE: "paused",
    Action.RESUME: "resumed",
    Action.CHANGE_PLAN: "changed to another plan",
}


def allows(status: SubscriptionStatus | str, action: Action) -> bool:
    return action in ALLOWED[SubscriptionStatus(status)]


def require(status: SubscriptionStatus | str, action: Action) -> None:
    """Refuse (409) an action the subscription's status does not allow."""
    if not allows(status, action):
        raise Conflict(f"a {SubscriptionStatus(status)} subscription cannot be {_DONE[action]}", field="status")


def require_pending_cancel(status: SubscriptionStatus | str, cancel_at_period_end: bool) -> None:
    """Resuming a cancel needs one pending (and a status that allows it)."""
    if not cancel_at_period_end or not allows(status, Action.RESUME_CANCEL):
        raise Conflict("the subscription has no pending cancellation", field="cancel_at_period_end")


# The dunning clock, stated once (shared/db/status_sql.py renders the same comparisons for
# the renewal engine's SQL, so every path sees the same boundary):
# - an invoice is overdue strictly after its due date (`due_at < now`);
# - the grace period runs out at due date + grace days, inclusive (`due_at + grace <= now`):
#   with grace 0 a subscription is canceled at its invoice's due date itself.


def is_overdue(due_at: datetime, now: datetime) -> bool:
    return due_at < now


def grace_deadline(due_at: datetime, grace_days: int) -> datetime:
    return due_at + timedelta(days=grace_days)


def grace_expired(due_at: datetime, grace_days: int, now: datetime) -> bool:
    return grace_deadline(due_at, grace_days) <= now


def status_for(status: SubscriptionStatus | str, *, overdue: bool) -> SubscriptionStatus:
    """The one rule for active vs past_due, applied on every transition (renewal, dunning,
    resume, pay, void): a subscription that bills is past_due exactly when one of its
    invoices is overdue, else active. Trialing, paused and canceled are kept."""
    status = SubscriptionStatus(status)
    if status in DUNNABLE:
        return SubscriptionStatus.PAST_DUE if overdue else SubscriptionStatus.ACTIVE
    return status


def has_upcoming_invoice(status: SubscriptionStatus | str, cancel_at_period_end: bool) -> None:
    """Only a subscription that will renew has a next invoice to preview (else 409)."""
    if SubscriptionStatus(status) not in BILLABLE:
        raise Conflict(f"a {SubscriptionStatus(status)} subscription has no upcoming invoice", field="status")
    if cancel_at_period_end:
        raise Conflict("the subscription cancels at period end: there is no upcoming invoice", field="status")


@dataclass(frozen=True)
class Start:
    """What a new subscription looks like at `now`.

    `cycle` is the index of the current period's end boundary counted from the anchor:
    current_period_end == cadence.boundary(anchor, cycle) always holds, so a renewal is
    "cycle += 1, the new period ends at boundary(cycle)" and never drifts.
    """

    status: SubscriptionStatus
    anchor: datetime
    cycle: int
    period: Period
    trial_end: datetime | None

    @property
    def invoices_now(self) -> bool:
        """A trial bills nothing until it ends; the first invoice's period starts at trial end."""
        return self.status is SubscriptionStatus.ACTIVE


def start(now: datetime, cadence: Cadence, trial_days: int) -> Start:
    if trial_days > 0:
        trial_end = now + timedelta(days=trial_days)
        # During the trial the "current period" is the trial itself; billing periods
        # are anchored at trial end.
        return Start(SubscriptionStatus.TRIALING, trial_end, 0, Period(now, trial_end), trial_end)
    return Start(SubscriptionStatus.ACTIVE, now, 1, cadence.period(now, 0), None)


@dataclass(frozen=True)
class Lifecycle:
    """A subscription's lifecycle fields as plain values: what the actions below decide on."""

    status: SubscriptionStatus
    anchor: datetime
    cycle: int
    period_start: datetime
    period_end: datetime
    cancel_at_period_end: bool = False
    canceled_at: datetime | None = None
    paused_at: datetime | None = None
    ended_at: datetime | None = None


def cancel(s: Lifecycle, now: datetime, *, at_period_end: bool) -> Lifecycle:
    """Now: canceled and ended at once. At period end: it ends there without renewing."""
    if at_period_end:
        require(s.status, Action.CANCEL_AT_PERIOD_END)
        return replace(s, cancel_at_period_end=True, canceled_at=now)
    require(s.status, Action.CANCEL_NOW)
    return replace(s, status=SubscriptionStatus.CANCELED, cancel_at_period_end=False, canceled_at=now, ended_at=now)


def resume_cancel(s: Lifecycle) -> Lifecycle:
    """Undo a pending cancel at period end: it renews as usual again."""
    require_pending_cancel(s.status, s.cancel_at_period_end)
    return replace(s, cancel_at_period_end=False, canceled_at=None)


def pause(s: Lifecycle, now: datetime) -> Lifecycle:
    """No invoices while paused: the renewal run skips paused subscriptions."""
    require(s.status, Action.PAUSE)
    return replace(s, status=SubscriptionStatus.PAUSED, paused_at=now)


def resumes_in_place(s: Lifecycle, now: datetime) -> bool:
    """Resumed at the very instant its paused period began (pause and resume in the same
    second on a frozen test clock): nothing of that period was used, so it resumes as it
    was, already invoiced, with no new period and no new invoice."""
    return now == s.period_start


def resume(s: Lifecycle, now: datetime, cadence: Cadence, *, overdue: bool = False) -> Lifecycle:
    """The re-anchor rule: a resumed subscription starts a new period at the resume time,
    which becomes its billing-cycle anchor (its invoice is issued with it, crediting the
    unused rest of the paused period: shared.domain.invoices.resume_credit). It is past_due at
    once if an invoice is overdue (`status_for`). Dunning waits while paused: a grace
    period that ran out meanwhile cancels it at the next renewal run, dated at the resume
    time, never before."""
    require(s.status, Action.RESUME)
    if resumes_in_place(s, now):
        return replace(s, status=status_for(SubscriptionStatus.ACTIVE, overdue=overdue), paused_at=None)
    period = cadence.period(now, 0)
    return replace(
        s,
        status=status_for(SubscriptionStatus.ACTIVE, overdue=overdue),
        paused_at=None,
        anchor=now,
        cycle=1,
        period_start=period.start,
        period_end=period.end,
    )
