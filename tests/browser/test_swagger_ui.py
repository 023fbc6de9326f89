"""Swagger UI in a real browser, as a newcomer uses it: open /docs, Authorize with the tenant's
key, "Try it out" -> Execute on create customer and on list invoices, with no console error.

Debian's chromium (tests/browser/ensure-chromium.sh installs it), driven by Playwright with that
executable: no browser is downloaded. Skipped, saying why, only where no chromium is installed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from tests.client import Api
from tests.conftest import BOOTSTRAP_KEY

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: a busy 2-core machine may take long to start a browser or render the bundle.
STEP_MS = 90_000
# Where the screenshots stay for a person to look at (BILLING_SCREENSHOTS, else a temp dir).
SHOTS = Path(os.environ.get("BILLING_SCREENSHOTS") or tempfile.mkdtemp(prefix="billing-swagger-"))

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed (test extras)")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: run `bash tests/browser/ensure-chromium.sh` as root on Debian "
    "(apt-get install chromium) to run the browser test",
)


async def try_it_out(page: Any, tag: str, operation_id: str) -> str:
    """Expand an operation, press "Try it out" then Execute with the prefilled values, and
    return the status code the UI shows for the live response."""
    block = page.locator(f"#operations-{tag}-{operation_id}")
    await block.locator(".opblock-summary").first.click()
    await block.locator("button.try-out__btn").click()
    await block.locator("button.execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    await status.wait_for(state="visible")
    # What a person sees after Execute: the request sent and the server's answer.
    await block.locator(".live-responses-table").evaluate("e => e.scrollIntoView({block: 'center'})")
    await page.screenshot(path=str(SHOTS / f"{operation_id}.png"))
    return (await status.inner_text()).strip()


async def test_swagger_ui_authorizes_and_runs_try_it_out(api: Api) -> None:
    errors: list[str] = []
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(STEP_MS)
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(str(error)))

            # The server's root leads to the docs.
            await page.goto(str(api.client.make_url("/")), wait_until="load")
            assert page.url.endswith("/docs")
            await page.locator("#operations-customers-create_customer").wait_for(state="visible")
            headings = await page.locator(".opblock-tag").all_inner_texts()
            assert [text.split("\n")[0].strip() for text in headings][:4] == [
                "customers",
                "meters",
                "plans",
                "subscriptions",
            ]

            # Authorize with the tenant's key (bearer): what the README's key is for.
            await page.locator(".auth-wrapper button.authorize").click()
            dialog = page.locator(".dialog-ux")
            await dialog.locator("input").first.fill(BOOTSTRAP_KEY)
            await dialog.locator(".auth-btn-wrapper button.authorize").click()
            await page.screenshot(path=str(SHOTS / "authorized.png"))
            await dialog.locator(".auth-btn-wrapper button.btn-done").click()

            assert await try_it_out(page, "customers", "create_customer") == "201"
            assert await try_it_out(page, "invoices", "list_invoices") == "200"
        finally:
            await browser.close()

    # The unedited example really reached the server, authorized as the tenant.
    customers = await api.get("/v1/customers")
    assert [c["email"] for c in customers["data"]] == ["ada@example.com"]
    assert errors == [], errors
    print(f"screenshots: {SHOTS}")


def test_ensure_chromium_script_is_quiet_when_chromium_is_there() -> None:
    """The CI step is idempotent: with chromium present it does nothing and says nothing."""
    import subprocess

    script = Path(__file__).with_name("ensure-chromium.sh")
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
    assert shutil.which("chromium") or CHROMIUM.exists()
