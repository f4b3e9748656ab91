"""Ctrl-C during a collection: exit 130, one line, no half-written snapshot, threads stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from auditor.collect import CollectConfig, collect
from auditor.collect.credentials import Credentials
from auditor.collect.pool import TaskPool
from auditor.commands.collect import cancel_on_sigint
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


# ------------------------------------------------------------------ a Ctrl-C cannot be lost


class _Finalizer:
    """Its `__del__` is where Python drops exceptions: a KeyboardInterrupt landing there."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)
        sum(range(1000))  # the handler runs here; Python prints and drops its exception


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_ctrl_c_sets_cancel_even_when_its_exception_is_dropped() -> None:
    cancel = threading.Event()
    with cancel_on_sigint(cancel):
        obj = _Finalizer()
        del obj  # no KeyboardInterrupt comes out of this
        assert cancel.is_set()
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_ignored_sigint_stays_ignored() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        cancel = threading.Event()
        with cancel_on_sigint(cancel):
            signal.raise_signal(signal.SIGINT)
        assert not cancel.is_set()
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_lost_interrupt_still_ends_the_collection(small_hierarchy: dict[str, Any]) -> None:
    """The handler set `cancel` but its KeyboardInterrupt vanished: collect must not finish."""
    scenario = dict(small_hierarchy, faults={"latency_ms": 150})
    parent = scenario["accounts"][0]
    cancel = threading.Event()
    with EmulatorServer(scenario) as server:
        config = CollectConfig(
            credentials=Credentials(parent["sid"], parent["auth_token"]), api_url=server.url
        )
        threading.Timer(0.5, cancel.set).start()
        with pytest.raises(KeyboardInterrupt):
            collect(config, cancel=cancel)
        sent = server.stats.total_requests
        time.sleep(0.5)
        assert server.stats.total_requests == sent  # nothing is sent once cancelled


def test_pool_threads_leave_sigint_to_the_main_thread() -> None:
    masks: list[set[int]] = []
    pool = TaskPool(2)
    pool.submit(lambda: masks.append(set(signal.pthread_sigmask(signal.SIG_BLOCK, []))))
    pool.wait()
    pool.close()
    assert signal.SIGINT in masks[0]
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
