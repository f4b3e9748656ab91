"""The watcher: receiver and poller feed one bounded queue; one worker diagnoses and notifies.

    receiver (POST /debugger) ─┐
                               ├─▶ queue ─▶ worker: seen? → diagnose → group → JSON line
    poller (Monitor alerts)  ──┘                                         └─▶ each notifier's queue

At start it reads the account list with the parent's credentials (each
subaccount's token stays in memory, as `collect` holds it), loads the snapshot,
and diagnoses first the events a previous run left undiagnosed. `stop()` returns
within about 2 seconds: the HTTP server and poller stop, the worker finishes the
event in hand, events still queued are saved for the next start, and the state
file is closed.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auditor.collect.client import make_client
from auditor.collect.config import DEFAULT_PER_ACCOUNT_LIMIT, CollectConfig
from auditor.collect.credentials import Credentials
from auditor.collect.http import ReadOnlyHttpClient
from auditor.collect.walker import account_client, list_accounts
from auditor.errors import AuditorError, CredentialsError
from auditor.model import AccountStatus
from auditor.outbound import IPNetwork, OutboundPolicy
from auditor.regions import RegionChoice
from auditor.snapshot import load_snapshot, resolve_snapshot_path
from auditor.watch.diagnose import DIAGNOSED_CODES, Diagnoser, Diagnosis
from auditor.watch.events import WatchEvent
from auditor.watch.live import LiveOwnership
from auditor.watch.notify import JsonLines, Notifier, payload
from auditor.watch.poller import Poller
from auditor.watch.receiver import DEBUGGER_PATH, HttpServer, Receiver, TokenBook
from auditor.watch.state import WatchState

log = logging.getLogger("auditor.watch")

STATE_NAME = "watch-state.sqlite"
STOP_BUDGET = 1.2  # seconds: SIGTERM to exit within 2 s, interpreter exit included


@dataclass
class WatchConfig:
    snapshot: Path
    credentials: Credentials
    api_url: str | None = None
    region: RegionChoice = field(default_factory=RegionChoice)  # checked by resolve_region
    listen: tuple[str, int] | None = None
    poll: float | None = None
    notify: list[str] = field(default_factory=list)
    notify_allow: tuple[IPNetwork, ...] = ()
    # --notify-ca FILE: PEM text of CA certificates trusted in addition to certifi's
    # (an internal Slack proxy's CA; auditor.outbound.cabundle).
    notify_ca: str | None = field(default=None, repr=False)
    jsonl: Path | None = None  # None: stdout
    state: Path | None = None  # None: beside the snapshot
    group_window: float = 600.0
    max_age: float = 3600.0
    public_url: str | None = None
    queue_size: int = 1000
    notify_deadline: float = 10.0
    notify_attempts: int = 4
    notify_backoff: float = 1.0

    def notify_policy(self) -> OutboundPolicy:
        """What every notifier request goes through (the one outbound policy)."""
        return OutboundPolicy(
            allow=self.notify_allow, deadline=self.notify_deadline, extra_ca=self.notify_ca
        )

    def state_path(self) -> Path:
        if self.state is not None:
            return self.state
        return resolve_snapshot_path(self.snapshot).parent / STATE_NAME


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Stats:
    """Counters for /healthz (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.other_codes: Counter[str] = Counter()
        self.last_event_at: str | None = None
        self.last_notification_at: str | None = None

    def count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.counts[what] += n

    def other(self, code: str) -> None:
        with self._lock:
            self.other_codes[code[:16] or "?"] += 1

    def event(self) -> None:
        with self._lock:
            self.last_event_at = _iso(datetime.now(UTC))

    def notified(self) -> None:
        with self._lock:
            self.last_notification_at = _iso(datetime.now(UTC))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "counts": dict(sorted(self.counts.items())),
                "other_error_codes": dict(sorted(self.other_codes.items())),
                "last_event_at": self.last_event_at,
                "last_notification_at": self.last_notification_at,
            }


