"""One event → what went wrong and the fix, by the same extraction and rules as `audit`.

The event's alert takes the place of the snapshot's own old alerts (history), its
callerId references are extracted as the collector's alerts are
(auditor.extract.alerts), and every rule runs over them against the snapshot's
graph and indexes, built once (auditor.watch.prepared): the findings are the
audit's about that alert. The diagnosis is the finding that explains the event's
error code, most severe first; `alert-13214-observed` (which only says "Twilio
refused it") only when no rule explains the refusal.

When the snapshot does not know a caller ID, or is older than `max_age`, the
holders of that number are replaced by what Twilio says now (auditor.watch.live)
before the rules run, so the verdict is about today's owner.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from auditor.extract.alerts import AUDITED_ALERT_CODES, extract_alert
from auditor.graph import alert_variables, normalize_url
from auditor.model import Account, CallerIdReference, Finding, Severity, Snapshot
from auditor.redact import redact_optional
from auditor.rules import RULE_ORDER, alert_13214_observed
from auditor.watch.events import WatchEvent
from auditor.watch.live import LiveHolders, LiveOwnership
from auditor.watch.prepared import PreparedSnapshot

# The error codes diagnosed (the ones `audit` fetches: caller-ID refusals and calls the
# Geo Permissions blocked); every other code is only counted (/healthz).
DIAGNOSED_CODES: frozenset[str] = AUDITED_ALERT_CODES

CACHE_SIZE = 512  # distinct (account, references, entry, live answer) diagnoses kept
CONFIRMED_SNAPSHOT = "snapshot"
CONFIRMED_LIVE = "live lookup"


@dataclass
class Diagnosis:
    """One diagnosed caller-ID failure: the JSON line and the notification's `event`."""

    event_sid: str
    timestamp: str
    error_code: str
    account_sid: str
    account_name: str | None
    caller_id: str | None
    rule: str | None  # None: no rule explains it (the message says what is known)
    severity: str | None
    owner_account_sid: str | None
    owner_account_name: str | None
    path: list[str]
    remediation: str
    message: str
    impacted: list[str] = field(default_factory=list)
    count: int = 1
    origin: str = ""
    confirmed_by: str = CONFIRMED_SNAPSHOT  # or CONFIRMED_LIVE, or "snapshot (live lookup …)"
    request_url: str | None = None
    first_seen: str = ""
    last_seen: str = ""
    kind: str = "event"  # "event": the first of its group; "summary": repeats of a group

    @property
    def group_key(self) -> tuple[str, str, str]:
        """Events are identical when account, caller ID and rule are."""
        return (self.account_sid, self.caller_id or "", self.rule or "")

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "event_sid": self.event_sid,
            "timestamp": self.timestamp,
            "error_code": self.error_code,
            "account_sid": self.account_sid,
            "account_name": self.account_name,
            "caller_id": self.caller_id,
            "rule": self.rule,
            "severity": self.severity,
            "owner_account_sid": self.owner_account_sid,
            "owner_account_name": self.owner_account_name,
            "path": list(self.path),
            "remediation": self.remediation,
            "message": self.message,
            "impacted": list(self.impacted),
            "count": self.count,
            "first_seen": self.first_seen or self.timestamp,
            "last_seen": self.last_seen or self.timestamp,
            "origin": self.origin,
            "confirmed_by": self.confirmed_by,
            "request_url": self.request_url,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Diagnosis:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


