"""A function's cold start loads what serving needs, and no more: its own module (not every
function's), and none of the heavy parts only some requests or commands use (OpenAPI
rendering, Swagger UI, manifests, the CLI's progress display)."""

from __future__ import annotations

import json
import subprocess
import sys

from shared.runtime.registry import all_operations, select

HEAVY = ("shared.runtime.openapi", "swagger_ui", "shared.runtime.manifests", "rich", "yaml", "jinja2", "cloudevents")


def test_one_named_function_is_selected_alone_as_from_the_whole_registry() -> None:
    everything = all_operations()
    names = {op.name for op in everything}
    assert not names & {op.family for op in everything}  # a name never means a family
    for target in ("get-invoice", "create-subscription,get-invoice", "invoices", "get-invoice,plans"):
        assert select(target) == select(target, everything)


def test_serving_one_function_imports_nothing_heavy() -> None:
    script = (
        "import sys, json\n"
        "from shared.runtime.app import make_app\n"
        "from shared.settings import Settings\n"
        "make_app(Settings(database_url='postgresql://127.0.0.1:1/none', function_target='get-invoice'))\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert [m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY] == []
    assert [m for m in loaded if m.startswith("functions.")] == ["functions.get_invoice"]
