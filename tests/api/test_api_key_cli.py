"""`billing key create|list|revoke` against the test database, as separate processes."""

import asyncio
import json
import os
import subprocess
import sys

from tests.client import Api

REVOKED_WITHIN_SECONDS = 1.0  # the promise: every process refuses a revoked key within a second


def billing(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "shared.runtime.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


async def test_billing_key_create_list_and_revoke(api: Api, database_url: str) -> None:
    tenant = billing(database_url, "tenant", "create", "acme")
    tenant_id = tenant.stderr.split("created tenant ", 1)[1].split()[0]
    acme = api.with_key(tenant.stdout.strip())

    created = billing(
        database_url,
        "key",
        "create",
        "--tenant",
        tenant_id,
        "--name",
        "reporting",
        "--scope",
        "read",
        "--expires-at",
        "2099-01-01T00:00:00Z",
    )
    secret = created.stdout.strip()
    assert secret.startswith("sk_") and len(created.stdout.splitlines()) == 1  # the secret alone on stdout
    reader = api.with_key(secret)
    assert (await reader.get("/v1/customers")).status == 200
    assert (await reader.post("/v1/customers", {"email": "a@example.com", "name": "A"})).status == 403

    listed = billing(database_url, "key", "list", "--tenant", tenant_id)
    keys = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [(k["name"], k["scope"]) for k in keys] == [("reporting", "read"), ("first key", "write")]
    assert keys[0]["prefix"] == secret[:7] and keys[0]["expires_at"].startswith("2099-01-01")
    assert secret not in listed.stdout and "secret" not in keys[0]
    assert keys == (await acme.get("/v1/api_keys"))["data"]  # what the API lists, too

    revoked = billing(database_url, "key", "revoke", "--tenant", tenant_id, keys[0]["id"])
    assert json.loads(revoked.stdout)["revoked_at"] is not None
    await asyncio.sleep(REVOKED_WITHIN_SECONDS + 0.3)  # the running server had it cached
    assert (await reader.get("/v1/customers")).status == 401
    listed = billing(database_url, "key", "list", "--tenant", tenant_id)
    assert [json.loads(line)["revoked_at"] is not None for line in listed.stdout.splitlines()] == [True, False]


def test_billing_key_refuses_bad_input_clearly(database_url: str) -> None:
    for args, message in [
        (("key", "create", "--tenant", "ten_nosuchtenant", "--name", "x"), "no such tenant"),
        (("key", "revoke", "--tenant", "ten_nosuchtenant", "key_nosuchkey"), "no such API key"),
        (("key", "create", "--tenant", "ten_x", "--name", "x", "--expires-at", "tomorrow"), "--expires-at"),
        (("key", "create", "--tenant", "ten_x", "--name", "x", "--expires-at", "2000-01-01T00:00:00Z"), "future"),
        (("key", "create", "--tenant", "ten_x", "--name", "x", "--scope", "admin"), "invalid choice"),
    ]:
        result = billing(database_url, *args, check=False)
        assert result.returncode != 0 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == ""
