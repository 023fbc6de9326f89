"""The operation registry: the single source of truth for what the service does.

Each module in `functions/` declares its operation once with `@operation(...)`.
From this registry come the routes of the combined and single-function servers,
the OpenAPI document and the Knative manifests. Nothing is listed twice.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

if TYPE_CHECKING:
    from shared.runtime.call import Call

Handler = Callable[["Call"], Awaitable[Any]]
Signature = Literal["http", "cloudevent"]


@dataclass(frozen=True)
class Operation:
    name: str  # e.g. "create-customer": also the Knative service name
    family: str  # e.g. "customers": lets one service host a whole family
    method: str
    path: str
    handler: Handler
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    signature: Signature = "http"
    auth: bool = True
    public: bool = True  # routed from the edge (Traefik); False = cluster-local only
    max_body_bytes: int | None = None  # a larger body limit than the app's (e.g. batches)
    # The handler reaches the database only through shared.db.hot_reads (call.reads): a
    # process serving only such operations runs a plain asyncpg pool, never SQLAlchemy.
    driver_only: bool = False

    @property
    def operation_id(self) -> str:
        return self.name.replace("-", "_")


def operation(
    method: str,
    path: str,
    *,
    family: str,
    summary: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: type[BaseModel] | None = None,
    status: int = 200,
    signature: Signature = "http",
    auth: bool = True,
    public: bool = True,
    max_body_bytes: int | None = None,
    driver_only: bool = False,
) -> Callable[[Handler], Operation]:
    """Declare a function's operation. The name is the handler's name in kebab case."""

    def declare(handler: Handler) -> Operation:
        return Operation(
            name=handler.__name__.replace("_", "-"),
            family=family,
            method=method.upper(),
            path=path,
            handler=handler,
            summary=summary,
            body=body,
            query=query,
            response=response,
            status=status,
            signature=signature,
            auth=auth,
            public=public,
            max_body_bytes=max_body_bytes,
            driver_only=driver_only,
        )

    return declare


@cache
def all_operations() -> tuple[Operation, ...]:
    """Every operation declared in the `functions` package, in a stable order."""
    import functions

    found: dict[str, Operation] = {}
    for info in sorted(pkgutil.iter_modules(functions.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"functions.{info.name}")
        for value in vars(module).values():
            if isinstance(value, Operation):
                if value.name in found and found[value.name] is not value:
                    raise RuntimeError(f"operation '{value.name}' is declared twice")
                found[value.name] = value
    routes = [(op.method, op.path) for op in found.values()]
    if len(routes) != len(set(routes)):
        raise RuntimeError("two operations share a method and path")
    return tuple(found.values())


def _named(names: set[str]) -> tuple[Operation, ...] | None:
    """The operations named `names` from their own modules (functions/<name>.py) without
    importing every function: a function's cold start loads its own module only. None when
    a name is not an operation found that way (a family, or unknown): then select() imports
    them all. (Families and operation names never coincide: tests/unit/test_lean_start.py.)"""
    found = []
    for name in sorted(names):
        module_name = f"functions.{name.replace('-', '_')}"
        if not name.replace("-", "_").isidentifier() or importlib.util.find_spec(module_name) is None:
            return None
        module = importlib.import_module(module_name)
        ops = [value for value in vars(module).values() if isinstance(value, Operation) and value.name == name]
        if len(ops) != 1:
            return None
        found.append(ops[0])
    order = {name: i for i, name in enumerate(sorted(info.name for info in _modules()))}
    return tuple(sorted(found, key=lambda op: order.get(op.name.replace("-", "_"), 0)))


def _modules() -> list[pkgutil.ModuleInfo]:
    import functions

    return list(pkgutil.iter_modules(functions.__path__))


def select(target: str | None, operations: tuple[Operation, ...] | None = None) -> tuple[Operation, ...]:
    """FUNCTION_TARGET: unset = everything; otherwise a comma-separated list of operation
    names and/or families (e.g. "create-customer" or "customers,plans")."""
    wanted = {part.strip() for part in target.split(",") if part.strip()} if target else set()
    if operations is None and wanted:
        alone = _named(wanted)
        if alone is not None:
            return alone
    operations = all_operations() if operations is None else operations
    if not target:
        return operations
    known = {op.name for op in operations} | {op.family for op in operations}
    unknown = wanted - known
    if unknown:
        raise SystemExit(f"FUNCTION_TARGET names unknown function(s) {sorted(unknown)}; known: {sorted(known)}")
    return tuple(op for op in operations if op.name in wanted or op.family in wanted)


def driver_only(operations: tuple[Operation, ...]) -> bool:
    """Whether a process serving `operations` needs no SQLAlchemy (see Operation.driver_only)."""
    return bool(operations) and all(op.driver_only for op in operations)
