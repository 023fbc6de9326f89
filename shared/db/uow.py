"""Unit of work: one transaction that rolls back unless commit() is called.

Inside a RequestTransaction (a keyed POST, see shared.runtime.idempotent_requests) every unit of
work joins the request's one transaction as a SAVEPOINT instead: leaving it without
commit() still undoes exactly its own writes, commit() releases the savepoint, and its
after-commit callbacks wait for the real commit. So the operation's writes and the
Idempotency-Key row holding its response commit together, or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import cast

import asyncpg
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db.event_writer import PendingEvent, write_events
from shared.db.repository import Directory, Repository
from shared.domain.errors import Conflict

# Unique constraints a client can run into, and what to tell them (409).
_CONFLICTS: dict[str, tuple[str, str | None]] = {
    "uq_customers_tenant_id_email": ("a customer with this email already exists", "email"),
    "uq_plans_tenant_id_code": ("a plan with this code already exists", "code"),
    "uq_meters_tenant_id_code": ("a meter with this code already exists", "code"),
    "uq_customers_tenant_id_external_id": ("a customer with this external_id already exists", "external_id"),
    "uq_invoices_one_per_period": ("this period has already been invoiced", None),
    "pk_coupons": ("a coupon with this id already exists", "id"),
    "uq_promotion_codes_code": ("a promotion code with this code already exists (codes ignore case)", "code"),
    "uq_discounts_one_per_subscription": ("the subscription's discount changed meanwhile: try again", None),
    # Credit notes never credit more than the invoice's total (the rule checks it first).
    "ck_invoices_credited_within_total": ("the invoice's credit notes would credit more than its total", "invoice"),
    # Amounts stay within 10^15 minor units (shared.domain.money.MAX_AMOUNT).
    "ck_customer_balances_balance_range": ("the customer's balance would exceed 10^15 minor units", "amount"),
    "ck_invoices_amount_due_range": (
        "the invoice's amount due (its total plus the customer's balance) would exceed 10^15 minor units",
        None,
    ),
    # A test clock deleted (with its customers) while this request wrote for one of them.
    **{
        name: ("the test clock or customer was deleted while this request ran", None)
        for name in (
            "fk_customers_tenant_id_test_clock_id_test_clocks",
            "fk_subscriptions_tenant_id_customer_id_customers",
            "fk_invoices_tenant_id_customer_id_customers",
            "fk_invoices_tenant_id_test_clock_id_test_clocks",
            "fk_invoice_items_tenant_id_customer_id_customers",
            "fk_balance_transactions_tenant_id_customer_id_customers",
            "fk_customer_balances_tenant_id_customer_id_customers",
        )
    },
}


def constraint_of(error: IntegrityError) -> str | None:
    """The violated constraint's name, from the asyncpg exception SQLAlchemy wraps."""
    cause = getattr(error.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None)


def conflict_for(constraint: str | None) -> Conflict | None:
    """The 409 a client gets for a violated constraint; None when it is not the client's
    doing. For statements run on the raw driver connection (shared.db.invoice_writer)."""
    known = _CONFLICTS.get(constraint or "")
    return None if known is None else Conflict(known[0], field=known[1])


@contextmanager
def driver_conflicts() -> Iterator[None]:
    """Around statements sent on the driver connection: a violated constraint that is the
    client's doing becomes its 409 (conflict_for); any other is raised as it is."""
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as error:
        conflict = conflict_for(error.constraint_name)
        if conflict is None:
            raise
        raise conflict from error


