"""The README's walk-through, run verbatim against `billing serve` in its own process."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.processes import serve, wait_ready

ROOT = Path(__file__).resolve().parents[2]


def block(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- {name}:start -->\s*```bash\n(.*?)```", text, re.S)
    assert found, f"README lost its {name} block"
    return found.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README walk-through uses curl, not installed here")
def test_the_readme_walkthrough_works_as_written(database_url: str) -> None:
    bin_dir = Path(sys.executable).parent
    server, api = serve({"DATABASE_URL": database_url, "FUNCTION_TARGET": ""}, stderr=subprocess.PIPE)
    env = {**os.environ, "DATABASE_URL": database_url}
    try:
        wait_ready(api, server, path="/health")
        # The only edits: the port, and the venv's path for interpreters outside .venv.
        script = block("walkthrough") + "\necho ---test-clock---\n" + block("testclock")
        script += "\necho ---money---\n" + block("money")
        script = script.replace("API=http://127.0.0.1:8080", f"API={api}")
        script = script.replace(".venv/bin/billing", str(bin_dir / "billing"))
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr + result.stdout[-1500:]
        first, rest = result.stdout.split("---test-clock---")
        clock_story, money_story = rest.split("---money---")
        subscription_json, invoices_json = first.strip().splitlines()[-2:]
        assert json.loads(subscription_json)["status"] == "active"
        [invoice] = json.loads(invoices_json)["data"]
        assert (invoice["number"], invoice["status"], invoice["total"], invoice["currency"]) == (1, "open", 1999, "USD")
        assert len(invoice["lines"]) == 1

        settings, clock, subscription, invoices, upcoming = map(json.loads, clock_story.strip().splitlines())
        assert settings["grace_period_days"] == 90
        assert clock["frozen_time"] == "2028-04-01T00:00:00Z"
        assert subscription["status"] == "past_due"
        periods = sorted((i["period_start"], i["period_end"]) for i in invoices["data"])
        assert periods == [
            ("2028-02-14T00:00:00Z", "2028-03-14T00:00:00Z"),
            ("2028-03-14T00:00:00Z", "2028-04-14T00:00:00Z"),
        ]
        assert (upcoming["period_start"], upcoming["total"], upcoming["currency"]) == (
            "2028-04-14T00:00:00Z",
            4900,
            "EUR",
        )
        # The money block: 20% off 19.99, 19% VAT, a 5.00 balance, then a 3.00 credit note.
        invoice = json.loads(money_story.strip().splitlines()[-1])
        assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == (1999, 304, 1903), invoice
        assert [d["amount"] for d in invoice["total_discount_amounts"]] == [400], invoice
        assert (invoice["starting_balance"], invoice["pre_payment_credit_notes_amount"]) == (-500, 300), invoice
        assert invoice["amount_due"] == 1103, invoice
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0  # SIGTERM is a graceful stop, not a crash
