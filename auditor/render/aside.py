"""report.pdf of a large hierarchy laid out by a second process while this one writes the rest.

WeasyPrint is the largest part of a large report (3 of 7 s at 1,000 accounts, its import
included) and runs on one core; report.html, findings.json and the rest need none of it.
So on POSIX the PDF's HTML, already rendered (a few hundred KB), goes to a forked child
that lays it out and sends the PDF's bytes back through a pipe. This process writes the
file as it would have (atomically: an interrupted run leaves no half file), and raises
what the child raised. The child inherits the settled heap copy-on-write and leaves it
alone (auditor.heap: no collection walks it), and ends with os._exit, so it runs none of
this process's exit handlers. Small reports are laid out in process, as before, and so is
any PDF when the fork is not called from the main thread or another non-daemon thread runs
(a library caller's threads): a fork copies only the calling thread, and a lock another
thread holds at that moment would stay held in the child for ever. Daemon threads are
allowed: ours (the collector's idle pool, the deadline watchdogs) wait on their own
conditions, which hold no lock while waiting, and the child touches nothing of theirs.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import threading
import traceback
from typing import BinaryIO


class PdfAside:
    """A PDF being laid out elsewhere: `result()` waits for its bytes; `close()` stops it."""

    def __init__(self, html: str, paper: str) -> None:
        self._pid = 0
        self._pdf: bytes | None = None
        self._pipe: BinaryIO | None = None
        if not can_fork():
            self._pdf = _render(html, paper)
            return
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: lay out, answer, leave without running anything else
            os.close(read_fd)
            _child(html, paper, write_fd)
        os.close(write_fd)
        self._pid = pid
        self._pipe = os.fdopen(read_fd, "rb")

    def result(self) -> bytes:
        """The PDF's bytes, or what the layout raised (with the child's traceback as a note)."""
        if self._pdf is not None:
            return self._pdf
        try:
            answer = self._pipe.read() if self._pipe is not None else b""
        finally:
            status = self._reap()
        if answer[:1] == b"P":
            self._pdf = answer[1:]
            return self._pdf
        if answer[:1] == b"E":
            raise pickle.loads(answer[1:])
        raise RuntimeError(f"report.pdf: the layout process ended without an answer ({status})")

    def close(self) -> None:
        """Stop the child if it still runs (an error or Ctrl-C elsewhere) and reap it."""
        if self._pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            self._reap()

    def _reap(self) -> str:
        pid, self._pid = self._pid, 0
        if self._pipe is not None:
            self._pipe.close()
        if not pid:
            return "reaped"
        _, status = os.waitpid(pid, 0)
        return f"status {os.waitstatus_to_exitcode(status)}"


def can_fork() -> bool:
    """A fork is safe here: POSIX, the main thread, and no other thread but daemons."""
    if not hasattr(os, "fork") or threading.current_thread() is not threading.main_thread():
        return False
    return all(t.daemon for t in threading.enumerate() if t is not threading.main_thread())


def _render(html: str, paper: str) -> bytes:
    from auditor.render.pdf import render_pdf

    return render_pdf(html, paper)


def _child(html: str, paper: str, write_fd: int) -> None:
    code = 1
    try:
        # Ctrl-C reaches the whole process group: the child just ends, the parent reports.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            answer = b"P" + _render(html, paper)
        except Exception as exc:  # handed to the parent, which raises it as its own
            exc.add_note("in the report.pdf layout process:\n" + traceback.format_exc())
            try:
                answer = b"E" + pickle.dumps(exc)
            except Exception:
                answer = b"E" + pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"))
        with os.fdopen(write_fd, "wb") as pipe:
            pipe.write(answer)
        code = 0
    finally:
        os._exit(code)