class RequestTransaction:
    """One transaction spanning a whole request, which every UnitOfWork opened on the same
    sessionmaker in this task joins. Rolls back unless commit() is called. Tasks started
    inside inherit it: the operation must not use units of work from concurrent tasks."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.committed = False
        self._after_commit: list[Callable[[], None]] = []

    async def __aenter__(self) -> RequestTransaction:
        self.session = self.sessions()
        await self.session.begin()
        self._token = _REQUEST.set(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        _REQUEST.reset(self._token)
        try:
            if not self.committed:
                self.session.expunge_all()
                await self.session.rollback()
        finally:
            await self.session.close()

    def after_commit(self, callbacks: list[Callable[[], None]]) -> None:
        self._after_commit.extend(callbacks)

    def repo(self, tenant_id: str) -> Repository:
        return Repository(self.session, tenant_id)

    async def commit(self) -> None:
        """Commit, then run the callbacks of the units of work that committed inside.
        A connection lost during this call leaves the outcome unknown: the caller says so."""
        await self.session.commit()
        self.committed = True
        for callback in self._after_commit:
            callback()


_REQUEST: ContextVar[RequestTransaction | None] = ContextVar("billing_request_transaction", default=None)


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._committed = False
        self._read_only = False
        self._on_driver = False
        self._driver: asyncpg.Connection | None = None

    def on_driver(self) -> UnitOfWork:
        """For a use case that writes only through fixed SQL on `driver_connection()`: no
        session, no ORM. Outside a keyed request the transaction is asyncpg's own, on one
        pool checkout (the pool's events still fire: metrics, outage detection); inside
        one it joins the request's transaction as usual (a savepoint of its session).
        `repo()` and `directory()` are then unavailable. `async with uow.on_driver():`"""
        self._on_driver = True
        return self

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The sessionmaker (one per database) this unit of work opens sessions on."""
        return self._sessions

    def reading(self) -> UnitOfWork:
        """For a use case that only reads: no transaction is opened (no BEGIN/ROLLBACK round
        trips; each statement sees the data committed when it runs). Inside a request's
        transaction it joins that transaction as usual. `async with uow.reading():`"""
        self._read_only = True
        return self

    async def __aenter__(self) -> UnitOfWork:
        request = _REQUEST.get()
        self._request = request if request is not None and request.sessions is self._sessions else None
        self._driver = None
        if self._request is None and self._on_driver:
            from shared.db.hot_reads import connection  # (a raw pool checkout, as the hot reads take)

            engine = self._sessions.kw["bind"]
            self._checkout = connection(engine)
            self._driver = await self._checkout.__aenter__()
            try:
                self._transaction = self._driver.transaction()
                await self._transaction.start()
            except BaseException as error:
                await self._checkout.__aexit__(type(error), error, error.__traceback__)
                raise
        elif self._request is None:
            self.session = self._sessions()
            if self._read_only:
                await self.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            else:
                await self.session.begin()
        else:
            self.session = self._request.session
            self._savepoint = await self.session.begin_nested()
        self._committed = False
        self._after_commit: list[Callable[[], None]] = []
        self._events: list[PendingEvent] = []
        return self

    def record(self, event: PendingEvent) -> None:
        """Write `event` (the outbox) in this transaction, just before it commits: all of
        a unit of work's events go in one statement (shared.db.event_writer)."""
        self._events.append(event)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (e.g. to count what happened)."""
        self._after_commit.append(callback)

    async def write_recorded(self) -> list[str]:
        """Write the events recorded so far now rather than at commit (one statement), e.g.
        before a last write that takes a lock held to the commit; their ids, in order."""
        events, self._events = self._events, []
        if not events:
            return []
        if self._driver is None:
            await self.flush()  # the rows the events render from
        with driver_conflicts():
            return await write_events(await self.driver_connection(), events)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._request is not None:
            if not self._committed:
                self.session.expunge_all()  # as below; the key row was flushed before any unit of work began
                await self._savepoint.rollback()
            return
        if self._driver is not None:
            await self._leave_driver(exc_type, exc, tb)
            return
        try:
            if not self._committed:
                # Detach first: a rollback expires loaded rows, and read-only use cases
                # return rows they loaded. Nothing was written, so nothing is lost.
                self.session.expunge_all()
                await self.session.rollback()
        finally:
            await self.session.close()

    async def _leave_driver(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        driver, self._driver = self._driver, None
        try:
            # (A failed COMMIT already ended the transaction; a lost connection has none.)
            if not self._committed and driver is not None and not driver.is_closed() and driver.is_in_transaction():
                await self._transaction.rollback()
        except BaseException as error:  # a lost connection: the checkout invalidates it
            await self._checkout.__aexit__(type(error), error, error.__traceback__)
            raise
        await self._checkout.__aexit__(exc_type, exc, tb)

    def repo(self, tenant_id: str) -> Repository:
        """The tenant's queries: the only way services reach their tables."""
        return Repository(self.session, tenant_id)

    async def driver_connection(self) -> asyncpg.Connection:
        """The asyncpg connection under this unit of work: statements on it run in the same
        transaction (and the same savepoint, inside a keyed request). For the set-based
        invoice writer, which the API path and the renewal engine share."""
        if self._driver is not None:
            return self._driver
        connection = await self.session.connection()
        raw = await connection.get_raw_connection()
        driver = cast(asyncpg.Connection, raw.driver_connection)
        if not driver.is_in_transaction():  # a local check: no round trip
            # SQLAlchemy's asyncpg adapter opens the database transaction lazily, at its own
            # first statement: without one, statements sent on the raw connection would each
            # commit on their own (a crash mid-way would keep half the work).
            await connection.exec_driver_sql("SELECT 1")
        return driver

    @asynccontextmanager
    async def driver_transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """`async with uow.on_driver():` as a block that commits when it completes (rolls back
        if it raises), yielding the asyncpg connection: for a hot path that sends only driver
        statements (usage ingestion). Inside a keyed request it joins that request's
        transaction (a savepoint), so the writes and the Idempotency-Key row commit together."""
        async with self.on_driver():
            yield await self.driver_connection()
            await self.commit()

    def directory(self) -> Directory:
        """The lookups that span tenants by design (API key by hash, tenant by name)."""
        return Directory(self.session)

    async def flush(self) -> None:
        if self._driver is not None:
            return  # no session: nothing waits to be written
        try:
            await self.session.flush()
        except IntegrityError as error:
            raise self._as_conflict(error) from error

    async def commit(self) -> None:
        if self._read_only and self._request is None:
            raise RuntimeError("a reading() unit of work cannot commit")
        if self._driver is not None:
            await self._commit_driver()
        else:
            await self._commit_session()
        self._committed = True
        if self._request is not None:
            self._request.after_commit(self._after_commit)
            return
        for callback in self._after_commit:
            callback()

    async def _commit_driver(self) -> None:
        await self.write_recorded()
        with driver_conflicts():
            await self._transaction.commit()

    async def _commit_session(self) -> None:
        try:
            await self.write_recorded()
            if self._request is not None:
                await self._savepoint.commit()  # flushes and releases: final only with the request's commit
            else:
                await self.session.commit()
        except IntegrityError as error:
            raise self._as_conflict(error) from error

    async def lock(self, key: str) -> None:
        """A transaction-scoped advisory lock, released at commit or rollback."""
        await self.session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})

    @staticmethod
    def _as_conflict(error: IntegrityError) -> Exception:
        known = _CONFLICTS.get(constraint_of(error) or "")
        if known is None:
            return error  # not a client's doing: let it surface as a server error
        detail, field = known
        return Conflict(detail, field=field)
