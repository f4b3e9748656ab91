"""sample_reports/ is what `scripts/make-sample-reports` writes today (timestamps aside).

The test regenerates the reports from the demo hierarchy into a temporary folder with
the same documented command and compares them with the committed files. Text formats are
compared line by line after blanking timestamps; the PDF by its extracted text and page
count. When it fails: run `scripts/make-sample-reports` and commit sample_reports/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_reports"
SCRIPT = ROOT / "scripts" / "make-sample-reports"
TEXT_FILES = ["report.html", "findings.json", "report.md", "inventory.csv"]
HINT = "sample_reports/ is stale: run scripts/make-sample-reports and commit sample_reports/"
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
_HUMAN = re.compile(
    r"\d{1,2} (January|February|March|April|May|June|July|August|September|October|November|"
    r"December) \d{4}, \d{2}:\d{2} UTC"
)


def normalise(text: str) -> str:
    """Blank every timestamp (ISO 8601 and the reports' '29 November 2026, 12:00 UTC')."""
    return _HUMAN.sub("<date>", _ISO.sub("<timestamp>", text))


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    subprocess.run(["bash", str(SCRIPT), str(out)], cwd=ROOT, check=True, capture_output=True)
    return out


def test_normalise_blanks_timestamps_only() -> None:
    line = '"generated_at": "2026-11-29T12:00:00Z", 29 November 2026, 12:00 UTC, +15551230001'
    assert normalise(line) == '"generated_at": "<timestamp>", <date>, +15551230001'


@pytest.mark.parametrize("name", TEXT_FILES)
def test_text_reports_are_current(fresh: Path, name: str) -> None:
    committed = SAMPLES / name
    assert committed.exists(), HINT
    old = normalise(committed.read_text(encoding="utf-8")).splitlines()
    new = normalise((fresh / name).read_text(encoding="utf-8")).splitlines()
    first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), None)
    assert first is None and len(old) == len(new), (
        f"{HINT} ({name} differs at line {(first or min(len(old), len(new))) + 1})"
    )


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_pdf_report_is_current(fresh: Path) -> None:
    committed = SAMPLES / "report.pdf"
    assert committed.exists(), HINT

    def text(pdf: Path) -> str:
        out = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-layout", str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return normalise(out)

    old, new = text(committed), text(fresh / "report.pdf")
    assert old.count("\f") == new.count("\f"), f"{HINT} (page count changed)"
    assert old == new, HINT


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_the_summary_counts_table_breaks_no_word(fresh: Path) -> None:
    """The body lets long values wrap anywhere; the counts table's headings must not."""
    out = subprocess.run(
        [
            "pdftotext",
            "-enc",
            "UTF-8",
            "-layout",
            "-f",
            "3",
            "-l",
            "3",
            str(fresh / "report.pdf"),
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line.split() for line in out.splitlines()]
    assert any(words[-1:] == ["total"] and "CRITICAL" in words for words in lines), out
    assert any(words[:1] == ["accepted"] for words in lines), out
    assert any(words[:1] == ["open"] for words in lines), out
