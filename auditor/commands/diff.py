"""`twilio-audit diff OLD NEW`: what changed since the previous run, failing on new findings."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from auditor.accept import apply_acceptances, as_of_date, load_accept_file
from auditor.analysis import analyse
from auditor.commands.options import Accept, FailOn
from auditor.diff import Comparison, compare_with_baseline
from auditor.errors import AuditorError
from auditor.model import PolicyEntry, Snapshot
from auditor.policy import load_policy
from auditor.regional import RegionalInput
from auditor.render.comparison import render
from auditor.snapshot import load_snapshots, write_atomic
from auditor.text import visible

NAME = "diff"
HELP = (
    "Compare two runs (snapshot files or audit output folders): findings new, resolved and "
    "unchanged; numbers added, released or moved; verified caller IDs; account status. "
    "A folder with one snapshot per region (as `report --out` writes it) is compared as one "
    "multi-region run. Exit 1 when a new finding is at or above --fail-on."
)


class DiffFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    MD = "md"
    HTML = "html"


def compare_snapshots(
    old: Snapshot | RegionalInput,
    new: Snapshot | RegionalInput,
    policy: list[PolicyEntry] | None = None,
) -> Comparison:
    """Analyse both runs (the new one against the old as baseline) and compare them.

    Either run may cover several regions: each is analysed as one multi-region input.
    """
    before, after = RegionalInput.of(old), RegionalInput.of(new)
    # With the old run as baseline, numbers that were authorized and are gone now
    # (callerid-released) show up as new findings: they are regressions too.
    new_findings = analyse(after, baseline=before, policy=policy).findings
    return compare_with_baseline(before.merged, after.merged, new_findings, policy=policy)


def run(
    old: Annotated[
        Path,
        typer.Argument(
            metavar="OLD",
            help="The earlier run: snapshot.json (or .json.gz) or an audit --out folder.",
        ),
    ],
    new: Annotated[
        Path,
        typer.Argument(
            metavar="NEW",
            help="The later run: snapshot.json (or .json.gz) or an audit --out folder.",
        ),
    ],
    fmt: Annotated[
        DiffFormat, typer.Option("--format", "-f", help="Output format.")
    ] = DiffFormat.TEXT,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", metavar="FILE", help="Write to this file instead of stdout."),
    ] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a NEW finding is at or above this severity ('never': always 0).",
        ),
    ] = FailOn.HIGH,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            metavar="FILE",
            help="The policy file the audits used, so policy-callerid-missing is compared too.",
        ),
    ] = None,
    accept: Accept = None,
) -> int:
    """Exit 0 when no new finding reaches --fail-on, 1 when one does, 2 on bad input."""
    entries = load_policy(policy) if policy is not None else None
    accepted = load_accept_file(accept) if accept is not None else None
    old_run = RegionalInput.of(load_snapshots([old]))
    new_run = RegionalInput.of(load_snapshots([new]))
    before, after = old_run.merged, new_run.merged
    if before.root_account_sid != after.root_account_sid:
        raise AuditorError(
            f"{old} is a run of {before.root_account_sid}, {new} of {after.root_account_sid}; "
            "compare two runs of the same hierarchy"
        )
    if before.collected_at > after.collected_at:
        print(
            visible(
                f"twilio-audit: warning: OLD ({before.collected_at}) was collected after NEW "
                f"({after.collected_at}); did you swap them?"
            ),
            file=sys.stderr,
        )
    if old_run.regions != new_run.regions:
        print(
            f"twilio-audit: warning: OLD covers {', '.join(r.upper() for r in old_run.regions)}, "
            f"NEW {', '.join(r.upper() for r in new_run.regions)}; findings of a region only one "
            "run covers show as new or resolved",
            file=sys.stderr,
        )
    comp = compare_snapshots(old_run, new_run, entries)
    if accepted is not None:  # judged on the day NEW was collected, as `audit` does
        outcome = apply_acceptances(
            [*comp.new, *comp.unchanged], accepted, as_of_date(after.collected_at)
        )
        for line in outcome.warnings():
            print(visible(f"twilio-audit: {line}"), file=sys.stderr)
    text = render(comp, fmt.value)
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomic(out, text)
        print(
            f"wrote {out}: {len(comp.new)} new, {len(comp.resolved)} resolved, "
            f"{len(comp.unchanged)} unchanged finding(s)",
            file=sys.stderr,
        )
    failing = comp.new_at_or_above(fail_on.value)
    if failing:
        print(
            f"twilio-audit: {len(failing)} new finding(s) at or above {fail_on.value}",
            file=sys.stderr,
        )
        return 1
    return 0
