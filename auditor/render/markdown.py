"""report.md: summary and findings for a ticket or a pull request, in full detail.

Markdown is a full-detail format: nothing is shortened (the HTML and PDF clip long values
for layout; here every value and finding is written whole), only escaped.
"""

from __future__ import annotations

import re

from auditor.accept import open_findings
from auditor.model import Finding
from auditor.redact import redact_url
from auditor.render.review import ReviewView, display_day
from auditor.render.view import Directory, ReportView, source_text, top_actions
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


def md(value: object) -> str:
    """`md_text` of account data, whole: Markdown never clips (see the module docstring)."""
    return md_text(value)


def _marks(f: Finding) -> str:
    """' (new)', ' (accepted until 31 March 2027: reason, by)' … after the severity."""
    marks = []
    if f.history is not None and f.history.state in ("new", "reopened"):
        marks.append(f.history.state)
    elif f.history is None and f.status == "new":
        marks.append("new")
    if f.acceptance is not None:
        a = f.acceptance
        marks.append(
            f"accepted until {display_day(a.expires)}: {md(a.reason)}, {md(a.accepted_by)}"
        )
    elif f.acceptance_expired is not None:
        marks.append(f"acceptance expired {display_day(f.acceptance_expired.expires)}")
    return "".join(f" ({m})" for m in marks)


def _review(review: ReviewView) -> list[str]:
    lines: list[str] = []
    h = review.history
    if h is not None:
        lines.append("\n## Trend\n")
        if h.previous_run:
            lines.append(
                f"Since the previous run ({h.previous_run}): {h.new} new, {h.reopened} reopened, "
                f"{h.fixed_since_previous} fixed. {h.time_to_fix}\n"
            )
        else:
            lines.append(f"The first run recorded: every finding is new. {h.time_to_fix}\n")
        lines.append(
            f"Open findings by severity in the last {h.window} run(s) "
            f"({h.runs} recorded since {h.first_run}); accepted findings are not open.\n"
        )
        severities = [s for s, _ in h.rows[0].counts]
        lines.append("| run | " + " | ".join(severities) + " | open | accepted |")
        lines.append("|---|" + "---:|" * (len(severities) + 2))
        for row in h.rows:
            counts = " | ".join(str(n) for _, n in row.counts)
            lines.append(f"| {row.date} | {counts} | **{row.open_total}** | {row.accepted} |")
    if review.has_acceptance:
        lines.append("\n## Accepted risks\n")
        lines.append(
            f"Entries of {md(review.accept_file)}, judged on {review.as_of}. An accepted finding "
            "stays in this report, marked, and does not count toward `--fail-on`.\n"
        )
        if review.active:
            lines.append("| entry | accepted finding | reason | accepted by | until | findings |")
            lines.append("|---:|---|---|---|---|---:|")
            for e in review.active:
                lines.append(
                    f"| {e.entry} | {md(e.names)} | {md(e.reason)} | {md(e.accepted_by)} | "
                    f"{e.expires} | {e.matched} |"
                )
        else:
            lines.append("No entry is in force.")
        if review.expired:
            lines.append("\n**Expired: these findings count again**\n")
            lines += [
                f"- entry {e.entry}, {md(e.names)}: expired on {e.expires} ({md(e.reason)}; "
                f"{md(e.accepted_by)}), {e.matched} finding(s)"
                for e in review.expired
            ]
        if review.stale:
            lines.append("\n**Stale: these entries match no finding**\n")
            lines += [
                f"- entry {e.entry}, {md(e.names)} ({md(e.reason)}; {md(e.accepted_by)}, "
                f"until {e.expires})"
                for e in review.stale
            ]
    return lines


def render_markdown(view: ReportView) -> str:
    # Names and labels whole: the HTML's directory shortens them for its layout.
    d = Directory.build(view.snapshot, limit=None) if view.snapshot else view.directory
    assert d is not None
    lines = ["# Caller ID audit"]
    if view.options.client_name:
        lines.append(f"\nPrepared for **{md(view.options.client_name)}**")
    meta = [f"Parent account {md(d.name(view.root_sid))} ({code_span(visible(view.root_sid))})"]
    meta.append(f"{view.account_count:,} accounts, {view.number_count:,} numbers")
    regions = ", ".join(r.label for r in view.coverage.regions)
    missing = ", ".join(view.coverage.regions_not_audited)
    meta.append(f"regions {regions}" + (f"; not audited: {md(missing)}" if missing else ""))
    meta.append(f"generated {view.generated_display}")
    lines.append("\n" + " · ".join(meta))
    lines.append("\n## Summary\n")
    lines.extend(f"{s}\n" for s in view.risk)
    review = view.review
    if review is not None and review.has_acceptance:
        lines.append(
            f"{review.open_total} finding(s) open; {review.accepted_total} accepted "
            "(listed under Accepted risks, not counted toward `--fail-on`).\n"
        )
        lines.append("| | " + " | ".join(s for s, _ in view.counts) + " | total |")
        lines.append("|---|" + "---:|" * (len(view.counts) + 1))
        for label, counts, total in (
            ("open", review.open_counts, review.open_total),
            ("accepted", review.accepted_counts, review.accepted_total),
        ):
            lines.append(f"| {label} | " + " | ".join(str(n) for _, n in counts) + f" | {total} |")
    else:
        lines.append("| " + " | ".join(s for s, _ in view.counts) + " | total |")
        lines.append("|" + "---:|" * (len(view.counts) + 1))
        lines.append(
            "| " + " | ".join(str(n) for _, n in view.counts) + f" | {view.total_findings} |"
        )
    actions = top_actions(open_findings(f.finding for g in view.groups for f in g.findings), d)
    if actions:
        lines.append("\n### Actions that fix the most\n")
        for i, a in enumerate(actions, 1):
            sev = ", ".join(f"{n} {s}" for s, n in a.by_severity)
            cid = md(a.caller_id or "(empty)")
            lines.append(
                f"{i}. **{md(a.headline)}** {md(a.detail)} "
                f"(caller ID {cid} in {md(a.account_name)}; fixes {a.fixes}: {sev})"
            )
    if review is not None:
        lines.extend(_review(review))
    if view.changes_md:
        lines.append("\n" + view.changes_md.replace("\n# ", "\n## ").strip() + "\n")
    lines.append("\n## Findings\n")
    if not view.groups:
        lines.append("No finding.")
    history = review is not None and review.history is not None
    for g in view.groups:
        lines.append(f"\n### {md(g.info.title)} ({g.severity}, {g.count:,})\n")
        lines.append(f"Rule `{g.info.id}`" + (f": {md(g.info.risk)}" if g.info.risk else ""))
        lines.append("")
        since = " first seen | days open |" if history else ""
        lines.append(f"| severity | account | caller ID | source |{since} fix |")
        lines.append("|---|---|---|---|" + ("---|---:|" if history else "") + "---|")
        for fv in g.findings:
            f = fv.finding
            seen = ""
            if history:
                h = f.history
                seen = f" {display_day(h.first_seen)} | {h.days_open} |" if h else " | |"
            source = source_text(f.source.kind, f.source.sid, f.source.location, d)
            via = f" ({md(fv.via_label)})" if fv.via_label else ""
            lines.append(
                f"| {md(f.severity)}{_marks(f)} | {md(d.name(f.account_sid))} | "
                f"{md(f.caller_id or f.raw_value or '(empty)')}"
                f"{' → ' + md(fv.destination_short) if fv.destination_short else ''} | "
                f"{md(source)}{via} |{seen} "
                f"{md(d.humanise(f.remediation))} |"
            )
    return "\n".join(lines) + "\n"
