"""The audit pipeline: collect → save snapshot.json → analyse → render → exit code.

`run_audit` does the whole job against the API (or an emulator through
--api-url); `run_report` does analyse + render offline from a saved snapshot.
Both end in `_analyse_and_render`, so `audit` and `report` on the same
snapshot give the same findings and the same files. Nothing here prints: the
commands decide what the user sees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from auditor import heap
from auditor.accept import (
    AcceptanceReport,
    AcceptFile,
    apply_acceptances,
    as_of_date,
    load_accept_file,
    open_findings,
)
from auditor.analysis import analyse
from auditor.diff import Comparison, compare_with_baseline
from auditor.errors import AuditorError
from auditor.extract.code import ScanResult, scan_paths
from auditor.files import prepare_out_dir
from auditor.findings import FailOn, exceeds, severity_counts
from auditor.history import HistoryReport, record_and_review
from auditor.model import Analysis, PolicyEntry, Snapshot
from auditor.policy import load_policy
from auditor.progress import NullProgress, Progress
from auditor.regional import RegionalInput
from auditor.render import render_reports
from auditor.render.options import DEFAULT_FORMATS, Format, ReportOptions
from auditor.snapshot import (
    holds_snapshot,
    is_compressed,
    load_snapshots,
    resolve_snapshot_paths,
    save_snapshots,
)

if TYPE_CHECKING:
    # Loaded when used: the SDK and HTTP stack (collect) and SQLAlchemy (--history) are not
    # needed to report on a saved snapshot, and cost most of the CLI's start-up.
    from auditor.collect import CollectConfig
    from auditor.history.store import HistoryStore

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_INCOMPLETE = 3

_CODE_ACCOUNT = re.compile(r"^(?P<path>.+)=(?P<sid>AC[0-9a-fA-F]{32})$")


@dataclass
class AuditOptions:
    """Everything `audit`, `report` and `demo` decide before the pipeline runs."""

    out_dir: Path
    formats: Sequence[Format | str] = field(default_factory=lambda: list(DEFAULT_FORMATS))
    collect: CollectConfig | None = None  # None for `report` (offline)
    # Instead of `collect` (the audit command; the demo returns one snapshot per region).
    collector: Callable[[], Snapshot | Sequence[Snapshot]] | None = None
    progress: Progress | None = None
    baseline: Path | None = None  # --baseline OLD (snapshot file or audit folder, all regions)
    baseline_snapshot: Snapshot | None = None  # already in memory (demo)
    policy: Path | None = None
    code: Sequence[str] = ()  # --code PATH[=ACxxx]
    code_exclude: Sequence[str] = ()  # --exclude GLOB: paths in the --code trees not read
    code_include_tests: bool = False  # --include-tests: read test trees and files too
    report: ReportOptions = field(default_factory=ReportOptions)
    fail_on: FailOn | str = FailOn.HIGH
    strict: bool = False
    accept: Path | None = None  # --accept FILE: accepted risks
    history: str | None = None  # --history TARGET: SQLite path or database URL
    compress: bool = False  # --compress: snapshot.json.gz (report: also when an input was)


@dataclass
class AuditResult:
    """What a run produced: the data, the files written and the exit code it implies."""

    snapshot: Snapshot
    analysis: Analysis
    out_dir: Path
    snapshot_path: Path
    files: list[Path]
    exit_code: int
    incomplete: list[str]  # "ACxxx: source: error: …" lines, empty when coverage is complete
    comparison: Comparison | None = None  # against --baseline: new / resolved / unchanged
    acceptance: AcceptanceReport | None = None  # with --accept: what each entry did
    history: HistoryReport | None = None  # with --history: trend, new / reopened

    @property
    def counts(self) -> dict[str, int]:
        return severity_counts(self.analysis.findings)

    @property
    def open_counts(self) -> dict[str, int]:
        """Counts of the findings no acceptance in force covers."""
        return severity_counts(open_findings(self.analysis.findings))


# --------------------------------------------------------------------------- entry points


def run_audit(options: AuditOptions) -> AuditResult:
    """collect → snapshot.json → analyse → render; raise AuditorError on bad input."""
    with heap.held():
        return _run_audit(options)


def _run_audit(options: AuditOptions) -> AuditResult:
    if options.collect is None and options.collector is None:
        raise AuditorError("audit needs collect settings; pass credentials and --api-url if any")
    normalise_formats(options.formats)
    code_paths = parse_code_args(options.code)
    # Load every input before the (slow) collection, so a typo fails in a second, then
    # prove --out writable: bad input leaves no folder behind, a bad --out loses nothing.
    baseline = _baseline(options)
    policy = load_policy_file(options.policy)
    review = Review.load(options)
    try:
        check_out_dir(options.out_dir)
        # The --code trees are read first: their fixed destinations tell the collector which
        # countries' high-risk prefixes to read too (auditor.collect.prefixes).
        scanned = scan_code_trees(
            code_paths, exclude=options.code_exclude, include_tests=options.code_include_tests
        )
        if options.collector is not None:
            from auditor.collect.config import known_references

            with known_references(scanned.references if scanned is not None else ()):
                collected = options.collector()
        else:
            from auditor.collect import collect

            assert options.collect is not None
            config = options.collect
            if scanned is not None:
                config = replace(config, known_references=tuple(scanned.references))
            collected = collect(config, options.progress or NullProgress())
        heap.settle()
        scope = RegionalInput.of(collected)
        attach_code(scope.snapshots[0], scanned)
        written = save_snapshots(scope.snapshots, options.out_dir, compress=options.compress)
        snapshot_path = written[0]
        return _analyse_and_render(scope, snapshot_path, options, baseline, policy, review)
    finally:
        review.close()


def run_report(snapshot_files: Path | Sequence[Path], options: AuditOptions) -> AuditResult:
    """analyse + render saved snapshots offline: one, or one per region of a hierarchy.

    They are copied into --out (snapshot.json, snapshot-<region>.json) unless they are there;
    the copies are gzip (snapshot.json.gz …) when an input was or with `compress`.
    """
    paths = [snapshot_files] if isinstance(snapshot_files, Path) else list(snapshot_files)
    with heap.held():
        return _run_report(paths, options)


def _run_report(paths: list[Path], options: AuditOptions) -> AuditResult:
    scope = RegionalInput.of(load_snapshots(paths))
    heap.settle()
    baseline = _baseline(options)
    policy = load_policy_file(options.policy)
    review = Review.load(options)
    try:
        check_out_dir(options.out_dir)  # after the inputs: a bad input leaves no folder behind
        sources = {p.resolve() for path in paths for p in resolve_snapshot_paths(path)}
        out = options.out_dir
        here = set(resolve_snapshot_paths(out)) if holds_snapshot(out) else set()
        compress = options.compress or any(map(is_compressed, sources))
        if {p.resolve() for p in here} != sources or (
            options.compress and not all(map(is_compressed, here))
        ):
            written = save_snapshots(scope.snapshots, out, compress=compress)
        else:
            written = resolve_snapshot_paths(out)
        return _analyse_and_render(scope, written[0], options, baseline, policy, review)
    finally:
        review.close()


@dataclass
class Review:
    """--accept and --history, opened before the (slow) collection so a typo fails at once."""

    accept: AcceptFile | None = None
    store: HistoryStore | None = None

    @classmethod
    def load(cls, options: AuditOptions) -> Review:
        accept = load_accept_file(options.accept) if options.accept is not None else None
        store = None
        if options.history:
            from auditor.history.store import HistoryStore

            store = HistoryStore.open(options.history)
        return cls(accept, store)

    def apply(
        self, snapshot: Snapshot, analysis: Analysis
    ) -> tuple[AcceptanceReport | None, HistoryReport | None]:
        """Mark accepted findings, then record the run and each finding's history."""
        acceptance = None
        if self.accept is not None:
            as_of = as_of_date(snapshot.collected_at)
            acceptance = apply_acceptances(analysis.findings, self.accept, as_of)
        history = None
        if self.store is not None:
            regions = [scope.region for scope in analysis.regions]
            history = record_and_review(self.store, snapshot, analysis.findings, regions)
        return acceptance, history

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def _analyse_and_render(
    scope: RegionalInput,
    snapshot_path: Path,
    options: AuditOptions,
    baseline: Snapshot | None,
    policy: list[PolicyEntry] | None,
    review: Review | None = None,
) -> AuditResult:
    snapshot = scope.merged
    analysis = analyse(scope, baseline=baseline, policy=policy)
    heap.settle()  # the graph and the findings stay to the end too
    comparison = None
    if baseline is not None:  # marks each finding new or unchanged, in every format
        comparison = compare_with_baseline(baseline, snapshot, analysis.findings, policy=policy)
    acceptance, history = (review or Review()).apply(snapshot, analysis)
    formats = normalise_formats(options.formats)
    files = render(
        snapshot,
        analysis,
        options.out_dir,
        formats,
        options.report,
        comparison,
        acceptance=acceptance,
        history=history,
    )
    incomplete = coverage_errors(snapshot)
    return AuditResult(
        snapshot=snapshot,
        analysis=analysis,
        out_dir=options.out_dir,
        snapshot_path=snapshot_path,
        files=files,
        exit_code=exit_code(analysis, incomplete, options.fail_on, options.strict),
        incomplete=incomplete,
        comparison=comparison,
        acceptance=acceptance,
        history=history,
    )


