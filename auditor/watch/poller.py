"""`--poll N`: every N seconds, each account's new Monitor alerts, with that account's own token.

Monitor answers for the authenticating account only, so each account is read
with its own client (the collector's, on the collector's read-only HTTP client:
GET only, retries, at most `per_account_limit` requests in flight per account).
Per account the newest `date_created` handled is stored in the state file; the
next poll asks from a little before it (alerts can be indexed late) and skips
SIDs already seen, so a restart neither misses nor repeats an alert. An account
polled for the first time starts at the watcher's start: old alerts are the
audit's business. Caller-ID alerts are fetched for their request and TwiML.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from twilio.base.exceptions import TwilioException

from auditor.collect import records
from auditor.collect.pool import TaskPool
from auditor.collect.walker import PAGE_SIZE, describe_error, read_pages
from auditor.watch.diagnose import DIAGNOSED_CODES
from auditor.watch.events import WatchEvent, event_from_alert
from auditor.watch.state import WatchState

log = logging.getLogger("auditor.watch")

OVERLAP = timedelta(minutes=2)


def _parse(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _format(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Poller:
    """A daemon thread polling every account's alerts until `stop` is set."""

    def __init__(
        self,
        clients: Mapping[str, Any],
        state: WatchState,
        submit: Callable[[WatchEvent], bool],
        count: Callable[[str], None],
        *,
        interval: float,
        started_at: datetime,
        stop: threading.Event,
        parents: Mapping[str, str | None] | None = None,
        workers: int = 4,
    ) -> None:
        self.clients = dict(clients)
        self.state = state
        self.submit = submit
        self.count = count
        self.interval = interval
        # Alert dates have one-second resolution: an alert of the start's second counts.
        self.started_at = started_at.replace(microsecond=0)
        self.stop = stop
        self.parents = dict(parents or {})
        self.workers = max(1, min(workers, len(self.clients) or 1))
        self._failing: set[str] = set()
        self.last_poll: str | None = None
        self._thread = threading.Thread(target=self._run, name="watch-poll", daemon=True)
        # The collector's pool: daemon threads, so a poll in flight never delays the exit.
        self._pool = TaskPool(self.workers, stop)

    def start(self) -> Poller:
        self._thread.start()
        return self

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.poll_once()
            self.stop.wait(self.interval)

    def poll_once(self) -> None:
        for item in self.clients.items():
            self._pool.submit(self._poll_guarded, item)
        self._pool.wait()
        if self.stop.is_set():
            return
        self.last_poll = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.count("polls")

    def _poll_guarded(self, item: tuple[str, Any]) -> None:
        sid, client = item
        try:
            self._poll_account(sid, client)
        except (TwilioException, requests.RequestException) as exc:
            self.count("poll_errors")
            if sid not in self._failing:
                log.warning("polling alerts of %s failed: %s", sid, describe_error(exc))
            self._failing.add(sid)
            return
        except RuntimeError:  # the HTTP client was cancelled: the watcher is stopping
            return
        if sid in self._failing:
            self._failing.discard(sid)
            log.info("polling alerts of %s works again", sid)

    def _poll_account(self, sid: str, client: Any) -> None:
        stored = self.state.cursor(sid)
        floor = (_parse(stored[1]) if stored else None) or self.started_at
        since = (_parse(stored[0]) if stored else None) or floor
        # A little before the newest alert handled (alerts may be indexed late), never
        # before this account's first poll (older alerts are the audit's business).
        start = max(floor, since - OVERLAP)
        newest = since
        alerts = client.monitor.v1.alerts
        for rec in read_pages(lambda: alerts.page(start_date=start, page_size=PAGE_SIZE)):
            if self.stop.is_set():
                return  # the cursor stays: the next start asks again
            when = _parse(records.iso(rec.date_created))
            if when is not None and when < start:
                continue
            if self.state.is_seen(rec.sid):
                continue
            alert = records.alert(rec, sid)
            if alert.error_code.strip() in DIAGNOSED_CODES:
                records.fill_alert(alert, alerts(rec.sid).fetch())
            self.count("polled_alerts")
            while not self.submit(event_from_alert(alert, self.parents.get(sid))):
                if self.stop.wait(0.2):
                    return
            if when is not None and when > newest:
                newest = when
        self.state.set_cursor(sid, _format(newest), _format(floor))
