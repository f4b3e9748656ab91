"""Render a Snapshot + Analysis into the report files: html, pdf, json, csv, sarif, md.

`render_reports` is the one entry point the commands use; each file is written
atomically, so an interrupted run never leaves half a report behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from auditor import heap
from auditor.errors import AuditorError

if TYPE_CHECKING:
    from auditor.accept import AcceptanceReport
    from auditor.diff import Comparison
    from auditor.history import HistoryReport
from auditor.files import write_atomic
from auditor.model import Analysis, Snapshot
from auditor.redact import redact_data
from auditor.render.options import ReportOptions
from auditor.render.view import SCREEN, ReportView, build_view, print_limits
from auditor.text import dump_json, dump_json_chunks

FILE_NAMES = {
    "html": "report.html",
    "pdf": "report.pdf",
    "json": "findings.json",
    "csv": "inventory.csv",
    "sarif": "findings.sarif",
    "md": "report.md",
}
ORDER = list(FILE_NAMES)

__all__ = ["FILE_NAMES", "ReportOptions", "render_reports"]


def render_reports(
    snapshot: Snapshot,
    analysis: Analysis,
    out_dir: Path,
    formats: Sequence[str],
    options: ReportOptions,
    comparison: Comparison | None = None,
    *,
    acceptance: AcceptanceReport | None = None,
    history: HistoryReport | None = None,
) -> list[Path]:
    """Write one file per requested format into `out_dir`; return their paths in a fixed order.

    With a `comparison` (audit --baseline), the HTML, PDF and Markdown reports get a
    "changes since the previous run" section; findings carry their new/unchanged status
    in every format. With `acceptance` (--accept) and `history` (--history) every format
    marks accepted findings and each finding's first-seen date, and the reports gain the
    accepted risks and a Trend section.
    """
    wanted = []
    for fmt in formats:
        name = str(getattr(fmt, "value", fmt)).lower()
        if name not in FILE_NAMES:
            raise AuditorError(
                f"unknown report format {name!r}; use one of {', '.join(FILE_NAMES)}"
            )
        if name not in wanted:
            wanted.append(name)
    options.checked_paper()
    if options.generated_at is None:
        options = replace(options, generated_at=options.resolved_generated_at())
    view_cache: dict[str, ReportView] = {}
    extra = review_sections(acceptance, history)

    def view() -> ReportView:
        if "view" not in view_cache:
            from auditor.render.diagram import hierarchy_svgs
            from auditor.render.review import review_view

            v = build_view(snapshot, analysis, options)
            assert v.directory is not None
            v.review = review_view(analysis.findings, v.directory, acceptance, history)
            sizes = {SCREEN.diagram} if "html" in wanted else set()
            if "pdf" in wanted:
                sizes.add(print_limits(v).diagram)
            v.diagrams = hierarchy_svgs(snapshot, analysis, sorted(sizes))
            if comparison is not None:
                from auditor.render.comparison import render_html, render_markdown

                v.changes_html = render_html(comparison)
                v.changes_md = render_markdown(comparison)
            view_cache["view"] = v
            heap.settle()  # kept until every format is written
        return view_cache["view"]

    writers: dict[str, Callable[[Path], None]] = {
        "html": lambda p: _html(p, view()),
        "pdf": lambda p: _pdf(p, view(), options.checked_paper()),
        "json": lambda p: _json(p, snapshot, analysis, options, extra),
        "csv": lambda p: _csv(p, snapshot, analysis),
        "sarif": lambda p: write_atomic(p, _sarif(snapshot, analysis)),
        "md": lambda p: _md(p, view()),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    aside = None
    if "pdf" in wanted and not view().detailed_accounts:  # large: laid out meanwhile
        from auditor.render.aside import PdfAside
        from auditor.render.html import render_html

        aside = PdfAside(render_html(view(), pdf=True), options.checked_paper())
    try:
        for name in sorted(wanted, key=ORDER.index):
            if not (aside and name == "pdf"):
                writers[name](out_dir / FILE_NAMES[name])
        if aside:
            write_atomic(out_dir / FILE_NAMES["pdf"], aside.result())
    finally:
        if aside:
            aside.close()
    return [out_dir / FILE_NAMES[name] for name in sorted(wanted, key=ORDER.index)]


def _html(path: Path, view: ReportView) -> None:
    from auditor.render.html import render_html

    write_atomic(path, render_html(view))


def _pdf(path: Path, view: ReportView, paper: str) -> None:
    from auditor.render.html import render_html
    from auditor.render.pdf import render_pdf

    write_atomic(path, render_pdf(render_html(view, pdf=True), paper))


def review_sections(
    acceptance: AcceptanceReport | None, history: HistoryReport | None
) -> dict[str, Any]:
    """findings.json's top-level `accepted_risks` and `history`, when the run has them."""
    extra: dict[str, Any] = {}
    if acceptance is not None:
        extra["accepted_risks"] = acceptance.to_dict()
    if history is not None:
        extra["history"] = history.to_dict()
    return extra


def _json(
    path: Path,
    snapshot: Snapshot,
    analysis: Analysis,
    options: ReportOptions,
    extra: dict[str, Any] | None = None,
) -> None:
    from auditor.findings import findings_document

    document = findings_document(snapshot, analysis, generated_at=options.generated_at, extra=extra)
    write_atomic(path, dump_json_chunks(document, redact_data))  # streamed: 100 MB at scale


def _csv(path: Path, snapshot: Snapshot, analysis: Analysis) -> None:
    from auditor.render.inventory_csv import render_csv

    write_atomic(path, render_csv(snapshot, analysis))


def _sarif(snapshot: Snapshot, analysis: Analysis) -> str:
    from auditor.render.sarif import sarif_document

    return dump_json(redact_data(sarif_document(snapshot, analysis)))


def _md(path: Path, view: ReportView) -> None:
    from auditor.render.markdown import render_markdown

    write_atomic(path, render_markdown(view))
