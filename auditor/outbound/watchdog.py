"""A deadline for a whole HTTP exchange: the socket is shut down when it passes.

Per-read timeouts cannot bound an exchange (a server that drips one byte just
before each would expire keeps it alive for ever), so a watchdog shuts the
socket down at the deadline, which wakes whatever read or handshake is blocked
on it. One daemon thread serves every watchdog from a heap: a thread per request
would cost the collector more than the request.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import signal
import socket
import threading
import time


class Watchdog:
    """Shuts the socket it watches down at `deadline` (time.monotonic()), unless stopped."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self.stopped = False
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        _ALARMS.add(self)

    def watch(self, sock: socket.socket) -> None:
        """Watch `sock` from now on (a new connection, or the TLS socket over it)."""
        with self._lock:
            self._sock = sock
            if self.fired:
                _shutdown(sock)

    def fire(self) -> None:
        with self._lock:
            if self.stopped:
                return
            self.fired = True
            if self._sock is not None:
                _shutdown(self._sock)

    def stop(self) -> None:
        """The exchange is over: the socket may be reused."""
        with self._lock:
            self.stopped = True
            self._sock = None


def _shutdown(sock: socket.socket) -> None:
    # The plain socket's shutdown, also for an SSLSocket: it wakes a blocked read
    # in another thread without touching the TLS object that thread is using.
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Alarms:
    """One daemon thread firing watchdogs in deadline order; stopped ones are dropped."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Watchdog]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, watchdog: Watchdog) -> None:
        with self._wake:
            heapq.heappush(self._heap, (watchdog.deadline, next(self._order), watchdog))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="watchdog", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is watchdog:
                self._wake.notify()  # an earlier deadline than the one being waited for

    def _run(self) -> None:
        if hasattr(signal, "pthread_sigmask"):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})  # Ctrl-C: main thread's
        with self._wake:
            while True:
                while self._heap and self._heap[0][2].stopped:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                left = self._heap[0][0] - time.monotonic()
                if left > 0:
                    self._wake.wait(left)
                    continue
                heapq.heappop(self._heap)[2].fire()


_ALARMS = _Alarms()
