"""Compare two runs: which findings are new, resolved or unchanged, and what moved in the inventory.

A periodic compliance review is a diff against last time: a pipeline fails on
*new* findings, not on ones already accepted. Findings are matched by
`Finding.fingerprint` (stable across runs); inventory items by SID and E.164.
Everything here is a pure function over data, so `diff`, `audit --baseline`
and the reports all agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields

from auditor.analysis import analyse
from auditor.findings import exceeds, fingerprint, sort_findings
from auditor.model import (
    Account,
    AccountStatus,
    Finding,
    PhoneNumber,
    PolicyEntry,
    Snapshot,
    VerifiedCallerId,
)

DIFF_SCHEMA_VERSION = 1

STATUS_NEW = "new"
STATUS_UNCHANGED = "unchanged"


# --------------------------------------------------------------------------- data


@dataclass
class NumberMove:
    """A number that is now held by another account (same E.164 or same PN SID)."""

    phone_number: str
    old_sid: str
    new_sid: str
    old_account_sid: str
    new_account_sid: str


@dataclass
class StatusChange:
    """An account whose status changed between the runs."""

    account_sid: str
    friendly_name: str
    old_status: str
    new_status: str

    @property
    def change(self) -> str:
        """ "suspended", "closed", "reactivated" or the new status as Twilio wrote it."""
        if self.new_status == AccountStatus.ACTIVE:
            return "reactivated"
        return self.new_status


@dataclass
class InventoryChanges:
    numbers_added: list[PhoneNumber] = field(default_factory=list)
    numbers_released: list[PhoneNumber] = field(default_factory=list)
    numbers_moved: list[NumberMove] = field(default_factory=list)
    verified_added: list[VerifiedCallerId] = field(default_factory=list)
    verified_removed: list[VerifiedCallerId] = field(default_factory=list)
    accounts_added: list[Account] = field(default_factory=list)
    accounts_removed: list[Account] = field(default_factory=list)  # e.g. deleted after closure
    status_changed: list[StatusChange] = field(default_factory=list)

    def count(self) -> int:
        return sum(len(getattr(self, f.name)) for f in fields(self))


@dataclass
class Comparison:
    """What changed between an old and a new run of the same hierarchy."""

    old_collected_at: str
    new_collected_at: str
    old_root_account_sid: str
    new_root_account_sid: str
    new: list[Finding] = field(default_factory=list)
    resolved: list[Finding] = field(default_factory=list)
    unchanged: list[Finding] = field(default_factory=list)
    inventory: InventoryChanges = field(default_factory=InventoryChanges)
    account_names: dict[str, str] = field(default_factory=dict)  # SID → friendly name

    def new_at_or_above(self, severity: str) -> list[Finding]:
        """New findings at or above `severity` ("never" matches none) that no acceptance in
        force covers: what fails a pipeline."""
        return [f for f in self.new if f.acceptance is None and exceeds([f], severity)]

    def account_label(self, sid: str | None) -> str:
        if not sid:
            return "unknown account"
        name = self.account_names.get(sid)
        return f"{sid} ({name})" if name else sid


# --------------------------------------------------------------------------- comparison


def compare(
    old: Snapshot,
    new: Snapshot,
    old_findings: Sequence[Finding],
    new_findings: Sequence[Finding],
) -> Comparison:
    """Compare two snapshots and their findings; nothing is modified."""
    new_list, resolved, unchanged = _match_findings(old_findings, new_findings)
    names = {a.sid: a.friendly_name for a in old.accounts}
    names.update({a.sid: a.friendly_name for a in new.accounts})
    return Comparison(
        old_collected_at=old.collected_at,
        new_collected_at=new.collected_at,
        old_root_account_sid=old.root_account_sid,
        new_root_account_sid=new.root_account_sid,
        new=sort_findings(new_list),
        resolved=sort_findings(resolved),
        unchanged=sort_findings(unchanged),
        inventory=compare_inventory(old, new),
        account_names=names,
    )


def mark_status(findings: Iterable[Finding], baseline_findings: Iterable[Finding]) -> None:
    """Set each finding's `status` to "new" or "unchanged" against a baseline run."""
    new_list, _, unchanged = _match_findings(list(baseline_findings), list(findings))
    for f in new_list:
        f.status = STATUS_NEW
    for f in unchanged:
        f.status = STATUS_UNCHANGED


