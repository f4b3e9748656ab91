"""The findings table printed after `audit` and `demo`: the most severe first, and it says
how many it shows ("8 of 23 shown; all in report.html"), or shows all when there are few."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from auditor.findings import sort_findings
from auditor.pipeline import AuditResult
from auditor.text import visible

TOP_FINDINGS = 8
SHOW_ALL = 12  # up to this many findings, the table lists every one


def where_all_are(files: list[Path]) -> str:
    """The file a reader opens for the rest: report.html when written, else the first one."""
    main = next((p for p in files if p.suffix == ".html"), None) or (files[0] if files else None)
    return main.name if main else "the snapshot (run `twilio-audit report` on it)"


def findings_table(result: AuditResult, *, strip_prefix: str = "") -> Table:
    findings = sort_findings(result.analysis.findings)
    total = len(findings)
    shown = findings if total <= SHOW_ALL else findings[:TOP_FINDINGS]
    names = {a.sid: a.friendly_name for a in result.snapshot.accounts}
    caption = None
    if len(shown) < total:
        caption = f"{len(shown)} of {total} shown; all in {visible(where_all_are(result.files))}"
    table = Table(
        title=f"{total} finding{'s' if total != 1 else ''}",
        title_justify="left",
        caption=caption,
        caption_justify="left",
    )
    table.add_column("severity", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("account")
    table.add_column("caller ID", overflow="fold")
    for f in shown:
        account = names.get(f.account_sid or "", f.account_sid or "?")
        cells = (
            f.severity + (" (accepted)" if f.acceptance is not None else ""),
            f.rule,
            account.removeprefix(strip_prefix) if strip_prefix else account,
            f.caller_id or "",
        )
        # rich Text, never markup: an account named "[red]…" or holding escape sequences
        # is printed as the (visible) text it is.
        table.add_row(*(Text(visible(c)) for c in cells))
    return table
