"""Services take plain commands and return rows or domain values: the HTTP models
(shared.schemas) stay in functions/, which map bodies to commands and results to responses."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "shared" / "services"


def schema_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    found += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    return [name for name in found if name == "shared.schemas" or name.startswith("shared.schemas.")]


def test_services_do_not_import_the_http_models() -> None:
    offenders = {path.name: schema_imports(path) for path in sorted(SERVICES.glob("*.py"))}
    assert {name: found for name, found in offenders.items() if found} == {}
