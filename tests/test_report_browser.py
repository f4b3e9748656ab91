"""report.html as a reader sees it: headless Chromium over the DevTools protocol.

Opens the file from disk, records every network request and console message,
clicks the filters, checks nothing is wider than the page, and writes a
1280x800 screenshot to test-artifacts/ for a human to look at.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from render_fixtures import SCRIPT_NAME, build_analysis, build_snapshot

from auditor.render import ReportOptions, render_reports

aiohttp = pytest.importorskip("aiohttp")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"
)


class Page:
    """A minimal DevTools-protocol client for one page target (aiohttp websocket)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        msg_id = next(self.ids)
        await self.ws.send_str(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads((await self.ws.receive(timeout=30)).data)
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))
            self.events.append(msg)

    async def wait_event(self, method: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(method)
            self.events.append(json.loads((await self.ws.receive(timeout=left)).data))

    async def js(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    options = ReportOptions(
        "Northwind <b>Health</b>", 'Ada "Consulting"', "a4", "2026-11-29T12:00:00Z"
    )
    render_reports(build_snapshot(), build_analysis(), out, ["html"], options)
    return out / "report.html"


@pytest.fixture(scope="module")
def chromium() -> Iterator[int]:
    """A headless Chromium with remote debugging on a free port (read from DevToolsActivePort)."""
    profile = Path(tempfile.mkdtemp(prefix="chromium-"))
    proc = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("chromium did not start its DevTools endpoint")
            time.sleep(0.1)
        yield int(port_file.read_text().split()[0])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)


SHOWN = "[...document.querySelectorAll('[data-finding]')].filter(e => e.offsetParent !== null)"
SECTIONS = "[...document.querySelectorAll('[data-account-section]')]"
TICK_ONLY_CRITICAL = (
    "document.querySelectorAll('input[data-sev]')"
    ".forEach(b => { if (b.value !== 'critical') b.click(); })"
)
TICK_ALL = (
    "document.querySelectorAll('input[data-sev]').forEach(b => { if (!b.checked) b.click(); })"
)
WIDE = (
    "[...document.querySelectorAll('main *')].filter(e => !e.closest('.diagram'))"
    ".filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)"
    ".map(e => e.tagName + '.' + e.className).slice(0, 5)"
)


def _png(data: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(data["data"]))


async def _open(
    port: int, url: str, *, javascript: bool, screenshot: Path | None
) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.put(f"http://127.0.0.1:{port}/json/new?about:blank") as resp:
            target = await resp.json(content_type=None)
        async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            page = Page(ws)
            for domain in ("Page", "Network", "Runtime", "Log"):
                await page.send(f"{domain}.enable")
            await page.send(
                "Emulation.setDeviceMetricsOverride",
                width=1280,
                height=800,
                deviceScaleFactor=1,
                mobile=False,
            )
            if not javascript:
                await page.send("Emulation.setScriptExecutionDisabled", value=True)
            await page.send("Page.navigate", url=url)
            await page.wait_event("Page.loadEventFired")
            await asyncio.sleep(0.3)
            facts: dict[str, Any] = {}
            facts["visible"] = await page.js(f"{SHOWN}.length")
            facts["total"] = await page.js("document.querySelectorAll('[data-finding]').length")
            facts["filters_shown"] = await page.js("!document.getElementById('filters').hidden")
            facts["overflow"] = await page.js(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            facts["wide"] = await page.js(WIDE)
            facts["scripts"] = await page.js("document.querySelectorAll('script').length")
            facts["injected"] = await page.js(
                "document.querySelectorAll('main script, main b, main i, header b').length"
            )
            facts["title"] = await page.js("document.title")
            if javascript:
                # Keep only critical: untick every other severity.
                await page.js(TICK_ONLY_CRITICAL)
                facts["critical_only"] = await page.js(f"{SHOWN}.map(e => e.dataset.severity)")
                facts["count_text"] = await page.js(
                    "document.getElementById('filter-count').textContent"
                )
                await page.js(TICK_ALL)
                await page.js(
                    "const s = document.getElementById('filter-account');"
                    "s.value = s.options[1].value;"
                    "s.dispatchEvent(new Event('change', {bubbles: true}))"
                )
                facts["account_filter"] = await page.js(f"{SHOWN}.map(e => e.dataset.account)")
                facts["account_option"] = await page.js(
                    "document.getElementById('filter-account').value"
                )
                facts["account_sections"] = await page.js(
                    f"{SECTIONS}.filter(e => e.offsetParent !== null).length"
                )
                await page.js(
                    "const t = document.getElementById('filter-account'); t.value = '';"
                    "t.dispatchEvent(new Event('change', {bubbles: true})); window.scrollTo(0, 0)"
                )
            if screenshot:
                _png(await page.send("Page.captureScreenshot", format="png"), screenshot)
                for section in ("hierarchy", "findings", "accounts"):
                    await page.js(f"document.getElementById('{section}').scrollIntoView()")
                    shot = await page.send("Page.captureScreenshot", format="png")
                    _png(shot, screenshot.with_name(f"{screenshot.stem}-{section}.png"))
            await asyncio.sleep(0.2)
            await page.js("1")  # drain late events
            facts["requests"] = [
                e["params"]["request"]["url"]
                for e in page.events
                if e.get("method") == "Network.requestWillBeSent"
            ]
            facts["console"] = [
                e["params"]
                for e in page.events
                if e.get("method") in ("Runtime.consoleAPICalled", "Runtime.exceptionThrown")
            ]
            facts["log_errors"] = [
                e["params"]["entry"]
                for e in page.events
                if e.get("method") == "Log.entryAdded"
                and e["params"]["entry"].get("level") in ("error", "warning")
            ]
            return facts


def test_report_in_chromium_with_javascript(chromium: int, report: Path) -> None:
    url = report.as_uri()
    facts = asyncio.run(
        _open(chromium, url, javascript=True, screenshot=ARTIFACTS / "report-1280x800.png")
    )
    assert facts["requests"] == [url], "the report made a request besides loading itself"
    assert facts["console"] == [] and facts["log_errors"] == [], (
        facts["console"],
        facts["log_errors"],
    )
    assert facts["filters_shown"] is True  # the script ran: the CSP hash matches it
    total = len(build_analysis().findings)
    assert facts["total"] == total and facts["visible"] == total
    critical = sum(1 for f in build_analysis().findings if f.severity == "critical")
    assert facts["critical_only"] == ["critical"] * critical
    assert facts["count_text"] == f"Showing {critical} of {total} findings"
    chosen = facts["account_option"]
    assert chosen and set(facts["account_filter"]) == {chosen}
    assert facts["account_sections"] == 1
    assert facts["overflow"] <= 0 and facts["wide"] == [], facts["wide"]
    assert SCRIPT_NAME not in facts["title"]
    assert (ARTIFACTS / "report-1280x800.png").stat().st_size > 10_000


def test_report_without_javascript_shows_everything(chromium: int, report: Path) -> None:
    facts = asyncio.run(_open(chromium, report.as_uri(), javascript=False, screenshot=None))
    total = len(build_analysis().findings)
    assert facts["visible"] == total
    assert facts["filters_shown"] is False  # the form needs the script; nothing else does
    assert facts["requests"] == [report.as_uri()]
    assert facts["overflow"] <= 0


def test_hostile_names_stay_text(chromium: int, report: Path, tmp_path: Path) -> None:
    """Names with <script>, <b>, <i> stay text: the only script element is the report's own."""
    facts = asyncio.run(_open(chromium, report.as_uri(), javascript=True, screenshot=None))
    assert facts["scripts"] == 1
    assert facts["injected"] == 0
