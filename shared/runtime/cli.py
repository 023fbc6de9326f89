"""The `billing` command: serve, migrate, tenant create, key create|list|revoke, renew, manifests."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import re
import sys
from dataclasses import replace
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from shared.clock import SystemClock
from shared.runtime.ports import Listener
from shared.settings import Settings

log = logging.getLogger("billing")

EMBEDDED_HINT = "unset DATABASE_URL to use the embedded database"


class UsageError(Exception):
    """A command's argument is wrong in a way only the command can tell: exit 2 with usage."""


def _package_version() -> str:
    try:
        return version("billing-functions")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0.0.0"


# Argument types: a wrong value is one line and exit 2, before anything is started.


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {value}")
    return value


def _timestamp(text: str) -> datetime:
    from shared.timestamps import BadTimestamp, parse_rfc3339

    try:
        return parse_rfc3339(text)
    except BadTimestamp as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _nonblank(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _identifier(prefix: str):
    """An object id with its prefix (ten_..., key_...): a typo is a usage error, not a lookup."""
    pattern = re.compile(rf"{prefix}_[0-9a-z]{{1,40}}")

    def check(text: str) -> str:
        if not pattern.fullmatch(text):
            raise argparse.ArgumentTypeError(f"expected an id like {prefix}_01k..., got {text!r}")
        return text

    return check


def _where(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: say nothing of its content
        return "(unparsable)"


def _database(settings: Settings, *, driver_only: bool = False) -> tuple[object | None, Settings]:
    """Use DATABASE_URL, or start the embedded server and migrate it. The returned handle
    keeps the embedded server alive; it stops cleanly when the process exits.
    `driver_only`: the server will not load SQLAlchemy (shared.db.driver_pool): nor here."""
    if settings.database_url and driver_only:
        from shared.db.driver_pool import driver_dsn

        try:
            driver_dsn(settings.database_url)
        except ValueError:
            raise SystemExit(
                "DATABASE_URL is not a database URL: expected postgresql://user:password@host:5432/"
                f"database, or {EMBEDDED_HINT}"
            ) from None
        return None, settings
    if settings.database_url:
        from sqlalchemy.exc import ArgumentError

        from shared.db.engine import async_url

        try:
            async_url(settings.database_url)
        except ArgumentError:
            raise SystemExit(
                "DATABASE_URL is not a database URL: expected postgresql://user:password@host:5432/"
                f"database, or {EMBEDDED_HINT}"
            ) from None
        return None, settings
    from shared.db.migrate import upgrade
    from shared.devdb import embedded_url

    handle, url = embedded_url(settings.data_dir)
    upgrade(url)
    return handle, replace(settings, database_url=url)


def _check_database(url: str, *, needed_at_start: bool, driver_only: bool = False) -> None:
    """Connect once before serving. A database that does not answer is one warning line (the
    server still starts; its API answers 503 until the database does), unless start-up itself
    needs it (the bootstrap key); one that refuses us (wrong password, no such database) is
    one line and exit, since no request could work. `driver_only`: without SQLAlchemy."""
    from shared.logs import describe
    from shared.runtime.outages import classify

    async def probe() -> None:
        if driver_only:
            from shared.db.driver_pool import DriverPool

            pool = await DriverPool(url, pool_size=1, max_overflow=0).start()
            try:
                async with pool.connection():
                    pass
            finally:
                await pool.close()
            return
        from shared.db.engine import make_engine

        engine = make_engine(url, pool_size=1, max_overflow=0)
        try:
            async with engine.connect():
                pass
        finally:
            await engine.dispose()

    try:
        asyncio.run(probe())
    except Exception as error:
        outage = classify(error)
        if outage is not None and needed_at_start:
            raise SystemExit(
                f"billing serve: the database is unavailable ({outage.cause}) and "
                f"BILLING_BOOTSTRAP_API_KEY needs it at start-up: start PostgreSQL at "
                f"DATABASE_URL={_where(url)}, correct DATABASE_URL, or {EMBEDDED_HINT}"
            ) from None
        if outage is not None:
            log.warning(
                "the database at DATABASE_URL=%s does not answer (%s): serving anyway, API calls answer 503 "
                "until it does; start PostgreSQL there, correct DATABASE_URL, or %s",
                _where(url),
                outage.cause,
                EMBEDDED_HINT,
            )
            return
        cause = describe(getattr(error, "orig", None) or error).split("\n", 1)[0]
        raise SystemExit(
            f"billing serve: cannot use the database at DATABASE_URL={_where(url)} ({cause}): "
            f"correct DATABASE_URL, or {EMBEDDED_HINT}"
        ) from None


def _listeners(settings: Settings, args: argparse.Namespace) -> tuple[Listener, Listener | None]:
    """Bind the public listener (and the combined server's internal one) before anything slow:
    a port someone chose must be free; a default one moves to the next free port."""
    from shared.runtime.ports import claim

    port_chosen = args.port is not None or bool(os.environ.get("PORT"))
    public = claim(settings.host, settings.port, setting="PORT", chosen=port_chosen)
    if settings.function_target is not None:
        # One function (Knative): one PORT, as the container contract says; the cluster network
        # and the edge's per-route matching keep internal routes private there.
        return public, None
    # The combined server: internal routes (the all-tenant renewal trigger, /metrics) get their
    # own listener, on loopback by default, never the public address.
    internal_chosen = settings.internal_port is not None
    internal_port = settings.internal_port or public.port + 1
    if internal_port == public.port:
        public.close()
        raise SystemExit(f"billing serve: BILLING_INTERNAL_PORT must differ from PORT ({internal_port})")
    try:
        internal = claim(
            settings.internal_host,
            internal_port,
            setting="BILLING_INTERNAL_PORT",
            chosen=internal_chosen,
            avoid=frozenset({public.port}),
        )
    except SystemExit:
        public.close()
        raise
    return public, internal


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _dispatches(operations: tuple[Any, ...]) -> bool:
    """A server of the dispatch function also dispatches in the background (LISTEN/NOTIFY)."""
    return any(op.name == "dispatch-events" for op in operations)


def cmd_serve(args: argparse.Namespace) -> int:
    # No cyclic GC while starting: imports and the app make tens of thousands of objects and
    # almost no garbage, and the collections they trigger cost ~15% of a cold start's CPU.
    gc.disable()
    try:
        return _serve(args)
    finally:
        gc.enable()


def _serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from shared.runtime.app import make_app
    from shared.runtime.registry import driver_only, select

    settings = Settings.from_env()
    if args.host:
        settings = replace(settings, host=args.host)
    if args.port is not None:
        settings = replace(settings, port=args.port)
    operations = select(settings.function_target)  # an unknown target fails here, before any work
    lean = driver_only(operations)  # no SQLAlchemy (shared.db.driver_pool); dispatch-events is not driver_only
    public, internal = _listeners(settings, args)
    for listener in (public, internal):
        if listener is not None and listener.note:
            log.warning("%s", listener.note)
    handle, settings = _database(settings, driver_only=lean)
    if handle is None:
        if args.migrate:
            from shared.db.migrate import upgrade

            upgrade(settings.database_url or "")
        _check_database(
            settings.database_url or "", needed_at_start=settings.bootstrap_api_key is not None, driver_only=lean
        )
    settings = replace(settings, port=public.port)
    address = f"http://{settings.host}:{public.port}"
    if internal is not None:
        app = make_app(settings, operations=operations, internal_port=internal.port, dispatcher=_dispatches(operations))
        internal_ops = sum(1 for op in operations if not op.public)
        log.info(
            "serving %s on %s (docs at %s/docs); internal: %s and /metrics on http://%s:%d",
            _plural(len(operations) - internal_ops, "operation"),
            address,
            address,
            _plural(internal_ops, "operation"),
            settings.internal_host,
            internal.port,
        )
    else:
        app = make_app(settings, operations=operations, dispatcher=_dispatches(operations))
        log.info("serving %s on %s (docs at %s/docs)", _plural(len(operations), "operation"), address, address)
    sockets = public.sockets + (internal.sockets if internal is not None else [])
    # What startup made (modules, models, schemas) lives as long as the process: out of the
    # cyclic GC's way, so its full collections scan only what requests make (a usage batch's
    # thousands of small objects triggered scans of the whole heap: ~20% of its CPU). No
    # collection first: it found a handful of garbage objects and took ~70 ms of the start.
    gc.freeze()
    gc.enable()
    # run_app handles SIGTERM/SIGINT: stops accepting, lets in-flight requests finish, runs cleanup.
    web.run_app(app, sock=sockets, print=None, shutdown_timeout=30, access_log=None)
    log.info("stopped serving on %s: in-flight requests finished, database connections closed", address)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from shared.db.migrate import upgrade

    settings = Settings.from_env()
    handle, settings = _database(settings)
    if handle is None:
        upgrade(settings.database_url or "")
    print("database is at the latest schema revision", file=sys.stderr)
    return 0


def _use_case(command: str, use_case):
    """Run one use case on DATABASE_URL (or the embedded database) with one connection; a
    refusal (unknown tenant, invalid name...) is one line."""
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
        raise SystemExit(f"billing {command}: {error.detail}") from None


def cmd_tenant_create(args: argparse.Namespace) -> int:
    from shared.services.tenants import create_tenant

    created = _use_case("tenant create", lambda uow: create_tenant(uow, args.name, SystemClock()))
    print(
        f"created tenant {created.tenant.id} ({created.tenant.name}); its API key is shown once, on stdout",
        file=sys.stderr,
    )
    print(created.api_key)
    return 0


def _key_command(args: argparse.Namespace, use_case):
    return _use_case(f"key {args.key_command}", use_case)


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
    except ValidationError as error:  # checked before any database is started or touched
        raise UsageError(
            "; ".join(f"--{'-'.join(map(str, e['loc'])).replace('_', '-')}: {e['msg']}" for e in error.errors())
        ) from None
    issued = _key_command(
        args,
        lambda uow: create_api_key(
            uow, args.tenant, SystemClock(), name=cmd.name, scope=cmd.scope, expires_at=cmd.expires_at
        ),
    )
    print(
        f"created API key {issued.row.id} ({issued.row.scope}) for {args.tenant}; its secret is shown once, on stdout",
        file=sys.stderr,
    )
    print(issued.secret)
    return 0


def cmd_key_list(args: argparse.Namespace) -> int:
    """Every key of the tenant, newest first, one JSON object a line (prefixes only)."""
    from shared.services.api_keys import list_api_keys

    async def print_every_key(uow) -> None:
        cursor = None
        for _ in range(10_000):  # bounded: a million keys at most, a page at a time
            page = await list_api_keys(uow, args.tenant, limit=100, starting_after=cursor)
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
    """Renew every tenant's due subscriptions; a progress bar on stderr when it is a terminal
    (stdout carries only the report)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from shared.db.engine import make_engine
    from shared.logs import logs_through
    from shared.services.renewals import renew_all

    # --at has no age window, unlike the CloudEvent: whoever runs this holds the database
    # credentials, and catching up as of a chosen past time is what --at is for.
    _, settings = _database(Settings.from_env())

    console = Console(stderr=True)
    bar = Progress(
        TextColumn("renewing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not console.is_terminal,
        console=console,
    )
    task = bar.add_task("renew", total=None)

    async def run():
        from shared.renewal.engine import DEFAULT_WORKERS

        engine = make_engine(settings.database_url or "", pool_size=DEFAULT_WORKERS, max_overflow=1)
        try:
            return await renew_all(
                engine,
                SystemClock(),
                args.at,
                batch_size=args.batch_size,
                on_start=lambda due: bar.update(task, total=due),
                progress=lambda n: bar.advance(task, n),
            )
        finally:
            await engine.dispose()

    # While the bar is live, log lines print above it instead of across it.
    with bar, logs_through(console if not bar.disable else None):
        report = asyncio.run(run())
    print(
        json.dumps(
            {
                "as_of": report.as_of.isoformat(),
                "renewed": report.renewed,
                "invoices_created": report.invoices_created,
                "ended": report.ended,
                "past_due": report.past_due,
                "failed": report.failed,
                "failed_subscriptions": report.failed_subscriptions,
                "batches": report.batches,
                "invoiced_minor_units": dict(report.invoiced),
                "duration_seconds": round(report.duration_seconds, 3),
            }
        )
    )
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
    root.add_argument("--version", action="version", version=f"billing {_package_version()}")
    sub = root.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the functions (FUNCTION_TARGET selects; unset = all)")
    serve.add_argument("--host", type=_nonblank, help="listen address (default $HOST or 0.0.0.0)")
    serve.add_argument(
        "--port", type=_port, help="listen port (default $PORT; if neither is set, 8080 or the next free port)"
    )
    serve.add_argument("--migrate", action="store_true", help="migrate DATABASE_URL before serving")
    serve.set_defaults(run=cmd_serve)

    migrate = sub.add_parser("migrate", help="alembic upgrade head on DATABASE_URL (or the embedded database)")
    migrate.set_defaults(run=cmd_migrate)

    renew = sub.add_parser("renew", help="renew every tenant's due subscriptions now (or as of --at, capped at now)")
    renew.add_argument(
        "--at", type=_timestamp, help="as-of time (RFC 3339, e.g. 2026-02-01T00:00:00Z); never later than now"
    )
    renew.add_argument(
        "--batch-size",
        type=_positive_int,
        default=1000,
        help="subscriptions per transaction, at least 1 (default: 1000)",
    )
    renew.set_defaults(run=cmd_renew)

    manifests = sub.add_parser("manifests", help="generate the Knative/Traefik/Prometheus manifests from the registry")
    manifests.add_argument("--out", type=_nonblank, default="knative", help="output folder (default: knative)")
    manifests.add_argument("--check", action="store_true", help="exit 1 if the files on disk are out of date")
    manifests.set_defaults(run=cmd_manifests)

    tenant = sub.add_parser("tenant", help="manage tenants").add_subparsers(dest="tenant_command", required=True)
    create = tenant.add_parser("create", help="create a tenant and print its API key once")
    create.add_argument("name", type=_nonblank)
    create.set_defaults(run=cmd_tenant_create)

    tenant_id = _identifier("ten")
    key = sub.add_parser("key", help="manage a tenant's API keys").add_subparsers(dest="key_command", required=True)
    key_create = key.add_parser("create", help="create an API key and print its secret once")
    key_create.add_argument("--tenant", type=tenant_id, required=True, help="the tenant's id (ten_...)")
    key_create.add_argument("--name", required=True, help="what the key is for")
    key_create.add_argument("--scope", choices=["read", "write"], default="write", help="default: write")
    key_create.add_argument("--expires-at", help="ISO 8601 time with a timezone; default: never")
    key_create.set_defaults(run=cmd_key_create, usage=key_create)
    key_list = key.add_parser("list", help="list the tenant's API keys (prefixes only), JSON lines")
    key_list.add_argument("--tenant", type=tenant_id, required=True, help="the tenant's id (ten_...)")
    key_list.set_defaults(run=cmd_key_list)
    key_revoke = key.add_parser("revoke", help="revoke an API key for good")
    key_revoke.add_argument("--tenant", type=tenant_id, required=True, help="the tenant's id (ten_...)")
    key_revoke.add_argument("key_id", type=_identifier("key"), help="the key's id (key_...)")
    key_revoke.set_defaults(run=cmd_key_revoke)
    return root


def main(argv: list[str] | None = None) -> int:
    from shared.logs import setup_logging

    setup_logging()
    args = parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except UsageError as error:
        args.usage.error(str(error))  # exits 2, like argparse's own checks
        return 2
    except Exception as error:
        from shared.runtime.outages import classify

        outage = classify(error)
        if outage is None:
            raise
        # The database being down is an operating condition, not a bug: one line, no traceback.
        where = os.environ.get("DATABASE_URL")
        hint = f"check DATABASE_URL={_where(where)}, or {EMBEDDED_HINT}" if where else "see the lines above"
        command = " ".join(
            filter(None, (args.command, getattr(args, "tenant_command", None), getattr(args, "key_command", None)))
        )
        log.error("billing %s: the database is unavailable (%s): %s", command, outage.cause, hint)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
