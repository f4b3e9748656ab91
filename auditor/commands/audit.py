"""`twilio-audit audit`: collect, save snapshot.json, analyse and render, in one go.

The collect options are `twilio-audit collect`'s own parameters, reused as they
are declared there (so a new collect option appears here too); the collection
itself runs through that command, which writes OUT/snapshot.json. Then the
offline half of the pipeline (auditor.pipeline) analyses and renders it.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from auditor.commands import collect as collect_command
from auditor.commands.options import Accept, FailOn, FailOnOpt, Formats, History, Strict
from auditor.pipeline import AuditOptions, AuditResult, parse_code_args, run_audit
from auditor.render.options import ReportOptions
from auditor.snapshot import load_snapshot
from auditor.text import visible

NAME = "audit"
HELP = (
    "Audit the hierarchy: collect (as `collect` does), write OUT/snapshot.json, analyse, and "
    "write the reports. Exit 0 clean, 1 findings at or above --fail-on, 2 bad input or "
    "credentials, 3 incomplete audit with --strict, 4 a bug (a crash report is written)."
)

Baseline = Annotated[
    Path | None,
    typer.Option(
        "--baseline",
        help="An earlier snapshot, .json or .json.gz (or audit folder): fires "
        "callerid-released and marks each finding new or unchanged.",
    ),
]
Policy = Annotated[
    Path | None,
    typer.Option("--policy", help="TOML file: the caller IDs each account is meant to use."),
]
Code = Annotated[
    list[str] | None,
    typer.Option(
        "--code",
        help="Also scan this source tree for caller IDs, as PATH or PATH=ACxxx (the account "
        "that runs it); repeat for several.",
    ),
]
Exclude = Annotated[
    list[str] | None,
    typer.Option(
        "--exclude",
        metavar="GLOB",
        help="With --code: do not read paths matching GLOB (relative to each tree, e.g. "
        "'legacy/*', '*.spec.ts'); repeat for several.",
    ),
]
IncludeTests = Annotated[
    bool,
    typer.Option(
        "--include-tests",
        help="With --code: also read test trees and files (test/, __tests__/, *.test.*, "
        "*_test.*, *Test.java …), skipped by default.",
    ),
]
ClientName = Annotated[str, typer.Option("--client-name", help="Client named on the report.")]
PreparedBy = Annotated[str, typer.Option("--prepared-by", help="Author named on the report.")]
Paper = Annotated[str, typer.Option("--paper", help="PDF paper size: a4 or letter.")]
Logo = Annotated[
    Path | None,
    typer.Option(
        "--logo",
        metavar="FILE",
        help="Client logo on the cover: PNG or SVG, at most 256 KiB, embedded (never fetched; "
        "scripts and external references are removed from an SVG).",
    ),
]
Accent = Annotated[
    str | None,
    typer.Option(
        "--accent",
        metavar="COLOR",
        help="Accent colour of the cover and headings, as hex (#1f3a5f); must read on white.",
    ),
]


def report_options(
    client_name: str, prepared_by: str, paper: str, logo: Path | None, accent: str | None
) -> ReportOptions:
    """The report's options, every one checked now (before a slow collection)."""
    from auditor.render.branding import load_logo, parse_accent

    report = ReportOptions(
        client_name=client_name,
        prepared_by=prepared_by,
        paper=paper,
        logo=load_logo(logo) if logo is not None else None,
        accent=parse_accent(accent) if accent is not None else None,
    )
    report.checked_paper()
    return report


_COLLECT_PARAMS = list(inspect.signature(collect_command.run, eval_str=True).parameters.values())
_COLLECT_NAMES = [p.name for p in _COLLECT_PARAMS]


