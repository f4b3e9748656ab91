"""report.pdf laid out in a forked process (large reports): the same PDF, the same errors,
and no process left behind whatever happens to the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from render_fixtures import build_analysis, build_snapshot

from auditor.render import ReportOptions
from auditor.render.aside import PdfAside, can_fork
from auditor.render.html import render_html
from auditor.render.pdf import render_pdf
from auditor.render.view import build_view

pytestmark = pytest.mark.skipif(
    not (hasattr(os, "fork") and shutil.which("pdftotext")),
    reason="needs os.fork and poppler-utils",
)
OPTIONS = ReportOptions("Northwind", "Ada", "a4", "2026-11-29T12:00:00Z")


def _html() -> str:
    return render_html(build_view(build_snapshot(), build_analysis(), OPTIONS), pdf=True)


def _text(pdf: bytes, tmp: Path, name: str) -> str:
    path = tmp / name
    path.write_bytes(pdf)
    cmd = ["pdftotext", "-layout", str(path), "-"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def test_the_forked_layout_is_the_in_process_one(tmp_path: Path) -> None:
    html = _html()
    aside = PdfAside(html, "a4")
    try:
        forked = aside.result()
    finally:
        aside.close()
    assert forked.startswith(b"%PDF")
    assert _text(forked, tmp_path, "a.pdf") == _text(render_pdf(html, "a4"), tmp_path, "b.pdf")


def test_what_the_layout_raises_is_raised_here() -> None:
    aside = PdfAside(_html(), "tabloid")  # no such paper: render_pdf raises KeyError
    with pytest.raises(KeyError) as raised:
        aside.result()
    aside.close()
    assert any("report.pdf layout process" in note for note in raised.value.__notes__)


def test_a_run_that_stops_early_leaves_no_process() -> None:
    aside = PdfAside(_html(), "a4")
    pid = aside._pid
    assert pid > 0
    aside.close()  # before the result: the child is killed and reaped
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    aside.close()  # twice is harmless


def test_the_pdf_is_laid_out_in_process_while_another_thread_runs() -> None:
    """A fork copies one thread; a non-daemon thread's locks would stay held in the child."""
    assert can_fork()
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not can_fork()
        aside = PdfAside(_html(), "a4")
        assert aside._pid == 0  # no child: laid out here, the same PDF
        assert aside.result().startswith(b"%PDF")
        aside.close()
        done: list[bool] = []
        worker = threading.Thread(target=lambda: done.append(can_fork()))
        worker.start()
        worker.join()
        assert done == [False]  # never from a thread other than the main one
    finally:
        stop.set()
        other.join()
    assert can_fork()
