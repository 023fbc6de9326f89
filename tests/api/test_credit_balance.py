"""Customer credit balance: a downgrade's credit is kept on the customer's balance (an
append-only ledger) and consumed by the next invoices; manual adjustments; the ledger sums
to the balance. Exact amounts in USD (2 decimals), JPY (0) and KWD (3)."""

import asyncio

import asyncpg
import pytest

from tests.client import Api


@pytest.mark.parametrize(
    ("currency", "old", "new", "credit", "charge"),
    [
        # 20 of April's 30 days left: the credit is 2/3 of the old price, the charge 2/3 of the new.
        ("USD", 3000, 1000, -2000, 667),  # 20.00 credit, 6.67 charge (6.666… half-up)
        ("JPY", 3000, 1000, -2000, 667),  # ¥2000 credit, ¥667 charge
        ("KWD", 30000, 10000, -20000, 6667),  # 20.000 credit, 6.667 charge
    ],
)
async def test_a_downgrade_leaves_a_credit_the_next_two_invoices_consume(
    api: Api, currency: str, old: int, new: int, credit: int, charge: int
) -> None:
    await api.settings(grace_period_days=365)
    clock = await api.test_clock("2026-04-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    big = await api.plan(code="big", amount=old, currency=currency)
    small = await api.plan(code="small", amount=new, currency=currency)
    subscription = await api.subscribe(customer, big)
    await api.advance(clock, "2026-04-11T00:00:00Z")
    changed = await api.post(
        f"/v1/subscriptions/{subscription['id']}/change_plan", {"plan_id": small["id"], "proration": "always_invoice"}
    )
    assert changed.status == 200, changed
    left = credit + charge  # e.g. -13.33 USD: owed to the customer, not lost

    def invoice_balances(invoices: list[dict]) -> list[tuple]:
        return [
            (i["billing_reason"], i["total"], i["starting_balance"], i["ending_balance"], i["amount_due"], i["status"])
            for i in sorted(invoices, key=lambda i: i["number"])
        ]

    assert invoice_balances(await api.invoices(subscription_id=subscription["id"]))[1:] == [
        ("subscription_update", left, 0, left, 0, "paid"),
    ]
    assert (await api.get(f"/v1/customers/{customer['id']}"))["balances"] == {currency: left}

    upcoming = await api.get(f"/v1/subscriptions/{subscription['id']}/upcoming_invoice")
    assert (upcoming["total"], upcoming["starting_balance"], upcoming["ending_balance"], upcoming["amount_due"]) == (
        new,
        left,
        left + new,
        0,
    )

    await api.advance(clock, "2026-06-02T00:00:00Z")  # renewals on May 1 and June 1
    assert invoice_balances(await api.invoices(subscription_id=subscription["id"]))[2:] == [
        ("subscription_cycle", new, left, left + new, 0, "paid"),  # covered by the credit
        ("subscription_cycle", new, left + new, 0, left + 2 * new, "open"),  # the rest of it
    ]
    assert (await api.get(f"/v1/customers/{customer['id']}"))["balances"] == {currency: 0}
    ledger = await api.get(f"/v1/customers/{customer['id']}/balance_transactions", limit=10)
    assert ledger.status == 200, ledger
    assert [(t["type"], t["amount"], t["currency"]) for t in reversed(ledger["data"])] == [
        ("proration_credit", left, currency),
        ("invoice_applied", new, currency),
        ("invoice_applied", -(left + new), currency),
    ]


async def test_manual_adjustments_are_applied_to_the_next_invoice(api: Api) -> None:
    await api.settings(grace_period_days=365)
    clock = await api.test_clock("2026-04-01T00:00:00Z")
    customer = await api.customer(test_clock=clock["id"])
    path = f"/v1/customers/{customer['id']}/balance_transactions"
    for amount, currency in ((-1500, "USD"), (-250, "KWD"), (200, "USD")):
        created = await api.post(path, {"amount": amount, "currency": currency, "description": "goodwill"})
        assert created.status == 201, created
        assert (created["object"], created["type"], created["amount"], created["invoice"]) == (
            "customer_balance_transaction",
            "adjustment",
            amount,
            None,
        )
    assert (await api.get(f"/v1/customers/{customer['id']}"))["balances"] == {"USD": -1300, "KWD": -250}
    # The USD credit goes to the USD invoice only; the KWD credit waits for a KWD invoice.
    subscription = await api.subscribe(customer, await api.plan(amount=1000, currency="USD"))
    [first] = await api.invoices(subscription_id=subscription["id"])
    assert (first["total"], first["starting_balance"], first["ending_balance"], first["amount_due"]) == (
        1000,
        -1300,
        -300,
        0,
    )
    assert (await api.get(f"/v1/customers/{customer['id']}"))["balances"] == {"USD": -300, "KWD": -250}

    page = await api.get(path, limit=2)
    assert (len(page["data"]), page["has_more"]) == (2, True)
    rest = await api.get(path, limit=10, starting_after=page["data"][-1]["id"])
    assert len(rest["data"]) == 2 and not rest["has_more"]
    assert [t["type"] for t in page["data"]] == ["invoice_applied", "adjustment"]

    # The balance is the sum of its ledger, in the database too.
    conn = await asyncpg.connect(api.database_url)
    try:
        mismatched = await conn.fetchval(
            """SELECT count(*) FROM customer_balances b
               FULL JOIN (SELECT tenant_id, customer_id, currency, sum(amount) AS s FROM balance_transactions
                          GROUP BY 1, 2, 3) t USING (tenant_id, customer_id, currency)
               WHERE b.balance IS DISTINCT FROM t.s"""
        )
    finally:
        await conn.close()
    assert mismatched == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"amount": 0, "currency": "USD"}, 422),
        ({"amount": 100, "currency": "XYZ"}, 422),
        ({"amount": 1.5, "currency": "USD"}, 422),
        ({"amount": 10**16, "currency": "USD"}, 422),
        ({"currency": "USD"}, 422),
    ],
)
async def test_bad_adjustments_are_refused_and_change_nothing(api: Api, body: dict, status: int) -> None:
    customer = await api.customer()
    path = f"/v1/customers/{customer['id']}/balance_transactions"
    reply = await api.post(path, body)
    assert reply.status == status, reply
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert (await api.get(path))["data"] == []
    assert (
        await api.post("/v1/customers/cus_nope/balance_transactions", {"amount": 1, "currency": "USD"})
    ).status == 404