# --------------------------------------------------------------------------- stages


def render(
    snapshot: Snapshot,
    analysis: Analysis,
    out_dir: Path,
    formats: list[str],
    report: ReportOptions,
    comparison: Comparison | None = None,
    *,
    acceptance: AcceptanceReport | None = None,
    history: HistoryReport | None = None,
) -> list[Path]:
    """Every format goes through the renderers' one entry point."""
    return list(
        render_reports(
            snapshot,
            analysis,
            out_dir,
            formats,
            report,
            comparison,
            acceptance=acceptance,
            history=history,
        )
    )


def load_policy_file(path: Path | None) -> list[PolicyEntry] | None:
    if path is None:
        return None
    return list(load_policy(path))


def scan_code(
    snapshot: Snapshot,
    paths: list[tuple[Path, str | None]],
    *,
    exclude: Sequence[str] = (),
    include_tests: bool = False,
) -> None:
    """Add the references of the --code trees (with their mapped account) to the snapshot.

    They are stored in the snapshot, so `report` on it later gives the same findings.
    """
    attach_code(snapshot, scan_code_trees(paths, exclude=exclude, include_tests=include_tests))


def scan_code_trees(
    paths: list[tuple[Path, str | None]],
    *,
    exclude: Sequence[str] = (),
    include_tests: bool = False,
) -> ScanResult | None:
    """The references of the --code trees (None without any)."""
    if not paths:
        return None
    return scan_paths(list(paths), exclude=exclude, include_tests=include_tests)


