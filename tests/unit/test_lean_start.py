"""A function's cold start loads what serving needs, and no more: its own module (not every
function's), and none of the heavy parts only some requests or commands use (OpenAPI
rendering, Swagger UI, manifests, the CLI's progress display)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from bench.processes import free_port
from shared.runtime.registry import all_operations, select
from tests.client import Api

HEAVY = ("shared.runtime.openapi", "swagger_ui", "shared.runtime.manifests", "rich", "yaml", "jinja2", "cloudevents")


def test_one_named_function_is_selected_alone_as_from_the_whole_registry() -> None:
    everything = all_operations()
    names = {op.name for op in everything}
    assert not names & {op.family for op in everything}  # a name never means a family
    for target in ("get-invoice", "create-subscription,get-invoice", "invoices", "get-invoice,plans"):
        assert select(target) == select(target, everything)


def test_serving_one_function_imports_nothing_heavy() -> None:
    script = (
        "import sys, json\n"
        "from shared.runtime.app import make_app\n"
        "from shared.settings import Settings\n"
        "make_app(Settings(database_url='postgresql://127.0.0.1:1/none', function_target='get-invoice'))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY] == []
    assert [m for m in loaded if m.startswith("functions.")] == ["functions.get_invoice"]


# The real entrypoint (`billing serve`) of the hot-read functions in one process: its server
# is started as run_app would, asked over HTTP, and its modules listed, then it stops.
_SERVE_AND_LIST_MODULES = """
import asyncio, json, sys
from aiohttp import ClientSession, web

requests = json.loads(sys.argv[1])

def run_app(app, *, sock, **_):
    async def go():
        runner = web.AppRunner(app)
        await runner.setup()
        for s in sock:
            await web.SockSite(runner, s).start()
        base = "http://127.0.0.1:%d" % sock[0].getsockname()[1]
        replies = []
        async with ClientSession() as http:
            for path, key in requests:
                headers = {"Authorization": "Bearer " + key} if key else {}
                async with http.get(base + path, headers=headers) as reply:
                    replies.append([reply.status, (await reply.read()).decode()])
        await runner.cleanup()
        print(json.dumps({"replies": replies, "modules": sorted(sys.modules)}))
    asyncio.run(go())

web.run_app = run_app
from shared.runtime.cli import main
sys.exit(main(["serve"]))
"""
# What a function that only reads through shared.db.hot_reads must not load.
NOT_FOR_HOT_READS = (
    "sqlalchemy",
    "greenlet",
    "alembic",
    "shared.db.uow",
    "shared.db.tables",
    "shared.db.repository",
    "shared.db.engine",
    "shared.services",
)


async def test_the_hot_read_functions_serve_without_sqlalchemy(api: Api) -> None:
    """`billing serve` of the driver_only functions: the same bytes as the full server, over
    the real database (USD, JPY and KWD invoices), and none of SQLAlchemy, the ORM tables,
    the unit of work or the services loaded."""
    ada = await api.customer()
    for currency, amount in (("USD", 1999), ("JPY", 1500), ("KWD", 12345)):
        await api.subscribe(ada, await api.plan(code=currency.lower(), amount=amount, currency=currency))
    invoices = await api.invoices()
    assert sorted((i["currency"], i["total"]) for i in invoices) == [("JPY", 1500), ("KWD", 12345), ("USD", 1999)]
    subscription = invoices[0]["subscription_id"]
    paths = [
        *(f"/v1/invoices/{i['id']}" for i in invoices),
        f"/v1/invoices?customer_id={ada['id']}&limit=2",
        f"/v1/subscriptions/{subscription}",
        "/v1/subscriptions?limit=10",
        "/v1/invoices/in_nosuchinvoice",
    ]
    expected = []
    for path in paths:
        async with api.client.get(path, headers={"Authorization": f"Bearer {api.key}"}) as reply:
            expected.append([reply.status, (await reply.read()).decode()])
    requests = [["/health", None], ["/ready", None], ["/v1/invoices", "sk_test_not_a_key"]]
    requests += [[path, api.key] for path in paths]
    env = {
        **os.environ,
        "DATABASE_URL": api.database_url,
        "FUNCTION_TARGET": "get-invoice,list-invoices,get-subscription,list-subscriptions",
        "HOST": "127.0.0.1",
        "PORT": str(free_port()),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SERVE_AND_LIST_MODULES,
        json.dumps(requests),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode == 0, err.decode()[-2000:]
    found = json.loads(out.decode().strip().splitlines()[-1])
    statuses = [status for status, _ in found["replies"]]
    assert statuses[:3] == [200, 200, 401]
    assert found["replies"][3:] == expected
    assert [status for status, _ in expected] == [200] * (len(paths) - 1) + [404]
    loaded = found["modules"]
    assert [
        m for m in loaded if m in NOT_FOR_HOT_READS or m.startswith(tuple(p + "." for p in NOT_FOR_HOT_READS))
    ] == []
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY] == []


def test_a_driver_only_operation_uses_nothing_but_the_hot_reads() -> None:
    """A driver_only process has no engine, sessions or unit of work (app[ENGINE] and
    app[SESSIONS] are absent): its handlers may reach the database through call.reads only."""
    import inspect

    driver_only = [op for op in all_operations() if op.driver_only]
    assert {op.name for op in driver_only} >= {"get-invoice", "get-subscription", "list-invoices", "list-subscriptions"}
    for op in driver_only:
        source = inspect.getsource(sys.modules[op.handler.__module__])
        assert "call.reads" in source, op.name
        assert not any(word in source for word in ("call.uow(", "call.engine", "ENGINE", "SESSIONS")), op.name