async def test_concurrent_invoices_never_spend_the_same_credit_twice(api: Api) -> None:
    """Six subscriptions of one customer start at once, each issuing a 10.00 invoice, against
    25.00 of credit: the balance row lock lets each see what the ones before it left."""
    customer = await api.customer()
    path = f"/v1/customers/{customer['id']}/balance_transactions"
    assert (await api.post(path, {"amount": -2500, "currency": "USD"})).status == 201
    plans = [await api.plan(code=f"p{n}", amount=1000) for n in range(6)]
    replies = await asyncio.gather(
        *(api.post("/v1/subscriptions", {"customer_id": customer["id"], "plan_id": p["id"]}) for p in plans)
    )
    assert [r.status for r in replies] == [201] * 6, replies
    invoices = await api.invoices(customer_id=customer["id"])
    assert sorted(i["amount_due"] for i in invoices) == [0, 0, 500, 1000, 1000, 1000]
    assert (await api.get(f"/v1/customers/{customer['id']}"))["balances"] == {"USD": 0}
    assert sum(t["amount"] for t in (await api.get(path, limit=100))["data"]) == 0


async def test_a_balance_beyond_the_maximum_is_refused_and_changes_nothing(api: Api) -> None:
    customer = await api.customer()
    path = f"/v1/customers/{customer['id']}/balance_transactions"
    assert (await api.post(path, {"amount": 10**15, "currency": "USD"})).status == 201
    reply = await api.post(path, {"amount": 1, "currency": "USD"})
    assert reply.status == 409, reply
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert (await api.get(f"/v1/customers/{customer['id']}"))["balances"] == {"USD": 10**15}
    # An invoice that the debit would push beyond the maximum is refused too (not a 500).
    refused = await api.post(
        "/v1/subscriptions", {"customer_id": customer["id"], "plan_id": (await api.plan(amount=1000))["id"]}
    )
    assert refused.status == 409, refused
    assert await api.invoices(customer_id=customer["id"]) == []
