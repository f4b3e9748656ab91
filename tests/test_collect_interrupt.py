"""Ctrl-C during a collection: exit 130, one line, no half-written snapshot, threads stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from auditor.emulator import EmulatorServer, generate_hierarchy


def test_ctrl_c_exits_130_without_partial_file(tmp_path: Path) -> None:
    s = generate_hierarchy(20, 5)
    s["faults"] = {"latency_ms": 400}
    parent = s["accounts"][0]
    out = tmp_path / "out"
    env = dict(
        os.environ,
        TWILIO_ACCOUNT_SID=parent["sid"],
        TWILIO_AUTH_TOKEN=parent["auth_token"],
        PYTHONUNBUFFERED="1",
    )
    with EmulatorServer(s) as server:
        url = server.url
        proc = subprocess.Popen(
            [sys.executable, "-m", "auditor", "collect", "--out", str(out), "--api-url", url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while server.stats.total_requests < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "collect finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        requests_then = server.stats.total_requests
        time.sleep(1.0)
        requests_later = server.stats.total_requests
    assert proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err
    assert not out.exists() or list(out.iterdir()) == []
    assert requests_later == requests_then  # nothing kept running after the exit
