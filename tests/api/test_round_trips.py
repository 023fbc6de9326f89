"""Round trips to PostgreSQL on the hot paths, counted (never timed).

Every statement sent on the app's connections is recorded when it is sent: those
SQLAlchemy sends (its before_cursor_execute event; it runs them as prepared statements),
and those sent on an asyncpg connection directly (its execute/fetch methods, wrapped for
the test: BEGIN, COMMIT, ROLLBACK, pings, the invoice writer's statements). The test-clock
worker's polls, from its own task, are not the request's and are left out."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import event
from sqlalchemy.util import greenlet_spawn

from shared.db import subscription_start
from shared.runtime.app_state import AUTH, ENGINE, SETTINGS
from shared.services.api_keys import hash_key
from tests.api.test_tenant_scoping import unscoped
from tests.client import Api

_DIRECT = ("execute", "fetch", "fetchrow", "fetchval")
PLAN = {"code": "rt", "name": "Round trips", "amount": 1999, "currency": "USD", "interval": "month"}


class Recorder:
    def __init__(self) -> None:
        self.statements: list[str] = []
        self.recording = False

    def wrap(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in _DIRECT:
            method = getattr(asyncpg.Connection, name)

            def recorded(conn: Any, query: str, *args: Any, _method: Any = method, **kwargs: Any) -> Any:
                self.add(query)
                return _method(conn, query, *args, **kwargs)

            monkeypatch.setattr(asyncpg.Connection, name, recorded)

    def add(self, statement: str) -> None:
        task = asyncio.current_task()
        if task is not None and "Advancer" in task.get_coro().__qualname__:
            return
        if self.recording:
            self.statements.append(" ".join(statement.split()).rstrip(";") or ";")

    def cursor(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.add(statement)

    async def count(self, call: Any) -> list[str]:
        self.statements.clear()
        self.recording = True
        try:
            await call
        finally:
            self.recording = False
        return list(self.statements)


@pytest.fixture
async def recorder(api: Api, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Recorder]:
    recorder = Recorder()
    engine = api.client.server.app[ENGINE].sync_engine
    event.listen(engine, "before_cursor_execute", recorder.cursor)
    recorder.wrap(monkeypatch)
    yield recorder
    event.remove(engine, "before_cursor_execute", recorder.cursor)


async def _setup(api: Api) -> dict[str, str]:
    plan = await api.post("/v1/plans", PLAN)
    customer = await api.post("/v1/customers", {"email": "rt@example.com", "name": "RT"})
    subscription = await api.post("/v1/subscriptions", {"customer_id": customer["id"], "plan_id": plan["id"]})
    assert subscription.status == 201, subscription
    invoices = await api.get("/v1/invoices", subscription_id=subscription["id"])
    return {
        "plan": plan["id"],
        "customer": customer["id"],
        "subscription": subscription["id"],
        "invoice": invoices["data"][0]["id"],
    }


_TRANSACTION = re.compile(r"^(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)", re.IGNORECASE)


async def test_hot_reads_take_one_statement_each_and_no_transaction(api: Api, recorder: Recorder) -> None:
    ids = await _setup(api)
    auth = api.client.server.app[AUTH]

    # A key not cached: its lookup, then the invoice with its lines in one SELECT.
    auth.known.discard(hash_key(api.key or ""))
    reply: dict = {}

    async def get_invoice() -> None:
        reply["invoice"] = await api.get(f"/v1/invoices/{ids['invoice']}")

    sent = await recorder.count(get_invoice())
    assert reply["invoice"].status == 200 and reply["invoice"]["lines"], reply
    assert len(sent) == 2, sent
    assert "api_keys" in sent[0] and "invoice_lines" in sent[1], sent

    # The key cached: one statement.
    sent = await recorder.count(get_invoice())
    assert len(sent) == 1, sent
    assert not any(_TRANSACTION.match(s) for s in sent)

    for path in (f"/v1/subscriptions/{ids['subscription']}", f"/v1/invoices?customer_id={ids['customer']}"):
        replies: list = []

        async def get(path: str = path, replies: list = replies) -> None:
            replies.append(await api.get(path))

        sent = await recorder.count(get())
        assert replies[0].status == 200, replies
        assert not any(_TRANSACTION.match(s) for s in sent), sent
        assert len(sent) <= 2, sent  # a list: the invoices, then all their lines in one SELECT


async def test_create_subscription_takes_the_number_lock_last(api: Api, recorder: Recorder) -> None:
    ids = await _setup(api)
    replies = []

    async def create() -> None:
        replies.append(await api.post("/v1/subscriptions", {"customer_id": ids["customer"], "plan_id": ids["plan"]}))

    sent = await recorder.count(create())
    assert replies[0].status == 201, replies
    # (SQLAlchemy's event fires just before the driver opens the transaction: BEGIN is not first here.)
    assert any(s.startswith("BEGIN") for s in sent) and sent[-1] == "COMMIT", sent
    locking = [i for i, s in enumerate(sent) if re.search(r"UPDATE tenants", s)]
    assert len(locking) == 1, sent
    # The invoice-number lock is taken by the last statement before COMMIT: the events (the
    # invoice's included, rendered before its number exists) are written before it.
    assert locking[0] == len(sent) - 2, sent
    assert any(re.search(r"INSERT INTO events\b", s) for s in sent[: locking[0]]), sent
    ours = [s for s in sent if not re.search(r"INSERT INTO events\b", s)]
    # BEGIN; one read of customer, plan, terms, test clock and tax rates; the subscription
    # with the customer's balance row lock; the events; the invoice (its number last);
    # COMMIT. (10 with the ORM: customer, plan, terms, tax context and running discount read
    # one by one.)
    assert len(ours) <= 5 and len(sent) <= 6, sent
    assert sum(1 for s in ours if s.startswith(("SELECT", "WITH c AS"))) <= 2, sent


def test_subscription_start_statements_filter_on_the_tenant() -> None:
    for statement in (subscription_start.CONTEXT, subscription_start.INSERT):
        assert not unscoped(statement), statement
    # Each table the start reads is filtered on the tenant ($1) where it is read.
    reads = re.findall(r"FROM (\w+)\s+WHERE ([^)]*)", subscription_start.CONTEXT)
    assert {table for table, _ in reads} >= {"customers", "plans", "tenants", "test_clocks", "tax_rates"}, reads
    for table, condition in reads:
        assert ("id = $1" if table == "tenants" else "tenant_id = $1") in condition, (table, condition)


async def test_waves_of_full_use_reopen_no_pooled_connection(api: Api) -> None:
    """The pool keeps every connection it opens: none is closed on its return to be opened
    again by the next request (each opening is a new PostgreSQL backend; with 5 pooled + 5
    overflow, a GET invoice load at 16 opened one every ~14 requests)."""
    app = api.client.server.app
    settings, engine = app[SETTINGS], app[ENGINE]
    most = settings.db_pool_size + settings.db_max_overflow
    opened: list[object] = []

    def count(*_: object) -> None:
        opened.append(1)

    event.listen(engine.sync_engine, "connect", count)
    try:
        for _ in range(3):  # every connection the pool allows in use at once, then all back
            held = [await engine.raw_connection() for _ in range(most)]
            for pooled in held:
                await greenlet_spawn(pooled.close)
    finally:
        event.remove(engine.sync_engine, "connect", count)
    assert len(opened) <= most, (len(opened), most)
