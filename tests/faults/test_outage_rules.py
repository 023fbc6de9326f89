"""What counts as an outage, how episodes are counted and logged, and the pool-timeout setting."""

from __future__ import annotations

import logging

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc

from shared.runtime.outages import EXHAUSTED, QUIET_SECONDS, UNAVAILABLE, Episodes, Outage, classify
from shared.settings import Settings


def wrapped(cause: BaseException) -> sa_exc.DBAPIError:
    """As SQLAlchemy raises it: the driver's error as `orig` and as the cause."""
    error = sa_exc.DBAPIError("INSERT INTO customers ...", None, cause)
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "error, kind",
    [
        (ConnectionRefusedError(111, "Connect call failed"), UNAVAILABLE),
        (FileNotFoundError(2, "No such file or directory"), UNAVAILABLE),  # the server's unix socket is gone
        (TimeoutError(), UNAVAILABLE),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), UNAVAILABLE),
        (asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"), UNAVAILABLE),
        (
            asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
            UNAVAILABLE,
        ),
        (asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"), UNAVAILABLE),
        (wrapped(asyncpg.exceptions.ConnectionDoesNotExistError("closed")), UNAVAILABLE),
        (
            sa_exc.OperationalError("SELECT 1", None, Exception("server closed the connection unexpectedly")),
            UNAVAILABLE,
        ),
        (sa_exc.TimeoutError("QueuePool limit of size 1 overflow 0 reached"), EXHAUSTED),
        (ExceptionGroup("workers", [ValueError("x"), ConnectionResetError()]), UNAVAILABLE),
    ],
)
def test_outages_are_recognised(error: BaseException, kind: str) -> None:
    outage = classify(error)
    assert outage is not None and outage.kind == kind


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        wrapped(asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint")),
        wrapped(asyncpg.exceptions.CheckViolationError("new row violates check constraint")),
        asyncpg.exceptions.InterfaceError("cannot perform operation: another operation is in progress"),
    ],
)
def test_ordinary_failures_are_not_outages(error: BaseException) -> None:
    assert classify(error) is None


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_episode_logs_when_it_starts_and_when_it_ends_with_its_count(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="billing.outages")
    clock = FakeMonotonic()
    episodes = Episodes(now=clock)
    episodes.succeeded()  # nothing to end
    down = Outage(UNAVAILABLE, "ConnectionRefusedError: [Errno 111] Connect call failed")
    for _ in range(500):
        episodes.refused(down)
        clock.now += 0.01
    episodes.succeeded()  # the database is back, but refusals were just now: same episode
    episodes.refused(down)  # a straggler: the episode goes on, it is back only from the next success
    clock.now += QUIET_SECONDS
    episodes.succeeded()
    assert not episodes.open
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert messages[0].startswith("database unavailable (ConnectionRefusedError")
    assert messages[1] == "database serving again after 6.0s; 501 request(s) were answered 503 meanwhile"
    assert caplog.records[1].refused == 501  # type: ignore[attr-defined]


def test_the_pool_timeout_setting() -> None:
    assert Settings.from_env({}).db_pool_timeout == 5.0
    assert Settings.from_env({"BILLING_DB_POOL_TIMEOUT": "0.5"}).db_pool_timeout == 0.5
    for bad in ("0", "-1", "soon", "inf", "nan"):
        with pytest.raises(SystemExit, match="BILLING_DB_POOL_TIMEOUT"):
            Settings.from_env({"BILLING_DB_POOL_TIMEOUT": bad})


async def test_test_clock_worker_logs_a_database_outage_as_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """The advance worker's poll can land in an outage (requests answer 503 then): one warning
    line, never an error with a traceback (the outage story checks no error is logged)."""
    from bench.processes import free_port
    from shared.db.engine import make_engine
    from shared.renewal.clock_advances import resume_advances

    engine = make_engine(f"postgresql://billing:secret@127.0.0.1:{free_port()}/billing")  # nothing listens there
    try:
        with caplog.at_level(logging.WARNING, logger="billing.clock_advances"):
            assert await resume_advances(engine, lease_seconds=30, invoice_budget=100, seconds=5) == 0
    finally:
        await engine.dispose()
    records = [r for r in caplog.records if r.name == "billing.clock_advances"]
    assert [r.levelname for r in records] == ["WARNING"], records
    assert records[0].exc_info is None
