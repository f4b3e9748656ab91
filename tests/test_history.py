"""--history: runs recorded in a real database (a SQLite file, and a real PostgreSQL server
started for the tests), a finding's life across runs, and every database problem as one line."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest
from pg_server import PASSWORD
from review_data import analysed_snapshot, analysis, run
from wheel_support import build_wheel, run_from_wheel

from auditor.cli import main
from auditor.history import HistoryError, HistoryStore, record_and_review
from auditor.history.schema import VERSION_TABLE
from auditor.snapshot import save_snapshot


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_two_runs_then_resolved_then_reopened(history_target: str) -> None:
    store = HistoryStore.open(history_target)
    first = analysis().findings[0]
    s1, a1 = run("2026-09-01")
    h1 = record_and_review(store, s1, a1.findings)
    assert h1.runs == 1 and h1.new == len(a1.findings) and h1.previous_run is None
    assert all(f.history and f.history.state == "new" for f in a1.findings)

    s2, a2 = run("2026-10-01", drop=(0,))  # the first finding is fixed
    h2 = record_and_review(store, s2, a2.findings)
    assert h2.runs == 2 and h2.new == 0 and h2.fixed_since_previous == 1
    carried = a2.findings[0]
    assert carried.history is not None and carried.history.state == "open"
    assert carried.history.first_seen == "2026-09-01T12:00:00Z" and carried.history.days_open == 30

    s3, a3 = run("2026-11-01")  # … and back
    h3 = record_and_review(store, s3, a3.findings)
    back = next(f for f in a3.findings if f.fingerprint == first.fingerprint)
    assert back.history is not None and back.history.state == "reopened"
    assert back.history.first_seen == "2026-09-01T12:00:00Z"
    assert back.history.open_since == "2026-11-01T12:00:00Z" and back.history.days_open == 0
    assert h3.reopened == 1 and h3.fixed_since_previous == 0
    n = len(a1.findings)
    assert [p.open_total for p in h3.trend] == [n, n - 1, n]
    # Fixed once, after 30 days (1 Sep → 1 Oct): the mean time to fix over the window.
    assert h3.time_to_fix.fixed == 1 and h3.time_to_fix.mean_days == 30.0

    from auditor.history import build_timeline

    runs = store.runs()
    life = build_timeline(runs, store.finding_rows()).life(first.fingerprint)
    assert life is not None and life.is_open
    assert [t.isoformat() for t in life.fixed] == ["2026-10-01T12:00:00+00:00"]
    assert [t.isoformat() for t in life.reopened] == ["2026-11-01T12:00:00+00:00"]
    store.close()


def test_the_same_snapshot_twice_is_one_run(history_target: str) -> None:
    store = HistoryStore.open(history_target)
    snapshot, a = run("2026-09-01")
    record_and_review(store, snapshot, a.findings)
    again = record_and_review(store, snapshot, a.findings)
    assert again.runs == 1 and len(store.runs()) == 1
    assert store.runs()[0].total == len(a.findings)
    assert all(f.history and f.history.state == "new" for f in a.findings)
    # Recording it again with fewer findings (say a policy changed) replaces that run's rows.
    record_and_review(store, snapshot, a.findings[:3])
    assert len(store.runs()) == 1 and store.runs()[0].total == 3
    # A second store on the same target sees the same (the schema is not recreated).
    assert len(HistoryStore.open(history_target).runs()) == 1


def test_audit_and_history_command_on_the_cli(
    history_target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    snaps = []
    for day, fixed in (("2026-09-01", False), ("2026-10-01", True)):
        s = analysed_snapshot(day, duplicate_fixed=fixed)
        snaps.append(save_snapshot(s, tmp_path / day / "snapshot.json"))
    for path in snaps:
        out_dir = path.parent / "out"
        code, out, err = cli(
            capsys, "report", str(path), "--out", str(out_dir), "--history", history_target,
            "--format", "json", "--fail-on", "never",
        )  # fmt: skip
        assert code == 0, err
        assert PASSWORD not in out + err
    doc = json.loads((snaps[1].parent / "out" / "findings.json").read_text())
    assert doc["history"]["runs"] == 2 and doc["history"]["previous_run"] == "2026-09-01T12:00:00Z"
    assert all(f["history"]["first_seen"] == "2026-09-01T12:00:00Z" for f in doc["findings"])
    assert doc["history"]["fixed_since_previous"] == 1
    assert doc["history"]["mean_time_to_fix"]["mean_days"] == 30.0

    code, out, err = cli(capsys, "history", "--history", history_target, "--format", "json")
    assert code == 0, err
    runs = json.loads(out)["runs"]
    assert [r["collected_at"] for r in runs] == ["2026-09-01T12:00:00Z", "2026-10-01T12:00:00Z"]
    assert runs[0]["total"] - runs[1]["total"] == 1
    assert set(runs[0]["counts"]) == {"critical", "high", "medium", "low", "info"}
    assert runs[0]["regions"] == ["us1"]

    code, out, _ = cli(capsys, "history", "--history", history_target, "--format", "csv")
    assert out.splitlines()[0].startswith("collected_at,root_account_sid,regions,critical")
    assert len(out.splitlines()) == 3

    from auditor.analysis import analyse

    (fixed,) = [
        f.fingerprint
        for f in analyse(analysed_snapshot("2026-09-01")).findings
        if f.rule == "verified-callerid-duplicated"
    ]
    code, out, err = cli(capsys, "history", "--history", history_target, "--finding", fixed[:10])
    assert code == 0, err
    assert "first seen  2026-09-01T12:00:00Z" in out and "fixed 2026-10-01T12:00:00Z" in out
    code, out, _ = cli(
        capsys, "history", "--history", history_target, "--finding", fixed, "-f", "json"
    )
    life = json.loads(out)
    assert life["open"] is False and life["fixed"] == ["2026-10-01T12:00:00Z"]
    assert life["reopened"] == [] and life["last_seen"] == "2026-09-01T12:00:00Z"

    code, _, err = cli(capsys, "history", "--history", history_target, "--finding", "0" * 12)
    assert code == 2 and "no such finding" in err and PASSWORD not in err


def test_env_var_names_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "env.db"
    monkeypatch.setenv("TWILIO_AUDIT_HISTORY", str(db))
    s, _ = run("2026-09-01")
    path = save_snapshot(s, tmp_path / "snapshot.json")
    code, out, err = cli(capsys, "report", str(path), "--out", str(tmp_path / "o"), "-f", "json")
    assert code == 1 and db.exists(), err
    assert f"history {db}: run 1 of this hierarchy" in out
    code, out, _ = cli(capsys, "history")
    assert code == 0 and "2026-09-01T12:00:00Z" in out


# --------------------------------------------------------------------------- problems


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("mysql://u:hunter2@db.example/x", "unsupported database 'mysql'"),
        ("postgresql://u:hunter2@/x", "no host in the URL"),
        ("postgresql://u:hunter2@127.0.0.1:1/x", "Connection refused"),
        ("sqlite://", "in-memory database keeps nothing"),
        ("/nonexistent-folder/h.db", "does not exist"),
    ],
)
def test_bad_targets_are_one_line_exit_2_without_the_password(
    target: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s, _ = run("2026-09-01")
    path = save_snapshot(s, tmp_path / "snapshot.json")
    code, out, err = cli(
        capsys, "report", str(path), "--out", str(tmp_path / "o"), "--history", target
    )
    line = _one_line(err)
    assert code == 2 and expected in line, line
    assert "hunter2" not in out + err
    assert not (tmp_path / "o" / "findings.json").exists()  # failed before rendering


def test_wrong_password_on_the_real_server_is_one_line(
    pg_server_session: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = pg_server_session
    url = server.url(password="not-the-password")  # type: ignore[attr-defined]
    code, out, err = cli(capsys, "history", "--history", url)
    line = _one_line(err)
    assert code == 2 and "password authentication failed" in line
    assert "not-the-password" not in out + err and "***@127.0.0.1" in line


def test_not_a_database_and_foreign_tables_and_newer_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "notes.db"
    text.write_text("these are my notes\n" * 100)
    with pytest.raises(HistoryError, match="file is not a database"):
        HistoryStore.open(str(text))
    assert text.read_text().startswith("these are my notes")  # left as it was

    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE audit_runs (id INTEGER PRIMARY KEY, what TEXT)")
    with pytest.raises(HistoryError, match="not a twilio-audit history"):
        HistoryStore.open(str(foreign))

    newer = tmp_path / "newer.db"
    HistoryStore.open(str(newer)).close()
    with sqlite3.connect(newer) as conn:
        conn.execute(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'")
    code, _, err = cli(capsys, "history", "--history", str(newer))
    assert code == 2 and "newer than this twilio-audit" in _one_line(err)

    broken = tmp_path / "broken.db"
    HistoryStore.open(str(broken)).close()
    with sqlite3.connect(broken) as conn:
        conn.execute("ALTER TABLE audit_run_findings DROP COLUMN caller_id")
    with pytest.raises(HistoryError, match="lacks column 'caller_id'"):
        HistoryStore.open(str(broken))


def test_unrelated_tables_in_a_shared_database_are_left_alone(history_target: str) -> None:
    """A team's PostgreSQL holds other tables: the history adds its own beside them."""
    from sqlalchemy import create_engine, inspect, text

    store = HistoryStore.open(history_target)
    store.close()
    engine = create_engine(store.target.url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE runs (id INTEGER PRIMARY KEY)"))
    reopened = HistoryStore.open(history_target)
    tables = set(inspect(reopened.engine).get_table_names())
    assert {"runs", "audit_runs", "audit_run_findings", VERSION_TABLE} <= tables
    engine.dispose()
    reopened.close()


def test_a_built_wheel_carries_the_migrations_and_creates_the_schema(tmp_path: Path) -> None:
    """pip install twilio-audit must be able to create the schema: the migrations ship."""
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "auditor/history/migrations/env.py" in names
    assert "auditor/history/migrations/script.py.mako" in names
    assert "auditor/history/migrations/versions/r0001_runs_and_findings.py" in names
    db = tmp_path / "from-wheel.db"
    code = (
        "import auditor.history.store as s, sys; "
        "assert s.__file__.startswith(sys.argv[1]), s.__file__; "
        "s.HistoryStore.open(sys.argv[2]).close()"
    )
    done = run_from_wheel(wheel, tmp_path, code, str(db))
    assert done.returncode == 0, done.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"audit_runs", "audit_run_findings", VERSION_TABLE} <= tables


def test_a_run_records_the_regions_it_covers(tmp_path: Path) -> None:
    store = HistoryStore.open(str(tmp_path / "h.db"))
    snapshot, a = run("2026-09-01")
    record_and_review(store, snapshot, a.findings)  # one region: the snapshot's (us1)
    record_and_review(store, snapshot, a.findings, ["us1", "IE1"])  # the same time, two regions
    assert [r.regions for r in store.runs()] == [["us1"], ["ie1", "us1"]]
    store.close()
