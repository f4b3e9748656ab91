"""report.md: summary and findings, short enough for a ticket or a pull request."""

from __future__ import annotations

import re

from auditor.redact import redact_url
from auditor.render.templating import clip
from auditor.render.view import ReportView
from auditor.text import visible

_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#])")
# What a Markdown renderer would turn into a link on its own (GFM autolinks): URLs with a
# scheme, www. names and e-mail addresses. They go into code spans instead.
_LINKISH = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.\-]*://|www\.)\S+"
    r"|[^\s@<>()\[\]`|]+@[^\s@<>()\[\]`|]+\.[a-z]{2,}\S*"
)
_BACKTICKS = re.compile(r"`+")
_TRAILING = ".,:;!?'\")]}"
MAX_FINDINGS = 500


def code_span(text: str) -> str:
    """`text` as a code span: shown literally, never a link. `|` would end a table cell
    even there, so it is written %7C (the same URL)."""
    text = text.replace("|", "%7C")
    fence = "`" * (max((len(m) for m in _BACKTICKS.findall(text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def md_text(value: object) -> str:
    """Account data as Markdown that renders as the text it is: one line, no HTML, no
    emphasis, links, tables or headings, no invisible or bidi characters, no URL password;
    URLs and e-mail addresses in code spans."""
    text = visible(redact_url(" ".join(("" if value is None else str(value)).split())))
    out: list[str] = []
    pos = 0
    for m in _LINKISH.finditer(text):
        link = m.group().rstrip(_TRAILING)  # "see https://x/y." ends the sentence, not the URL
        if not link:
            continue
        out.append(_SPECIAL.sub(r"\\\1", text[pos : m.start()]))
        out.append(code_span(link))
        pos = m.start() + len(link)
    out.append(_SPECIAL.sub(r"\\\1", text[pos:]))
    return "".join(out)


def md(value: object, limit: int = 200) -> str:
    """`md_text` of account data clipped to `limit` characters for a table or a line."""
    return md_text(clip(" ".join(("" if value is None else str(value)).split()), limit))


def render_markdown(view: ReportView) -> str:
    lines = ["# Caller ID audit"]
    if view.options.client_name:
        lines.append(f"\nPrepared for **{md(view.options.client_name, 120)}**")
    meta = [f"Parent account {md(view.root_name)} ({code_span(visible(view.root_sid))})"]
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
                f"| {md(f.severity)}{' (new)' if f.status == 'new' else ''} | "
                f"{md(fv.account_name, 60)} | "
                f"{md(f.caller_id or f.raw_value or '(empty)', 40)}"
                f"{' → ' + md(fv.destination_short, 30) if fv.destination_short else ''} | "
                f"{md(fv.source, 80)}{via} | "
                f"{md(fv.remediation, 300)} |"
            )
    total = sum(g.count for g in view.groups)
    if total > written:
        lines.append(f"\n{total - written:,} more findings are in findings.json.")
    return "\n".join(lines) + "\n"
