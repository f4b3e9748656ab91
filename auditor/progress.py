"""Progress of a collection on stderr: a live rich display on a terminal, plain lines otherwise.

Only counts and account SIDs are shown: never a URL query, header or credential.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Protocol

from rich.console import Console
from rich.live import Live
from rich.text import Text


class Progress(Protocol):
    """What the collector reports while it works (every method is thread-safe)."""

    def start(self, accounts: int) -> None: ...

    def account_done(self, account_sid: str) -> None: ...

    def http_event(self, kind: str, detail: str) -> None: ...

    def finish(self) -> None: ...


class _Counts:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accounts_total = 0
        self.accounts_done = 0
        self.requests = 0
        self.retries = 0
        self.errors = 0
        self.started = time.monotonic()

    def add(self, kind: str) -> None:
        with self.lock:
            if kind == "request":
                self.requests += 1
            elif kind == "retry":
                self.retries += 1
            elif kind == "error":
                self.errors += 1

    def line(self) -> str:
        """The counts; call it holding `lock` (or from one thread) for a consistent line."""
        return (
            f"accounts {self.accounts_done}/{self.accounts_total} · requests {self.requests} · "
            f"retries {self.retries} · errors {self.errors} · "
            f"{time.monotonic() - self.started:.1f}s"
        )


class NullProgress:
    """--quiet: report nothing."""

    def start(self, accounts: int) -> None:
        pass

    def account_done(self, account_sid: str) -> None:
        pass

    def http_event(self, kind: str, detail: str) -> None:
        pass

    def finish(self) -> None:
        pass


class PlainProgress:
    """One line at the start, at every tenth of the accounts and at the end (logs, CI)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.counts = _Counts()
        self._next_mark = 0
        self._write_lock = threading.Lock()

    def _print(self, text: str) -> None:
        # One write per whole line, under a lock: print() writes the text and the newline
        # separately, so lines from worker threads ran together in a pipe ("0.2scollect:").
        with self._write_lock:
            self.stream.write(f"collect: {text}\n")
            self.stream.flush()

    def start(self, accounts: int) -> None:
        self.counts.accounts_total = accounts
        self._next_mark = max(1, accounts // 10)
        self._print(f"reading {accounts} account(s)")

    def account_done(self, account_sid: str) -> None:
        with self.counts.lock:
            self.counts.accounts_done += 1
            done = self.counts.accounts_done
            due = done >= self._next_mark and done < self.counts.accounts_total
            if due:
                self._next_mark += max(1, self.counts.accounts_total // 10)
            line = self.counts.line()  # taken under the lock: lines come out in order
        if due:
            self._print(line)

    def http_event(self, kind: str, detail: str) -> None:
        self.counts.add(kind)

    def finish(self) -> None:
        self._print(self.counts.line())


class RichProgress:
    """A live status line refreshed a few times a second (stderr is a terminal)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.counts = _Counts()
        self._live = Live(Text(""), console=self.console, refresh_per_second=6, transient=True)
        self._live.get_renderable = self._render  # type: ignore[method-assign]

    def _render(self) -> Text:
        return Text(f"collecting · {self.counts.line()}")

    def start(self, accounts: int) -> None:
        self.counts.accounts_total = accounts
        self._live.start()

    def account_done(self, account_sid: str) -> None:
        with self.counts.lock:
            self.counts.accounts_done += 1

    def http_event(self, kind: str, detail: str) -> None:
        self.counts.add(kind)

    def finish(self) -> None:
        self._live.stop()


def make_progress(quiet: bool, stream: IO[str] | None = None) -> Progress:
    """RichProgress on a terminal, PlainProgress otherwise, NullProgress with --quiet."""
    if quiet:
        return NullProgress()
    out = stream or sys.stderr
    if out.isatty():
        return RichProgress(Console(file=out))
    return PlainProgress(out)