def attach_code(snapshot: Snapshot, scanned: ScanResult | None) -> None:
    if scanned is None:
        return
    snapshot.code_references = list(scanned.references)
    snapshot.notes.extend(f"--code: {note}" for note in scanned.notes)


def _baseline(options: AuditOptions) -> Snapshot | None:
    """The earlier audit, all its regions merged (what --baseline compares against)."""
    if options.baseline_snapshot is not None:
        return options.baseline_snapshot
    if options.baseline is None:
        return None
    return RegionalInput.of(load_snapshots([options.baseline])).merged


# --------------------------------------------------------------------------- small pure helpers


def check_out_dir(out: Path) -> None:
    """--out must be a folder we can write, checked before anything slow (files.FileRefused)."""
    prepare_out_dir(out)


def parse_code_args(values: Sequence[str]) -> list[tuple[Path, str | None]]:
    """`PATH` or `PATH=ACxxx` → (path, account SID or None); the path must exist."""
    parsed: list[tuple[Path, str | None]] = []
    for value in values:
        m = _CODE_ACCOUNT.match(value)
        path, account = (Path(m["path"]), "AC" + m["sid"][2:].lower()) if m else (Path(value), None)
        if "=" in value and m is None and not Path(value).exists():
            raise AuditorError(
                f"--code {value}: expected PATH or PATH=ACxxx (AC followed by 32 hex digits)"
            )
        if not path.exists():
            raise AuditorError(f"--code {path}: no such file or folder; pass a source tree")
        parsed.append((path, account))
    return parsed


def normalise_formats(formats: Sequence[Format | str] | None) -> list[str]:
    """Deduplicated format names in the order given (default: html, json)."""
    chosen = list(formats or DEFAULT_FORMATS)
    names: list[str] = []
    for f in chosen:
        name = f.value if isinstance(f, Format) else str(f).lower()
        if name not in {x.value for x in Format}:
            raise AuditorError(
                f"unknown format {f!r}; use one of {', '.join(x.value for x in Format)}"
            )
        if name not in names:
            names.append(name)
    return names


def coverage_errors(snapshot: Snapshot) -> list[str]:
    return [
        f"{sid}: {source}: {status}"
        for sid, sources in snapshot.coverage.items()
        for source, status in sources.items()
        if status.startswith("error")
    ]


def exit_code(
    analysis: Analysis, incomplete: Sequence[str], fail_on: FailOn | str, strict: bool
) -> int:
    """3 when --strict and coverage has errors; else 1 for a finding at or above --fail-on
    that no acceptance in force covers (an accepted finding never fails a run)."""
    if strict and incomplete:
        return EXIT_INCOMPLETE
    threshold = fail_on.value if isinstance(fail_on, FailOn) else fail_on
    return EXIT_FINDINGS if exceeds(open_findings(analysis.findings), threshold) else EXIT_CLEAN
