"""Runs of one hierarchy over time, for the history and accepted-risk tests.

`run(day, drop=…)` is the renderer fixture's snapshot collected on `day`, with the findings
at the given positions left out (fixed in that run). Findings carry real fingerprints.
"""

from __future__ import annotations

import copy
from pathlib import Path

from render_fixtures import build_analysis, build_snapshot

from auditor.findings import assign_fingerprints, sort_findings
from auditor.model import Analysis, Snapshot


def analysis() -> Analysis:
    a = build_analysis()
    a.findings = sort_findings(a.findings)
    assign_fingerprints(a.findings)
    return a


def run(day: str, drop: tuple[int, ...] = ()) -> tuple[Snapshot, Analysis]:
    snapshot = copy.deepcopy(build_snapshot())
    snapshot.collected_at = f"{day}T12:00:00Z"
    a = analysis()
    a.findings = [f for i, f in enumerate(a.findings) if i not in drop]
    return snapshot, a


def accept_toml(path: Path, entries: list[dict[str, object]]) -> Path:
    lines = []
    for entry in entries:
        lines.append("[[accept]]")
        for key, value in entry.items():
            lines.append(f"{key} = {value if key == 'expires' else repr(value)}")
        lines.append("")
    path.write_text("\n".join(lines).replace("'", '"'), encoding="utf-8")
    return path


def analysed_snapshot(day: str, *, duplicate_fixed: bool = False) -> Snapshot:
    """The fixture hierarchy as the real analysis sees it: two findings (a 13214 alert and
    a verified caller ID held by two accounts); `duplicate_fixed` removes the second one."""
    snapshot = copy.deepcopy(build_snapshot())
    snapshot.collected_at = f"{day}T12:00:00Z"
    if duplicate_fixed:
        snapshot.verified_caller_ids = [
            v for v in snapshot.verified_caller_ids if v.friendly_name != "Front desk <i>cell</i>"
        ]
    return snapshot
