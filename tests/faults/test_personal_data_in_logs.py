"""No personal data in logs: a database error on a request carrying an email, a name and
metadata logs its type, SQLSTATE and constraint, never those values (SQL parameters are
hidden by every engine; PostgreSQL's DETAIL and quoted values are cut from exception text)."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from shared.db.engine import make_engine
from shared.logs import JsonFormatter, TerminalFormatter, describe, format_exception
from tests.client import Api
from tests.conftest import plain

ROOT = Path(__file__).resolve().parents[2]
PRIVATE = [
    "zq.private@example.org",
    "Quentin Zyxw",
    "vault-7731",
    "second.zq@example.org",
    "Unique Qvname",
    "vault-8842",
]


def no_private_values(text: str) -> None:
    leaked = [value for value in PRIVATE if value in text]
    assert not leaked, f"{leaked} in:\n{text}"


async def test_database_errors_on_requests_log_no_body_values(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # everything, SQLAlchemy's statement log included
    admin = await asyncpg.connect(plain(api.database_url))
    try:  # rules the code does not know about: violating them is an unexpected error (500)
        await admin.execute("ALTER TABLE customers ADD CONSTRAINT ck_customers_no_zyxw CHECK (name NOT LIKE '%Zyxw%')")
        await admin.execute("CREATE UNIQUE INDEX uq_customers_tenant_name ON customers (tenant_id, name)")
    finally:
        await admin.close()
    await api.customer(email="first.zq@example.org", name="Unique Qvname")

    check = await api.post(
        "/v1/customers", {"email": "zq.private@example.org", "name": "Quentin Zyxw", "metadata": {"note": "vault-7731"}}
    )
    unique = await api.post(
        "/v1/customers", {"email": "second.zq@example.org", "name": "Unique Qvname", "metadata": {"note": "vault-8842"}}
    )
    assert (check.status, unique.status) == (500, 500)
    no_private_values(f"{check.body} {unique.body}")

    errors = [r for r in caplog.records if r.exc_info]
    assert len(errors) == 2
    no_private_values(caplog.text)
    for formatter in (JsonFormatter(), TerminalFormatter()):
        written = "\n".join(formatter.format(record) for record in caplog.records)
        no_private_values(written)
        # What is kept to debug with: the type, SQLSTATE and constraint of each error.
        assert "CheckViolationError" in written and "SQLSTATE 23514" in written and "ck_customers_no_zyxw" in written
        assert (
            "UniqueViolationError" in written and "SQLSTATE 23505" in written and "uq_customers_tenant_name" in written
        )
        assert "Traceback" in written


async def test_the_sanitizer_on_a_real_unique_violation(database_url: str) -> None:
    secret = "ada.secret@example.com"  # a variable: tracebacks quote source lines
    conn = await asyncpg.connect(plain(database_url))
    try:
        await conn.execute("CREATE TABLE people (email text CONSTRAINT people_email_key UNIQUE)")
        await conn.execute("INSERT INTO people VALUES ('ada.secret@example.com')")
        with pytest.raises(asyncpg.UniqueViolationError) as raised:
            await conn.execute("INSERT INTO people VALUES ($1)", secret)
        with pytest.raises(asyncpg.InvalidTextRepresentationError) as syntax:
            await conn.execute("SELECT $1::text::int", secret)
        with pytest.raises(asyncpg.DataError) as argument:
            await conn.execute("SELECT $1::int", secret)
    finally:
        await conn.close()
    assert "ada.secret@example.com" in str(raised.value)  # PostgreSQL's DETAIL repeats the row
    safe = describe(raised.value)
    assert safe == (
        "asyncpg.exceptions.UniqueViolationError: duplicate key value violates unique constraint "
        '"people_email_key" [SQLSTATE 23505, schema public, table people, constraint people_email_key]'
    )
    for error in (syntax.value, argument.value):
        assert "ada.secret" in str(error) and "ada.secret" not in describe(error)
        assert "ada.secret" not in format_exception(error)


async def test_engines_hide_sql_parameters_in_errors(database_url: str) -> None:
    row = {"e": "ada.secret@example.com"}
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TEMP TABLE people (email text UNIQUE)"))
            await conn.execute(text("INSERT INTO people VALUES (:e)"), row)
            with pytest.raises(IntegrityError) as raised:
                await conn.execute(text("INSERT INTO people VALUES (:e)"), row)
    finally:
        await engine.dispose()
    assert "[SQL parameters hidden due to hide_parameters=True]" in str(raised.value)
    written = format_exception(raised.value)
    assert "ada.secret" not in written
    assert "IntegrityError" in written and "SQLSTATE 23505" in written and "people_email_key" in written
    assert "INSERT INTO people VALUES ($1)" in written  # the statement stays, without its values


def test_every_engine_in_shared_and_migrations_hides_parameters() -> None:
    calls = []
    for path in [*ROOT.joinpath("shared").rglob("*.py"), *ROOT.joinpath("migrations").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                "create_async_engine",
                "create_engine",
            ):
                hidden = any(
                    k.arg == "hide_parameters" and getattr(k.value, "value", None) is True for k in node.keywords
                )
                calls.append((str(path.relative_to(ROOT)), node.lineno, hidden))
    assert len(calls) >= 2  # shared/db/engine.py and migrations/env.py at least
    assert [call for call in calls if not call[2]] == []
