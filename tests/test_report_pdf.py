"""report.pdf as a reader sees it: pages rendered with pdftoppm, text read back with pdftotext."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from render_fixtures import SCRIPT_NAME, build_analysis, build_snapshot

from auditor.render import ReportOptions, render_reports
from auditor.render.pdf import RefusedFetch, TemplatesOnlyFetcher, render_pdf
from auditor.render.templating import templates_dir

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "pdf"
pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("pdftotext") and shutil.which("pdfinfo")),
    reason="poppler-utils is not installed",
)
CLIENT = "Northwind <b>Health</b>"


def _pdf(tmp: Path, paper: str) -> Path:
    options = ReportOptions(CLIENT, "Ada Consulting", paper, "2026-11-29T12:00:00Z")
    (path,) = render_reports(build_snapshot(), build_analysis(), tmp, ["pdf"], options)
    return path


@pytest.fixture(scope="module")
def a4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _pdf(tmp_path_factory.mktemp("a4"), "a4")


def _info(pdf: Path) -> dict[str, str]:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in out.splitlines())}


def _text(pdf: Path, *args: str) -> str:
    cmd = ["pdftotext", "-enc", "UTF-8", *args, str(pdf), "-"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def test_pages_render_to_png(a4: Path) -> None:
    pages = int(_info(a4)["Pages"])
    assert 8 <= pages <= 40
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(a4), str(ARTIFACTS / "page")], check=True)
    pngs = sorted(ARTIFACTS.glob("page-*.png"))
    assert len(pngs) == pages
    assert all(p.stat().st_size > 2_000 for p in pngs)


def test_text_is_extractable_with_toc_header_footer(a4: Path) -> None:
    text = _text(a4, "-layout")
    pages = text.split("\f")
    n = int(_info(a4)["Pages"])
    assert "Which caller IDs will Twilio refuse" in pages[0]
    assert CLIENT in pages[0]  # the markup is text, not bold
    assert "Contents" in pages[1]
    assert re.search(r"Executive summary\s*\.*\s*3\b", pages[1]), pages[1][:500]
    assert f"Page 2 of {n}" in pages[1] and f"Page {n} of {n}" in pages[n - 1]
    assert "Northwind <b>Health</b> · Caller ID audit" in pages[2]  # running header
    assert "29 November 2026, 12:00 UTC" in pages[2]  # running footer
    assert "Glossary" in text and "Coverage" in text
    assert "Clinic <script>alert('x')</script>" in _text(a4)
    assert SCRIPT_NAME[:6] in text


def test_nothing_runs_off_the_page(a4: Path) -> None:
    bbox = _text(a4, "-bbox")
    width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))  # type: ignore[union-attr]
    right = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox))
    assert right <= width - 20  # inside the right margin, hostile values included


def test_letter_and_a4_sizes(a4: Path, tmp_path: Path) -> None:
    assert _info(a4)["Page size"].endswith("(A4)")
    letter = _pdf(tmp_path, "letter")
    assert _info(letter)["Page size"].startswith("612 x 792")  # US Letter


def test_fetcher_refuses_network_and_files_outside_templates(tmp_path: Path) -> None:
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    fetcher = TemplatesOnlyFetcher()
    for url in (
        "http://127.0.0.1:9/x.css",
        "https://example.com/a.png",
        secret.as_uri(),
        "ftp://h/x",
    ):
        with pytest.raises(RefusedFetch):
            fetcher.fetch(url)
    inside = fetcher.fetch((templates_dir() / "report.css").as_uri())
    assert b"Screen and print styles" in inside.read()
    html = (
        f'<html><head><link rel="stylesheet" href="{secret.as_uri()}"></head>'
        '<body><img src="http://127.0.0.1:9/pixel.png"><img src="../../../etc/hostname">'
        "<p>text</p></body></html>"
    )
    fetcher = TemplatesOnlyFetcher()
    pdf = render_pdf(html, "a4", fetcher)
    assert pdf.startswith(b"%PDF")
    assert any(u.startswith("http://127.0.0.1:9") for u in fetcher.refused)
    assert secret.as_uri() in fetcher.refused
    assert any(u.endswith("/etc/hostname") for u in fetcher.refused)


def test_the_coverage_matrix_stays_readable_with_many_sources(tmp_path: Path) -> None:
    """Twelve sources: names set at an angle above narrow columns, one mark per cell."""
    from auditor.render.view import SOURCE_LABELS

    snapshot = build_snapshot()
    sources = [*SOURCE_LABELS, "another_source"]  # every source the collector writes, and more
    assert len(sources) >= 12
    for cov in snapshot.coverage.values():
        cov.clear()
        cov.update(dict.fromkeys(sources, "ok"))
    first, second = list(snapshot.coverage)[:2]
    snapshot.coverage[first]["flows"] = "error: 500 Internal Server Error"
    snapshot.coverage[second]["webhooks"] = "skipped"
    options = ReportOptions(CLIENT, "Ada Consulting", "a4", "2026-11-29T12:00:00Z")
    (pdf,) = render_reports(snapshot, build_analysis(), tmp_path, ["pdf"], options)
    pages = _text(pdf).split("\f")
    (page,) = [p for p in pages if "By account" in p]
    rows = len(snapshot.accounts)
    assert "(✓ read · – skipped on purpose · ✗ failed: see below)" in page
    assert page.count("✓") == rows * len(sources) - 2 + 1  # + the legend's own mark
    assert page.count("✗") == 1 + 1 and page.count("–") >= 1 + 1
    cells = page.split("failed: see below)")[1].split("What could not be read")[0]
    assert not {"read", "skipped", "skippe", "failed"} & set(cells.split())  # marks, no words
    # nothing of it runs off the page
    number = pages.index(page) + 1
    bbox = _text(pdf, "-bbox", "-f", str(number), "-l", str(number))
    width = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))  # type: ignore[union-attr]
    right = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox))
    assert right <= width - 20
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-f", str(number), "-l", str(number), str(pdf),
         str(tmp_path / "coverage")],
        check=True,
    )  # fmt: skip
    assert any(tmp_path.glob("coverage*.png"))
