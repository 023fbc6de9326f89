"""The failpoint switch itself: off by default, deadly when on, strict about names."""

import os
import signal
import subprocess
import sys

SCRIPT = "from shared import failpoints; failpoints.hit(failpoints.COMMITTED); print('alive')"


def run(setting: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "BILLING_FAILPOINTS": setting}
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)


def test_an_enabled_failpoint_kills_the_process_and_others_do_nothing() -> None:
    killed = run("numbers-locked, committed")
    assert killed.returncode == -signal.SIGKILL and "failpoint committed: SIGKILL" in killed.stderr
    assert run("").stdout.strip() == "alive"
    assert run("numbers-locked").stdout.strip() == "alive"


def test_an_unknown_failpoint_name_refuses_to_start() -> None:
    typo = run("comitted")
    assert typo.returncode == 1 and "unknown failpoint" in typo.stderr and "committed" in typo.stderr
