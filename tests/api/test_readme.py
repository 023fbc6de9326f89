"""The README's walk-through, run verbatim against `billing serve` in its own process."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def block(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(rf"<!-- {name}:start -->\s*```bash\n(.*?)```", text, re.S)
    assert found, f"README lost its {name} block"
    return found.group(1)


def wait_healthy(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1]
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not become healthy")


@pytest.mark.skipif(shutil.which("curl") is None, reason="the README walk-through uses curl, not installed here")
def test_the_readme_walkthrough_works_as_written(database_url: str) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "DATABASE_URL": database_url, "HOST": "127.0.0.1", "PORT": str(port)}
    env.pop("FUNCTION_TARGET", None)
    server = subprocess.Popen([str(bin_dir / "billing"), "serve"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_healthy(api, server)
        # The only edits: the port, and the venv's path for interpreters outside .venv.
        script = (block("walkthrough") + "\necho ---test-clock---\n" + block("testclock"))
        script = script.replace("API=http://127.0.0.1:8080", f"API={api}")
        script = script.replace(".venv/bin/billing", str(bin_dir / "billing"))
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env=env, cwd=ROOT,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        first, clock_story = result.stdout.split("---test-clock---")
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
        assert periods == [("2028-02-14T00:00:00Z", "2028-03-14T00:00:00Z"), ("2028-03-14T00:00:00Z", "2028-04-14T00:00:00Z")]
        assert (upcoming["period_start"], upcoming["total"], upcoming["currency"]) == ("2028-04-14T00:00:00Z", 4900, "EUR")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert server.returncode == 0  # SIGTERM is a graceful stop, not a crash
