"""Local files as an attacker leaves them: FIFOs, devices, huge files, odd --out places, umasks.

Readers accept regular files only and read at most cap + 1 bytes; writers honour
the umask (the snapshot is private); every problem is one line and exit 2.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_cli import assert_one_line_error, cli

from auditor.emulator.demo import PARENT
from auditor.files import FileRefused, prepare_out_dir, read_bytes, read_text, write_atomic
from auditor.model import Snapshot
from auditor.snapshot import save_snapshot

pytestmark = pytest.mark.timeout(30)  # a reader that blocks on a FIFO fails, not hangs


@pytest.fixture
def snapshot_file(tmp_path: Path) -> Path:
    snap = Snapshot(root_account_sid=PARENT, collected_at="2026-11-29T12:00:00Z", tool_version="0")
    return save_snapshot(snap, tmp_path / "snapshot.json")


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "trap.js"
    os.mkfifo(path)
    return path


@pytest.fixture
def umask() -> Iterator[object]:
    """Set the process umask for one test, restored after."""
    old = os.umask(0o022)
    os.umask(old)

    def set_mask(mask: int) -> None:
        os.umask(mask)

    yield set_mask
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------- the reader


def test_reader_refuses_fifo_device_folder_and_oversize(tmp_path: Path, fifo: Path) -> None:
    link = tmp_path / "zero.json"
    link.symlink_to("/dev/zero")
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 101)
    cases = {
        fifo: ("special", "a FIFO"),
        Path("/dev/zero"): ("special", "a character device"),
        link: ("special", "a character device"),  # a symlink is judged by what it points at
        tmp_path: ("folder", "is a folder"),
        tmp_path / "nope": ("missing", "no such file"),
        big: ("too-large", "101 bytes, over the 100-byte cap"),
    }
    for path, (reason, words) in cases.items():
        with pytest.raises(FileRefused) as exc:
            read_bytes(path, 100)
        assert exc.value.reason == reason, path
        assert words in str(exc.value) and "\n" not in str(exc.value)


def test_reader_caps_files_that_lie_about_their_size() -> None:
    status = Path("/proc/self/status")  # st_size 0, yet it has content
    assert status.stat().st_size == 0
    assert b"Name:" in read_bytes(status, 1 << 20)
    with pytest.raises(FileRefused, match="over the 16-byte cap"):
        read_bytes(status, 16)


def test_reader_reads_regular_files_and_symlinks_to_them(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("\ufeffhello", encoding="utf-8")
    link = tmp_path / "b.txt"
    link.symlink_to(target)
    assert read_text(link, 100) == "hello"
    target.write_bytes(b"\xff\xfe")
    with pytest.raises(FileRefused, match="not UTF-8 text"):
        read_text(target, 100)
    assert read_text(target, 100, errors="replace") == "\ufffd\ufffd"


@pytest.mark.parametrize("option", ["snapshot", "--baseline", "--policy"])
@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "zero-link"])
def test_special_files_as_report_inputs_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    snapshot_file: Path,
    fifo: Path,
    option: str,
    special: str,
) -> None:
    link = tmp_path / "zero-link.json"
    link.symlink_to("/dev/zero")
    path = {"/dev/zero": "/dev/zero", "fifo": str(fifo), "zero-link": str(link)}[special]
    inputs = [path] if option == "snapshot" else [str(snapshot_file), option, path]
    code, _, err = cli(capsys, "report", *inputs, "--out", str(tmp_path / "out"))
    assert code == 2
    assert_one_line_error(err, "not a regular file")


def test_scan_skips_fifos_and_devices_and_finishes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fifo: Path
) -> None:
    (tmp_path / "dial.xml").write_text('<Response><Dial callerId="+15551230001"/></Response>')
    (tmp_path / "zero.js").symlink_to("/dev/zero")
    code, out, _ = cli(capsys, "scan", str(tmp_path), "--fail-on", "never")
    assert code == 0
    assert "dial.xml:1" in out
    assert "note: trap.js: skipped: not a regular file (a FIFO)" in out
    assert "note: zero.js: skipped: not a regular file (a character device)" in out
    # a FIFO named on the command line is skipped the same way
    code, out, _ = cli(capsys, "scan", str(fifo), "--fail-on", "never")
    assert code == 0 and "not a regular file (a FIFO)" in out


# --------------------------------------------------------------------------- the writer


@pytest.mark.parametrize(
    "mask, report_mode, snapshot_mode",
    [(0o022, 0o644, 0o600), (0o077, 0o600, 0o600), (0o027, 0o640, 0o600), (0o037, 0o640, 0o600)],
)
def test_files_written_honour_the_umask_and_the_snapshot_is_private(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    snapshot_file: Path,
    umask: object,
    mask: int,
    report_mode: int,
    snapshot_mode: int,
) -> None:
    out = tmp_path / "shared"
    umask(mask)  # type: ignore[operator]
    code, _, err = cli(
        capsys, "report", str(snapshot_file), "-o", str(out), "-f", "md", "-f", "csv"
    )
    assert code == 0, err
    assert mode(out / "report.md") == report_mode
    assert mode(out / "inventory.csv") == report_mode
    assert mode(out / "snapshot.json") == snapshot_mode
    assert mode(out) == 0o777 & ~mask


def test_write_atomic_replaces_a_planted_symlink_without_following_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").symlink_to(victim)
    write_atomic(out / "report.md", "report")
    assert victim.read_text() == "keep me"
    assert not (out / "report.md").is_symlink()
    assert (out / "report.md").read_text() == "report"
    assert sorted(p.name for p in out.iterdir()) == ["report.md"]


def test_write_atomic_problems_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(FileRefused, match="it is a folder"):
        write_atomic(tmp_path / "dir", "x")
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileRefused, match="cannot write"):
        write_atomic(tmp_path / "file" / "report.md", "x")


# --------------------------------------------------------------------------- --out


@pytest.fixture
def bad_outs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    return {
        "dangling symlink": (tmp_path / "dangling", "a symlink to"),
        "/proc/self": (Path("/proc/self"), "cannot write there"),
        "a file": (tmp_path / "a-file", "is a file"),
        "under a file": (tmp_path / "a-file" / "sub", "cannot write there"),
        "/proc/self/sub": (Path("/proc/self/sub"), "cannot write there"),
    }


def test_prepare_out_dir(bad_outs: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    for name, (path, words) in bad_outs.items():
        with pytest.raises(FileRefused, match=words):
            prepare_out_dir(path)
        assert name
    made = prepare_out_dir(tmp_path / "new" / "deeper")
    assert made.is_dir() and list(made.iterdir()) == []  # the write test left nothing


@pytest.mark.parametrize(
    "which", ["dangling symlink", "/proc/self", "a file", "under a file", "/proc/self/sub"]
)
def test_bad_out_is_exit_2_for_report_and_collect(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    bad_outs: dict[str, tuple[Path, str]],
    snapshot_file: Path,
    which: str,
) -> None:
    path, words = bad_outs[which]
    code, _, err = cli(capsys, "report", str(snapshot_file), "--out", str(path))
    assert code == 2
    assert_one_line_error(err, words)
    # collect checks --out before it reads anything (no credentials needed to get there)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", PARENT)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "0" * 32)
    monkeypatch.setenv("TWILIO_AUDIT_API_URL", "http://127.0.0.1:9")  # nothing listens
    code, _, err = cli(capsys, "collect", "--out", str(path), "-q")
    assert code == 2
    assert_one_line_error(err, words)


def test_scan_and_diff_out_problems_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, snapshot_file: Path
) -> None:
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "a.xml").write_text("<Response/>")
    code, _, err = cli(capsys, "scan", str(tmp_path / "code"), "--out", str(tmp_path / "code"))
    assert code == 2
    assert_one_line_error(err, "is a folder")
    code, _, err = cli(
        capsys, "diff", str(snapshot_file), str(snapshot_file), "--out", "/proc/self/diff.txt"
    )
    assert code == 2
    assert_one_line_error(err, "cannot write /proc/self/diff.txt")
