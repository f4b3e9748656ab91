"""The analysis stage: snapshot (+ local code, baseline, policy) → sorted, fingerprinted findings.

Pure and deterministic: the same inputs give the same findings in the same order
with the same fingerprints, which is what makes snapshots reproducible and runs
comparable.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor import heap
from auditor.findings import assign_fingerprints, sort_findings
from auditor.graph import build_graph, build_index
from auditor.model import Analysis, CallerIdReference, Finding, PolicyEntry, Snapshot
from auditor.regional import RegionalInput
from auditor.regions import region_label
from auditor.rules import ALL_RULES
from auditor.rules.base import RuleContext


def analyse(
    snapshot: Snapshot | RegionalInput | Sequence[Snapshot],
    *,
    extra_references: Sequence[CallerIdReference] = (),
    baseline: Snapshot | RegionalInput | None = None,
    policy: Sequence[PolicyEntry] | None = None,
) -> Analysis:
    """Extract every callerId reference, build the graph, run every rule.

    `snapshot` may be one snapshot or one per region of the same hierarchy: references
    are read from each (and run in its region); ownership is judged on the merged view.
    """
    from auditor.extract import references_from_snapshot

    scope = RegionalInput.of(snapshot)
    refs: list[CallerIdReference] = []
    notes: list[str] = []
    with heap.paused():  # the references stay alive too (see analyse_references)
        for snap in scope.snapshots:
            found, found_notes = references_from_snapshot(snap)
            refs.extend(found)
            tag = f"{region_label(snap.region)}: "
            notes.extend(f"{tag}{n}" if scope.multi else n for n in found_notes)
    analysis = analyse_references(
        scope.merged,
        [*refs, *extra_references],
        baseline=RegionalInput.of(baseline).merged if baseline is not None else None,
        policy=policy,
        notes=notes,
        regions=tuple(scope.regions),
    )
    analysis.regions = scope.scopes()
    analysis.regions_not_audited, hints = scope.not_audited()
    analysis.notes.extend(hints)
    return analysis


def analyse_references(
    snapshot: Snapshot,
    references: Sequence[CallerIdReference],
    *,
    baseline: Snapshot | None = None,
    policy: Sequence[PolicyEntry] | None = None,
    notes: Sequence[str] = (),
    regions: Sequence[str] = (),
) -> Analysis:
    """Run every rule over references already extracted (tests and benchmarks start here).

    `regions`: the Twilio Regions the (merged) snapshot covers; default its own.
    """
    # Building the graph allocates millions of small objects that all stay alive; the
    # cyclic collector would rescan them again and again (measured: 4x slower at scale).
    with heap.paused():
        return _analyse(
            snapshot,
            references,
            baseline=baseline,
            policy=policy,
            notes=notes,
            regions=tuple(regions) or (snapshot.region,),
        )


def _analyse(
    snapshot: Snapshot,
    references: Sequence[CallerIdReference],
    *,
    baseline: Snapshot | None,
    policy: Sequence[PolicyEntry] | None,
    notes: Sequence[str],
    regions: tuple[str, ...],
) -> Analysis:
    refs = unique_references(references)
    graph = build_graph(snapshot, refs)
    ctx = RuleContext(
        snapshot=snapshot,
        graph=graph,
        references=refs,
        index=graph.graph["index"],
        baseline=baseline,
        baseline_index=build_index(baseline, []) if baseline is not None else None,
        policy=policy,
        regions=regions,
    )
    findings: list[Finding] = []
    for rule in ALL_RULES:
        findings.extend(rule.check(ctx))
    # networkx graphs are cyclic (their cached views point back at them): emptied here,
    # the graph and its index are freed now instead of by some later full collection.
    graph.clear()
    findings = sort_findings(findings)
    assign_fingerprints(findings)
    return Analysis(
        findings=findings,
        references=refs,
        notes=list(notes),
        baseline_collected_at=baseline.collected_at if baseline is not None else None,
    )


def _ref_key(ref: CallerIdReference) -> tuple[object, ...]:
    s = ref.source
    return (
        ref.raw_value,
        ref.kind,
        s.kind,
        s.sid,
        s.location,
        ref.executing_account_sid,
        ref.dialed,
        ref.missing,
        ref.client_leg,
        ref.destination,  # each leg of a Dial with several <Number>s is its own reference
        ref.via,
        ref.region,
    )


def unique_references(references: Sequence[CallerIdReference]) -> list[CallerIdReference]:
    """Drop exact repeats (a snapshot's code references may also arrive as extra references)."""
    seen: set[tuple[object, ...]] = set()
    out: list[CallerIdReference] = []
    for ref in references:
        key = _ref_key(ref)
        if key not in seen:
            seen.add(key)
            out.append(ref)
    return out
