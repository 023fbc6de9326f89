"""503 with Retry-After, never 500, when the database cannot serve a request: a full pool
(bounded wait, BILLING_DB_POOL_TIMEOUT), a connection lost during COMMIT (outcome unknown);
and one clear line, not a traceback, from the CLI when the database is down."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text

from bench.processes import free_port
from shared.runtime.app import make_app
from shared.runtime.app_state import ENGINE
from shared.settings import Settings
from tests.client import Api, Reply
from tests.conftest import BOOTSTRAP_KEY, plain


def assert_unavailable(reply: Reply) -> None:
    assert reply.status == 503, reply
    assert reply.headers["Content-Type"].startswith("application/problem+json")
    assert reply.headers["Retry-After"] == "2"
    assert reply.body["type"] == "urn:billing:problem:service-unavailable" and reply.body["status"] == 503


def outage_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().split(" (")[0].split(" after")[0] for r in caplog.records if r.name == "billing.outages"]


async def until_logged(api: Api, caplog: pytest.LogCaptureFixture, line: str) -> None:
    """Probe /ready until the episode's closing line is logged (bounded)."""
    deadline = time.monotonic() + 60
    for _ in range(600):
        if line in outage_lines(caplog) or time.monotonic() > deadline:
            break
        assert (await api.get("/ready")).status == 200
        await asyncio.sleep(0.1)
    assert line in outage_lines(caplog)


async def test_a_full_pool_answers_503_with_retry_after_once_the_pool_timeout_passes(
    aiohttp_client, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    settings = Settings.from_env(
        {
            "DATABASE_URL": database_url,
            "BILLING_BOOTSTRAP_API_KEY": BOOTSTRAP_KEY,
            "BILLING_DB_POOL_SIZE": "1",
            "BILLING_DB_MAX_OVERFLOW": "0",
            "BILLING_DB_POOL_TIMEOUT": "0.5",
        }
    )
    client = await aiohttp_client(make_app(settings))
    api = Api(client, BOOTSTRAP_KEY, database_url)
    other = await api.as_new_tenant()  # its key is not cached yet: the lookup itself needs the pool
    customer = await api.customer()  # the default key is cached from here on
    async with client.server.app[ENGINE].connect() as held:  # the pool's only connection
        await held.execute(text("SELECT 1"))
        assert_unavailable(await api.get(f"/v1/customers/{customer['id']}"))
        assert_unavailable(await other.get("/v1/customers"))
        assert_unavailable(await api.post("/v1/customers", {"email": "b@example.com", "name": "B"}))
        assert_unavailable(await api.get("/ready"))
    assert (await api.get(f"/v1/customers/{customer['id']}")).status == 200
    assert (await other.get("/v1/customers")).status == 200
    await until_logged(api, caplog, "database serving again")
    assert outage_lines(caplog) == ["connection pool exhausted", "database serving again"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert [c["email"] for c in (await api.get("/v1/customers")).body["data"]] == ["ada@example.com"]


async def test_a_connection_lost_during_commit_is_503_not_500(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    admin = await asyncpg.connect(plain(api.database_url))
    try:
        # Hold every customer insert at COMMIT (a deferred trigger), then cut the connection there.
        await admin.execute("""
            CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS
              $$ BEGIN PERFORM pg_sleep(60); RETURN NULL; END $$;
            CREATE CONSTRAINT TRIGGER hold_commit AFTER INSERT ON customers
              DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_commit();
        """)
        request = asyncio.ensure_future(api.post("/v1/customers", {"email": "c@example.com", "name": "C"}))
        pid = None
        for _ in range(600):  # at most ~60 s
            pid = await admin.fetchval("""SELECT pid FROM pg_stat_activity WHERE datname = current_database()
                                          AND application_name = 'billing' AND state = 'active'
                                          AND query ILIKE 'commit%' AND wait_event = 'PgSleep'""")
            if pid is not None or request.done():
                break
            await asyncio.sleep(0.1)
        assert pid is not None, "the request never reached COMMIT"
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        assert_unavailable(await request)
        await admin.execute("DROP TRIGGER hold_commit ON customers")
    finally:
        await admin.close()
    assert (await api.post("/v1/customers", {"email": "d@example.com", "name": "D"})).status == 201
    await until_logged(api, caplog, "database serving again")
    assert outage_lines(caplog) == ["database unavailable", "database serving again"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


@pytest.mark.parametrize("command", [["renew"], ["tenant", "create", "acme"], ["migrate"], ["serve"]])
def test_the_cli_says_the_database_is_down_in_one_line(command: list[str], tmp_path: Path) -> None:
    nowhere = f"postgresql://postgres@/billing?host={tmp_path}"  # no server listens there
    env = {
        **os.environ,
        "DATABASE_URL": nowhere,
        "BILLING_BOOTSTRAP_API_KEY": BOOTSTRAP_KEY,
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
    }
    result = subprocess.run(
        [sys.executable, "-m", "shared.runtime.cli", *command], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    # `serve` announces itself first; the start-up then fails on the bootstrap key.
    assert len(lines) <= 2 and "the database is unavailable" in lines[-1], result.stderr
