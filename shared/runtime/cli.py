"""The `billing` command: serve, migrate, tenant create."""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import socket
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


def _internal_socket(settings: Settings) -> socket.socket:
    """Bind the internal listener now, so a taken port fails start-up with one clear line."""
    port = settings.internal_port or settings.port + 1
    if port == settings.port:
        raise SystemExit(f"BILLING_INTERNAL_PORT must differ from PORT ({port})")
    try:
        family = socket.getaddrinfo(settings.internal_host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((settings.internal_host, port), family=family)
    except OSError as error:
        raise SystemExit(f"cannot listen on {settings.internal_host}:{port} (BILLING_INTERNAL_HOST/PORT): {error}") \
            from None


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from shared.runtime.app import make_app
    from shared.runtime.keys import OPERATIONS

    settings = Settings.from_env()
    if args.host:
        settings = replace(settings, host=args.host)
    if args.port:
        settings = replace(settings, port=args.port)
    # The combined server: internal routes (the all-tenant renewal trigger, /metrics) get
    # their own listener, on loopback by default, never the public address.
    internal = _internal_socket(settings) if settings.function_target is None else None
    handle, settings = _database(settings)
    if handle is None and args.migrate:
        from shared.db.migrate import upgrade

        upgrade(settings.database_url or "")
    if internal is not None:
        internal_port = internal.getsockname()[1]
        app = make_app(settings, internal_port=internal_port)
        log.info("serving %d operation(s) on http://%s:%d (docs at /docs); internal routes on http://%s:%d",
                 len(app[OPERATIONS]), settings.host, settings.port, settings.internal_host, internal_port)
    else:
        # One function (Knative): one PORT, as the container contract says; the cluster network
        # and the edge's per-route matching keep internal routes private there.
        app = make_app(settings)
        log.info("serving %d operation(s) on http://%s:%d (docs at /docs)", len(app[OPERATIONS]), settings.host,
                 settings.port)
    # run_app handles SIGTERM/SIGINT: stops accepting, lets in-flight requests finish, runs cleanup.
    web.run_app(app, host=settings.host, port=settings.port, sock=internal, print=None, shutdown_timeout=30,
                access_log=None)
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


def cmd_renew(args: argparse.Namespace) -> int:
    """Renew every tenant's due subscriptions; a progress bar when attached to a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from shared.db.engine import make_engine
    from shared.services.renewals import renew_all

    settings = Settings.from_env()
    as_of = None
    if args.at:  # checked before any database is started or touched
        from shared.timestamps import BadTimestamp, parse_rfc3339

        # No age window here, unlike the CloudEvent: whoever runs this holds the database
        # credentials, and catching up as of a chosen past time is what --at is for.
        try:
            as_of = parse_rfc3339(args.at)
        except BadTimestamp as error:
            raise SystemExit(f"billing renew: --at {error}") from None
    _, settings = _database(settings)

    bar = Progress(TextColumn("renewing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   disable=not sys.stderr.isatty(), console=None)
    task = bar.add_task("renew", total=None)

    async def run():  # type: ignore[no-untyped-def]
        from shared.renewal.engine import DEFAULT_WORKERS

        engine = make_engine(settings.database_url or "", pool_size=DEFAULT_WORKERS, max_overflow=1)
        try:
            return await renew_all(engine, SystemClock(), as_of, batch_size=args.batch_size,
                                   on_start=lambda due: bar.update(task, total=due),
                                   progress=lambda n: bar.advance(task, n))
        finally:
            await engine.dispose()

    with bar:
        report = asyncio.run(run())
    print(json.dumps({
        "as_of": report.as_of.isoformat(), "renewed": report.renewed, "invoices_created": report.invoices_created,
        "ended": report.ended, "past_due": report.past_due, "batches": report.batches,
        "invoiced_minor_units": dict(report.invoiced),
        "duration_seconds": round(report.duration_seconds, 3),
    }))
    return 0


def cmd_manifests(args: argparse.Namespace) -> int:
    """Write knative/ from the registry, or with --check report whether it is up to date."""
    from pathlib import Path

    from shared.runtime.manifests import render

    out = Path(args.out)
    files = render()
    stale = [name for name, text in files.items() if not (out / name).exists() or (out / name).read_text() != text]
    if args.check:
        for name in stale:
            print(f"out of date: {out / name}", file=sys.stderr)
        return 1 if stale else 0
    for name, text in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(text)
    print(f"wrote {len(files)} files under {out} ({len(stale)} changed)", file=sys.stderr)
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

    renew = sub.add_parser("renew", help="renew every tenant's due subscriptions now (or as of --at, capped at now)")
    renew.add_argument("--at", help="as-of time (RFC 3339, e.g. 2026-02-01T00:00:00Z); never later than now")
    renew.add_argument("--batch-size", type=int, default=1000, help="subscriptions per transaction")
    renew.set_defaults(run=cmd_renew)

    manifests = sub.add_parser("manifests", help="generate the Knative/Traefik/Prometheus manifests from the registry")
    manifests.add_argument("--out", default="knative", help="output folder (default: knative)")
    manifests.add_argument("--check", action="store_true", help="exit 1 if the files on disk are out of date")
    manifests.set_defaults(run=cmd_manifests)

    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(dest="tenant_command", required=True)
    create = tenant.add_parser("create", help="create a tenant and print its API key once")
    create.add_argument("name")
    create.set_defaults(run=cmd_tenant_create)
    return root


def main(argv: list[str] | None = None) -> int:
    from shared.logs import setup_logging

    setup_logging()
    args = parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
