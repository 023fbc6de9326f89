"""Unit of work: one transaction that rolls back unless commit() is called."""
from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db.repository import Repository
from shared.domain.errors import Conflict

# Unique constraints a client can run into, and what to tell them (409).
_CONFLICTS: dict[str, tuple[str, str | None]] = {
    "uq_customers_tenant_id_email": ("a customer with this email already exists", "email"),
    "uq_plans_tenant_id_code": ("a plan with this code already exists", "code"),
    "uq_invoices_one_per_period": ("this period has already been invoiced", None),
}


def constraint_of(error: IntegrityError) -> str | None:
    """The violated constraint's name, from the asyncpg exception SQLAlchemy wraps."""
    cause = getattr(error.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None)


class UnitOfWork:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._committed = False

    async def __aenter__(self) -> UnitOfWork:
        self.session = self._sessions()
        await self.session.begin()
        self._committed = False
        self._after_commit: list[Callable[[], None]] = []
        return self

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once the transaction has committed (e.g. to count what happened)."""
        self._after_commit.append(callback)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if not self._committed:
                # Detach first: a rollback expires loaded rows, and read-only use cases
                # return rows they loaded. Nothing was written, so nothing is lost.
                self.session.expunge_all()
                await self.session.rollback()
        finally:
            await self.session.close()

    def repo(self, tenant_id: str) -> Repository:
        return Repository(self.session, tenant_id)

    async def flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as error:
            raise self._as_conflict(error) from error

    async def commit(self) -> None:
        try:
            await self.session.commit()
        except IntegrityError as error:
            raise self._as_conflict(error) from error
        self._committed = True
        for callback in self._after_commit:
            callback()

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
