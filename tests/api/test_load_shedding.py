"""Load shedding at the door: a flood of made-up keys is answered without the database,
and one tenant's burst is limited per process without touching another tenant."""

import asyncio

import aiohttp
import asyncpg
import pytest
from sqlalchemy import event

from shared.runtime.app import make_app
from shared.runtime.app_state import ENGINE
from shared.settings import Settings
from tests.api.test_observability import scrape, value
from tests.client import Api
from tests.conftest import BOOTSTRAP_KEY, GENEROUS_LIMITS, plain

ATTACKER = "127.0.0.2"  # another loopback address: another client as far as the server knows
_RECORDERS: list = []  # the apps' recorders of statements sent on asyncpg directly (shared.db.hot_reads)


@pytest.fixture(autouse=True)
def _statements_sent_directly(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    fetch = asyncpg.Connection.fetch

    async def recorded(conn, query, *args, **kwargs):  # type: ignore[no-untyped-def]
        for record in _RECORDERS:
            record(conn, None, query)
        return await fetch(conn, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.Connection, "fetch", recorded)
    yield
    _RECORDERS.clear()


async def serve(aiohttp_client, database_url: str, **limits) -> tuple[Api, list[str]]:  # type: ignore[no-untyped-def]
    """An app with the given limits, and a list that records every API key lookup it makes."""
    settings = Settings(database_url=database_url, bootstrap_api_key=BOOTSTRAP_KEY, **{**GENEROUS_LIMITS, **limits})
    client = await aiohttp_client(make_app(settings))
    lookups: list[str] = []

    def record(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        if "FROM api_keys" in statement:
            lookups.append(statement)

    event.listen(client.server.app[ENGINE].sync_engine, "before_cursor_execute", record)
    _RECORDERS.append(record)
    return Api(client, BOOTSTRAP_KEY, database_url), lookups


async def from_attacker(api: Api, keys: list[str]) -> list[tuple[int, dict[str, str]]]:
    """GET /v1/customers once per key, all at once, from ATTACKER's address."""
    url = str(api.client.make_url("/v1/customers"))
    connector = aiohttp.TCPConnector(local_addr=(ATTACKER, 0), limit=len(keys))
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

        async def one(key: str) -> tuple[int, dict[str, str]]:
            async with session.get(url, headers={"Authorization": f"Bearer {key}"}) as reply:
                await reply.read()
                return reply.status, dict(reply.headers)

        return await asyncio.gather(*(one(key) for key in keys))


async def test_a_flood_of_bad_keys_is_answered_without_the_database(aiohttp_client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    api, lookups = await serve(aiohttp_client, database_url, auth_failure_burst=5, auth_failures_per_second=0.001)
    before = await scrape(api)
    replies = await from_attacker(api, [f"sk_made_up_{n}" for n in range(40)])
    statuses = sorted(status for status, _ in replies)
    assert statuses == [401] * 5 + [429] * 35
    assert len(lookups) == 5  # the other 35 never reached the database
    for status, headers in replies:
        assert headers["Content-Type"].startswith("application/problem+json")
        if status == 429:
            assert int(headers["Retry-After"]) >= 1
    after = await scrape(api)
    grew = value(after, "billing_requests_rejected_total", reason="too-many-requests") - value(
        before, "billing_requests_rejected_total", reason="too-many-requests"
    )
    assert grew == 35

    # Real tenants, from their own address, are not held back: the known key and a new one.
    assert (await api.get("/v1/customers")).status == 200
    other = await api.as_new_tenant()
    assert (await other.get("/v1/customers")).status == 200


async def test_known_tenants_behind_the_attackers_address_keep_working(aiohttp_client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    """Behind one proxy every client has the proxy's address: the flood must not lock out
    the tenants this process has seen, even once their key has left the 1 s cache."""
    api, lookups = await serve(aiohttp_client, database_url, auth_failure_burst=3, auth_failures_per_second=0.001)
    [(status, _)] = await from_attacker(api, [BOOTSTRAP_KEY])
    assert status == 200
    replies = await from_attacker(api, [f"sk_made_up_{n}" for n in range(20)])
    assert sorted(status for status, _ in replies) == [401] * 3 + [429] * 17
    await asyncio.sleep(1.3)  # past the key cache: the tenant's next request is looked up again
    before = len(lookups)
    [(status, _)] = await from_attacker(api, [BOOTSTRAP_KEY])
    assert status == 200 and len(lookups) == before + 1
    [(status, _)] = await from_attacker(api, ["sk_made_up_after"])
    assert status == 429


async def test_a_repeated_bad_key_is_looked_up_once(aiohttp_client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    api, lookups = await serve(aiohttp_client, database_url, auth_failure_burst=10, auth_failures_per_second=0.001)
    for _ in range(4):
        [(status, _)] = await from_attacker(api, ["sk_the_same_wrong_key"])
        assert status == 401
    assert len(lookups) == 1


async def test_good_keys_do_not_use_up_the_failure_budget(aiohttp_client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    api, lookups = await serve(aiohttp_client, database_url, auth_failure_burst=2, auth_failures_per_second=0.001)
    keys = [(await api.post("/v1/api_keys", {"name": f"k{n}"}))["secret"] for n in range(4)]
    for key in keys:  # each one new to the cache, so each one looked up
        [(status, _)] = await from_attacker(api, [key])
        assert status == 200
    assert len(lookups) >= 4
    statuses = [status for status, _ in await from_attacker(api, ["sk_bad_1", "sk_bad_2", "sk_bad_3"])]
    assert sorted(statuses) == [401, 401, 429]  # the whole budget was still there


async def test_one_tenant_over_its_rate_is_429_and_another_is_not(aiohttp_client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    api, _ = await serve(aiohttp_client, database_url, rate_limit_burst=3, rate_limit_per_second=0.001)
    other = await api.as_new_tenant()
    for _ in range(3):
        assert (await api.get("/v1/customers")).status == 200
    limited = await api.post("/v1/customers", {"email": "late@example.com", "name": "Late"})
    assert limited.status == 429
    assert limited.headers["Content-Type"].startswith("application/problem+json")
    assert limited["type"] == "urn:billing:problem:too-many-requests" and limited["title"]
    assert int(limited.headers["Retry-After"]) >= 1
    assert (await api.get("/v1/plans")).status == 429  # the bucket is the tenant's, for every route
    # The other tenant has its own bucket.
    assert (await other.get("/v1/customers")).status == 200
    await other.customer(email="late@example.com")
    assert [c["email"] for c in (await other.get("/v1/customers"))["data"]] == ["late@example.com"]
    assert (await other.get("/v1/customers")).status == 429  # its own burst of 3, used up
    # The refused write wrote nothing: one customer in the database, the other tenant's.
    conn = await asyncpg.connect(plain(database_url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM customers") == 1
    finally:
        await conn.close()


async def test_a_zero_rate_turns_the_limit_off(aiohttp_client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    api, _ = await serve(aiohttp_client, database_url, rate_limit_burst=1, rate_limit_per_second=0)
    for _ in range(10):
        assert (await api.get("/v1/customers")).status == 200
