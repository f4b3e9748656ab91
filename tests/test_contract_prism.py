"""Contract test: the collector against Prism mocks served straight from Twilio's OpenAPI specs.

Prism validates every request against Twilio's own description and answers
4xx with the violations when a request does not fit (unknown path, bad
parameter, PageSize out of range, missing auth). The collector must finish and
no request may be rejected. Prism is installed by .ci/run with
`npm install --prefix .ci/node @stoplight/prism-cli`.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from oai import OAI_DIR

from auditor.collect import CollectConfig, collect
from auditor.collect.client import make_client
from auditor.collect.credentials import Credentials
from auditor.collect.http import ReadOnlyHttpClient
from auditor.collect.walker import _AccountWork, _Walk
from auditor.model import Account, Alert
from auditor.progress import NullProgress

ROOT = Path(__file__).resolve().parent.parent
SPECS = OAI_DIR
PRODUCTS = {
    "api": "twilio_api_v2010.json",
    "studio": "twilio_studio_v2.json",
    "serverless": "twilio_serverless_v1.json",
    "monitor": "twilio_monitor_v1.json",
    "voice": "twilio_voice_v1.json",
    "flex-api": "twilio_flex_v1.json",
}
# The SIDs of Twilio's examples, so that path parameters match the specs' patterns.
SID = "AC" + "a" * 32


def _prism() -> str | None:
    local = ROOT / ".ci" / "node" / "node_modules" / ".bin" / "prism"
    return str(local) if local.exists() else shutil.which("prism")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Router(BaseHTTPRequestHandler):
    """Forward /{product}/… to the Prism instance serving that product's spec."""

    ports: ClassVar[dict[str, int]] = {}
    seen: ClassVar[list[tuple[str, int]]] = []

    def do_GET(self) -> None:
        product, _, rest = self.path.lstrip("/").partition("/")
        port = self.ports.get(product)
        if port is None:
            self.send_error(404, "unknown product")
            self.seen.append((self.path, 404))
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        req = urllib.request.Request(f"http://127.0.0.1:{port}/{rest}", headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                status, body, ctype = resp.status, resp.read(), resp.headers["Content-Type"]
        except urllib.error.HTTPError as err:
            status, body, ctype = err.code, err.read(), err.headers["Content-Type"]
        self.seen.append((self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", ctype or "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _wait_port(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prism exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("prism did not start in time")


@pytest.fixture(scope="module")
def prism_router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[Path]]]:
    prism = _prism()
    if prism is None:
        pytest.skip("prism is not installed: npm install --prefix .ci/node @stoplight/prism-cli")
    logdir = tmp_path_factory.mktemp("prism")
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    ports: dict[str, int] = {}
    try:
        for product, spec in PRODUCTS.items():
            port = _free_port()
            log = logdir / f"{product}.log"
            logs.append(log)
            with log.open("wb") as fh:
                procs.append(
                    subprocess.Popen(
                        [prism, "mock", "-h", "127.0.0.1", "-p", str(port), str(SPECS / spec)],
                        stdout=fh,
                        stderr=subprocess.STDOUT,
                    )
                )
            ports[product] = port
        deadline = time.monotonic() + 120
        for proc, port in zip(procs, ports.values(), strict=True):
            _wait_port(port, proc, deadline)
        _Router.ports = ports
        _Router.seen = []
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Router)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_address[1]}", logs
        server.shutdown()
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_collector_requests_fit_twilio_openapi(prism_router: tuple[str, list[Path]]) -> None:
    url, logs = prism_router
    creds = Credentials(account_sid=SID, auth_token="f" * 32)
    snapshot = collect(CollectConfig(credentials=creds, api_url=url, concurrency=4))

    rejected = [(path, status) for path, status in _Router.seen if status >= 400]
    assert _Router.seen, "no request reached the mock"
    assert rejected == []
    # Every product was asked and answered.
    asked = {path.split("/")[1] for path, _ in _Router.seen}
    assert asked == set(PRODUCTS)
    text = "\n".join(log.read_text(errors="replace") for log in logs)
    assert "Request did not pass the validation rules" not in text
    # Prism also reports its own examples' response violations (Twilio's spec, not us);
    # request violations are the ones that would mean the collector asked wrongly.
    request_violations = [
        line for line in text.splitlines() if "violation: request" in line.lower()
    ]
    assert request_violations == []
    assert snapshot.root_account_sid == SID
    # Prism answers every page of a list with the spec's one example, and some examples
    # carry a next_page_uri: the collector follows it, sees the link repeat and stops that
    # list with a coverage error (a loop with real Twilio would be a fault too).
    looped = "error: a next-page link repeats an earlier page"
    states = [v for cov in snapshot.coverage.values() for v in cov.values()]
    assert all(v == "ok" or v.startswith(looped) for v in states), snapshot.coverage
    assert snapshot.phone_numbers and snapshot.flows
    (geo,) = snapshot.dialing_permissions  # Twilio's examples: US, and inheritance true
    assert geo.countries_read and [c.iso_code for c in geo.countries] == ["US"]
    assert geo.inheritance is True


def test_deep_serverless_and_alert_steps_fit_openapi(prism_router: tuple[str, list[Path]]) -> None:
    """Twilio's examples list no Services and no 13214 alert, so drive those steps directly."""
    url, _ = prism_router
    _Router.seen.clear()
    creds = Credentials(account_sid=SID, auth_token="f" * 32)
    config = CollectConfig(credentials=creds, api_url=url, concurrency=4)
    http = ReadOnlyHttpClient(url)
    root = make_client(creds, url, http_client=http)
    walk = _Walk(config, http, root, NullProgress())
    account = Account(sid=SID, friendly_name="", status="active", owner_account_sid=None)
    work = _AccountWork(account=account, client=root)
    zs, ze, zb = "ZS" + "0" * 32, "ZE" + "0" * 32, "ZB" + "0" * 32
    walk.spawn(work, "functions", walk._environments, zs, "svc")
    walk.spawn(work, "functions", walk._variables, zs, ze)
    walk.spawn(work, "functions", walk._build, zs, "svc", ze, "svc.twil.io", zb)
    alert = Alert(sid="NO" + "a" * 32, account_sid=SID, error_code="13214")
    walk.spawn(work, "alerts", walk._alert_fetch, alert)
    walk.pool.wait()
    walk.pool.close()
    # The published revision of a draft flow (what _flow_fetch asks for a draft).
    revision = root.studio.v2.flows("FW" + "a" * 32).revisions("LatestPublished").fetch()
    assert revision.definition is not None

    assert not any(v.startswith("error") for v in work.coverage.values()), work.coverage
    assert [status for _, status in _Router.seen if status >= 400] == []
    paths = {path.split("?")[0] for path, _ in _Router.seen}
    assert any(p.endswith("/Content") for p in paths)
    assert any("/Builds/" in p for p in paths) and any(p.endswith("/Variables") for p in paths)
    assert work.items["functions"] and all(f.content for f in work.items["functions"])
    assert alert.response_body is not None or alert.request_variables is not None
