"""The hot reads, as fixed SQL run straight on one pooled asyncpg connection.

GET invoice (with its lines), GET subscription, the invoice and subscription lists, and the
API-key lookup of authentication are most of the traffic. Here each is hand-written SQL
(text built once per filter combination, `$n` parameters, prepared and cached by asyncpg),
executed on the driver connection of one pool checkout: no session, no ORM rows, no
statement compilation, no transaction (each statement sees what was committed when it
ran). Rows come back as plain dicts in the API's field order, ready for JSON.

Every statement on a tenant's table filters on `tenant_id` ($1): tests/db/test_hot_reads.py
checks each with the tenant-scoping rule, and the responses against the ORM path.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

from shared.db.driver_pool import CONNECTION_ERRORS, DriverPool
from shared.domain.api_keys import Grant
from shared.domain.errors import NotFound
from shared.domain.taxes import TaxExempt, tax_note

if TYPE_CHECKING:  # SQLAlchemy is not imported by a process that serves only hot reads
    from sqlalchemy.ext.asyncio import AsyncEngine

# Where the hot reads get a connection: the engine's pool, or (a process serving only hot
# reads, no SQLAlchemy loaded) a plain asyncpg pool.
Database: TypeAlias = "AsyncEngine | DriverPool"

# Set by shared.telemetry: records db.client.operation.duration for these statements too
# (they bypass SQLAlchemy's cursor events).
observe: Callable[[str, float], None] | None = None

_INVOICE_COLUMNS = (
    "i.subtotal, i.total_discount_amounts, i.total - i.tax AS total_excluding_tax, i.tax, i.total_tax_amounts,"
    " i.total, i.customer_tax_exempt, NULL AS tax_note,"
    " i.id, 'invoice' AS object, i.number, i.customer_id, i.subscription_id, i.test_clock_id AS test_clock,"
    " i.test_clock_id IS NULL AS livemode, i.status, i.billing_reason, i.currency, i.period_start, i.period_end,"
    " i.starting_balance, i.ending_balance, i.amount_due, i.amount_paid, i.pre_payment_credit_notes_amount,"
    " i.post_payment_credit_notes_amount, i.created_at, i.due_at, i.finalized_at,"
    " i.paid_at, i.voided_at, i.marked_uncollectible_at"
)
# A line in the API's order (LineDetail's fields, then InvoiceLine's).
_LINE_COLUMNS = (
    "l.description, l.amount, l.period_start, l.period_end, l.plan_id, l.proration, l.discount_amounts,"
    " l.tax_amounts, l.id, 'line_item' AS object, l.currency"
)
_LINE_NAMES = (
    "description",
    "amount",
    "period_start",
    "period_end",
    "plan_id",
    "proration",
    "discount_amounts",
    "tax_amounts",
    "id",
    "object",
    "currency",
)
_LINE_WIDTH = len(_LINE_NAMES)

# The invoice and its lines in one statement: one row per line (one with NULL lines if none).
INVOICE = (
    f"SELECT {_INVOICE_COLUMNS}, {_LINE_COLUMNS} FROM invoices i"
    " LEFT JOIN invoice_lines l ON l.tenant_id = i.tenant_id AND l.invoice_id = i.id"
    " WHERE i.tenant_id = $1 AND i.id = $2 ORDER BY l.position"
)
LINES_OF = (
    f"SELECT l.invoice_id, {_LINE_COLUMNS} FROM invoice_lines l"
    " WHERE l.tenant_id = $1 AND l.invoice_id = ANY($2::varchar[]) ORDER BY l.invoice_id, l.position"
)
_SUBSCRIPTION_COLUMNS = (
    "i.id, 'subscription' AS object, i.customer_id, i.plan_id, i.status, i.billing_cycle_anchor,"
    " i.current_period_start, i.current_period_end, i.trial_end, i.paused_at, i.test_clock_id AS test_clock,"
    " i.test_clock_id IS NULL AS livemode, i.cancel_at_period_end, i.canceled_at, i.ended_at,"
    " i.default_tax_rates, i.created_at,"
    # The running discount (the Discount model's fields; d.id NULL: none), from the same row.
    " d.id AS discount_id, d.subscription_id AS discount_subscription, d.customer_id AS discount_customer,"
    " d.coupon_id AS discount_coupon, d.promotion_code_id AS discount_promotion_code,"
    " d.periods_left AS discount_periods_left, d.created_at AS discount_created_at"
)
# A subscription and its running discount: a LEFT JOIN on the one-running-discount index.
_SUBSCRIPTIONS = (
    f"SELECT {_SUBSCRIPTION_COLUMNS} FROM subscriptions i LEFT JOIN discounts d"
    " ON d.tenant_id = i.tenant_id AND d.subscription_id = i.id AND d.ended_at IS NULL WHERE i.tenant_id = $1"
)
SUBSCRIPTION = f"{_SUBSCRIPTIONS} AND i.id = $2"
# Authentication: the one lookup that precedes knowing the tenant (cross-tenant by design).
GRANT = "SELECT tenant_id, id, scope, expires_at FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"

_LISTS = {
    "invoices": f"SELECT {_INVOICE_COLUMNS} FROM invoices i WHERE i.tenant_id = $1",
    "subscriptions": _SUBSCRIPTIONS,
}
_page_sql: dict[tuple[str, tuple[str, ...], bool], str] = {}


def page_sql(table: str, filters: Sequence[str], cursor: bool) -> str:
    """The page statement for this table, these filters (column names) and a cursor or none:
    built once per combination. Newest first; one row more than the page tells has_more."""
    key = (table, tuple(filters), cursor)
    sql = _page_sql.get(key)
    if sql is None:
        parts = [_LISTS[table]]
        n = 1
        for column in filters:
            n += 1
            parts.append(f"i.{column} = ${n}")
        if cursor:
            n += 1
            parts.append(f"i.id < ${n}")
        sql = " AND ".join(parts) + f" ORDER BY i.id DESC LIMIT ${n + 1}"
        _page_sql[key] = sql
    return sql


def cursor_sql(table: str) -> str:
    return f"SELECT 1 FROM {table} WHERE tenant_id = $1 AND id = $2"


def statements() -> list[str]:
    """Every statement this module sends (for the tenant-scoping test)."""
    combos = {
        "invoices": [(), ("customer_id",), ("customer_id", "subscription_id", "status")],
        "subscriptions": [(), ("customer_id",), ("customer_id", "status")],
    }
    return [INVOICE, LINES_OF, SUBSCRIPTION, cursor_sql("invoices"), cursor_sql("subscriptions")] + [
        page_sql(table, filters, cursor) for table in _LISTS for filters in combos[table] for cursor in (False, True)
    ]


@asynccontextmanager
async def connection(engine: Database) -> AsyncIterator[asyncpg.Connection]:
    """One pool checkout's asyncpg connection, without a Connection or session around it.
    Nothing opens a transaction on it, so its return to the pool costs no round trip. A
    connection that failed is invalidated (closed, not returned)."""
    if isinstance(engine, DriverPool):
        async with engine.connection() as db:
            yield db
        return
    from sqlalchemy.util import greenlet_spawn

    pooled = await engine.raw_connection()  # the pool's checkout events (metrics, outages) fire
    try:
        yield pooled.driver_connection
    except CONNECTION_ERRORS as error:
        await greenlet_spawn(pooled.invalidate, error)
        raise
    finally:
        # In SQLAlchemy's bridge: returning an overflow connection closes it (driver I/O).
        await greenlet_spawn(pooled.close)


async def _fetch(db: asyncpg.Connection, sql: str, *args: Any) -> list[asyncpg.Record]:
    if observe is None:
        return await db.fetch(sql, *args)
    started = time.perf_counter()
    rows = await db.fetch(sql, *args)
    observe("SELECT", time.perf_counter() - started)
    return rows


# The breakdowns are stored as JSON (jsonb orders keys its own way): rendered in the models' order.
def _parsed(stored: str | list[Any] | None) -> list[Any]:
    return stored if isinstance(stored, list) else json.loads(stored or "[]")


def _discounts(stored: str | list[Any] | None) -> list[dict[str, Any]]:
    return [{"discount": d["discount"], "amount": d["amount"]} for d in _parsed(stored)]


def _taxes(stored: str | list[Any] | None) -> list[dict[str, Any]]:
    return [
        {
            "tax_rate": t["tax_rate"],
            "amount": t["amount"],
            "inclusive": t["inclusive"],
            "taxable_amount": t["taxable_amount"],
        }
        for t in _parsed(stored)
    ]


def _line(values: tuple[Any, ...], start: int) -> dict[str, Any]:
    line = dict(zip(_LINE_NAMES, values[start : start + _LINE_WIDTH], strict=True))
    line["discount_amounts"], line["tax_amounts"] = _discounts(line["discount_amounts"]), _taxes(line["tax_amounts"])
    return line


def _finish_invoice(invoice: dict[str, Any]) -> dict[str, Any]:
    invoice["total_discount_amounts"] = _discounts(invoice["total_discount_amounts"])
    invoice["total_tax_amounts"] = _taxes(invoice["total_tax_amounts"])
    invoice["tax_note"] = tax_note(TaxExempt(invoice["customer_tax_exempt"]))
    invoice["amount_remaining"] = invoice["amount_due"] - invoice["amount_paid"]
    return invoice


_INVOICE_NAMES = tuple(
    part.split(" AS ")[-1].split(".")[-1].strip() for part in _INVOICE_COLUMNS.replace("IS NULL AS", "AS").split(",")
)
_INVOICE_WIDTH = len(_INVOICE_NAMES)
_LINE_ID = _INVOICE_WIDTH + _LINE_NAMES.index("id")


def render_invoice(columns: dict[str, Any], lines: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """An invoice as GET renders it, from values named as the invoice statement names its
    columns and its lines' values in the line statement's order: for an invoice about to be
    written (shared.db.invoice_writer renders its events' object before it takes the number)."""
    found = {name: columns[name] for name in _INVOICE_NAMES}
    found["lines"] = [_line(tuple(line), 0) for line in lines]
    return _finish_invoice(found)


async def invoice(engine: Database, tenant_id: str, invoice_id: str) -> dict[str, Any]:
    async with connection(engine) as db:
        rows = await _fetch(db, INVOICE, tenant_id, invoice_id)
    if not rows:
        raise NotFound(f"no such invoice: '{invoice_id}'", field="id")
    values = [tuple(row) for row in rows]
    found = dict(zip(_INVOICE_NAMES, values[0][:_INVOICE_WIDTH], strict=True))
    found["lines"] = [_line(row, _INVOICE_WIDTH) for row in values if row[_LINE_ID] is not None]
    return _finish_invoice(found)


_DISCOUNT_FIELDS = ("subscription", "customer", "coupon", "promotion_code", "periods_left", "created_at")


def _subscription(row: asyncpg.Record) -> dict[str, Any]:
    """A subscription row as the API renders it: the discount columns nested as `discount`."""
    found = dict(row.items())
    discount_id = found.pop("discount_id")
    values = {name: found.pop(f"discount_{name}") for name in _DISCOUNT_FIELDS}
    found["discount"] = (
        None if discount_id is None else {"id": discount_id, "object": "discount", **values, "ended_at": None}
    )
    return found


async def subscription(engine: Database, tenant_id: str, subscription_id: str) -> dict[str, Any]:
    async with connection(engine) as db:
        rows = await _fetch(db, SUBSCRIPTION, tenant_id, subscription_id)
    if not rows:
        raise NotFound(f"no such subscription: '{subscription_id}'", field="id")
    return _subscription(rows[0])


async def page(
    engine: Database,
    table: str,
    tenant_id: str,
    *,
    limit: int,
    starting_after: str | None,
    **filters: Any,
) -> dict[str, Any]:
    """A list page as the API renders it ({"object": "list", "data": [...], "has_more": ...}).
    An invoice page brings its lines with one more statement."""
    given = {name: getattr(value, "value", value) for name, value in filters.items() if value is not None}
    args: list[Any] = [tenant_id, *given.values()]
    async with connection(engine) as db:
        if starting_after is not None:
            if not await _fetch(db, cursor_sql(table), tenant_id, starting_after):
                kind = table[:-1]
                raise NotFound(f"starting_after: no such {kind}: '{starting_after}'", field="starting_after")
            args.append(starting_after)
        rows = await _fetch(db, page_sql(table, tuple(given), starting_after is not None), *args, limit + 1)
        data = [_subscription(row) if table == "subscriptions" else dict(row.items()) for row in rows[:limit]]
        if table == "invoices" and data:
            by_id = {}
            for item in data:
                item["lines"] = []
                by_id[item["id"]] = item
            for line in await _fetch(db, LINES_OF, tenant_id, list(by_id)):
                by_id[line["invoice_id"]]["lines"].append(_line(tuple(line), 1))
            for item in data:
                _finish_invoice(item)
    return {"object": "list", "data": data, "has_more": len(rows) > limit}


async def grant(engine: Database, key_hash: str) -> Grant | None:
    """The active key with this hash (expired ones included: the caller knows the time)."""
    async with connection(engine) as db:
        rows = await _fetch(db, GRANT, key_hash)
    return Grant(*rows[0]) if rows else None
