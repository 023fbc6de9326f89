"""Coupons, promotion codes, and redeeming them as a subscription's discount.

Redemption counting is exact under concurrency: each redemption is one conditional
`UPDATE ... SET times_redeemed = times_redeemed + 1 WHERE times_redeemed < max_redemptions
RETURNING`, whose row lock serializes concurrent ones (and a CHECK holds the limit). LOCK
ORDER: the subscription row, then the coupon, then its promotion code.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from shared.clock import Clock
from shared.db.repository import Page
from shared.db.tables import Coupon, Discount, Plan, PromotionCode, Subscription
from shared.db.uow import UnitOfWork
from shared.domain.discounts import Duration, Redeemable, check_redeemable, periods_of
from shared.domain.errors import Conflict, NotFound
from shared.domain.ids import new_id
from shared.domain.money import percent_units
from shared.events import outbox
from shared.services.customer_time import now_for


async def create_coupon(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    *,
    id: str | None,
    name: str | None,
    percent_off: Decimal | None,
    amount_off: int | None,
    currency: str | None,
    duration: Duration,
    duration_in_periods: int | None,
    max_redemptions: int | None,
    redeem_by: datetime | None,
    applies_to_plans: Sequence[str] | None,
) -> Coupon:
    if percent_off is not None:
        percent_units(percent_off, decimals=2, field="percent_off")
    periods_of(duration, duration_in_periods)
    async with uow:
        repo = uow.repo(tenant_id)
        for plan_id in applies_to_plans or ():
            await repo.get(Plan, plan_id)
        coupon = Coupon(
            tenant_id=tenant_id,
            id=id or new_id("co"),
            name=name,
            percent_off=percent_off,
            amount_off=amount_off,
            currency=currency,
            duration=duration.value,
            duration_in_periods=duration_in_periods,
            max_redemptions=max_redemptions,
            times_redeemed=0,
            redeem_by=redeem_by,
            applies_to_plans=None if applies_to_plans is None else list(dict.fromkeys(applies_to_plans)),
            valid=True,
            created_at=clock.now(),
        )
        repo.add(coupon)
        outbox.record(uow, "coupon.created", coupon, coupon.created_at)
        await uow.commit()
    return coupon


async def get_coupon(uow: UnitOfWork, tenant_id: str, coupon_id: str) -> Coupon:
    """A deleted coupon is not found (its running discounts still refer to it)."""
    async with uow:
        coupon = await uow.repo(tenant_id).get(Coupon, coupon_id)
        if not coupon.valid:
            raise NotFound(f"no such coupon: '{coupon_id}' (deleted)", field="id")
        return coupon


async def list_coupons(uow: UnitOfWork, tenant_id: str, *, limit: int, starting_after: str | None) -> Page[Coupon]:
    """The coupons not deleted, newest first."""
    async with uow:
        return await uow.repo(tenant_id).page(Coupon, limit=limit, starting_after=starting_after, valid=True)


async def delete_coupon(uow: UnitOfWork, tenant_id: str, coupon_id: str, clock: Clock) -> Coupon:
    """No new redemptions from now on; running discounts keep running. Idempotent."""
    async with uow:
        coupon = await uow.repo(tenant_id).get(Coupon, coupon_id, for_update=True)
        if coupon.valid:
            coupon.valid = False
            coupon.deleted_at = clock.now()
            outbox.record(uow, "coupon.deleted", coupon, coupon.deleted_at)
        await uow.commit()
    return coupon


async def create_promotion_code(
    uow: UnitOfWork,
    tenant_id: str,
    clock: Clock,
    *,
    coupon: str,
    code: str,
    active: bool,
    max_redemptions: int | None,
    expires_at: datetime | None,
    first_time_transaction: bool,
) -> PromotionCode:
    async with uow:
        repo = uow.repo(tenant_id)
        found = await repo.get(Coupon, coupon)
        if not found.valid:
            raise Conflict("the coupon was deleted", field="coupon")
        promotion_code = PromotionCode(
            tenant_id=tenant_id,
            id=new_id("promo"),
            coupon_id=found.id,
            code=code,
            active=active,
            max_redemptions=max_redemptions,
            times_redeemed=0,
            expires_at=expires_at,
            first_time_transaction=first_time_transaction,
            created_at=clock.now(),
        )
        repo.add(promotion_code)
        outbox.record(uow, "promotion_code.created", promotion_code, promotion_code.created_at)
        await uow.commit()
    return promotion_code


async def get_promotion_code(uow: UnitOfWork, tenant_id: str, promotion_code_id: str) -> PromotionCode:
    async with uow:
        return await uow.repo(tenant_id).get(PromotionCode, promotion_code_id)


async def list_promotion_codes(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    limit: int,
    starting_after: str | None,
    code: str | None = None,
    active: bool | None = None,
) -> Page[PromotionCode]:
    """Newest first; `code` finds a code regardless of case."""
    async with uow:
        repo = uow.repo(tenant_id)
        if code is not None:
            found = await repo.promotion_code_named(code)
            matches = [found] if found is not None and active in (None, found.active) else []
            return Page(data=matches[:limit], has_more=False)
        return await repo.page(PromotionCode, limit=limit, starting_after=starting_after, active=active)


async def update_promotion_code(
    uow: UnitOfWork, tenant_id: str, promotion_code_id: str, clock: Clock, *, active: bool
) -> PromotionCode:
    """promotion_code.updated when it changed."""
    async with uow:
        promotion_code = await uow.repo(tenant_id).get(PromotionCode, promotion_code_id, for_update=True)
        before = outbox.snapshot(promotion_code)
        promotion_code.active = active
        if outbox.changed(before, promotion_code):
            outbox.record(uow, "promotion_code.updated", promotion_code, clock.now(), before=before)
        await uow.commit()
    return promotion_code


async def redeem(
    uow: UnitOfWork,
    subscription: Subscription,
    plan: Plan,
    now: datetime,
    *,
    coupon_id: str | None = None,
    promotion_code_id: str | None = None,
) -> Discount:
    """Apply a coupon (directly or through a promotion code) to `subscription` (locked or
    new), in the caller's transaction, ending its running discount if any. Conflict or
    Invalid with the reason, and nothing written, when it cannot be redeemed."""
    repo = uow.repo(subscription.tenant_id)
    promotion_code = None
    if promotion_code_id is not None:
        promotion_code = await repo.get(PromotionCode, promotion_code_id)
        coupon_id = promotion_code.coupon_id
    if coupon_id is None:
        raise NotFound("give a coupon or a promotion code", field="coupon")
    coupon = await repo.get(Coupon, coupon_id)
    check_redeemable(
        Redeemable(
            valid=coupon.valid,
            redeem_by=coupon.redeem_by,
            amount_off_currency=coupon.currency,
            plan_ids=None if coupon.applies_to_plans is None else frozenset(coupon.applies_to_plans),
            code_active=promotion_code is None or promotion_code.active,
            code_expires_at=None if promotion_code is None else promotion_code.expires_at,
            first_time_only=promotion_code is not None and promotion_code.first_time_transaction,
        ),
        now=now,
        currency=plan.currency,
        plan_id=plan.id,
        has_invoices=promotion_code is not None
        and promotion_code.first_time_transaction
        and await repo.has_invoices(subscription.customer_id),
    )
    if not await repo.redeem(Coupon, coupon.id):
        raise Conflict(f"the coupon reached its max_redemptions ({coupon.max_redemptions})", field="coupon")
    if promotion_code is not None and not await repo.redeem(PromotionCode, promotion_code.id):
        raise Conflict(
            f"the promotion code reached its max_redemptions ({promotion_code.max_redemptions})",
            field="promotion_code",
        )
    running = await repo.running_discount(subscription.id)
    if running is not None:
        _end(uow, subscription, running[0], now)
        await uow.flush()
    discount = Discount(
        tenant_id=subscription.tenant_id,
        id=new_id("di"),
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        coupon_id=coupon.id,
        promotion_code_id=None if promotion_code is None else promotion_code.id,
        periods_left=periods_of(Duration(coupon.duration), coupon.duration_in_periods),
        created_at=now,
    )
    repo.add(discount)
    subscription.show_discount(discount)
    outbox.record(uow, "customer.discount.created", discount, now, test_clock_id=subscription.test_clock_id)
    await uow.flush()
    return discount


def _end(uow: UnitOfWork, subscription: Subscription, discount: Discount, now: datetime) -> None:
    """The discount stops (its subscription's next invoices are not discounted by it)."""
    discount.ended_at = now
    outbox.record(uow, "customer.discount.deleted", discount, now, test_clock_id=subscription.test_clock_id)


async def apply_discount(
    uow: UnitOfWork,
    tenant_id: str,
    subscription_id: str,
    clock: Clock,
    *,
    coupon: str | None = None,
    promotion_code: str | None = None,
) -> Discount:
    """POST /v1/subscriptions/{id}/discount: the coupon discounts the subscription's next
    invoices (it replaces a running discount)."""
    async with uow:
        repo = uow.repo(tenant_id)
        subscription = await repo.get(Subscription, subscription_id, for_update=True)
        if subscription.status == "canceled":
            raise Conflict("the subscription is canceled", field="id")
        plan = await repo.get(Plan, subscription.plan_id)
        now = await now_for(uow, tenant_id, subscription.test_clock_id, clock)
        discount = await redeem(uow, subscription, plan, now, coupon_id=coupon, promotion_code_id=promotion_code)
        await uow.commit()
    return discount


async def remove_discount(uow: UnitOfWork, tenant_id: str, subscription_id: str, clock: Clock) -> Discount:
    """DELETE /v1/subscriptions/{id}/discount: the next invoices are not discounted (404 if
    none is running)."""
    async with uow:
        repo = uow.repo(tenant_id)
        subscription = await repo.get(Subscription, subscription_id, for_update=True)
        running = await repo.running_discount(subscription.id)
        if running is None:
            raise NotFound(f"subscription '{subscription_id}' has no discount", field="id")
        _end(uow, subscription, running[0], await now_for(uow, tenant_id, subscription.test_clock_id, clock))
        await uow.commit()
    return running[0]
