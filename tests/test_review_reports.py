"""The reports of a periodic review as a reader sees them: the Trend chart in Chromium and in
the PDF pages, first seen / days open in every format, and the readability fixes (terminal
table, Markdown in full, the changes section in the PDF, names in prose, --quiet, progress
lines, --logo/--accent)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shutil
import struct
import subprocess
import threading
import time
import zlib
from pathlib import Path

import pytest
from render_fixtures import LONG_VALUE, build_snapshot
from review_data import analysed_snapshot, run
from rich.console import Console
from test_report_browser import chromium  # noqa: F401 (the same headless Chromium)

from auditor.cli import main
from auditor.errors import AuditorError
from auditor.history import HistoryStore, record_and_review
from auditor.progress import PlainProgress
from auditor.render import ReportOptions, render_reports
from auditor.render.branding import load_logo, parse_accent, sanitise_svg
from auditor.render.view import name_accounts
from auditor.snapshot import save_snapshot

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "review"
OPTIONS = ReportOptions("Northwind Health", "Ada Consulting", "a4", "2026-11-29T12:00:00Z")
DAYS = ["2026-06-01", "2026-07-01", "2026-08-01", "2026-09-01", "2026-10-01", "2026-11-01"]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def tiny_png(width: int = 8, height: int = 4) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x1f\x3a\x5f" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def reviewed(tmp_path: Path, formats: list[str], **options: object) -> Path:
    """Six monthly runs into a SQLite history (findings fixed and coming back), then the
    report of the last one."""
    store = HistoryStore.open(str(tmp_path / "history.db"))
    drops = [(), (0, 1), (0,), (0, 2, 3), (5,), ()]
    for day, drop in zip(DAYS[:-1], drops, strict=False):
        snapshot, a = run(day, drop)
        record_and_review(store, snapshot, a.findings)
    snapshot, a = run(DAYS[-1], drops[-1])
    history = record_and_review(store, snapshot, a.findings)
    store.close()
    out = tmp_path / "report"
    opts = ReportOptions(**{**OPTIONS.__dict__, **options})  # type: ignore[arg-type]
    render_reports(snapshot, a, out, formats, opts, history=history)
    return out


# --------------------------------------------------------------------------- the trend


def test_trend_and_first_seen_in_every_format(tmp_path: Path) -> None:
    out = reviewed(tmp_path, ["html", "md", "json", "csv", "sarif"])
    html = (out / "report.html").read_text()
    assert 'href="#trend"' in html and '<section id="trend">' in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart"') == 1
    chart = html[html.index('class="trend-chart"') : html.index("</svg>", html.index("trend"))]
    assert "http" not in chart.replace("http://www.w3.org/2000/svg", "")  # nothing to fetch
    for label in ("critical (solid)", "high (hatched)", "medium (dotted)", "low (striped)"):
        assert label in chart  # the legend names the pattern: not colour alone
    assert chart.count("<title>") > len(DAYS)  # every segment says what it is
    assert "Mean time to fix:" in html and "First seen</dt><dd>1 June 2026" in html
    assert 'class="finding-status status-reopened">reopened</span>' in html

    md = (out / "report.md").read_text()
    assert "## Trend" in md and "| run | critical | high | medium | low | info | open |" in md
    assert "| 2026-06-01 |" in md and "first seen | days open |" in md
    assert "| 1 June 2026 | 153 |" in md  # 1 June → 1 November
    assert "(reopened)" in md

    doc = json.loads((out / "findings.json").read_text())
    assert len(doc["history"]["trend"]) == len(DAYS) and doc["history"]["runs"] == len(DAYS)
    states = {f["history"]["state"] for f in doc["findings"]}
    assert states == {"reopened", "open"}, states
    assert doc["history"]["mean_time_to_fix"]["fixed"] >= 3

    sarif = json.loads((out / "findings.sarif").read_text())
    (result, *_) = sarif["runs"][0]["results"]
    assert result["provenance"]["firstDetectionTimeUtc"].startswith("2026-0")
    assert "daysOpen" in result["properties"]

    rows = (out / "inventory.csv").read_text().splitlines()
    assert any(",2026-06-01T12:00:00Z" in r for r in rows[1:])  # first_seen column


def test_trend_covers_the_last_24_runs(tmp_path: Path) -> None:
    store = HistoryStore.open(str(tmp_path / "h.db"))
    for month in range(30):
        snapshot, a = run(f"{2024 + month // 12}-{month % 12 + 1:02d}-01", (month % 3,))
        history = record_and_review(store, snapshot, a.findings)
    assert len(history.trend) == 24 and history.runs == 30
    assert history.trend[0].collected_at.strftime("%Y-%m") == "2024-07"


def _grey_levels(png: bytes) -> int:
    from PIL import Image

    return len(set(Image.open(io.BytesIO(png)).convert("L").get_flattened_data()))


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed")
def test_trend_chart_and_logo_in_chromium(tmp_path: Path, chromium: int) -> None:  # noqa: F811
    logo = tmp_path / "logo.svg"
    logo.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
        '<rect width="120" height="40" fill="#0b6e4f"/><text x="8" y="26" fill="#fff">ACME</text>'
        '<image href="http://127.0.0.1:9/track.png" width="1" height="1"/></svg>'
    )
    out = reviewed(tmp_path, ["html"], logo=load_logo(logo), accent=parse_accent("#0b6e4f"))
    url = (out / "report.html").as_uri()
    facts = asyncio.run(_chart_facts(chromium, url))
    requests = [u for u in facts["requests"] if not str(u).startswith("data:")]  # type: ignore[attr-defined]
    assert requests == [url]  # the chart and the logo (a data: URI) fetch nothing
    assert facts["chart"]["width"] > 600 and facts["chart"]["height"] > 200
    assert facts["patterns"] == 3 and facts["patterned_rects"] > 0
    assert facts["logo"] > 0  # the embedded SVG logo was decoded and drawn
    assert facts["accent"] == "rgb(11, 110, 79)"  # headings take the accent
    shot = ARTIFACTS / "trend-chromium.png"
    assert shot.stat().st_size > 5_000
    assert _grey_levels(shot.read_bytes()) > 20  # textures and labels, not a flat fill


async def _chart_facts(port: int, url: str) -> dict[str, object]:
    import aiohttp
    from test_report_browser import Page, _png

    async with aiohttp.ClientSession() as http:
        async with http.put(f"http://127.0.0.1:{port}/json/new?about:blank") as resp:
            target = await resp.json(content_type=None)
        async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
            page = Page(ws)
            for domain in ("Page", "Network", "Runtime"):
                await page.send(f"{domain}.enable")
            await page.send(
                "Emulation.setDeviceMetricsOverride",
                width=1280,
                height=900,
                deviceScaleFactor=1,
                mobile=False,
            )
            await page.send("Page.navigate", url=url)
            await page.wait_event("Page.loadEventFired")
            await asyncio.sleep(0.3)
            facts: dict[str, object] = {}
            facts["chart"] = await page.js(
                "(() => { const r = document.querySelector('svg.trend-chart')"
                ".getBoundingClientRect(); return {width: r.width, height: r.height}; })()"
            )
            facts["patterns"] = await page.js(
                "document.querySelectorAll('svg.trend-chart pattern').length"
            )
            facts["patterned_rects"] = await page.js(
                "[...document.querySelectorAll('svg.trend-chart rect')]"
                ".filter(r => (r.getAttribute('fill') || '').startsWith('url(#ta-trend-')).length"
            )
            facts["logo"] = await page.js("document.querySelector('img.logo').naturalWidth")
            facts["accent"] = await page.js("getComputedStyle(document.querySelector('h2')).color")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.js("window.scrollTo(0, 0)")
            _png(await page.send("Page.captureScreenshot", format="png"), ARTIFACTS / "cover.png")
            box = await page.js(
                "(() => { const e = document.querySelector('figure.trend'); e.scrollIntoView();"
                "const r = e.getBoundingClientRect();"
                "return {x: r.x, y: r.y + window.scrollY, width: r.width, height: r.height}; })()"
            )
            shot = await page.send(
                "Page.captureScreenshot",
                format="png",
                clip={**box, "scale": 1},
                captureBeyondViewport=True,
            )
            _png(shot, ARTIFACTS / "trend-chromium.png")
            facts["requests"] = [
                e["params"]["request"]["url"]
                for e in page.events
                if e.get("method") == "Network.requestWillBeSent"
            ]
            return facts


POPPLER = all(shutil.which(t) for t in ("pdftoppm", "pdftotext"))


@pytest.mark.skipif(not POPPLER, reason="poppler-utils is not installed")
def test_trend_chart_on_the_pdf_page(tmp_path: Path) -> None:
    out = reviewed(tmp_path, ["pdf"])
    pdf = out / "report.pdf"
    pages = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout.split("\f")
    number = next(i for i, p in enumerate(pages, 1) if "Open findings by severity" in p)
    page = pages[number - 1]
    for text in ("critical (solid)", "high (hatched)", "2026-06-01", "2026-11-01", "Mean time"):
        assert text in page, text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for mode in ("-png", "-gray"):
        stem = ARTIFACTS / f"trend-pdf{mode}"
        subprocess.run(
            ["pdftoppm", "-r", "80", mode, "-f", str(number), "-l", str(number),
             "-singlefile", str(pdf), str(stem)],
            check=True,
        )  # fmt: skip
    colour = (ARTIFACTS / "trend-pdf-png.png").read_bytes()
    assert _grey_levels(colour) > 20
    grey = next(ARTIFACTS.glob("trend-pdf-gray.*"))
    assert grey.stat().st_size > 5_000


# --------------------------------------------------------------------------- readability


def test_markdown_never_truncates(tmp_path: Path) -> None:
    snapshot, a = run("2026-11-29")
    render_reports(snapshot, a, tmp_path, ["md", "html"], OPTIONS)
    md = (tmp_path / "report.md").read_text()
    assert "characters)" not in md  # the HTML's "(10,000 characters)" clipping note
    assert LONG_VALUE in md  # the 10,000-character value, whole
    assert ("Billing " + "x" * 9992) in md  # and the 10,000-character account name
    assert md.count("\n| ") >= len(a.findings)  # every finding has its row
    assert "characters)" in (tmp_path / "report.html").read_text()  # HTML still clips


def test_prose_names_accounts_and_keeps_sids_for_tables() -> None:
    names = {"AC" + "1" * 32: "Clinic – Hillcrest", "AC" + "2" * 32: "Clinic – Riverside"}
    text = (
        f"runs in Clinic – Riverside (AC{'2' * 32}) and dials +1360, which Clinic – Hillcrest "
        f"(AC{'1' * 32}) owns, not AC{'2' * 32}: POST /2010-04-01/Accounts/AC{'2' * 32}/x.json"
    )
    assert name_accounts(text, names) == (
        "runs in Clinic – Riverside and dials +1360, which Clinic – Hillcrest owns, not "
        f"Clinic – Riverside: POST /2010-04-01/Accounts/AC{'2' * 32}/x.json"
    )
    other = f"Someone else (AC{'1' * 32})"  # a different name before it: keep the SID
    assert name_accounts(other, names) == other


def test_demo_prose_has_no_repeated_account_sids() -> None:
    """In the sample report's prose (messages, actions), an account name is never followed
    by its SID in parentheses; the evidence rows and tables still show SIDs."""
    root = Path(__file__).resolve().parent.parent / "sample_reports"
    md = (root / "report.md").read_text()
    assert not re.search(r"Northwind [^|()]*\(AC[0-9a-f]{32}\)", md), re.search(
        r".{60}Northwind [^|()]*\(AC[0-9a-f]{32}\).{20}", md
    )
    assert re.search(r"`AC[0-9a-f]{32}`", md)


def test_changes_section_lays_out_long_messages_across_the_page(tmp_path: Path) -> None:
    from auditor.diff import compare

    snapshot, a = run("2026-11-29")
    long = " ".join(["A long explanation of why Twilio refuses this caller ID."] * 12)
    for f in a.findings:
        f.message = long
    old, _ = run("2026-10-01")
    comparison = compare(old, snapshot, [], a.findings)  # every finding is new
    render_reports(snapshot, a, tmp_path, ["pdf", "html"], OPTIONS, comparison)
    html = (tmp_path / "report.html").read_text()
    section = html[html.index('id="changes"') : html.index('id="hierarchy"')]
    assert section.count('<tr class="diff-message"><td colspan="4">') == len(a.findings)
    assert long not in section  # the first sentence, and a link to the rule
    assert 'href="#rule-' in section
    if not POPPLER:
        return
    pages = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "report.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\f")
    # Each finding's line ends with the link; a squeezed message column fit one per page.
    per_page = [p.count("Details under the rule") for p in pages]
    assert sum(per_page) == len(a.findings)
    assert max(per_page) >= 6, per_page


def _result(n: int, tmp_path: Path) -> object:
    from auditor.pipeline import AuditResult

    snapshot, a = run("2026-11-29")
    a.findings = (a.findings * 3)[:n]
    return AuditResult(
        snapshot, a, tmp_path, tmp_path / "snapshot.json",
        [tmp_path / "report.html", tmp_path / "findings.json"], 1, [],
    )  # fmt: skip


def test_terminal_table_says_how_many_it_shows(tmp_path: Path) -> None:
    from auditor.commands.summary import findings_table

    console = Console(record=True, width=160)
    console.print(findings_table(_result(23, tmp_path)))  # type: ignore[arg-type]
    text = console.export_text()
    assert "8 of 23 shown; all in report.html" in text
    assert text.count("\n│") == 8 or text.count("│ ") >= 8
    few = Console(record=True, width=160)
    few.print(findings_table(_result(5, tmp_path)))  # type: ignore[arg-type]
    assert "shown" not in few.export_text()  # few findings: all of them, nothing to say


def test_report_prints_the_table_and_quiet_leaves_it_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = save_snapshot(analysed_snapshot("2026-11-29"), tmp_path / "s" / "snapshot.json")
    code, out, _ = cli(capsys, "report", str(path), "--out", str(tmp_path / "a"), "-f", "json")
    assert code == 1 and "2 findings" in out and "verified-callerid-duplicated" in out
    code, out, _ = cli(
        capsys, "report", str(path), "--out", str(tmp_path / "b"), "-f", "json", "--quiet"
    )
    assert code == 1 and "verified-callerid-duplicated" not in out
    assert out.splitlines() == [f"wrote {tmp_path / 'b' / 'findings.json'}",
                                "2 finding(s): 1 high, 1 low"]  # fmt: skip


class SlowPipe(io.StringIO):
    """A pipe that lets other threads run between writes (as a full pipe does)."""

    def write(self, s: str) -> int:
        n = super().write(s)
        time.sleep(0.0005)
        return n


def test_progress_lines_never_run_together_in_a_pipe() -> None:
    stream = SlowPipe()
    progress = PlainProgress(stream)
    progress.start(400)
    threads = [
        threading.Thread(target=lambda: [progress.account_done("AC") for _ in range(100)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    progress.finish()
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 5
    bad = [line for line in lines if not re.fullmatch(r"collect: [^\n]*?(\d+\.\ds|\))", line)]
    assert not bad and all(line.count("collect:") == 1 for line in lines), bad[:3]


# --------------------------------------------------------------------------- branding


def test_svg_logo_is_sanitised() -> None:
    hostile = (
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
        b'xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)" width="10" height="10">'
        b"<script>alert(2)</script><style>@import url(http://evil.example/x.css);</style>"
        b'<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>'
        b'<a href="javascript:alert(3)"><rect width="5" height="5"/></a>'
        b'<image xlink:href="http://evil.example/p.png"/>'
        b'<use xlink:href="http://evil.example/s.svg#a"/><use href="#ok"/>'
        b'<rect id="ok" width="10" height="10" fill="url(#g)" style="fill:url(http://e.x/)"/>'
        b'<circle r="2" onclick="x()" fill="#123"/></svg>'
    )
    clean = sanitise_svg(hostile).decode()
    for bad in ("script", "onload", "onclick", "evil.example", "foreignObject", "javascript",
                "@import", "http://e.x", "<a ", "<image"):  # fmt: skip
        assert bad not in clean, bad
    assert 'fill="url(#g)"' in clean and 'href="#ok"' in clean and "<circle" in clean


def test_logo_and_accent_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "logo.png"
    png.write_bytes(tiny_png())
    logo = load_logo(png)
    assert logo.mime == "image/png" and logo.data_uri().startswith("data:image/png;base64,")
    (tmp_path / "big.png").write_bytes(tiny_png() + b"\x00" * 300_000)
    with pytest.raises(AuditorError, match="larger than 256 KiB"):
        load_logo(tmp_path / "big.png")
    (tmp_path / "huge.png").write_bytes(tiny_png(10_000, 1))
    with pytest.raises(AuditorError, match="10000x1 pixels"):
        load_logo(tmp_path / "huge.png")
    (tmp_path / "logo.gif").write_bytes(b"GIF89a....")
    with pytest.raises(AuditorError, match="neither PNG nor SVG"):
        load_logo(tmp_path / "logo.gif")
    (tmp_path / "bomb.svg").write_text(
        '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaaaaaa">]><svg>&a;</svg>'
    )
    with pytest.raises(AuditorError, match="not a valid SVG"):
        load_logo(tmp_path / "bomb.svg")
    assert parse_accent("#1F3A5F") == "#1f3a5f" and parse_accent("#135") == "#113355"
    for bad, why in (("red", "not a colour"), ("#ffff00", "too light"), ("#12345", "not a")):
        with pytest.raises(AuditorError, match=why):
            parse_accent(bad)

    path = save_snapshot(build_snapshot(), tmp_path / "s" / "snapshot.json")
    code, _, err = cli(capsys, "report", str(path), "--out", str(tmp_path / "o"),
                       "--accent", "#fafafa")  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1 and "too light" in err
    code, _, err = cli(capsys, "report", str(path), "--out", str(tmp_path / "o"), "-f", "html",
                       "--logo", str(png), "--accent", "#0b6e4f", "--fail-on", "never")  # fmt: skip
    html = (tmp_path / "o" / "report.html").read_text()
    assert code == 0 and 'class="logo" src="data:image/png;base64,' in html
    assert ":root { --accent: #0b6e4f; }" in html
