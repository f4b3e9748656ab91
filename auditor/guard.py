"""A runtime guard: check a callerId just before building `<Dial>` TwiML, with a TTL cache.

Twilio drops a Dial whose callerId the executing account neither owns nor
verified (error 13214): the caller hears silence and the callee never rings.
`CallerIdGuard` asks Twilio once per number and TTL (using the PhoneNumber
filter, like `twilio-audit check`), so a webhook can refuse or fall back
before it returns TwiML that cannot work.

    guard = CallerIdGuard(client, "ACxxx", ttl=300)
    guard.require("+15551230001")  # raises CallerIdNotAuthorizedError

Answers are cached per number, positive and negative alike, for `ttl`
seconds; API failures are not cached and propagate as the SDK raised them,
so the caller decides whether to fail open or closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from auditor.lookup import Authorization, CallerIdStatus, e164_fix, lookup_caller_id

__all__ = ["CallerIdGuard", "CallerIdNotAuthorizedError", "GuardDecision"]


class CallerIdNotAuthorizedError(Exception):
    """The number is not a callerId Twilio would accept for this account (error 13214)."""

    def __init__(self, number: str, account_sid: str, reason: str) -> None:
        self.number = number
        self.account_sid = account_sid
        self.reason = reason
        super().__init__(f"callerId {number!r} is not usable by account {account_sid}: {reason}")


@dataclass(frozen=True)
class GuardDecision:
    number: str
    authorized: bool
    reason: str  # "owned", "verified", or why not
    resource_sid: str | None = None


@dataclass
class _Entry:
    decision: GuardDecision
    expires_at: float


class CallerIdGuard:
    """Thread-safe, cached check that `account_sid` owns or verified a callerId."""

    def __init__(
        self,
        client: Any,
        account_sid: str,
        ttl: float = 300,
        clock: Callable[[], float] = time.monotonic,
        *,
        negative_ttl: float | None = None,
        max_entries: int = 10_000,
    ) -> None:
        if ttl < 0 or (negative_ttl is not None and negative_ttl < 0):
            raise ValueError("ttl must be >= 0 seconds")
        self.client = client
        self.account_sid = account_sid
        self.ttl = ttl
        self.negative_ttl = ttl if negative_ttl is None else negative_ttl
        self.max_entries = max(1, max_entries)
        self._clock = clock
        self._cache: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}

    def check(self, number: str) -> GuardDecision:
        """The decision for `number`, from the cache while fresh, else from Twilio."""
        number = number.strip() if isinstance(number, str) else number
        rejected = self._reject_without_lookup(number)
        if rejected is not None:
            return rejected
        cached = self._fresh(number)
        if cached is not None:
            return cached
        with self._key_lock(number):  # one lookup per number even under concurrent calls
            cached = self._fresh(number)
            if cached is not None:
                return cached
            decision = _decision(lookup_caller_id(self.client, self.account_sid, number))
            ttl = self.ttl if decision.authorized else self.negative_ttl
            with self._lock:
                self._store(number, _Entry(decision, self._clock() + ttl))
                self._key_locks.pop(number, None)
            return decision

    def is_authorized(self, number: str) -> bool:
        return self.check(number).authorized

    def require(self, number: str) -> str:
        """Return `number` when it is authorized, else raise CallerIdNotAuthorizedError."""
        decision = self.check(number)
        if not decision.authorized:
            raise CallerIdNotAuthorizedError(str(number), self.account_sid, decision.reason)
        return decision.number

    def invalidate(self, number: str | None = None) -> None:
        """Forget one number (or all), e.g. after buying or verifying it."""
        with self._lock:
            if number is None:
                self._cache.clear()
            else:
                self._cache.pop(number.strip(), None)

    def _store(self, number: str, entry: _Entry) -> None:
        """Insert under self._lock, keeping at most max_entries (expired ones go first)."""
        if len(self._cache) >= self.max_entries:
            now = self._clock()
            for key in [k for k, e in self._cache.items() if e.expires_at <= now]:
                del self._cache[key]
            while len(self._cache) >= self.max_entries:
                del self._cache[min(self._cache, key=lambda k: self._cache[k].expires_at)]
        self._cache[number] = entry

    def _fresh(self, number: str) -> GuardDecision | None:
        with self._lock:
            entry = self._cache.get(number)
            if entry is None:
                return None
            if self._clock() < entry.expires_at:
                return entry.decision
            del self._cache[number]
            return None

    def _key_lock(self, number: str) -> threading.Lock:
        with self._lock:
            return self._key_locks.setdefault(number, threading.Lock())

    def _reject_without_lookup(self, number: object) -> GuardDecision | None:
        """Values Twilio refuses whatever the account holds: no need to ask."""
        if not isinstance(number, str) or not number:
            return GuardDecision(
                str(number), False, "the callerId is empty; set it to an owned or verified number"
            )
        fix = e164_fix(number)
        if fix:
            return GuardDecision(number, False, f"it is not an E.164 number; {fix}")
        return None


def _decision(status: CallerIdStatus) -> GuardDecision:
    if status.authorized:
        return GuardDecision(
            status.phone_number, True, status.authorization.value, status.resource_sid
        )
    assert status.authorization is Authorization.NOT_FOUND
    acct = status.account_sid
    return GuardDecision(
        status.phone_number,
        False,
        f"{acct} neither owns it nor has it as a verified caller ID, so Twilio would refuse "
        f"the Dial (error 13214); buy or move the number into {acct}, verify it as an "
        f"outgoing caller ID of {acct}, or dial with a number {acct} owns",
    )
