"""What a hostile subaccount puts in its data never reaches a reader as it was written.

An audit over real HTTP (emulator, official SDK) of a hierarchy whose webhook URLs,
alert URLs, flow widgets, Function code and --api-url carry passwords, and whose names
carry bidi overrides, terminal escape sequences and rich markup. Every file written
(snapshot.json, report.html, report.pdf as text, report.md, inventory.csv,
findings.json, findings.sarif) and everything printed is searched for the planted
password and the raw characters; `report` on the snapshot must say the same.
"""

from __future__ import annotations

import copy
import io
import json
import shutil
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from test_cli import cli

from auditor.analysis import analyse
from auditor.cli import main
from auditor.commands.demo import summary_table
from auditor.emulator import EmulatorServer, generate_hierarchy
from auditor.graph import normalize_url
from auditor.pipeline import AuditResult
from auditor.snapshot import load_snapshot

PASSWORD = "Pl4nted-Secret"
EVIL_NAME = "Clinic\u202eexe.gnp\x1b]0;pwned\x07\x1b[2J [red]x[/red]"
RAW_CHARS = ("\u202e", "\x1b", "\x07")
FORMATS = ["html", "pdf", "json", "csv", "sarif", "md"]


def hostile_scenario() -> dict[str, Any]:
    scenario = copy.deepcopy(generate_hierarchy(2, 3, alerts_per_account=1))
    sub = scenario["accounts"][1]
    sub["friendly_name"] = EVIL_NAME
    sub["incoming_phone_numbers"][0].update(
        voice_url=f"https://ops:{PASSWORD}@hooks.example.com/voice",
        friendly_name="Front desk\x1b[2J\u202e",
    )
    sub["incoming_phone_numbers"][1]["voice_url"] = "http://[::1/voice"  # malformed
    sub["applications"][0]["voice_url"] = f"https://app:{PASSWORD}@apps.example.com/a"
    sub["sip_domains"][0]["voice_url"] = f"https://sip:{PASSWORD}@sip.example.com/s"
    alert = sub["alerts"][0]
    alert["request_url"] = f"https://alert:{PASSWORD}@hooks.example.com/voice"
    alert["error_code"] = "13214"
    alert["response_body"] = (
        f'<Response><Dial callerId="+19995550123">+15005550006</Dial>'
        f"<Redirect>https://r:{PASSWORD}@x.example/next</Redirect></Response>"
    )
    states = sub["flows"][0]["definition"]["states"]
    states.append(
        {
            "name": "fn",
            "type": "run-function",
            "properties": {"url": f"https://fn:{PASSWORD}@svc-1.twil.io/fn0"},
        }
    )
    version = sub["services"][0]["functions"][0]["versions"][-1]
    version["content"] += f'\nconst api = "https://bot:{PASSWORD}@api.example.com/x";\n'
    return scenario


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """The console script's main() in-process, with stdout and stderr captured."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err), pytest.raises(SystemExit) as exc:
        main(args)
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One audit in every format, and a `report` of its snapshot (module scope: PDF is slow)."""
    root = tmp_path_factory.mktemp("hostile")
    scenario = hostile_scenario()
    parent = scenario["accounts"][0]
    formats = [a for f in FORMATS for a in ("-f", f)]
    with EmulatorServer(scenario) as server, pytest.MonkeyPatch.context() as mp:
        for var in ("TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_AUDIT_API_URL"):
            mp.delenv(var, raising=False)
        mp.setenv("TWILIO_ACCOUNT_SID", parent["sid"])
        mp.setenv("TWILIO_AUTH_TOKEN", parent["auth_token"])
        api = server.url.replace("http://", f"http://apiuser:{PASSWORD}@")
        audit = run_cli(["audit", "-o", str(root / "audit"), "--api-url", api, "-v", *formats])
        report = run_cli(["report", str(root / "audit"), "-o", str(root / "report"), *formats])
    return {"root": root, "results": {"audit": audit, "report": report}}


def _texts(folder: Path) -> dict[str, str]:
    """Every file as text (the PDF through pdftotext, as a reader copies it)."""
    texts = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".pdf":
            assert path.read_bytes().startswith(b"%PDF")
            if shutil.which("pdftotext"):
                texts[path.name] = subprocess.run(
                    ["pdftotext", "-enc", "UTF-8", str(path), "-"],
                    capture_output=True, text=True, check=True, timeout=120,
                ).stdout  # fmt: skip
            continue
        texts[path.name] = path.read_text(encoding="utf-8")
    return texts


