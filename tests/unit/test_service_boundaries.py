"""Services take plain commands and return rows or domain values: the HTTP models
(shared.schemas) stay in functions/, which map bodies to commands and results to responses."""
from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "shared" / "services"
# Still on HTTP models, for reasons outside this rule's reach:
KNOWN = {
    "api_keys.py",  # the CLI (shared.runtime.cli) builds ApiKeyCreate / ListQuery for it
    "subscriptions.py",  # the upcoming-invoice preview answers UpcomingInvoice (being moved to the domain)
}


def schema_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
    found += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    return [name for name in found if name == "shared.schemas" or name.startswith("shared.schemas.")]


def test_services_do_not_import_the_http_models() -> None:
    offenders = {path.name: schema_imports(path) for path in sorted(SERVICES.glob("*.py")) if path.name not in KNOWN}
    assert {name: found for name, found in offenders.items() if found} == {}
