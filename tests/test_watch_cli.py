"""`twilio-audit watch` as an operator runs it: a process, stopped by SIGTERM or Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
import watch_fixtures as W
from watch_support import make_snapshot, read_lines, wait_for

from auditor.cli import main
from auditor.emulator import EmulatorServer

LISTENING = re.compile(r"listening on (http://\S+/debugger)")


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_snapshot(W.scenario(), tmp_path_factory.mktemp("snap"))


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer(W.scenario()) as server:
        yield server


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("TWILIO_")}
    out.update(TWILIO_ACCOUNT_SID=W.PARENT, TWILIO_AUTH_TOKEN=W.TOKENS[W.PARENT])
    return out


class Running:
    """The watch process and its stderr, read as it comes."""

    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "auditor", "watch", *args],
            env=env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.err: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.err.append(line)

    def url(self) -> str:
        def found() -> str | None:
            for line in self.err:
                m = LISTENING.search(line)
                if m:
                    return m.group(1)
            return None

        url = wait_for(found, timeout=30, step=0.05)
        assert url, f"watch did not start: {''.join(self.err)}"
        return str(url)

    def stop(self, sig: int) -> tuple[int, float]:
        began = time.monotonic()
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=10)
        elapsed = time.monotonic() - began
        self._reader.join(5)
        return rc, elapsed

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_it_within_two_seconds_with_state_flushed(
    sig: int, snapshot: Path, emulator: EmulatorServer, tmp_path: Path
) -> None:
    jsonl, state = tmp_path / "out.jsonl", tmp_path / "state.sqlite"
    args = ["--snapshot", str(snapshot), "--listen", "127.0.0.1:0", "--poll", "1"]
    args += ["--api-url", emulator.url, "--jsonl", str(jsonl), "--state", str(state)]
    running = Running(args)
    try:
        url = running.url()
        now = datetime.now(UTC)
        assert (
            emulator.deliver_debugger_event(url, W.RIVERSIDE, W.alert("1", W.NURSE_LINE, now))
            == 200
        )
        assert wait_for(lambda: read_lines(jsonl), timeout=10)
        health = url.removesuffix("/debugger") + "/healthz"

        def polled() -> bool:
            return requests.get(health, timeout=5).json()["poll"]["last_poll_at"] is not None

        assert wait_for(polled, timeout=10)  # a whole poll is done: every account has a cursor
        rc, elapsed = running.stop(sig)
    finally:
        running.kill()
    assert rc == 0, "".join(running.err)
    assert elapsed < 2.0, f"stopped in {elapsed:.2f}s"
    stderr = "".join(running.err)
    assert "stopped" in stderr and "Traceback" not in stderr
    with sqlite3.connect(state) as db:
        (seen,) = db.execute("SELECT count(*) FROM seen_events").fetchone()
        (cursors,) = db.execute("SELECT count(*) FROM poll_cursors").fetchone()
    assert seen == 1 and cursors == 3  # the event and each account's poll position
    for path_text in (stderr, jsonl.read_text(), state.read_bytes().decode("latin-1")):
        for token in W.TOKENS.values():
            assert token not in path_text
    assert (state.stat().st_mode & 0o077) == 0 and (jsonl.stat().st_mode & 0o077) == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "nothing to watch"),
        (["--listen", "nowhere"], "--listen 'nowhere': give HOST:PORT"),
        (["--poll", "5", "--group-window", "soon"], "--group-window 'soon'"),
        (["--poll", "5", "--notify", "ftp://x/y"], "--notify ftp://x/…"),
        (
            ["--poll", "5", "--notify-allow", "10.0.0.300/8"],
            "--notify-allow 10.0.0.300/8: not a network",
        ),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    args: list[str],
    expected: str,
    snapshot: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", W.PARENT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", W.TOKENS[W.PARENT])
    with pytest.raises(SystemExit) as exc:
        main(["watch", "--snapshot", str(snapshot), *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1, err


def test_a_snapshot_of_another_hierarchy_is_refused(
    snapshot: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", W.RIVERSIDE)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", W.TOKENS[W.RIVERSIDE])
    with pytest.raises(SystemExit) as exc:
        main(["watch", "--snapshot", str(snapshot), "--poll", "5"])
    assert exc.value.code == 2
    assert f"the snapshot is of {W.PARENT}" in capsys.readouterr().err


def test_rejected_credentials_are_one_line(
    snapshot: Path,
    emulator: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", W.PARENT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "f" * 32)
    with pytest.raises(SystemExit) as exc:
        main(["watch", "--snapshot", str(snapshot), "--poll", "5", "--api-url", emulator.url])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "rejected the credentials" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err


def test_a_snapshot_of_another_region_is_refused(
    snapshot: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", W.PARENT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", W.TOKENS[W.PARENT])
    with pytest.raises(SystemExit) as exc:
        main(
            [
                "watch",
                "--snapshot",
                str(snapshot),
                "--poll",
                "5",
                "--region",
                "ie1",
                "--edge",
                "dublin",
            ]
        )
    assert exc.value.code == 2
    assert "collected in us1, the watcher reads ie1" in capsys.readouterr().err
