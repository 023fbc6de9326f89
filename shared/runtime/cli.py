"""The `billing` command: serve, migrate, tenant create, key create|list|revoke, renew, manifests."""
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
    from shared.runtime.app_state import OPERATIONS

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
    from shared.domain.errors import DomainError
    from shared.services.tenants import create_tenant

    _, settings = _database(Settings.from_env())

    async def run() -> tuple[str, str]:
        engine = make_engine(settings.database_url or "", pool_size=1, max_overflow=0)
        try:
            created = await create_tenant(UnitOfWork(make_sessionmaker(engine)), args.name, SystemClock())
        finally:
            await engine.dispose()
        return created.tenant.id, created.api_key

    try:
        tenant_id, key = asyncio.run(run())
    except DomainError as error:  # an empty or duplicate name: one line, nothing created
        raise SystemExit(f"billing tenant create: {error.detail}") from None
    print(f"created tenant {tenant_id} ({args.name.strip()}); its API key is shown once, on stdout", file=sys.stderr)
    print(key)
    return 0


def _key_command(args: argparse.Namespace, use_case):
    """Run one API-key use case on DATABASE_URL (or the embedded database) with one connection."""
    from shared.db.engine import make_engine, make_sessionmaker
    from shared.db.uow import UnitOfWork
    from shared.domain.errors import DomainError

    _, settings = _database(Settings.from_env())

    async def run():
        engine = make_engine(settings.database_url or "", pool_size=1, max_overflow=0)
        try:
            return await use_case(UnitOfWork(make_sessionmaker(engine)))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DomainError as error:
        raise SystemExit(f"billing key {args.key_command}: {error.detail}") from None


def _key_json(row: object) -> str:
    from shared.schemas.api_keys import ApiKey

    return ApiKey.model_validate(row).model_dump_json()


def cmd_key_create(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from shared.schemas.api_keys import ApiKeyCreate
    from shared.services.api_keys import create_api_key

    fields = {"name": args.name, "scope": args.scope}
    if args.expires_at:
        fields["expires_at"] = args.expires_at
    try:
        cmd = ApiKeyCreate.model_validate_json(json.dumps(fields))
    except ValidationError as error:
        raise SystemExit("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())) from None
    issued = _key_command(args, lambda uow: create_api_key(uow, args.tenant, cmd, SystemClock()))
    print(f"created API key {issued.row.id} ({issued.row.scope}) for {args.tenant}; "
          "its secret is shown once, on stdout", file=sys.stderr)
    print(issued.secret)
    return 0


def cmd_key_list(args: argparse.Namespace) -> int:
    """Every key of the tenant, newest first, one JSON object a line (prefixes only)."""
    from shared.schemas.common import ListQuery
    from shared.services.api_keys import list_api_keys

    async def print_every_key(uow) -> None:
        cursor = None
        for _ in range(10_000):  # bounded: a million keys at most, a page at a time
            page = await list_api_keys(uow, args.tenant, ListQuery(limit=100, starting_after=cursor))
            for row in page.data:
                print(_key_json(row))
            if not page.has_more:
                break
            cursor = page.data[-1].id

    _key_command(args, print_every_key)
    return 0


def cmd_key_revoke(args: argparse.Namespace) -> int:
    from shared.services.api_keys import revoke_api_key

    row = _key_command(args, lambda uow: revoke_api_key(uow, args.tenant, args.key_id, SystemClock()))
    print(_key_json(row))
    print(f"revoked {row.id}: every process refuses it within a second", file=sys.stderr)
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

    async def run():
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

    key = sub.add_parser("key", help="manage a tenant's API keys").add_subparsers(dest="key_command", required=True)
    key_create = key.add_parser("create", help="create an API key and print its secret once")
    key_create.add_argument("--tenant", required=True, help="the tenant's id (ten_...)")
    key_create.add_argument("--name", required=True, help="what the key is for")
    key_create.add_argument("--scope", choices=["read", "write"], default="write", help="default: write")
    key_create.add_argument("--expires-at", help="ISO 8601 time with a timezone; default: never")
    key_create.set_defaults(run=cmd_key_create)
    key_list = key.add_parser("list", help="list the tenant's API keys (prefixes only), JSON lines")
    key_list.add_argument("--tenant", required=True, help="the tenant's id (ten_...)")
    key_list.set_defaults(run=cmd_key_list)
    key_revoke = key.add_parser("revoke", help="revoke an API key for good")
    key_revoke.add_argument("--tenant", required=True, help="the tenant's id (ten_...)")
    key_revoke.add_argument("key_id", help="the key's id (key_...)")
    key_revoke.set_defaults(run=cmd_key_revoke)
    return root


def main(argv: list[str] | None = None) -> int:
    from shared.logs import setup_logging

    setup_logging()
    args = parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except Exception as error:
        from shared.runtime.outages import classify

        outage = classify(error)
        if outage is None:
            raise
        # The database being down is an operating condition, not a bug: one line, no traceback.
        log.error("billing %s: the database is unavailable (%s)", args.command, outage.cause)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