@pytest.mark.parametrize("run", ["audit", "report"])
def test_no_password_and_no_raw_control_character_anywhere(
    audited: dict[str, Any], run: str
) -> None:
    code, out, err = audited["results"][run]
    assert code in (0, 1), err
    assert "Traceback" not in err
    texts = _texts(audited["root"] / run)
    assert set(texts) >= {
        "snapshot.json", "report.html", "report.md", "inventory.csv",
        "findings.json", "findings.sarif",
    }  # fmt: skip
    if shutil.which("pdftotext"):
        assert "report.pdf" in texts
    for name, text in {**texts, "stdout": out, "stderr": err}.items():
        assert PASSWORD not in text, name
        for ch in RAW_CHARS:
            assert ch not in text, (name, repr(ch))
    assert "https://***@hooks.example.com/voice" in texts["snapshot.json"]
    assert "https://***@hooks.example.com/voice" in texts["report.html"]
    assert "[U+202E]" in texts["report.html"] and "\\[U+001B\\]" in texts["report.md"]
    assert "[U+202E]" in texts["inventory.csv"]
    assert "\\u202e" in texts["snapshot.json"]  # data kept exactly, as a JSON escape


def test_the_snapshot_holds_redacted_urls_and_the_malformed_one_as_written(
    audited: dict[str, Any],
) -> None:
    snap = load_snapshot(audited["root"] / "audit")
    assert snap.api_url is not None and snap.api_url.startswith("http://***@127.0.0.1:")
    urls = [n.voice_url for n in snap.phone_numbers] + [a.voice_url for a in snap.applications]
    assert "https://***@hooks.example.com/voice" in urls
    assert "https://***@apps.example.com/a" in urls
    assert "http://[::1/voice" in urls  # stored, and analysis did not choke on it
    assert normalize_url("http://[::1/voice") == "http://[::1/voice"
    assert normalize_url("HTTP://U:P@Host:99999/a/") == "http://u:p@host:99999/a"
    fn = next(f for f in snap.functions if "api.example.com" in f.content)
    assert "https://***@api.example.com/x" in fn.content


def test_findings_and_the_terminal_see_the_data_as_visible_text(audited: dict[str, Any]) -> None:
    root = audited["root"]
    findings = json.loads((root / "audit" / "findings.json").read_text())
    assert any(f["raw_value"] == "+19995550123" for f in findings["findings"])  # audited
    _, _, err = audited["results"]["audit"]
    assert "http: GET " in err  # the --verbose request log, redacted
    snap = load_snapshot(root / "audit")
    analysis = analyse(snap)
    result = AuditResult(snap, analysis, root, root / "audit", [], 0, [])
    for f in analysis.findings:
        f.account_sid = snap.accounts[1].sid
    console = Console(file=io.StringIO(), width=200, force_terminal=True, color_system=None)
    console.print(summary_table(result))
    table = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[red]x[/red]" in table  # printed as text, not taken as rich markup
    assert "\u202e" not in table and "\x07" not in table and "[U+202E]" in table


def test_check_and_scan_print_names_as_visible_text(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scenario = hostile_scenario()
    parent, sub, other = scenario["accounts"]
    owned_by_sub = sub["incoming_phone_numbers"][2]["phone_number"]
    with EmulatorServer(scenario) as server:
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", parent["sid"])
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", parent["auth_token"])
        monkeypatch.setenv("TWILIO_AUDIT_API_URL", server.url)
        code, out, err = cli(capsys, "check", "--account", other["sid"], owned_by_sub)
    assert code == 1, err
    assert "Clinic[U+202E]exe.gnp[U+001B]]0;pwned[U+0007][U+001B][2J" in out
    for ch in RAW_CHARS:
        assert ch not in out + err
    code_dir = tmp_path / "code"
    code_dir.mkdir()
    evil = code_dir / "dial\x1b]52;c;ZXZpbA==\x07\u202elmx.xml"
    evil.write_text('<Response><Dial callerId="+15551230001">+15005550006</Dial></Response>')
    code, out, err = cli(capsys, "scan", str(code_dir), "--fail-on", "never")
    assert code == 0
    assert "dial[U+001B]]52;c;ZXZpbA==[U+0007][U+202E]lmx.xml:1" in out
    for ch in RAW_CHARS:
        assert ch not in out + err