def compare_with_baseline(
    baseline: Snapshot,
    snapshot: Snapshot,
    findings: Sequence[Finding],
    *,
    policy: Sequence[PolicyEntry] | None = None,
) -> Comparison:
    """What `audit --baseline` needs in one call: analyse the baseline the same way, mark each
    of `findings` new or unchanged, and return the comparison (for the report's diff section).

    `findings` are the current run's, from `analyse(snapshot, baseline=baseline, policy=policy)`.
    """
    baseline_findings = analyse(baseline, policy=policy).findings
    mark_status(findings, baseline_findings)
    return compare(baseline, snapshot, baseline_findings, findings)


def finding_key(finding: Finding) -> str:
    """The fingerprint analyse assigned, or the one it would assign."""
    return finding.fingerprint or fingerprint(finding)


def _match_findings(
    old: Sequence[Finding], new: Sequence[Finding]
) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """(new, resolved, unchanged); a fingerprint seen twice is matched pairwise, in order."""
    old_by_key: dict[str, list[Finding]] = defaultdict(list)
    for f in old:
        old_by_key[finding_key(f)].append(f)
    added: list[Finding] = []
    unchanged: list[Finding] = []
    for f in new:
        bucket = old_by_key.get(finding_key(f))
        if bucket:
            bucket.pop(0)
            unchanged.append(f)
        else:
            added.append(f)
    resolved = [f for bucket in old_by_key.values() for f in bucket]
    return added, resolved, unchanged


def compare_inventory(old: Snapshot, new: Snapshot) -> InventoryChanges:
    """Numbers, verified caller IDs and accounts that appeared, vanished, moved or changed."""
    changes = InventoryChanges()
    _compare_numbers(old.phone_numbers, new.phone_numbers, changes)

    old_ids = {(v.account_sid, v.phone_number): v for v in old.verified_caller_ids}
    new_ids = {(v.account_sid, v.phone_number): v for v in new.verified_caller_ids}
    changes.verified_added = [v for k, v in new_ids.items() if k not in old_ids]
    changes.verified_removed = [v for k, v in old_ids.items() if k not in new_ids]
    changes.verified_added.sort(key=lambda v: (v.account_sid, v.phone_number))
    changes.verified_removed.sort(key=lambda v: (v.account_sid, v.phone_number))

    old_accounts = {a.sid: a for a in old.accounts}
    new_accounts = {a.sid: a for a in new.accounts}
    changes.accounts_added = [a for sid, a in new_accounts.items() if sid not in old_accounts]
    changes.accounts_removed = [a for sid, a in old_accounts.items() if sid not in new_accounts]
    for sid, acct in new_accounts.items():
        before = old_accounts.get(sid)
        if before is not None and before.status != acct.status:
            changes.status_changed.append(
                StatusChange(sid, acct.friendly_name, before.status, acct.status)
            )
    return changes


def _compare_numbers(
    old: Sequence[PhoneNumber], new: Sequence[PhoneNumber], changes: InventoryChanges
) -> None:
    old_by_sid = {n.sid: n for n in old}
    old_by_e164 = {n.phone_number: n for n in old}
    matched_old: set[str] = set()
    for n in new:
        before = old_by_sid.get(n.sid) or old_by_e164.get(n.phone_number)
        if before is None:
            changes.numbers_added.append(n)
            continue
        matched_old.add(before.sid)
        if before.account_sid != n.account_sid:
            changes.numbers_moved.append(
                NumberMove(n.phone_number, before.sid, n.sid, before.account_sid, n.account_sid)
            )
    changes.numbers_released = [n for n in old if n.sid not in matched_old]
    for items in (changes.numbers_added, changes.numbers_released):
        items.sort(key=lambda n: (n.account_sid, n.phone_number))
    changes.numbers_moved.sort(key=lambda m: m.phone_number)
