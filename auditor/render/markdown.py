"""report.md: summary and findings, short enough for a ticket or a pull request."""

from __future__ import annotations

import re

from auditor.render.templating import clip
from auditor.render.view import ReportView

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
MAX_FINDINGS = 500


def md(value: object, limit: int = 200) -> str:
    """Escape account data so it renders as text (no HTML, links, tables or code spans)."""
    text = clip(" ".join(("" if value is None else str(value)).split()), limit)
    return _SPECIAL.sub(r"\\\1", text)


def render_markdown(view: ReportView) -> str:
    lines = ["# Caller ID audit"]
    if view.options.client_name:
        lines.append(f"\nPrepared for **{md(view.options.client_name, 120)}**")
    meta = [f"Parent account {md(view.root_name)} (`{view.root_sid}`)"]
    meta.append(f"{view.account_count:,} accounts, {view.number_count:,} numbers")
    regions = ", ".join(r.label for r in view.coverage.regions)
    missing = ", ".join(view.coverage.regions_not_audited)
    meta.append(f"regions {regions}" + (f"; not audited: {md(missing)}" if missing else ""))
    meta.append(f"generated {view.generated_display}")
    lines.append("\n" + " · ".join(meta))
    lines.append("\n## Summary\n")
    lines.extend(f"{s}\n" for s in view.risk)
    lines.append("| " + " | ".join(s for s, _ in view.counts) + " | total |")
    lines.append("|" + "---:|" * (len(view.counts) + 1))
    lines.append("| " + " | ".join(str(n) for _, n in view.counts) + f" | {view.total_findings} |")
    if view.actions:
        lines.append("\n### Actions that fix the most\n")
        for i, a in enumerate(view.actions, 1):
            sev = ", ".join(f"{n} {s}" for s, n in a.by_severity)
            cid = md(a.caller_id or "(empty)", 60)
            lines.append(
                f"{i}. **{md(a.headline, 300)}** {md(a.detail, 600)} "
                f"(caller ID {cid} in {md(a.account_name)}; fixes {a.fixes}: {sev})"
            )
    if view.changes_md:
        lines.append("\n" + view.changes_md.replace("\n# ", "\n## ").strip() + "\n")
    lines.append("\n## Findings\n")
    if not view.groups:
        lines.append("No finding.")
    written = 0
    for g in view.groups:
        lines.append(f"\n### {md(g.info.title)} ({g.severity}, {g.count:,})\n")
        lines.append(f"Rule `{g.info.id}`" + (f": {md(g.info.risk, 600)}" if g.info.risk else ""))
        lines.append("")
        lines.append("| severity | account | caller ID | source | fix |")
        lines.append("|---|---|---|---|---|")
        for fv in g.findings:
            if written >= MAX_FINDINGS:
                break
            written += 1
            f = fv.finding
            via = f" ({md(fv.via_label)})" if fv.via_label else ""
            lines.append(
                f"| {f.severity}{' (new)' if f.status == 'new' else ''} | "
                f"{md(fv.account_name, 60)} | "
                f"{md(f.caller_id or f.raw_value or '(empty)', 40)} | {md(fv.source, 80)}{via} | "
                f"{md(fv.remediation, 300)} |"
            )
    total = sum(g.count for g in view.groups)
    if total > written:
        lines.append(f"\n{total - written:,} more findings are in findings.json.")
    return "\n".join(lines) + "\n"
