"""A bug exits 4 (never 1, the findings code): one line naming a private crash report.

The bug is simulated by making one of our own pipeline functions raise (never the
SDK); the report must hold the traceback and no secret, URL password or local value.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from test_cli import ROOT, cli

import auditor.pipeline
from auditor.crash import crash_dir
from auditor.emulator.demo import PARENT
from auditor.model import Snapshot
from auditor.snapshot import save_snapshot

TOKEN = "f3" * 16  # a planted auth token
PASSWORD = "hunter2-in-url"


def _boom(*args: object, **kwargs: object) -> None:
    local_secret = "LOCAL-VALUE-NEVER-IN-REPORT"  # a local variable: must not be printed
    assert local_secret
    raise RuntimeError(f"boom near https://ops:{PASSWORD}@hooks.example/voice token={TOKEN}")


@pytest.fixture
def state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", TOKEN)
    return tmp_path / "state" / "twilio-audit"


@pytest.fixture
def snapshot_file(tmp_path: Path) -> Path:
    snap = Snapshot(root_account_sid=PARENT, collected_at="2026-11-29T12:00:00Z", tool_version="0")
    return save_snapshot(snap, tmp_path / "snapshot.json")


def _report_path(err: str) -> Path:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("twilio-audit: internal error (RuntimeError): this is a bug")
    assert "Traceback" not in err and PASSWORD not in err and TOKEN not in err
    start = lines[0].index("crash report written to ") + len("crash report written to ")
    return Path(lines[0][start:].split(";")[0])


def test_a_bug_exits_4_with_one_line_and_a_private_crash_report(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    state: Path,
    snapshot_file: Path,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(auditor.pipeline, "analyse", _boom)
    code, _, err = cli(capsys, "report", str(snapshot_file), "-o", str(tmp_path / "out"))
    assert code == 4
    report = _report_path(err)
    assert report.parent == state == crash_dir()
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    text = report.read_text()
    assert "Traceback (most recent call last)" in text and "in _boom" in text
    assert "RuntimeError: boom near https://***@hooks.example/voice token=***" in text
    assert "command: twilio-audit report" in text and "this is a bug" in text
    for secret in (PASSWORD, TOKEN, "LOCAL-VALUE-NEVER-IN-REPORT"):
        assert secret not in text


def test_crash_report_falls_back_to_a_private_temp_file(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    snapshot_file: Path,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", "/proc/self")  # nothing can be created there
    monkeypatch.setattr(auditor.pipeline, "analyse", _boom)
    code, _, err = cli(capsys, "report", str(snapshot_file), "-o", str(tmp_path / "out"))
    assert code == 4
    report = _report_path(err)
    try:
        assert report.parent == Path(tempfile.gettempdir())
        assert report.name.startswith("twilio-audit-crash-")
        assert stat.S_IMODE(report.stat().st_mode) == 0o600
        assert "in _boom" in report.read_text()
    finally:
        report.unlink()


def test_a_real_process_exits_4_not_1(tmp_path: Path, snapshot_file: Path) -> None:
    code = (
        "import sys, auditor.pipeline as p, auditor.cli as c\n"
        "def boom(*a, **k): raise KeyError('x')\n"
        "p.analyse = boom\n"
        "c.main(sys.argv[1:])\n"
    )
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    proc = subprocess.run(
        [sys.executable, "-c", code, "report", str(snapshot_file), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "internal error (KeyError)" in proc.stderr
    assert list((tmp_path / "state" / "twilio-audit").glob("crash-*.txt"))


def test_exit_codes_are_documented_in_help_and_readme(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--help")
    assert code == 0
    flat = " ".join(out.split())
    assert "4 a bug in twilio-audit" in flat and "1 findings" in flat and "130 interrupted" in flat
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Exit codes") :]
    assert "| 4 |" in table and "crash report" in table
