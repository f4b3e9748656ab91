"""What to collect and how hard to push: the collector's settings."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from auditor.collect.credentials import Credentials
from auditor.collect.probe import MAX_BODY_BYTES, PROBE_PHASE_DEADLINE, PROBE_TIMEOUT
from auditor.model import CallerIdReference
from auditor.outbound import IPNetwork, OutboundPolicy
from auditor.regions import RegionChoice

# Requests in flight in all, chosen with benchmarks/collect_bench.py (benchmarks/README.md).
# Twilio limits concurrent requests per account (error 20429: "your account"), and the
# HTTP client never has more than DEFAULT_PER_ACCOUNT_LIMIT in flight for any one account
# (the authenticating one and the one in the path, both held), so this total spreads over
# the hierarchy's accounts without raising any single account's count.
DEFAULT_CONCURRENCY = 64
# Requests in flight per account: below Twilio's concurrency limit.
DEFAULT_PER_ACCOUNT_LIMIT = 24
MAX_ALERT_WINDOW_DAYS = 30  # Monitor does not answer queries older than 30 days
MAX_PAGES = 5000  # pages per list: 5 million records at the collector's page size
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024**2  # a page of 1000 records is a few MiB at most

# The references `audit --code` read before collecting, for a collection started through
# the `collect` command (whose parameters are the CLI's options): set by the pipeline
# around the collection, read when the command builds its CollectConfig.
KNOWN_REFERENCES: ContextVar[tuple[CallerIdReference, ...]] = ContextVar(
    "known_references", default=()
)


@contextmanager
def known_references(refs: Sequence[CallerIdReference]) -> Iterator[None]:
    token = KNOWN_REFERENCES.set(tuple(refs))
    try:
        yield
    finally:
        KNOWN_REFERENCES.reset(token)


@dataclass
class CollectConfig:
    credentials: Credentials
    api_url: str | None = None
    # The Twilio Region to read (checked by auditor.regions.resolve_region); the
    # credentials must be that region's: Twilio's credentials are per region.
    region: RegionChoice = field(default_factory=RegionChoice)
    accounts: list[str] = field(default_factory=list)  # restrict to these SIDs; empty = all
    since_days: int = 30
    alerts: bool = True
    studio: bool = True
    functions: bool = True
    geo_permissions: bool = True  # Voice Geo Permissions (DialingPermissions + Settings)
    flex: bool = True  # Flex Configuration (outbound caller ID), per account
    concurrency: int = DEFAULT_CONCURRENCY
    per_account_limit: int = DEFAULT_PER_ACCOUNT_LIMIT
    timeout: float = 30.0  # per request attempt: connect, headers and body
    max_pages: int = MAX_PAGES  # per list; a next-page chain beyond it is a coverage error
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES  # larger answers are refused
    now: datetime | None = None  # the clock for the alert window (tests); default: now, UTC
    # --probe-webhooks: POST a signed, Twilio-like request to each voice webhook (opt-in)
    probe_webhooks: bool = False
    probe_allow: tuple[IPNetwork, ...] = ()  # --probe-allow: networks opted in (none by default)
    probe_timeout: float = PROBE_TIMEOUT  # per request: connect + TLS + headers + body
    probe_deadline: float = PROBE_PHASE_DEADLINE  # --probe-deadline: the whole probe phase
    # The demo's in-process web apps (a policy with its own allow-list, resolver and
    # transport); None: the outbound policy built from probe_allow and probe_timeout.
    probe_policy: OutboundPolicy | None = None
    # --probe-ca FILE: PEM text of the operator's CA certificates, trusted by the probe in
    # addition to certifi's bundle (auditor.outbound.cabundle).
    probe_ca: str | None = field(default=None, repr=False)
    # References found before the collection (the --code trees): their fixed destinations'
    # countries get their high-risk special prefixes read too (auditor.collect.prefixes).
    known_references: Sequence[CallerIdReference] = ()

    def outbound_policy(self) -> OutboundPolicy:
        """The policy every probe request goes through."""
        if self.probe_policy is not None:
            return self.probe_policy
        return OutboundPolicy(
            allow=self.probe_allow,
            deadline=self.probe_timeout,
            max_bytes=MAX_BODY_BYTES,
            extra_ca=self.probe_ca,
        )