def _own_params() -> list[inspect.Parameter]:
    kw = inspect.Parameter.KEYWORD_ONLY

    def p(name: str, annotation: Any, default: Any) -> inspect.Parameter:
        return inspect.Parameter(name, kw, annotation=annotation, default=default)

    return [
        p("format", Formats, None),
        p("baseline", Baseline, None),
        p("policy", Policy, None),
        p("code", Code, None),
        p("exclude", Exclude, None),
        p("include_tests", IncludeTests, False),
        p("client_name", ClientName, ""),
        p("prepared_by", PreparedBy, ""),
        p("paper", Paper, "a4"),
        p("logo", Logo, None),
        p("accent", Accent, None),
        p("fail_on", FailOnOpt, FailOn.HIGH),
        p("strict", Strict, False),
        p("accept", Accept, None),
        p("history", History, None),
    ]


def run(**kwargs: Any) -> int:
    collect_kwargs = {k: kwargs[k] for k in _COLLECT_NAMES if k in kwargs}
    out: Path = collect_kwargs["out"]
    report = report_options(
        kwargs.get("client_name", ""),
        kwargs.get("prepared_by", ""),
        kwargs.get("paper", "a4"),
        kwargs.get("logo"),
        kwargs.get("accent"),
    )
    code = list(kwargs.get("code") or [])
    parse_code_args(code)  # a typo in --code fails before the collection starts

    def collector() -> Any:
        collect_command.run(**collect_kwargs)
        return load_snapshot(out)  # snapshot.json, or snapshot.json.gz with --compress

    options = AuditOptions(
        out_dir=out,
        formats=kwargs.get("format") or [],
        collector=collector,
        baseline=kwargs.get("baseline"),
        policy=kwargs.get("policy"),
        code=code,
        code_exclude=list(kwargs.get("exclude") or []),
        code_include_tests=bool(kwargs.get("include_tests", False)),
        report=report,
        fail_on=kwargs.get("fail_on", FailOn.HIGH),
        strict=bool(kwargs.get("strict", False)),
        accept=kwargs.get("accept"),
        history=kwargs.get("history"),
        compress=bool(kwargs.get("compress", False)),
    )
    with interruptible():
        result = run_audit(options)
    print_outcome(result, quiet=bool(kwargs.get("quiet", False)))
    return result.exit_code


@contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C becomes click's Abort: the CLI prints one line and exits 130, no traceback."""
    try:
        yield
    except KeyboardInterrupt:
        raise typer.Abort() from None


def print_outcome(result: AuditResult, *, quiet: bool = False) -> None:
    """One line per file written, the counts, the top findings, and what could not be audited.

    With `quiet` the findings table and history lines are left out: a scheduled run logs the
    files and one line of counts (and problems, on stderr).
    """
    _print_summary(result, quiet)
    if result.acceptance is not None:
        for line in result.acceptance.warnings():
            typer.echo(visible(line), err=True)
    if result.incomplete:
        typer.echo(
            f"incomplete: {len(result.incomplete)} source(s) could not be read "
            "(see the coverage section); --strict makes this exit 3",
            err=True,
        )


def _print_summary(result: AuditResult, quiet: bool) -> None:
    for path in result.files:
        typer.echo(visible(f"wrote {path}"))
    counts = result.counts
    summary = ", ".join(f"{n} {sev}" for sev, n in counts.items() if n)
    line = f"{len(result.analysis.findings)} finding(s)" + (f": {summary}" if summary else "")
    accepted = sum(counts.values()) - sum(result.open_counts.values())
    if result.acceptance is not None:
        line += f"; {accepted} accepted (not counted toward --fail-on)"
    typer.echo(line)
    if quiet:
        return
    if result.history is not None:
        h = result.history
        typer.echo(
            visible(
                f"history {h.target}: run {h.runs} of this hierarchy; {h.new} new, "
                f"{h.reopened} reopened, {h.fixed_since_previous} fixed since the previous run"
            )
        )
    if result.comparison is not None:
        comp = result.comparison
        typer.echo(
            visible(
                f"against the baseline of {comp.old_collected_at}: {len(comp.new)} new, "
                f"{len(comp.resolved)} resolved, {len(comp.unchanged)} unchanged"
            )
        )
    if result.analysis.findings:
        from rich.console import Console

        from auditor.commands.summary import findings_table

        Console(highlight=False).print(findings_table(result))


run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in _COLLECT_PARAMS] + _own_params(),
    return_annotation=int,
)
