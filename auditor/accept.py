"""Accepted risks (`--accept FILE`): findings a team has decided to live with, until a date.

    [[accept]]
    rule = "callerid-cross-account"          # or: fingerprint = "…" (from findings.json)
    account = "AC0123456789abcdef0123456789abcdef"
    caller_id = "+13605550105"
    reason = "Shared front desk; number moves in the Q1 migration"
    accepted_by = "J. Doe"
    expires = 2027-03-31

An accepted finding is never hidden (Prowler's mutelist, ScoutSuite's exceptions): every
report keeps it, marked "accepted until …", and only `--fail-on` ignores it. An entry past
its date stops applying and the report says it expired; an entry that matches nothing is
listed as stale, so the file does not silently rot. Whether an entry has expired is judged
on the day the snapshot was collected, so a report is reproducible from its snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from auditor.errors import AuditorError
from auditor.extract.values import normalize
from auditor.findings import fingerprint
from auditor.model import Acceptance, Finding
from auditor.rules import RULES_BY_ID
from auditor.tomlfile import load_toml, toml_error

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 8  # [[accept]] → a table → its values, with room to spare
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_KEYS = {"fingerprint", "rule", "account", "caller_id", "reason", "accepted_by", "expires"}
EXAMPLE = (
    '[[accept]] rule = "…" account = "AC…" caller_id = "+1…" (or fingerprint = "…") '
    'reason = "…" accepted_by = "…" expires = 2027-03-31'
)

ACTIVE = "active"
EXPIRED = "expired"
STALE = "stale"


def _fail(path: Path, problem: str, fix: str = f"expected {EXAMPLE}") -> AuditorError:
    return toml_error("accept file", path, problem, fix)


@dataclass(frozen=True)
class AcceptEntry:
    """One `[[accept]]` table, validated."""

    index: int  # 1-based position in the file
    reason: str
    accepted_by: str
    expires: date
    fingerprint: str | None = None
    rule: str | None = None
    account: str | None = None
    caller_id: str | None = None

    def matches(self, finding: Finding) -> bool:
        if self.fingerprint is not None:
            return (finding.fingerprint or fingerprint(finding)) == self.fingerprint
        if (
            finding.rule != self.rule
            or (finding.account_sid or "").lower() != (self.account or "").lower()
        ):
            return False
        values = {finding.caller_id, finding.raw_value}
        return self.caller_id in values or normalize(finding.raw_value) == self.caller_id

    def applies_on(self, day: date) -> bool:
        """True through the `expires` day itself."""
        return day <= self.expires

    def describe(self) -> str:
        """What the entry names, for the reader: 'fingerprint 1a2b3c4d5e6f…' or the triple."""
        if self.fingerprint is not None:
            return f"fingerprint {self.fingerprint[:12]}…"
        return f"{self.rule} · {self.caller_id} in {self.account}"

    def acceptance(self) -> Acceptance:
        return Acceptance(
            reason=self.reason,
            accepted_by=self.accepted_by,
            expires=self.expires.isoformat(),
            entry=self.index,
            fingerprint=self.fingerprint,
            rule=self.rule,
            account=self.account,
            caller_id=self.caller_id,
        )


@dataclass(frozen=True)
class AcceptFile:
    path: Path
    entries: tuple[AcceptEntry, ...]


@dataclass
class EntryOutcome:
    """What one entry did in this run."""

    entry: AcceptEntry
    state: str  # ACTIVE (applied), EXPIRED (past its date), STALE (in force, matched nothing)
    fingerprints: list[str] = field(default_factory=list)  # the findings it matched

    def to_dict(self) -> dict[str, Any]:
        e = self.entry
        return {
            "entry": e.index,
            "state": self.state,
            "fingerprint": e.fingerprint,
            "rule": e.rule,
            "account": e.account,
            "caller_id": e.caller_id,
            "reason": e.reason,
            "accepted_by": e.accepted_by,
            "expires": e.expires.isoformat(),
            "matched": list(self.fingerprints),
        }


@dataclass
class AcceptanceReport:
    """The outcome of applying an accept file to one run's findings."""

    source: str  # the file's name, as shown in reports
    as_of: date
    outcomes: list[EntryOutcome]

    def in_state(self, state: str) -> list[EntryOutcome]:
        return [o for o in self.outcomes if o.state == state]

    @property
    def active(self) -> list[EntryOutcome]:
        return self.in_state(ACTIVE)

    @property
    def expired(self) -> list[EntryOutcome]:
        return self.in_state(EXPIRED)

    @property
    def stale(self) -> list[EntryOutcome]:
        return self.in_state(STALE)

    def warnings(self) -> list[str]:
        """One line per entry that needs the reader's attention: expired, or stale."""
        lines = [
            f"accept: entry {o.entry.index} ({o.entry.describe()}) expired on "
            f"{o.entry.expires.isoformat()}; its findings count again"
            for o in self.expired
        ]
        lines += [
            f"accept: entry {o.entry.index} ({o.entry.describe()}) matches no finding (stale); "
            "remove it or check what it names"
            for o in self.stale
        ]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.source,
            "as_of": self.as_of.isoformat(),
            "entries": [o.to_dict() for o in self.outcomes],
        }


