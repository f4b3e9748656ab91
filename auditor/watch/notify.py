"""Where diagnoses go: one JSON line each (file or stdout), and each `--notify` URL.

A notifier POSTs Slack-compatible JSON, `{"text": "<one readable line>", "event":
{…}}`, through the outbound policy (auditor.outbound: public addresses only
unless `--notify-allow` opts a network in, no redirects, a total deadline), since
the URL comes from configuration someone else may have written. Each URL has
its own thread and bounded queue: a notifier that hangs or fails delays only
itself, never the watcher, the JSON lines or another notifier. Failures are
retried with capped exponential backoff, then logged and dropped.

Logs name a notifier by scheme and host only: a Slack webhook's path is its secret.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import sys
import threading
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

from auditor.errors import AuditorError
from auditor.outbound import OutboundFailed, OutboundPolicy, OutboundRefused
from auditor.redact import redact_url
from auditor.rules import RULES_BY_ID
from auditor.text import dump_json, visible
from auditor.watch.diagnose import Diagnosis

log = logging.getLogger("auditor.watch")

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def notifier_label(url: str) -> str:
    """`https://hooks.slack.com/…`: enough to tell notifiers apart, nothing secret."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}/…"


def check_notify_url(url: str) -> str:
    """The URL itself when it can be a notifier, else AuditorError naming the fix."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AuditorError(
            f"--notify {notifier_label(url)}: give an http(s) URL such as "
            "https://hooks.slack.com/services/…"
        )
    return url.strip()


def _slack(text: str) -> str:
    """One line for Slack: controls and bidi shown as marks (auditor.text), &, < and >
    escaped (Slack's mrkdwn would otherwise turn `<!channel>` into a mention)."""
    text = visible(" ".join(text.split()))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _first_sentence(text: str) -> str:
    head, sep, _ = text.partition(". ")
    return head + "." if sep else text


def notification_text(d: Diagnosis, path_names: str = "") -> str:
    """The one readable line: what failed, where, why, who owns it, the fix."""
    who = f"{d.account_name} ({d.account_sid})" if d.account_name else d.account_sid
    cid = d.caller_id or "(no callerId found)"
    rule = RULES_BY_ID.get(d.rule or "")
    why = f"{rule.title} [{d.rule}, {d.severity}]" if rule else "no rule explains it"
    parts = [f"Twilio error {d.error_code} in {who}: callerId {cid}: {why}."]
    if d.owner_account_sid and d.owner_account_sid != d.account_sid:
        owner = d.owner_account_name or d.owner_account_sid
        parts.append(
            f"Held by {owner} ({d.owner_account_sid})"
            + (f", path {path_names}." if path_names else ".")
        )
    parts.append(f"Fix: {_first_sentence(d.remediation)}")
    if d.kind == "summary":
        parts.insert(0, f"Repeated {d.count}× between {d.first_seen} and {d.last_seen}:")
    return _slack(" ".join(parts))


def payload(d: Diagnosis, path_names: str = "") -> bytes:
    body = {"text": notification_text(d, path_names), "event": d.to_json()}
    return dump_json(body, indent=None).encode("utf-8")


class JsonLines:
    """Append one JSON object per line to a file (0600: customer data) or stdout."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._own = path is not None
        if path is None:
            self._out: IO[str] = sys.stdout
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise AuditorError(
                f"--jsonl {path}: cannot open it for appending ({exc.strerror}); "
                "choose a writable path"
            ) from None
        self._out = os.fdopen(fd, "a", encoding="utf-8")

    def write(self, d: Diagnosis) -> None:
        line = dump_json(d.to_json(), indent=None)  # bidi and controls as \u escapes
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()

    def close(self) -> None:
        if self._own:
            with self._lock:
                self._out.close()


class Notifier:
    """One `--notify` URL: a daemon thread sending queued payloads with retries."""

    def __init__(
        self,
        url: str,
        policy: OutboundPolicy,
        *,
        attempts: int = 4,
        base_delay: float = 1.0,
        max_delay: float = 8.0,
        queue_size: int = 1000,
    ) -> None:
        self.url = url
        self.label = notifier_label(url)
        self.policy = policy
        self.attempts = max(1, attempts)
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=f"notify {self.label}", daemon=True)

    def start(self) -> Notifier:
        self._thread.start()
        return self

    def submit(self, body: bytes) -> None:
        """Queue a payload; never blocks (a full queue drops its oldest payload)."""
        while True:
            try:
                self._queue.put_nowait(body)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    continue
                with self._lock:
                    self.dropped += 1
                log.warning("notifier %s is behind: dropped its oldest notification", self.label)

    def stop(self) -> int:
        """Stop (a send in flight is abandoned to its deadline); returns undelivered count."""
        self._stop.set()
        left = self._queue.qsize() + (1 if self._busy else 0)
        if left:
            log.warning(
                "notifier %s: %d notification(s) not delivered (stopping)", self.label, left
            )
        return left

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"sent": self.sent, "failed": self.failed, "dropped": self.dropped,
                    "queued": self._queue.qsize()}  # fmt: skip

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                body = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            self._busy = True
            try:
                ok = self._deliver(body)
            finally:
                self._busy = False
            with self._lock:
                if ok:
                    self.sent += 1
                else:
                    self.failed += 1

    def _deliver(self, body: bytes) -> bool:
        why = ""
        for attempt in range(1, self.attempts + 1):
            if self._stop.is_set():
                return False
            try:
                resp = self.policy.send(
                    "POST",
                    self.url,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                    body=body,
                )
            except OutboundRefused as exc:
                log.error(
                    "notifier %s refused by the outbound policy: %s",
                    self.label,
                    _safe(exc, self.url),
                )
                return False
            except OutboundFailed as exc:
                why = _safe(exc, self.url)
            else:
                if 200 <= resp.status < 300:
                    return True
                why = f"answered HTTP {resp.status}"
                if resp.status not in RETRY_STATUSES:
                    break
            if attempt < self.attempts:
                delay = random.uniform(0.5, 1.0) * min(
                    self.max_delay, self.base_delay * 2 ** (attempt - 1)
                )
                log.warning(
                    "notifier %s failed (%s); retry %d in %.1fs", self.label, why, attempt, delay
                )
                if self._stop.wait(delay):
                    return False
        log.error("notifier %s failed: %s; notification dropped", self.label, why)
        return False


def _safe(exc: Exception, url: str) -> str:
    """Why a send failed, without the notifier's URL (a Slack webhook's path is its secret)."""
    reason = getattr(exc, "reason", None)  # the policy's errors carry the phrase alone
    if isinstance(reason, str) and reason:
        return reason
    text = str(exc)
    for shown in (url, redact_url(url)):
        text = text.replace(shown, notifier_label(url))
    return text
