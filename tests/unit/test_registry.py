import importlib
import pkgutil

import pytest

import functions
from shared.runtime.registry import Operation, all_operations, select


def test_every_function_module_declares_exactly_one_operation() -> None:
    for info in pkgutil.iter_modules(functions.__path__):
        module = importlib.import_module(f"functions.{info.name}")
        declared = [v for v in vars(module).values() if isinstance(v, Operation)]
        assert len(declared) == 1, info.name
        assert declared[0].name == info.name.replace("_", "-")


def test_routes_are_unique() -> None:
    routes = [(op.method, op.path) for op in all_operations()]
    assert len(routes) == len(set(routes))


def test_target_selects_by_name_or_family() -> None:
    assert [op.name for op in select("get-plan")] == ["get-plan"]
    assert {op.name for op in select("plans")} == {
        "create-plan",
        "get-plan",
        "list-plans",
        "archive-plan",
        "update-plan",
    }
    assert {op.family for op in select("plans, invoices")} == {"plans", "invoices"}
    assert select(None) == all_operations()


def test_unknown_target_stops_the_process_with_the_known_names() -> None:
    with pytest.raises(SystemExit, match="create-customer"):
        select("create-custmer")
