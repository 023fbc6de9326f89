"""Tenant-scoped data access: every read is filtered by the tenant, so a cross-tenant
read cannot be written by accident, and another tenant's object is simply 'not found'."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from shared.db.tables import Base, Invoice, Tenant
from shared.domain.errors import NotFound

Row = TypeVar("Row", bound=Base)


@dataclass(frozen=True)
class Page(Generic[Row]):
    data: Sequence[Row]
    has_more: bool


def _eager(model: type[Base], stmt: Select[Any]) -> Select[Any]:
    if model is Invoice:
        return stmt.options(selectinload(Invoice.lines))
    return stmt


class Repository:
    def __init__(self, session: AsyncSession, tenant_id: str) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def add(self, row: Base) -> None:
        if getattr(row, "tenant_id", self.tenant_id) != self.tenant_id:
            raise ValueError("row belongs to another tenant")
        self.session.add(row)

    async def get(self, model: type[Row], id: str, *, for_update: bool = False) -> Row:
        stmt = _eager(model, select(model).where(model.tenant_id == self.tenant_id, model.id == id))  # type: ignore[attr-defined]
        if for_update:
            stmt = stmt.with_for_update()
        row = (await self.session.execute(stmt)).scalar_one_or_none()
        if row is None:
            raise NotFound(f"no such {model.__name__.lower()}: '{id}'", field="id")
        return row

    async def page(
        self,
        model: type[Row],
        *,
        limit: int,
        starting_after: str | None = None,
        **filters: Any,
    ) -> Page[Row]:
        """Newest first. Ids are time-sortable, so the cursor is just the last id seen."""
        stmt = select(model).where(model.tenant_id == self.tenant_id)  # type: ignore[attr-defined]
        for name, value in filters.items():
            if value is not None:
                stmt = stmt.where(getattr(model, name) == value)
        if starting_after is not None:
            await self._cursor_exists(model, starting_after)
            stmt = stmt.where(model.id < starting_after)  # type: ignore[attr-defined]
        stmt = _eager(model, stmt.order_by(model.id.desc()).limit(limit + 1))  # type: ignore[attr-defined]
        rows = (await self.session.execute(stmt)).scalars().all()
        return Page(data=rows[:limit], has_more=len(rows) > limit)

    async def _cursor_exists(self, model: type[Row], cursor: str) -> None:
        """A cursor must be one of this tenant's objects of this kind: an unknown or foreign
        id would otherwise page silently from an arbitrary point."""
        stmt = select(model.id).where(model.tenant_id == self.tenant_id, model.id == cursor)  # type: ignore[attr-defined]
        if (await self.session.execute(stmt)).first() is None:
            raise NotFound(f"starting_after: no such {model.__name__.lower()}: '{cursor}'", field="starting_after")

    async def get_tenant(self, *, for_update: bool = False) -> Tenant:
        stmt = select(Tenant).where(Tenant.id == self.tenant_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one()
