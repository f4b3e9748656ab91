"""A bounded, cancellable pool of daemon threads whose tasks may submit more tasks.

Why not ThreadPoolExecutor: its workers are joined at interpreter exit, so a
Ctrl-C would wait for every queued request; and a task that waits on its own
sub-tasks can deadlock a bounded pool. Here tasks never wait: they submit
follow-up work (the next level of the hierarchy) and `wait()` returns when
nothing is pending.
"""

from __future__ import annotations

import queue
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

Task = Callable[[], None]


class TaskPool:
    def __init__(self, workers: int, cancel: threading.Event | None = None) -> None:
        self.cancel = cancel or threading.Event()
        self._queue: queue.Queue[Task | None] = queue.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        self.failures: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._work, name=f"collect-{i}", daemon=True)
            for i in range(max(1, workers))
        ]
        with signals_to_main_thread():
            for thread in self._threads:
                thread.start()

    def submit(self, fn: Callable[..., None], *args: Any) -> None:
        """Queue `fn(*args)`; ignored once cancelled."""
        if self.cancel.is_set():
            return
        with self._idle:
            self._pending += 1
        self._queue.put(lambda: fn(*args))

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            try:
                if not self.cancel.is_set():
                    task()
            except BaseException as exc:  # recorded; the caller decides
                with self._idle:
                    self.failures.append(exc)
            finally:
                with self._idle:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.notify_all()

    def wait(self) -> None:
        """Block until every task (and the tasks they submitted) is done; Ctrl-C cancels."""
        try:
            with self._idle:
                while self._pending > 0:
                    # A timeout keeps the main thread responsive to KeyboardInterrupt.
                    self._idle.wait(timeout=0.2)
        except BaseException:
            self.cancel.set()
            raise
        finally:
            if self.cancel.is_set():
                self.close()

    def close(self) -> None:
        """Stop the workers (queued tasks are dropped when cancelled)."""
        for _ in self._threads:
            self._queue.put(None)


@contextmanager
def signals_to_main_thread() -> Iterator[None]:
    """Threads started inside block SIGINT, so the kernel gives Ctrl-C to the main thread.

    Threads inherit the signal mask of the thread that starts them. Python runs
    signal handlers in the main thread only, and notices a signal another thread
    took only when the main thread next checks: with every worker busy that can
    take seconds. Delivered to the main thread, it interrupts the wait at once.
    """
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not (
        threading.main_thread()
    ):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
