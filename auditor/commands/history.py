"""`twilio-audit history`: the runs recorded with --history, or one finding's life."""

from __future__ import annotations

import csv
import io
import json
import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from auditor.commands.options import History
from auditor.errors import AuditorError
from auditor.history import ENV_VAR, Life, StoredRun, build_timeline
from auditor.history.records import SEVERITIES, iso
from auditor.text import visible_lines

if TYPE_CHECKING:
    from auditor.history.store import HistoryStore

NAME = "history"
HELP = (
    "List the runs recorded with --history (oldest first, with counts by severity), or with "
    "--finding FINGERPRINT one finding's life: first seen, last seen, fixed, reopened. "
    f"TARGET from --history or {ENV_VAR}."
)


class HistoryFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    CSV = "csv"


def run_dict(run: StoredRun) -> dict[str, Any]:
    """One entry of `history --format json` (counts: every finding; accepted: of which)."""
    return {
        "collected_at": iso(run.collected_at),
        "root_account_sid": run.root_account_sid,
        "counts": dict(run.counts),
        "total": run.total,
        "accepted": dict(run.accepted),
        "open": run.open_counts(),
        "regions": list(run.regions),
        "tool_version": run.tool_version,
        "recorded_at": iso(run.recorded_at),
        "coverage": dict(run.coverage),
    }


def life_dict(life: Life) -> dict[str, Any]:
    return {
        "fingerprint": life.fingerprint,
        "rule": life.rule,
        "severity": life.severity,
        "root_account_sid": life.root_account_sid,
        "account_sid": life.account_sid,
        "caller_id": life.caller_id,
        "first_seen": iso(life.first_seen),
        "last_seen": iso(life.last_seen),
        "runs_seen": life.runs_seen,
        "open": life.is_open,
        "fixed": [iso(t) for t in life.fixed],
        "reopened": [iso(t) for t in life.reopened],
    }


def _csv(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def render_runs(runs: list[StoredRun], fmt: str) -> str:
    if fmt == HistoryFormat.JSON:
        return json.dumps({"runs": [run_dict(r) for r in runs]}, indent=2) + "\n"
    header = ["collected_at", "root_account_sid", "regions", *SEVERITIES, "total", "accepted"]
    rows = [
        [
            iso(r.collected_at),
            r.root_account_sid,
            " ".join(r.regions),
            *(r.counts.get(s, 0) for s in SEVERITIES),
            r.total,
            sum(r.accepted.values()),
        ]
        for r in runs
    ]
    if fmt == HistoryFormat.CSV:
        return _csv([header, *rows])
    if not runs:
        return "No run recorded.\n"
    table: list[list[Any]] = [list(header), *rows]
    widths = [max(len(str(line[i])) for line in table) for i in range(len(header))]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]
    return "\n".join(lines) + "\n"


def render_life(life: Life, fmt: str) -> str:
    data = life_dict(life)
    if fmt == HistoryFormat.JSON:
        return json.dumps(data, indent=2) + "\n"
    if fmt == HistoryFormat.CSV:
        keys = list(data)
        values = [" ".join(v) if isinstance(v, list) else v for v in data.values()]
        return _csv([keys, values])
    lines = [
        f"finding {life.fingerprint}",
        f"  {life.severity} {life.rule}: {life.caller_id or '-'} in {life.account_sid or '-'}",
        f"  first seen  {data['first_seen']}",
        f"  last seen   {data['last_seen']}  ({life.runs_seen} run(s))",
    ]
    for e in life.episodes:
        end = f"fixed {iso(e.end)}" if e.end is not None else "still open"
        lines.append(f"  open {iso(e.start)} → {end}")
    lines.append(f"  reopened    {', '.join(data['reopened']) or 'never'}")
    lines.append(f"  now         {'open' if life.is_open else 'fixed'}")
    return visible_lines("\n".join(lines)) + "\n"  # caller IDs come from customer data


def run(
    history: History = None,
    fmt: Annotated[
        HistoryFormat, typer.Option("--format", "-f", help="Output format.")
    ] = HistoryFormat.TEXT,
    finding: Annotated[
        str | None,
        typer.Option(
            "--finding",
            metavar="FINGERPRINT",
            help="One finding's life (its fingerprint from findings.json; a unique prefix of "
            "at least 8 characters will do).",
        ),
    ] = None,
) -> int:
    if not history:
        raise AuditorError(
            f"history needs a database: pass --history TARGET (a file path or a postgresql:// "
            f"URL) or set {ENV_VAR}"
        )
    from auditor.history.store import HistoryStore  # SQLAlchemy: loaded for this command only

    store = HistoryStore.open(history, create=False)
    try:
        if finding is None:
            sys.stdout.write(render_runs(store.runs(), fmt.value))
            return 0
        sys.stdout.write(render_life(_life(store, finding), fmt.value))
        return 0
    finally:
        store.close()


def _life(store: HistoryStore, fingerprint: str) -> Life:
    prefix = fingerprint.strip().lower()
    if len(prefix) < 8 or any(c not in "0123456789abcdef" for c in prefix):
        raise AuditorError(
            f"--finding {fingerprint!r}: expected a fingerprint (hex, at least 8 characters) "
            "from findings.json"
        )
    rows = store.finding_rows(fingerprint=prefix)
    matches = sorted({r.fingerprint for r in rows})
    if not matches:
        raise AuditorError(
            f"--finding {prefix}: no such finding in {store.target.display}; "
            "`twilio-audit history` lists the runs"
        )
    if len(matches) > 1:
        raise AuditorError(
            f"--finding {prefix}: {len(matches)} findings start with it; give more characters"
        )
    run_ids = {r.run_id for r in rows}
    root = next(r.root_account_sid for r in store.runs() if r.id in run_ids)
    timeline = build_timeline(
        store.runs(root=root), [r for r in rows if r.fingerprint == matches[0]]
    )
    life = timeline.life(matches[0])
    assert life is not None
    return life
