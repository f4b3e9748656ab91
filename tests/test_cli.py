"""`audit`, `report` and `demo` as a user runs them: exit codes 0/1/2/3, one-line errors.

The audits run against the emulator over real HTTP (serving the demo hierarchy),
through `auditor.cli.main`, which the console script runs (through `entry`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from auditor.cli import main
from auditor.emulator import EmulatorServer
from auditor.emulator.demo import (
    PARENT,
    RIVERSIDE,
    auth_token,
    demo_policy_toml,
    demo_scenario,
    demo_secrets,
)

ROOT = Path(__file__).resolve().parent.parent
TWILIO_VARS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_API_KEY", "TWILIO_API_SECRET")


@pytest.fixture(scope="module")
def scenario() -> dict[str, object]:
    # Alerts dated relative to the real clock: the CLI reads the last 30 days from now.
    return demo_scenario(datetime.now(UTC).replace(second=0, microsecond=0))


@pytest.fixture(scope="module")
def server(scenario: dict[str, object]) -> Iterator[EmulatorServer]:
    with EmulatorServer(scenario) as srv:
        yield srv


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> EmulatorServer:
    for var in TWILIO_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", PARENT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", auth_token(PARENT))
    monkeypatch.setenv("TWILIO_AUDIT_API_URL", server.url)
    return server


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


def assert_one_line_error(err: str, *words: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("twilio-audit: error: ") and "Traceback" not in err
    for word in words:
        assert word in lines[0]


def findings(out: Path) -> list[dict[str, object]]:
    doc = json.loads((out / "findings.json").read_text())
    return list(doc["findings"])


# --------------------------------------------------------------------------- exit codes


def test_audit_exits_1_on_findings_at_or_above_fail_on(
    capsys: pytest.CaptureFixture[str], creds: EmulatorServer, tmp_path: Path
) -> None:
    code, out, _ = cli(capsys, "audit", "--out", str(tmp_path), "-q", "--format", "json")
    assert code == 1
    assert "wrote" in out and (tmp_path / "snapshot.json").exists()
    assert any(f["severity"] == "critical" for f in findings(tmp_path))


def test_audit_exits_0_below_fail_on(
    capsys: pytest.CaptureFixture[str], creds: EmulatorServer, tmp_path: Path
) -> None:
    code, _, _ = cli(capsys, "audit", "-o", str(tmp_path), "-q", "-f", "json", "--fail-on", "never")
    assert code == 0
    assert findings(tmp_path)


def test_audit_strict_exits_3_when_coverage_has_errors(
    capsys: pytest.CaptureFixture[str], creds: EmulatorServer, tmp_path: Path
) -> None:
    # Riverside's Studio answers 403: the audit goes on, but is incomplete.
    creds.set_faults(product_errors={RIVERSIDE: {"studio": 403}})
    try:
        code, _, err = cli(capsys, "audit", "-o", str(tmp_path), "-q", "-f", "json", "--strict")
    finally:
        creds.set_faults(product_errors={})
    assert code == 3
    assert "incomplete" in err
    doc = json.loads((tmp_path / "findings.json").read_text())
    assert doc["coverage"][RIVERSIDE]["flows"].startswith("error")
    assert doc["findings"]  # the reports are still written


def test_report_reproduces_the_audit_offline(
    capsys: pytest.CaptureFixture[str], creds: EmulatorServer, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(demo_policy_toml())
    audited = tmp_path / "audit"
    code, _, _ = cli(
        capsys, "audit", "-o", str(audited), "-q", "-f", "json", "--policy", str(policy)
    )
    assert code == 1
    reported = tmp_path / "report"
    code, _, _ = cli(
        capsys, "report", str(audited), "--out", str(reported), "-f", "json", "-f", "md",
        "--policy", str(policy), "--client-name", "Northwind", "--paper", "letter",
    )  # fmt: skip
    assert code == 1
    assert (reported / "report.md").exists() and (reported / "snapshot.json").exists()
    strip = [{k: v for k, v in f.items() if k != "status"} for f in findings(audited)]
    assert [{k: v for k, v in f.items() if k != "status"} for f in findings(reported)] == strip
    assert any(f["rule"] == "policy-callerid-missing" for f in findings(reported))
    code, _, _ = cli(capsys, "report", str(audited), "-o", str(reported), "--fail-on", "never")
    assert code == 0


def test_report_with_baseline_fires_released(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from auditor.commands.demo import run_demo
    from auditor.emulator.demo import DEMO_NOW, HILLCREST_RELEASED

    demo = run_demo(tmp_path / "demo", ["json"], now=DEMO_NOW)
    out = tmp_path / "again"
    code, _, _ = cli(
        capsys, "report", str(demo.result.snapshot_path), "-o", str(out), "-f", "json",
        "--baseline", str(demo.baseline_path.parent),
    )  # fmt: skip
    assert code == 1
    released = [f for f in findings(out) if f["rule"] == "callerid-released"]
    assert [f["caller_id"] for f in released] == [HILLCREST_RELEASED]
    code, _, _ = cli(capsys, "report", str(demo.result.snapshot_path), "-o", str(out), "-f", "json")
    assert not [f for f in findings(out) if f["rule"] == "callerid-released"]


def test_code_trees_are_merged_with_their_account(
    capsys: pytest.CaptureFixture[str], creds: EmulatorServer, tmp_path: Path
) -> None:
    tree = tmp_path / "src"
    tree.mkdir()
    (tree / "dial.js").write_text(
        "exports.handler = function (context, event, callback) {\n"
        "  const twiml = new Twilio.twiml.VoiceResponse();\n"
        "  twiml.dial({ callerId: '+15095550142' }, event.To);\n"
        "  callback(null, twiml);\n"
        "};\n"
    )
    out = tmp_path / "out"
    code, _, _ = cli(
        capsys, "audit", "-o", str(out), "-q", "-f", "json", "--code", f"{tree}={RIVERSIDE}",
    )  # fmt: skip
    assert code == 1
    from_code = [f for f in findings(out) if f["source"]["kind"] == "code"]  # type: ignore[index]
    assert [(f["rule"], f["account_sid"], f["caller_id"]) for f in from_code] == [
        ("callerid-not-authorized", RIVERSIDE, "+15095550142")
    ]
    again = tmp_path / "again"  # the references live in the snapshot: report sees them too
    cli(capsys, "report", str(out), "-o", str(again), "-f", "json")
    assert [f for f in findings(again) if f["source"]["kind"] == "code"] == from_code  # type: ignore[index]


def test_demo_exits_0_unless_fail_on_is_given(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = cli(capsys, "demo", "--out", str(tmp_path / "a"), "-f", "json", "-q")
    assert code == 0
    assert "Report:" in out and "findings.json" in out
    code, _, _ = cli(
        capsys, "demo", "-o", str(tmp_path / "b"), "-f", "json", "-q", "--fail-on", "high"
    )
    assert code == 1


# --------------------------------------------------------------------------- one-line errors


def test_missing_credentials(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for var in TWILIO_VARS:
        monkeypatch.delenv(var, raising=False)
    code, _, err = cli(capsys, "audit", "-o", str(tmp_path), "-q")
    assert code == 2
    assert_one_line_error(err, "TWILIO_ACCOUNT_SID")


def test_wrong_credentials_against_the_emulator(
    capsys: pytest.CaptureFixture[str],
    creds: EmulatorServer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    wrong = "0" * 32
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", wrong)
    code, out, err = cli(capsys, "audit", "-o", str(tmp_path), "-q")
    assert code == 2
    assert_one_line_error(err, "TWILIO_AUTH_TOKEN")
    assert wrong not in out + err
    assert not (tmp_path / "snapshot.json").exists()


def test_unreachable_api_url(
    capsys: pytest.CaptureFixture[str], creds: EmulatorServer, tmp_path: Path
) -> None:
    code, _, err = cli(
        capsys, "audit", "-o", str(tmp_path), "-q", "--api-url", "http://127.0.0.1:1"
    )
    assert code == 2
    assert_one_line_error(err, "http://127.0.0.1:1")


@pytest.mark.parametrize(
    "content, words",
    [
        ('{"schema_version": 1, "root_account_sid": "AC', ["not valid JSON"]),
        ('{"hello": "world"}', ["not a twilio-audit snapshot"]),
        ("", ["not valid JSON"]),
    ],
)
def test_malformed_snapshot(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str, words: list[str]
) -> None:
    snap = tmp_path / "snapshot.json"
    snap.write_text(content)
    code, _, err = cli(capsys, "report", str(snap), "-o", str(tmp_path / "out"))
    assert code == 2
    assert_one_line_error(err, str(snap), *words)


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--policy", "{missing}"], ["policy file"]),
        (["--policy", "{bad_policy}"], ["policy file"]),
        (["--baseline", "{missing}"], ["no such file"]),
        (["--paper", "a5"], ["--paper"]),
        (["--out", "{a_file}"], ["is a file"]),
    ],
)
def test_bad_report_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: list[str], words: list[str]
) -> None:
    from auditor.model import Snapshot
    from auditor.snapshot import save_snapshot

    snap = save_snapshot(
        Snapshot(root_account_sid=PARENT, collected_at="2026-11-29T12:00:00Z", tool_version="0"),
        tmp_path / "snapshot.json",
    )
    (tmp_path / "bad.toml").write_text("[accounts.ACnope]\ncaller_ids = 3\n")
    (tmp_path / "file.txt").write_text("x")
    paths = {
        "missing": str(tmp_path / "nope.toml"),
        "bad_policy": str(tmp_path / "bad.toml"),
        "a_file": str(tmp_path / "file.txt"),
    }
    args = [a.format(**paths) for a in extra]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    code, _, err = cli(capsys, "report", str(snap), *args)
    assert code == 2
    assert_one_line_error(err, *words)


def test_bad_code_path_fails_before_collecting(
    capsys: pytest.CaptureFixture[str], creds: EmulatorServer, tmp_path: Path
) -> None:
    before = creds.stats.total_requests
    code, _, err = cli(capsys, "audit", "-o", str(tmp_path), "-q", "--code", str(tmp_path / "nope"))
    assert code == 2
    assert_one_line_error(err, "--code")
    assert creds.stats.total_requests == before


def test_errors_from_a_real_process_have_no_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in TWILIO_VARS}
    bad = tmp_path / "snapshot.json"
    bad.write_text("{ truncated")
    for args in (
        ["audit", "-o", str(tmp_path / "o"), "-q"],
        ["report", str(bad), "-o", str(tmp_path / "r")],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "auditor", *args],
            capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert_one_line_error(proc.stderr)


# --------------------------------------------------------------------------- secrets


def test_no_secret_in_audit_output_or_verbose_log(
    capsys: pytest.CaptureFixture[str],
    creds: EmulatorServer,
    scenario: dict[str, object],
    tmp_path: Path,
) -> None:
    code, out, err = cli(
        capsys, "audit", "-o", str(tmp_path), "-v", "-f", "json", "-f", "html", "-f", "md",
        "-f", "csv", "-f", "sarif",
    )  # fmt: skip
    assert code == 1
    secrets = demo_secrets(scenario)
    assert auth_token(PARENT) in secrets
    texts = [out, err] + [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()]
    assert len(texts) >= 2 + 6
    for text in texts:
        assert not [s for s in secrets if s in text]


def test_ctrl_c_is_one_line_and_exit_130(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import auditor.commands.report as report_command

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(report_command, "run_report", interrupted)
    code, _, err = cli(capsys, "report", str(tmp_path), "-o", str(tmp_path / "out"))
    assert code == 130
    assert "interrupted" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_demo_as_of_writes_the_same_files_every_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        args = ["demo", "-o", str(out), "-q", "-f", "json", "-f", "md", "-f", "csv"]
        code, _, _ = cli(capsys, *args, "--as-of", "2026-11-29T12:00:00Z")
        assert code == 0
        files = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
        # A SQLite file is not byte-reproducible (it stores when each run was recorded):
        # its runs are compared as `history --format json` reads them instead.
        del files[Path("history.db")]
        code, listed, _ = cli(capsys, "history", "--history", str(out / "history.db"), "-f", "json")
        recorded = json.loads(listed)["runs"]
        assert code == 0 and len(recorded) == 2  # the baseline and today
        files[Path("history.json")] = json.dumps(
            [{k: v for k, v in r.items() if k != "recorded_at"} for r in recorded]
        ).encode()
        runs.append(files)
    # a snapshot per region, the baseline's, demo-accept.toml and the history
    assert runs[0] == runs[1] and len(runs[0]) == 10
    doc = json.loads(runs[0][Path("findings.json")])
    assert doc["generated_at"].startswith("2026-11-29T12:00")