# --------------------------------------------------------------------------- reading


def load_accept_file(path: Path | str) -> AcceptFile:
    """Read and validate an accept file; every problem is one line naming the entry and fix."""
    path = Path(path)
    data = load_toml(
        path,
        what="accept file",
        option="--accept",
        max_bytes=MAX_BYTES,
        max_depth=MAX_DEPTH,
        shape="entries are flat tables",
    )
    return AcceptFile(path, tuple(parse_accept(data, path)))


def parse_accept(data: dict[str, Any], path: Path) -> list[AcceptEntry]:
    unknown = sorted(set(data) - {"accept"})
    if unknown:
        raise _fail(path, f"unknown top-level key {unknown[0]!r}", "entries are [[accept]] tables")
    tables = data.get("accept", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise _fail(path, "'accept' must be an array of tables", "write each entry as [[accept]]")
    return [_entry(table, i, path) for i, table in enumerate(tables, 1)]


def _text(table: dict[str, Any], key: str, where: str, path: Path) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _fail(path, f"{where}: '{key}' is missing or empty", f'add {key} = "…"')
    return " ".join(value.split())


def _expires(value: object, where: str, path: Path) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    shown = "missing" if value is None else f"{value!r} is not a date"
    raise _fail(path, f"{where}: 'expires' {shown}", "write expires = 2027-03-31 (a TOML date)")


def _entry(table: dict[str, Any], index: int, path: Path) -> AcceptEntry:
    where = f"entry {index}"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise _fail(path, f"{where}: unknown key {unknown[0]!r}", f"use {', '.join(sorted(_KEYS))}")
    reason = _text(table, "reason", where, path)
    accepted_by = _text(table, "accepted_by", where, path)
    expires = _expires(table.get("expires"), where, path)
    triple = [k for k in ("rule", "account", "caller_id") if k in table]
    if "fingerprint" in table:
        if triple:
            raise _fail(
                path,
                f"{where}: give either fingerprint or rule + account + caller_id, not both",
                "keep one way of naming the finding",
            )
        fp = table["fingerprint"]
        if not isinstance(fp, str) or not _FINGERPRINT.match(fp.strip().lower()):
            raise _fail(
                path,
                f"{where}: fingerprint must be 64 hex digits",
                'copy it from findings.json ("fingerprint")',
            )
        return AcceptEntry(index, reason, accepted_by, expires, fingerprint=fp.strip().lower())
    if len(triple) != 3:
        missing = [k for k in ("rule", "account", "caller_id") if k not in table]
        raise _fail(
            path,
            f"{where}: names no finding (missing {', '.join(missing)})",
            "give fingerprint, or rule + account + caller_id",
        )
    rule = _text(table, "rule", where, path)
    if rule not in RULES_BY_ID:
        raise _fail(path, f"{where}: unknown rule {rule!r}", "`twilio-audit rules` lists them")
    account = _text(table, "account", where, path)
    if not _ACCOUNT_SID.match(account):
        raise _fail(path, f"{where}: {account!r} is not an account SID", "use AC + 32 hex digits")
    raw = _text(table, "caller_id", where, path)
    caller_id = normalize(raw) or raw
    return AcceptEntry(
        index,
        reason,
        accepted_by,
        expires,
        rule=rule,
        account=account.lower().replace("ac", "AC", 1),
        caller_id=caller_id,
    )


# --------------------------------------------------------------------------- applying


def as_of_date(collected_at: str) -> date:
    """The day a run was collected (UTC): the day acceptances are judged on."""
    try:
        return datetime.fromisoformat(collected_at.replace("Z", "+00:00")).date()
    except ValueError:
        return date.today()


def apply_acceptances(
    findings: Sequence[Finding], accept: AcceptFile, as_of: date
) -> AcceptanceReport:
    """Mark each matched finding (`acceptance`, or `acceptance_expired`); say what each entry did.

    The first entry in force that matches a finding is the one shown; an expired entry marks
    the finding only when no entry in force matches it.
    """
    outcomes = [EntryOutcome(e, ACTIVE if e.applies_on(as_of) else EXPIRED) for e in accept.entries]
    for finding in findings:
        finding.acceptance = None
        finding.acceptance_expired = None
        for outcome in outcomes:
            if not outcome.entry.matches(finding):
                continue
            outcome.fingerprints.append(finding.fingerprint or fingerprint(finding))
            if outcome.state == ACTIVE and finding.acceptance is None:
                finding.acceptance = outcome.entry.acceptance()
            elif outcome.state == EXPIRED and finding.acceptance_expired is None:
                finding.acceptance_expired = outcome.entry.acceptance()
        if finding.acceptance is not None:
            finding.acceptance_expired = None
    for outcome in outcomes:
        if outcome.state == ACTIVE and not outcome.fingerprints:
            outcome.state = STALE
    return AcceptanceReport(accept.path.name, as_of, outcomes)


def open_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The findings no acceptance in force covers: the ones `--fail-on` looks at."""
    return [f for f in findings if f.acceptance is None]
