"""Engine creation: one async engine (asyncpg) per process."""
from __future__ import annotations

import sqlalchemy.ext.asyncio as sa_asyncio
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


def async_url(url: str) -> str:
    """Accept the usual postgres:// / postgresql:// forms and pin the asyncpg driver."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"DATABASE_URL must point at PostgreSQL, got {parsed.get_backend_name()!r}")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 5, pool_timeout: float = 5.0) -> AsyncEngine:
    """`pool_timeout` bounds both the wait for a pooled connection and the opening of a new
    one, so a request facing a full pool or an unreachable server fails fast (503)."""
    # Looked up at call time: OpenTelemetry's SQLAlchemy instrumentation wraps this function.
    return sa_asyncio.create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,  # a connection that died with the server is replaced, not used
        hide_parameters=True,  # errors carry emails, names, metadata: never in logs
        # Every timestamp is UTC, whatever the server's default.
        connect_args={"server_settings": {"timezone": "UTC", "application_name": "billing"}, "timeout": pool_timeout},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
