"""The dispatcher alone as a process, for the crash test: the same `Dispatcher` loop
`billing serve` runs in the background (LISTEN/NOTIFY plus a poll), started with far fewer
imports than the whole server, so the test can kill and restart it many times cheaply.

    python -m tests.events.dispatcher_process   (DATABASE_URL, BILLING_DISPATCH_* as for serve)
"""

from __future__ import annotations

import asyncio

from sqlalchemy.engine import make_url

from shared.db.engine import make_engine
from shared.events.dispatcher import Dispatcher
from shared.settings import Settings


async def main() -> None:
    settings = Settings.from_env()
    assert settings.database_url is not None
    engine = make_engine(settings.database_url, pool_size=2, max_overflow=0)
    dispatcher = Dispatcher(
        engine,
        allow_private=settings.webhook_allow_private,
        batch=settings.dispatch_batch,
        poll_seconds=settings.dispatch_poll_seconds,
        lease_seconds=settings.dispatch_lease_seconds,
    )
    dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    dispatcher.start(dsn)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    asyncio.run(main())
