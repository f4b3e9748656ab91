"""Helpers for the watch tests: a snapshot of the watch scenario, notify sinks, waiting.

Everything is real: the emulator over HTTP, the watcher's uvicorn server, SQLite
files in tmp_path, and notify sinks that are HTTP servers on loopback.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import watch_fixtures as W

from auditor.collect import CollectConfig, collect
from auditor.collect.credentials import Credentials
from auditor.emulator import EmulatorServer
from auditor.model import Alert, Finding
from auditor.snapshot import save_snapshot
from auditor.watch import WatchConfig, Watcher
from auditor.watch.diagnose import Diagnosis

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"),)
PARENT_CREDS = Credentials(W.PARENT, W.TOKENS[W.PARENT])


def wait_for(predicate: Callable[[], Any], timeout: float, step: float = 0.02) -> Any:
    """Poll `predicate` until it returns something truthy or `timeout` passes (then falsy)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def make_snapshot(scenario: dict[str, Any], folder: Path) -> Path:
    """Collect `scenario` through the emulator and save it as folder/snapshot.json."""
    with EmulatorServer(scenario) as em:
        snap = collect(CollectConfig(PARENT_CREDS, api_url=em.url, since_days=1))
    return save_snapshot(snap, folder)


def read_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@dataclass
class Sink:
    """A notify target on loopback: records JSON bodies; "ok", "fail" (500) or "hang"."""

    mode: str = "ok"
    bodies: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T000/B000/secret-path"

    def start(self) -> Sink:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                sink.attempts += 1
                if sink.mode == "hang":
                    sink.release.wait(30)
                    return
                if sink.mode == "fail":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                sink.bodies.append(json.loads(body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def watch_config(snapshot: Path, tmp: Path, api_url: str, **changes: Any) -> WatchConfig:
    base: dict[str, Any] = {
        "snapshot": snapshot,
        "credentials": PARENT_CREDS,
        "api_url": api_url,
        "listen": ("127.0.0.1", 0),
        "jsonl": tmp / "diagnoses.jsonl",
        "state": tmp / "state.sqlite",
        "notify_allow": LOOPBACK,
        "notify_backoff": 0.05,
    }
    base.update(changes)
    return WatchConfig(**base)


def debugger_url(watcher: Watcher) -> str:
    assert watcher.server is not None
    return watcher.server.url + "/debugger"


def assert_diagnosed_as_audited(audit: Sequence[Finding], alert: Alert, d: Diagnosis) -> None:
    """watch's diagnosis of an alert says what the audit's finding about it says."""
    same = [
        f
        for f in audit
        if f.source.kind == "alert"
        and f.account_sid == alert.account_sid
        and f.caller_id == d.caller_id
        and f.rule == d.rule
    ]
    assert same, f"{alert.sid}: audit has no {d.rule} finding for {d.caller_id}"
    f = same[0]
    assert (d.severity, d.owner_account_sid, d.path, d.remediation, d.impacted) == (
        f.severity,
        f.owner_account_sid,
        f.path,
        f.remediation,
        f.impacted,
    )
