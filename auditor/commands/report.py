"""`twilio-audit report SNAPSHOT`: analyse a saved snapshot and write the reports, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.commands.audit import (
    Accent,
    Baseline,
    ClientName,
    Logo,
    Paper,
    Policy,
    PreparedBy,
    interruptible,
    print_outcome,
    report_options,
)
from auditor.commands.options import (
    Accept,
    FailOn,
    FailOnOpt,
    Formats,
    History,
    OutDir,
    Strict,
)
from auditor.pipeline import AuditOptions, run_report

NAME = "report"
HELP = (
    "Turn saved snapshots (snapshot.json or snapshot.json.gz files, or audit folders) into "
    "reports, offline: no request is sent. Give one snapshot per Twilio Region the hierarchy "
    "uses (each collected with that region's credentials): every Dial is judged in the region "
    "it runs in. Exit 0 clean, 1 findings at or above --fail-on, 2 bad input."
)


def run(
    snapshot: Annotated[
        list[Path],
        typer.Argument(
            metavar="SNAPSHOT",
            help="snapshot.json (or .json.gz), or the --out folder of collect/audit; one per "
            "region of the same hierarchy (a folder may hold several: snapshot.json, "
            "snapshot-ie1.json).",
        ),
    ],
    out: OutDir,
    format: Formats = None,
    baseline: Baseline = None,
    policy: Policy = None,
    client_name: ClientName = "",
    prepared_by: PreparedBy = "",
    paper: Paper = "a4",
    logo: Logo = None,
    accent: Accent = None,
    fail_on: FailOnOpt = FailOn.HIGH,
    strict: Strict = False,
    accept: Accept = None,
    history: History = None,
    compress: Annotated[
        bool,
        typer.Option(
            "--compress",
            help="Write the copies of the snapshots in --out gzip-compressed "
            "(snapshot.json.gz). Without it a copy is compressed when an input was.",
        ),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            help="No findings table: the files written, one line of counts, and problems.",
        ),
    ] = False,
) -> int:
    report = report_options(client_name, prepared_by, paper, logo, accent)
    options = AuditOptions(
        out_dir=out,
        formats=format or [],
        baseline=baseline,
        policy=policy,
        report=report,
        fail_on=fail_on,
        strict=strict,
        accept=accept,
        history=history,
        compress=compress,
    )
    with interruptible():
        result = run_report(snapshot, options)
    print_outcome(result, quiet=quiet)
    return result.exit_code
