"""The real-code corpus (../shared/real-code): scan's figures on labelled public code.

Runs only where the corpus sits beside the repository (it is other people's code
under their own licence and is never copied here); CI without it is covered by
the fixtures in tests/fixtures/scan. Thresholds are the issue's targets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Beside the repository (CI's layout); REAL_CODE_CORPUS points elsewhere (a git worktree).
CORPUS = Path(
    os.environ.get("REAL_CODE_CORPUS")
    or Path(__file__).resolve().parents[1] / ".." / "shared" / "real-code"
)

pytestmark = pytest.mark.skipif(
    not (CORPUS / "score.py").is_file(), reason="../shared/real-code is not here"
)


@pytest.fixture(scope="module")
def figures() -> dict[str, float]:
    done = subprocess.run(
        [
            sys.executable,
            "score.py",
            "--truth",
            "truth.jsonl",
            "--corpus",
            ".",
            "--tool-cmd",
            f"{sys.executable} -m auditor",
            "--json",
        ],
        cwd=CORPUS,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    doc = json.loads(done.stdout)
    assert not doc["errors"], doc["errors"]
    return doc["overall"]  # type: ignore[no-any-return]


def test_value_precision_and_recall(figures: dict[str, float]) -> None:
    assert figures["value_precision"] >= 97.0
    assert figures["value_recall"] >= 95.0


def test_no_false_high_finding(figures: dict[str, float]) -> None:
    assert figures["false_high"] == 0
    assert figures["high_recall"] == 100.0


def test_dials_without_callerid(figures: dict[str, float]) -> None:
    assert figures["nocallerid_precision"] >= 97.0
    assert figures["nocallerid_recall"] >= 95.0