class Watcher:
    """The service; `start()` raises AuditorError for anything a user must fix."""

    def __init__(self, config: WatchConfig) -> None:
        if config.listen is None and not config.poll:
            raise AuditorError("nothing to watch; give --listen HOST:PORT, --poll SECONDS or both")
        self.config = config
        self.snapshot = load_snapshot(config.snapshot)
        creds = config.credentials
        if self.snapshot.root_account_sid != creds.account_sid:
            raise AuditorError(
                f"the snapshot is of {self.snapshot.root_account_sid}, the credentials are for "
                f"{creds.account_sid}; watch with the parent's credentials of that hierarchy"
            )
        if self.snapshot.region != config.region.region:
            raise AuditorError(
                f"the snapshot was collected in {self.snapshot.region}, the watcher reads "
                f"{config.region.region}; give --region {self.snapshot.region} (and its --edge) "
                "or the snapshot of that region (regions do not see each other)"
            )
        if config.listen is not None and creds.uses_api_key:
            raise CredentialsError(
                "--listen checks Twilio's signatures with auth tokens, which an API key does not "
                "give; use the parent's TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            )
        self.stats = Stats()
        self.started_at = datetime.now(UTC)
        self._queue: queue.Queue[WatchEvent] = queue.Queue(maxsize=config.queue_size)
        self._stop = threading.Event()
        self._stopped = False
        self._last_sweep = 0.0
        self.state = WatchState(config.state_path())
        self.http = ReadOnlyHttpClient(
            config.api_url, timeout=15.0, per_account_limit=DEFAULT_PER_ACCOUNT_LIMIT
        )
        self.server: HttpServer | None = None
        self.poller: Poller | None = None
        self.notifiers: list[Notifier] = []
        self.jsonl: JsonLines | None = None
        self.diagnoser: Diagnoser | None = None
        self._worker = threading.Thread(target=self._work, name="watch-worker", daemon=True)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> Watcher:
        cfg, creds = self.config, self.config.credentials
        # The collector's own settings type: its account listing and clients are reused.
        reading = CollectConfig(creds, api_url=cfg.api_url, region=cfg.region)
        root = make_client(creds, cfg.api_url, http_client=self.http, region=cfg.region)
        accounts, tokens, notes = list_accounts(root, reading)
        for note in notes:
            log.warning("%s", note)
        book = TokenBook(creds.account_sid, {**tokens, creds.account_sid: creds.auth_token or ""})
        clients = {
            a.sid: client
            for a in accounts
            if a.status != AccountStatus.CLOSED
            and (client := account_client(a.sid, root, reading, tokens, self.http))
        }
        tokens.clear()
        self.diagnoser = Diagnoser(
            self.snapshot,
            live=LiveOwnership(root, accounts),
            max_age=timedelta(seconds=cfg.max_age),
            accounts=accounts,
        )
        if self.diagnoser.stale():
            log.warning(
                "the snapshot (%s) is older than --max-age: every caller ID is confirmed with "
                "Twilio; collect again for faster diagnoses",
                self.snapshot.collected_at,
            )
        self.jsonl = JsonLines(cfg.jsonl)
        policy = cfg.notify_policy()
        self.notifiers = [
            Notifier(
                url, policy, attempts=cfg.notify_attempts, base_delay=cfg.notify_backoff
            ).start()
            for url in cfg.notify
        ]
        self.state.prune(time.time())
        for event in self.state.take_pending():
            self._queue.put(event)  # a previous run's undiagnosed events come first
        self._worker.start()
        if cfg.listen is not None:
            receiver = Receiver(book, self.submit, self.stats.count, self.health, cfg.public_url)
            self.server = HttpServer(receiver.app(), *cfg.listen).start()
            log.info("listening on %s%s", self.server.url, DEBUGGER_PATH)
        if cfg.poll:
            parents = {a.sid: a.owner_account_sid for a in accounts}
            self.poller = Poller(
                clients,
                self.state,
                self.submit,
                self.stats.count,
                interval=cfg.poll,
                started_at=self.started_at,
                stop=self._stop,
                parents=parents,
            ).start()
            log.info("polling Monitor alerts of %d account(s) every %gs", len(clients), cfg.poll)
        return self

    def wait(self) -> None:
        """Block until stop() (from a signal handler or another thread)."""
        while not self._stop.wait(0.2):
            pass

    def request_stop(self) -> None:
        self._stop.set()

    def stop(self) -> None:
        """Stop everything within STOP_BUDGET seconds; flush the state."""
        if self._stopped:
            return
        self._stopped = True
        if not self._worker.is_alive() and self.jsonl is None:  # start() never got going
            self.state.close()
            return
        began = time.monotonic()
        self._stop.set()
        if self.server is not None:
            self.server.server.should_exit = True
        self.http.cancel.set()  # no new request to Twilio; a poll in flight ends at its timeout

        def left() -> float:
            return max(0.05, STOP_BUDGET - (time.monotonic() - began))

        if self._worker.is_alive():
            self._worker.join(min(0.8, left()))
        if self.server is not None:
            self.server.stop(left())
        pending: list[WatchEvent] = []
        while True:
            try:
                pending.append(self._queue.get_nowait())
            except queue.Empty:
                break
        undelivered = sum(n.stop() for n in self.notifiers)
        if self._worker.is_alive():
            log.warning("the worker is still busy; its event is diagnosed again at the next start")
            return
        self.state.save_pending(pending)
        if pending:
            log.info("%d event(s) saved for the next start", len(pending))
        if self.jsonl is not None:
            self.jsonl.close()
        self.state.close()
        log.info(
            "stopped in %.2fs%s",
            time.monotonic() - began,
            f"; {undelivered} notification(s) undelivered" if undelivered else "",
        )

    # ---------------------------------------------------------------- the queue

    def submit(self, event: WatchEvent) -> bool:
        """Queue an event for diagnosis; False when the queue is full (never blocks)."""
        if self._stop.is_set():
            return False
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            return False
        self.stats.event()
        return True

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                event = self._queue.get(timeout=0.1)
            except queue.Empty:
                self._sweep()
                continue
            try:
                self._handle(event)
            except Exception as exc:  # one bad event must not stop the watcher
                self.stats.count("errors")
                log.error("event %s: diagnosis failed (%s)", event.sid, type(exc).__name__)
                with contextlib.suppress(Exception):  # seen: a poll does not bring it back
                    self.state.record(event, [], time.time(), self.config.group_window)
            self._sweep()

    def _handle(self, event: WatchEvent) -> None:
        assert self.diagnoser is not None
        if self.state.is_seen(event.sid):
            self.stats.count("duplicates")
            return
        now = time.time()
        window = self.config.group_window
        if event.error_code not in DIAGNOSED_CODES:
            self.stats.other(event.error_code)
            self.state.record(event, [], now, window)
            return
        diagnoses = self.diagnoser.diagnose(event)
        recorded = self.state.record(event, diagnoses, now, window)
        self.stats.count("diagnosed")
        self.stats.count("grouped", recorded.absorbed)
        for d in recorded.emit:
            self._emit(d)

    def _sweep(self) -> None:
        """Close group windows once a second: one summary per group that had repeats."""
        now = time.time()
        if now - self._last_sweep < 1.0:
            return
        self._last_sweep = now
        for d in self.state.close_windows(now, self.config.group_window):
            self._emit(d)

    def _emit(self, d: Diagnosis) -> None:
        assert self.jsonl is not None and self.diagnoser is not None
        self.jsonl.write(d)
        body = payload(d, self.diagnoser.path_names(d.path))
        for notifier in self.notifiers:
            notifier.submit(body)
        self.stats.count("notifications")
        self.stats.notified()
        log.info(
            "%s %s in %s: %s%s",
            d.error_code,
            d.event_sid,
            d.account_sid,
            d.rule or "no rule",
            f" (×{d.count})" if d.kind == "summary" else "",
        )

    # ---------------------------------------------------------------- health

    def health(self) -> dict[str, Any]:
        age = self.diagnoser.snapshot_age() if self.diagnoser else None
        stats = self.stats.snapshot()
        return {
            "status": "ok",
            "started_at": _iso(self.started_at),
            "last_event_at": stats["last_event_at"],
            "last_notification_at": stats["last_notification_at"],
            "snapshot": {
                "collected_at": self.snapshot.collected_at,
                "age_seconds": round(age.total_seconds()) if age is not None else None,
                "stale": bool(self.diagnoser.stale()) if self.diagnoser else None,
            },
            "counts": stats["counts"],
            "other_error_codes": stats["other_error_codes"],
            "queue": {"size": self._queue.qsize(), "capacity": self.config.queue_size},
            "open_groups": self.state.open_groups() if not self._stopped else None,
            "poll": {
                "interval_seconds": self.config.poll,
                "last_poll_at": self.poller.last_poll if self.poller else None,
            },
            "live_lookups": self.diagnoser.live.lookups
            if self.diagnoser and self.diagnoser.live
            else 0,
            "notifiers": [{"target": n.label, **n.stats()} for n in self.notifiers],
        }
