"""The package as pip installs it: a wheel built from this checkout, unpacked (no editable
install), and Python run against it alone. For tests that data files ship."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_wheel(tmp_path: Path) -> Path:
    """Build the wheel into tmp_path/dist (no build isolation: no network)."""
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(tmp_path / "dist"), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("twilio_audit-*.whl")
    return wheel


def run_from_wheel(
    wheel: Path, tmp_path: Path, code: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """Run `code` with only the unpacked wheel on the path (argv[1] is its folder)."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    return subprocess.run(
        [sys.executable, "-c", code, str(site), *args],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