def _parse_time(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Diagnoser:
    """Diagnoses events against one snapshot (and live lookups when it cannot answer)."""

    def __init__(
        self,
        snapshot: Snapshot,
        *,
        live: LiveOwnership | None = None,
        max_age: timedelta = timedelta(hours=1),
        accounts: Sequence[Account] = (),
    ) -> None:
        self.live = live
        self.max_age = max_age
        known = {a.sid for a in snapshot.accounts}
        # Accounts created since the snapshot (from the account list read at start).
        extra = [a for a in accounts if a.sid not in known]
        self.snapshot = (
            replace(snapshot, accounts=[*snapshot.accounts, *extra]) if extra else snapshot
        )
        self.prepared = PreparedSnapshot(self.snapshot)
        self._index = self.prepared.index
        self._collected = _parse_time(snapshot.collected_at)
        self._names = {a.sid: a.friendly_name for a in self.snapshot.accounts}
        self._names.update({a.sid: a.friendly_name for a in accounts if a.friendly_name})
        self._cache: OrderedDict[tuple[object, ...], list[Diagnosis]] = OrderedDict()

    def snapshot_age(self, now: datetime | None = None) -> timedelta | None:
        if self._collected is None:
            return None
        return (now or datetime.now(UTC)) - self._collected

    def stale(self) -> bool:
        age = self.snapshot_age()
        return age is None or age > self.max_age

    def account_name(self, sid: str | None) -> str | None:
        return self._names.get(sid or "") or None

    def diagnose(self, event: WatchEvent) -> list[Diagnosis]:
        """One Diagnosis per distinct caller ID of the event (at least one).

        A repeat of an event already diagnosed (same account, same references, same
        entry point, same live answers) reuses that diagnosis: at the design's scale a
        whole analysis takes a second or more, and failures come in bursts.
        """
        alert = event.alert
        refs, notes = extract_alert(alert)
        for ref in refs:
            ref.region = self.snapshot.region  # as the audit's references: where it ran
        live = self._confirm(refs, event.account_sid)
        key = _cache_key(event, refs, live)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return [_rebind(d, event) for d in hit]
        found = self._analyse(event, refs, notes, live)
        self._cache[key] = found
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return found

    def _analyse(
        self,
        event: WatchEvent,
        refs: list[CallerIdReference],
        notes: list[str],
        live: list[LiveHolders],
    ) -> list[Diagnosis]:
        mine = self.prepared.findings(event.alert, refs, live)
        confirmed = _confirmed_text(live)
        picked = _pick(mine)
        if not picked:
            return [self._unexplained(event, refs, notes, live, confirmed)]
        return [self._from_finding(event, f, confirmed) for f in picked]

    # ------------------------------------------------------------------ helpers

    def _confirm(self, refs: Sequence[CallerIdReference], executing: str) -> list[LiveHolders]:
        if self.live is None:
            return []
        stale = self.stale()
        wanted = sorted(
            {r.e164 for r in refs if r.e164 and (stale or r.e164 not in self._index.authorized)}
        )
        return [self.live.confirm(e164, executing) for e164 in wanted]

    def _from_finding(self, event: WatchEvent, f: Finding, confirmed: str) -> Diagnosis:
        return Diagnosis(
            event_sid=event.sid,
            timestamp=event.timestamp,
            error_code=event.error_code,
            account_sid=event.account_sid,
            account_name=self.account_name(event.account_sid),
            caller_id=f.caller_id,
            rule=f.rule,
            severity=f.severity,
            owner_account_sid=f.owner_account_sid,
            owner_account_name=self.account_name(f.owner_account_sid),
            path=list(f.path),
            remediation=f.remediation,
            message=f.message,
            impacted=list(f.impacted),
            origin=event.origin,
            confirmed_by=confirmed,
            request_url=redact_optional(event.alert.request_url),
        )

    def _unexplained(
        self,
        event: WatchEvent,
        refs: Sequence[CallerIdReference],
        notes: Sequence[str],
        live: Sequence[LiveHolders],
        confirmed: str,
    ) -> Diagnosis:
        """No rule fires: say what is known (the number is held now, or none was found)."""
        account = event.account_sid
        label = self._index.account_label(account)
        ref = next((r for r in refs if not r.missing), None)
        if ref is None:
            value = None
            message = (
                f"Twilio refused a caller ID in {label} ({event.error_code}), but the event "
                "carries no callerId this tool can read" + (f" ({notes[0]})" if notes else "") + "."
            )
            fix = (
                "Open the event in the Console (Monitor › Debugger) to read the TwiML or request "
                "Twilio received; an empty or unrendered callerId shows there."
            )
        else:
            value = ref.e164 or ref.raw_value
            holds = next((h for h in live if h.e164 == ref.e164 and h.error is None), None)
            held = [s.account_sid for s in holds.holders] if holds else []
            if holds is None:
                held = list(self._index.authorized.get(ref.e164 or "", {}))
            where = f"{confirmed} says " if holds else "the snapshot says "
            if account in held:
                message = (
                    f"Twilio refused callerId {value} in {label} ({event.error_code}), but "
                    f"{where}{account} holds it now: it was probably added after the call."
                )
                fix = "Nothing to do if no newer event follows; otherwise collect again."
            else:
                message = (
                    f"Twilio refused callerId {value} in {label} ({event.error_code}); no rule "
                    "explains it (passed through, or not a phone number Twilio judges)."
                )
                fix = "Open the event in the Console (Monitor › Debugger) for Twilio's reason."
        return Diagnosis(
            event_sid=event.sid,
            timestamp=event.timestamp,
            error_code=event.error_code,
            account_sid=account,
            account_name=self.account_name(account),
            caller_id=value,
            rule=None,
            severity=None,
            owner_account_sid=None,
            owner_account_name=None,
            path=[account],
            remediation=fix,
            message=message,
            origin=event.origin,
            confirmed_by=confirmed,
            request_url=redact_optional(event.alert.request_url),
        )

    def path_names(self, path: Sequence[str]) -> str:
        """'Clinic A → Parent → Clinic B' for the readable line (SIDs are in the event)."""
        return " → ".join(self.account_name(sid) or sid for sid in path)


def _cache_key(
    event: WatchEvent, refs: Sequence[CallerIdReference], live: Sequence[LiveHolders]
) -> tuple[object, ...]:
    """Everything a diagnosis depends on besides the snapshot (which does not change)."""
    alert = event.alert
    entry = alert.resource_sid if (alert.resource_sid or "")[:2] in ("PN", "AP") else None
    return (
        event.account_sid,
        event.error_code,
        tuple(
            (r.raw_value, r.kind, r.dialed, r.passthrough, r.client_leg, r.missing, r.via)
            for r in refs
        ),
        normalize_url(alert.request_url),
        alert_variables(alert).get("To"),
        entry,
        tuple((h.e164, h.holders, h.complete, h.error) for h in live),
    )


def _rebind(cached: Diagnosis, event: WatchEvent) -> Diagnosis:
    """A cached diagnosis, told about this event (its SID appears in the message)."""
    return replace(
        cached,
        event_sid=event.sid,
        timestamp=event.timestamp,
        origin=event.origin,
        message=cached.message.replace(cached.event_sid, event.sid),
        request_url=redact_optional(event.alert.request_url),
        path=list(cached.path),
        impacted=list(cached.impacted),
    )


def _pick(findings: Sequence[Finding]) -> list[Finding]:
    """The explaining finding per caller ID: most severe, then rule order.

    alert-13214-observed only restates that Twilio refused it; it is the answer only
    for a caller ID no other rule explains.
    """
    best: dict[str, Finding] = {}
    for f in findings:
        key = f.caller_id or ""
        kept = best.get(key)
        if kept is None or _better(f, kept):
            best[key] = f
    return sorted(best.values(), key=lambda f: f.caller_id or "")


def _better(a: Finding, b: Finding) -> bool:
    observed = alert_13214_observed.RULE.id

    def explains(f: Finding) -> bool:
        # An info finding says "allowed": it cannot explain a refusal Twilio logged.
        return f.rule != observed and f.severity != Severity.INFO

    if explains(a) != explains(b):
        return explains(a)
    return (-Severity(a.severity).rank, RULE_ORDER.get(a.rule, 99)) < (
        -Severity(b.severity).rank,
        RULE_ORDER.get(b.rule, 99),
    )


def _confirmed_text(live: Sequence[LiveHolders]) -> str:
    if not live:
        return CONFIRMED_SNAPSHOT
    failed = [h for h in live if h.error]
    if failed:
        return f"{CONFIRMED_SNAPSHOT} (live lookup failed: {failed[0].error})"
    return CONFIRMED_LIVE
