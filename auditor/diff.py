"""Compare two runs: which findings are new, resolved or unchanged, and what moved in the inventory.

A periodic compliance review is a diff against last time: a pipeline fails on
*new* findings, not on ones already accepted. Findings are matched by
`Finding.fingerprint` (stable across runs); inventory items by SID and E.164.
Everything here is a pure function over data, so `diff`, `audit --baseline`
and the reports all agree.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from auditor.analysis import analyse
from auditor.codec import to_data
from auditor.findings import exceeds, finding_dict, fingerprint, sort_findings
from auditor.model import (
    Account,
    AccountStatus,
    Finding,
    PhoneNumber,
    PolicyEntry,
    Snapshot,
    VerifiedCallerId,
)
from auditor.render.templating import environment

DIFF_SCHEMA_VERSION = 1
TEMPLATE_NAME = "diff.html"

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
        """New findings at or above `severity` ("never" matches none): what fails a pipeline."""
        return [f for f in self.new if exceeds([f], severity)]

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


# --------------------------------------------------------------------------- renderers


def to_json_data(comp: Comparison) -> dict[str, Any]:
    """The JSON document `diff --format json` writes (stable keys, documented in the README)."""
    inv = comp.inventory
    return {
        "schema_version": DIFF_SCHEMA_VERSION,
        "old": {
            "collected_at": comp.old_collected_at,
            "root_account_sid": comp.old_root_account_sid,
        },
        "new": {
            "collected_at": comp.new_collected_at,
            "root_account_sid": comp.new_root_account_sid,
        },
        "summary": {
            "findings_new": len(comp.new),
            "findings_resolved": len(comp.resolved),
            "findings_unchanged": len(comp.unchanged),
            "inventory_changes": inv.count(),
        },
        "findings": {
            "new": [finding_dict(f) for f in comp.new],
            "resolved": [finding_dict(f) for f in comp.resolved],
            "unchanged": [finding_dict(f) for f in comp.unchanged],
        },
        "inventory": {
            "numbers_added": to_data(inv.numbers_added),
            "numbers_released": to_data(inv.numbers_released),
            "numbers_moved": to_data(inv.numbers_moved),
            "verified_caller_ids_added": to_data(inv.verified_added),
            "verified_caller_ids_removed": to_data(inv.verified_removed),
            "accounts_added": to_data(inv.accounts_added),
            "accounts_removed": to_data(inv.accounts_removed),
            "status_changed": [{**to_data(s), "change": s.change} for s in inv.status_changed],
        },
    }


def render_json(comp: Comparison) -> str:
    return json.dumps(to_json_data(comp), indent=2, ensure_ascii=False) + "\n"


def _finding_line(comp: Comparison, f: Finding) -> str:
    value = f.caller_id or f.raw_value or "-"
    return f"[{f.severity}] {f.rule}  {value}  in {comp.account_label(f.account_sid)}: {f.message}"


@dataclass
class InventorySection:
    heading: str
    marker: str  # "+", "-" or "~" in the text output
    lines: list[str]


def inventory_sections(comp: Comparison) -> list[InventorySection]:
    """One section per kind of inventory change that happened; shared by every renderer."""
    inv = comp.inventory
    label = comp.account_label

    def status_line(s: StatusChange) -> str:
        why = f" ({s.change})" if s.change != s.new_status else ""
        return f"{label(s.account_sid)}: {s.old_status} → {s.new_status}{why}"

    sections = [
        InventorySection(
            "Numbers added",
            "+",
            [f"{n.phone_number} ({n.sid}) in {label(n.account_sid)}" for n in inv.numbers_added],
        ),
        InventorySection(
            "Numbers released",
            "-",
            [
                f"{n.phone_number} ({n.sid}) was in {label(n.account_sid)}"
                for n in inv.numbers_released
            ],
        ),
        InventorySection(
            "Numbers moved between accounts",
            "~",
            [
                f"{m.phone_number} ({m.new_sid}): {label(m.old_account_sid)} → "
                f"{label(m.new_account_sid)}"
                for m in inv.numbers_moved
            ],
        ),
        InventorySection(
            "Verified caller IDs added",
            "+",
            [f"{v.phone_number} in {label(v.account_sid)}" for v in inv.verified_added],
        ),
        InventorySection(
            "Verified caller IDs removed",
            "-",
            [f"{v.phone_number} was in {label(v.account_sid)}" for v in inv.verified_removed],
        ),
        InventorySection(
            "Accounts added", "+", [f"{label(a.sid)}: {a.status}" for a in inv.accounts_added]
        ),
        InventorySection(
            "Accounts removed",
            "-",
            [f"{label(a.sid)}: was {a.status}" for a in inv.accounts_removed],
        ),
        InventorySection(
            "Account status changes", "~", [status_line(s) for s in inv.status_changed]
        ),
    ]
    return [section for section in sections if section.lines]


def _summary(comp: Comparison) -> str:
    return (
        f"{len(comp.new)} new, {len(comp.resolved)} resolved, {len(comp.unchanged)} unchanged "
        f"finding(s); {comp.inventory.count()} inventory change(s)"
    )


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain(text: str) -> str:
    """Drop terminal control characters (account names are account-controlled)."""
    return _CONTROL.sub("?", text)


def render_text(comp: Comparison) -> str:
    out = [
        f"twilio-audit diff: {comp.old_collected_at} → {comp.new_collected_at} "
        f"(root {comp.new_root_account_sid})",
        _summary(comp),
    ]
    for heading, items in (
        ("New findings", comp.new),
        ("Resolved findings", comp.resolved),
    ):
        if items:
            out += ["", f"{heading} ({len(items)})"]
            out += [f"  {_finding_line(comp, f)}" for f in items]
    sections = inventory_sections(comp)
    if sections:
        out += ["", "Inventory changes"]
        for section in sections:
            out.append(f"  {section.heading} ({len(section.lines)})")
            out += [f"    {section.marker} {line}" for line in section.lines]
    if not comp.new and not comp.resolved and not sections:
        out += ["", "No change."]
    return _plain("\n".join(out)) + "\n"


def _md(text: str) -> str:
    """Escape what Markdown would otherwise interpret in account-controlled text."""
    for ch in "\\`*_[]<>|#":
        text = text.replace(ch, "\\" + ch)
    return _plain(text.replace("\r", " ").replace("\n", " "))


def render_markdown(comp: Comparison) -> str:
    out = [
        "## Changes since the previous run",
        "",
        f"Compared {_md(comp.old_collected_at)} with {_md(comp.new_collected_at)}: "
        f"{_md(_summary(comp))}.",
    ]
    for heading, items in (
        ("New findings", comp.new),
        ("Resolved findings", comp.resolved),
    ):
        if not items:
            continue
        out += [
            "",
            f"### {heading} ({len(items)})",
            "",
            "| Severity | Rule | Caller ID | Account | Message |",
            "|---|---|---|---|---|",
        ]
        for f in items:
            out.append(
                f"| {_md(f.severity)} | `{f.rule}` | {_md(f.caller_id or f.raw_value or '-')} | "
                f"{_md(comp.account_label(f.account_sid))} | {_md(f.message)} |"
            )
    sections = inventory_sections(comp)
    if sections:
        out += ["", "### Inventory changes"]
        for section in sections:
            out += ["", f"**{section.heading} ({len(section.lines)})**", ""]
            out += [f"- {_md(line)}" for line in section.lines]
    if not comp.new and not comp.resolved and not sections:
        out += ["", "No change."]
    return "\n".join(out) + "\n"


def render_html(comp: Comparison, *, standalone: bool = False) -> str:
    """The diff as an HTML section (a whole page with `standalone`); everything is escaped."""
    return (
        environment()
        .get_template(TEMPLATE_NAME)
        .render(
            comp=comp,
            summary=_summary(comp),
            inventory=inventory_sections(comp),
            standalone=standalone,
        )
    )


FORMATS = ("text", "json", "md", "html")


def render(comp: Comparison, fmt: str) -> str:
    """The diff in one of FORMATS (HTML as a whole page: a file a browser opens)."""
    if fmt == "json":
        return render_json(comp)
    if fmt == "md":
        return render_markdown(comp)
    if fmt == "html":
        return render_html(comp, standalone=True)
    if fmt == "text":
        return render_text(comp)
    raise ValueError(f"unknown diff format {fmt!r}; use one of {', '.join(FORMATS)}")
