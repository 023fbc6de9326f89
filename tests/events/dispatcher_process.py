"""The dispatcher alone as a process, for the crash test: the same `Dispatcher` loop
`billing serve` runs in the background (LISTEN/NOTIFY plus a poll).

    python -m tests.events.dispatcher_process   (DATABASE_URL, BILLING_DISPATCH_* as for serve)

It starts as a zygote: it imports everything once, then forks one dispatcher process per
line read on stdin and prints the child's pid (children are reaped automatically). The
test SIGKILLs those children again and again: each is a real process with its own
connections, and a restart costs a fork instead of an interpreter start.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from sqlalchemy.engine import make_url

from shared.db.engine import make_engine
from shared.events.dispatcher import Dispatcher
from shared.settings import Settings


async def dispatch() -> None:
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


def main() -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reaped by the kernel
    for _ in sys.stdin:  # one dispatcher per line; EOF ends the zygote
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            asyncio.run(dispatch())
            os._exit(0)
        print(pid, flush=True)


if __name__ == "__main__":
    main()
