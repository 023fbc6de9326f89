"""A thin HTTP client for the tests: JSON in, (status, JSON) out, with the tenant's key."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient


@dataclass
class Reply:
    status: int
    body: Any
    headers: Any = field(repr=False, default=None)

    def __getitem__(self, key: str) -> Any:
        return self.body[key]


@dataclass
class Api:
    client: TestClient
    key: str | None
    database_url: str

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        **params: Any,
    ) -> Reply:
        sent = {"Content-Type": "application/json"}
        if self.key:
            sent["Authorization"] = f"Bearer {self.key}"
        sent.update(headers or {})
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        query = {k: str(v) for k, v in params.items() if v is not None}
        async with self.client.request(method, path, data=data, headers=sent, params=query) as response:
            text = await response.text()
            try:
                payload = json.loads(text) if text else None
            except json.JSONDecodeError:
                payload = text
            return Reply(response.status, payload, response.headers)

    async def get(self, path: str, **params: Any) -> Reply:
        return await self.call("GET", path, **params)

    async def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return await self.call("POST", path, body, **kwargs)

    async def patch(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return await self.call("PATCH", path, body, **kwargs)

    def with_key(self, key: str | None) -> Api:
        return Api(self.client, key, self.database_url)

    async def as_new_tenant(self, name: str = "other") -> Api:
        """A second tenant with its own key, created through the real use case."""
        from shared.clock import SystemClock
        from shared.db.engine import make_engine, make_sessionmaker
        from shared.db.uow import UnitOfWork
        from shared.services.tenants import create_tenant

        engine = make_engine(self.database_url, pool_size=1, max_overflow=0)
        try:
            created = await create_tenant(UnitOfWork(make_sessionmaker(engine)), name, SystemClock())
        finally:
            await engine.dispose()
        return self.with_key(created.api_key)

    # Story helpers: the usual first steps, asserting they worked.
    async def customer(self, email: str = "ada@example.com", name: str = "Ada Lovelace", **extra: Any) -> dict:
        reply = await self.post("/v1/customers", {"email": email, "name": name, **extra})
        assert reply.status == 201, reply
        return reply.body

    async def plan(
        self,
        code: str = "pro-monthly",
        amount: int = 1999,
        currency: str = "USD",
        interval: str = "month",
        **extra: Any,
    ) -> dict:
        reply = await self.post(
            "/v1/plans",
            {"code": code, "name": code.title(), "amount": amount, "currency": currency, "interval": interval, **extra},
        )
        assert reply.status == 201, reply
        return reply.body

    async def subscribe(self, customer: dict, plan: dict, **extra: Any) -> dict:
        reply = await self.post("/v1/subscriptions", {"customer_id": customer["id"], "plan_id": plan["id"], **extra})
        assert reply.status == 201, reply
        return reply.body

    async def invoices(self, **filters: Any) -> list[dict]:
        reply = await self.get("/v1/invoices", limit=100, **filters)
        assert reply.status == 200, reply
        return reply.body["data"]

    async def events(self, **filters: Any) -> list[dict]:
        """Events matching `filters` (first page of 100), in the order they were written."""
        reply = await self.get("/v1/events", limit=100, **filters)
        assert reply.status == 200, reply
        return sorted(reply["data"], key=lambda e: e["sequence"])

    async def event_types(self, object_id: str) -> list[str]:
        return [e["type"] for e in await self.events(object_id=object_id)]

    async def test_clock(self, frozen_time: str, name: str = "story") -> dict:
        reply = await self.post("/v1/test_clocks", {"frozen_time": frozen_time, "name": name})
        assert reply.status == 201, reply
        return reply.body

    async def advance(self, clock: dict, frozen_time: str) -> dict:
        """Advance and wait until the clock's customers have caught up (status `ready`)."""
        reply = await self.post(f"/v1/test_clocks/{clock['id']}/advance", {"frozen_time": frozen_time})
        assert reply.status == 200, reply
        return await self.wait_ready(clock)

    async def wait_ready(self, clock: dict, *, seconds: float = 180) -> dict:
        """Poll the clock until it is `ready` (generous bound: the machine may be busy)."""
        deadline = time.monotonic() + seconds
        while True:
            reply = await self.get(f"/v1/test_clocks/{clock['id']}")
            assert reply.status == 200, reply
            if reply["status"] == "ready" or time.monotonic() > deadline:
                assert reply["status"] == "ready", f"still advancing after {seconds}s: {reply}"
                return reply.body
            await asyncio.sleep(0.05)

    async def settings(self, **terms: int) -> dict:
        reply = await self.patch("/v1/settings", terms)
        assert reply.status == 200, reply
        return reply.body

    async def subscription(self, subscription: dict) -> dict:
        reply = await self.get(f"/v1/subscriptions/{subscription['id']}")
        assert reply.status == 200, reply
        return reply.body

    async def periods(self, subscription: dict) -> list[tuple[str, str]]:
        """The subscription's invoiced cycle periods, oldest first."""
        invoices = await self.invoices(subscription_id=subscription["id"])
        cycles = [i for i in invoices if i["billing_reason"] in ("subscription_create", "subscription_cycle")]
        return sorted((i["period_start"], i["period_end"]) for i in cycles)
