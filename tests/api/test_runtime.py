"""The Functions Framework contract on aiohttp, the bootstrap key, and the billing CLI."""

import os
import subprocess
import sys

import pytest

from shared.runtime.app import make_app
from shared.settings import Settings
from tests.client import Api
from tests.conftest import BOOTSTRAP_KEY


async def test_function_target_serves_only_that_function(aiohttp_client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=database_url, bootstrap_api_key=BOOTSTRAP_KEY, function_target="create-customer")
    api = Api(await aiohttp_client(make_app(settings)), BOOTSTRAP_KEY, database_url)
    assert (await api.post("/v1/customers", {"email": "a@example.com", "name": "A"})).status == 201
    assert (await api.get("/v1/customers")).status == 405  # the route exists only for POST
    assert (await api.get("/v1/plans")).status == 404
    assert (await api.get("/health")).status == 200
    document = (await api.get("/openapi.json")).body
    assert list(document["paths"]) == ["/v1/customers"]


async def test_a_family_target_serves_the_whole_family(aiohttp_client, database_url: str) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(database_url=database_url, bootstrap_api_key=BOOTSTRAP_KEY, function_target="plans")
    api = Api(await aiohttp_client(make_app(settings)), BOOTSTRAP_KEY, database_url)
    plan = await api.plan()
    assert (await api.get(f"/v1/plans/{plan['id']}")).status == 200
    assert (await api.get("/v1/customers")).status == 404


def test_signature_type_must_match_the_target() -> None:
    settings = Settings(database_url="postgresql://x/y", function_target="create-customer", signature_type="cloudevent")
    with pytest.raises(SystemExit, match="cloudevent"):
        make_app(settings)


def test_settings_follow_the_functions_framework_environment() -> None:
    settings = Settings.from_env(
        {"PORT": "9090", "HOST": "127.0.0.1", "FUNCTION_TARGET": "get-plan", "FUNCTION_SIGNATURE_TYPE": "http"}
    )
    assert (settings.port, settings.host, settings.function_target, settings.signature_type) == (
        9090,
        "127.0.0.1",
        "get-plan",
        "http",
    )
    assert Settings.from_env({}).port == 8080
    with pytest.raises(SystemExit):
        Settings.from_env({"FUNCTION_SIGNATURE_TYPE": "event"})
    with pytest.raises(SystemExit):
        Settings.from_env({"PORT": "eighty"})


async def test_the_bootstrap_key_is_idempotent_across_restarts(aiohttp_client, database_url: str, api: Api) -> None:  # type: ignore[no-untyped-def]
    customer = await api.customer()
    # A second process starting with the same key joins the same 'default' tenant.
    again = Api(
        await aiohttp_client(make_app(Settings(database_url=database_url, bootstrap_api_key=BOOTSTRAP_KEY))),
        BOOTSTRAP_KEY,
        database_url,
    )
    assert (await again.get(f"/v1/customers/{customer['id']}")).status == 200


def test_billing_tenant_create_prints_a_working_key_once(database_url: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "shared.runtime.cli", "tenant", "create", "acme"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = result.stdout.strip()
    assert key.startswith("sk_") and len(key) >= 40  # 256 random bits, url-safe
    assert "created tenant ten_" in result.stderr

    import asyncio

    from shared.db.engine import make_engine, make_sessionmaker
    from shared.db.uow import UnitOfWork
    from shared.services.tenants import tenant_for_key

    async def lookup() -> tuple[str | None, list]:
        engine = make_engine(database_url)
        try:
            tenant = await tenant_for_key(UnitOfWork(make_sessionmaker(engine)), key)
            async with engine.connect() as conn:
                from sqlalchemy import text

                hashes = (await conn.execute(text("SELECT key_hash FROM api_keys"))).scalars().all()
        finally:
            await engine.dispose()
        return tenant, hashes

    tenant, hashes = asyncio.run(lookup())
    assert tenant is not None
    assert key not in hashes  # stored only as a hash
