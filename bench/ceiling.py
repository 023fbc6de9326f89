"""The raw ceiling: a bare aiohttp handler doing one asyncpg primary-key SELECT, JSON out.

    python -m bench.ceiling --port PORT --database-url URL

No framework, no auth, no telemetry: what one process on this machine can serve at best.
The endpoint benchmark runs it next to the product, so every target is a ratio measured
at the same time on the same machine. Loopback only.
"""

from __future__ import annotations

import argparse
import json

import asyncpg
from aiohttp import web

INVOICE = "SELECT id, customer_id, subscription_id, status, currency, total, amount_due, created_at FROM invoices WHERE tenant_id = $1 AND id = $2"


def make_app(url: str) -> web.Application:
    app = web.Application()
    pool_key = web.AppKey("pool", asyncpg.Pool)

    async def pool(app: web.Application):
        app[pool_key] = await asyncpg.create_pool(url, min_size=5, max_size=10)
        yield
        await app[pool_key].close()

    async def invoice(request: web.Request) -> web.Response:
        row = await app[pool_key].fetchrow(INVOICE, request.query.get("tenant", ""), request.match_info["id"])
        if row is None:
            return web.json_response({"error": "not found"}, status=404)
        body = dict(row)
        body["created_at"] = body["created_at"].isoformat()
        return web.Response(body=json.dumps(body), content_type="application/json")

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.cleanup_ctx.append(pool)
    app.router.add_get("/invoices/{id}", invoice)
    app.router.add_get("/health", health)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    url = args.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    web.run_app(make_app(url), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
