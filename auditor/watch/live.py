"""Who holds a number right now: the `PhoneNumber`-filtered lookups `check` makes, cached briefly.

The snapshot may be older than the number's last move. When it does not know a
caller ID (or is older than `--max-age`), the watcher asks Twilio — one or two
small GETs for the executing account, and when that account does not hold the
number, the same for every other account of the hierarchy (auditor.lookup) —
and judges the event against the answer. A burst of identical events asks once:
answers are kept for `ttl` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import requests
from twilio.base.exceptions import TwilioException

from auditor.lookup import (
    CallerIdStatus,
    VisibleAccount,
    api_error,
    find_elsewhere,
    lookup_caller_id,
)
from auditor.model import Account


@dataclass(frozen=True)
class LiveHolders:
    """The live answer for one (number, executing account)."""

    e164: str
    executing: str
    holders: tuple[CallerIdStatus, ...] = ()  # accounts that own or verify it now
    complete: bool = False  # every account was asked (the executing one does not hold it)
    error: str | None = None  # the lookup failed: judge by the snapshot, and say so


class LiveOwnership:
    """Live ownership answers through the parent's client (GET only, as every request)."""

    def __init__(
        self,
        client: Any,
        accounts: Sequence[Account],
        *,
        ttl: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._accounts = [VisibleAccount(a.sid, a.friendly_name, a.status) for a in accounts]
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[float, LiveHolders]] = {}
        self._lock = threading.Lock()
        self.lookups = 0  # answers fetched from Twilio (for /healthz)

    def confirm(self, e164: str, executing: str) -> LiveHolders:
        key = (e164, executing)
        now = self._clock()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[0] < self._ttl:
                return hit[1]
        answer = self._ask(e164, executing)
        with self._lock:
            self.lookups += 1
            if answer.error is None:
                self._cache[key] = (now, answer)
        return answer

    def _ask(self, e164: str, executing: str) -> LiveHolders:
        try:
            own = lookup_caller_id(self._client, executing, e164)
            if own.authorized:
                return LiveHolders(e164, executing, (own,))
            others = find_elsewhere(self._client, e164, self._accounts, executing)
        except (TwilioException, requests.RequestException, RuntimeError) as exc:
            # RuntimeError: the HTTP client was cancelled (the watcher is stopping).
            reason = (
                str(api_error(exc, executing))
                if isinstance(exc, TwilioException | requests.RequestException)
                else "stopped"
            )
            return LiveHolders(e164, executing, error=reason)
        return LiveHolders(e164, executing, tuple(others), complete=True)
