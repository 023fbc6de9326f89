"""Engine creation: one async engine (asyncpg) per process."""

from __future__ import annotations

import sys

import sqlalchemy.ext.asyncio as sa_asyncio
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db.driver_pool import CONNECT_TIMEOUT_SECONDS, SERVER_SETTINGS


def async_url(url: str) -> str:
    """Accept the usual postgres:// / postgresql:// forms and pin the asyncpg driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"DATABASE_URL must point at PostgreSQL, got {parsed.get_backend_name()!r}")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 5, pool_timeout: float = 5.0) -> AsyncEngine:
    """`pool_timeout`: seconds a request waits for a pooled connection before it is
    refused (503, see shared.runtime.outages) rather than queueing without bound."""
    engine = sa_asyncio.create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        # No pool_pre_ping: on asyncpg it costs three round trips (BEGIN, ';', ROLLBACK) per
        # checkout. A connection that died with the server is caught by the driver's own
        # state instead (see _discard_closed), at no round trip.
        hide_parameters=True,  # errors carry emails, names, metadata: never in logs
        connect_args={"server_settings": SERVER_SETTINGS, "timeout": CONNECT_TIMEOUT_SECONDS},
    )
    event.listen(engine.sync_engine.pool, "checkout", _discard_closed)
    telemetry = sys.modules.get("shared.telemetry")  # not loaded: not set up, nothing to record
    if telemetry is not None:
        telemetry.instrument_sqlalchemy()  # its listeners wait for the first engine
    return engine


def _discard_closed(dbapi_connection, connection_record, connection_proxy) -> None:
    """A pooled connection whose socket the server closed (restart, termination) is known
    closed to asyncpg without asking the server: the pool then replaces it (it retries the
    checkout on DisconnectionError) instead of handing it to a request."""
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the pooled connection was closed by the server")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
