"""A Comparison (auditor.diff) as text, JSON, Markdown or HTML, for `diff` and every report.

The comparison is data computed by auditor.diff; this module only presents it,
so `twilio-audit diff` and the 'Changes since the previous run' section of every
report say the same thing in the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from auditor.codec import to_data
from auditor.diff import DIFF_SCHEMA_VERSION, Comparison, StatusChange
from auditor.findings import finding_dict
from auditor.model import Finding
from auditor.redact import redact_data, redact_url
from auditor.render.markdown import md_text
from auditor.render.templating import environment
from auditor.render.view import name_accounts, split_sentence
from auditor.text import dump_json, visible_lines

TEMPLATE_NAME = "diff.html"


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
    return dump_json(redact_data(to_json_data(comp)))


def message(comp: Comparison, f: Finding) -> str:
    """The finding's message as prose: accounts by name (their SIDs are in the tables)."""
    return name_accounts(f.message, comp.account_names, None)


def accepted_note(f: Finding) -> str:
    """' (accepted until 2027-03-31: reason)' for an accepted finding, else ''."""
    a = f.acceptance
    return f" (accepted until {a.expires}: {a.reason})" if a is not None else ""


def _finding_line(comp: Comparison, f: Finding) -> str:
    value = f.caller_id or f.raw_value or "-"
    return (
        f"[{f.severity}] {f.rule}  {value}  in {comp.account_label(f.account_sid)}: "
        f"{message(comp, f)}{accepted_note(f)}"
    )


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


def _plain(text: str) -> str:
    """Each line safe for a terminal: controls and bidi marks made visible, no URL password."""
    return visible_lines(redact_url(text))


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
    return md_text(text)


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
                f"{_md(comp.account_label(f.account_sid))} | "
                f"{_md(message(comp, f) + accepted_note(f))} |"
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
    """The diff as an HTML section (a whole page with `standalone`); everything is escaped.

    In a report (not standalone) each finding is one row of facts and a full-width line of
    its first sentence, pointing to the rule's section for the rest: a long message in a
    narrow column made one finding per page in the PDF.
    """

    def prose(f: Finding) -> str:
        text = message(comp, f)
        return text if standalone else split_sentence(text)[0]

    return (
        environment()
        .get_template(TEMPLATE_NAME)
        .render(
            comp=comp,
            summary=_summary(comp),
            inventory=inventory_sections(comp),
            standalone=standalone,
            prose=prose,
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
