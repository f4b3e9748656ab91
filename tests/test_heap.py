"""auditor.heap: what a run settles is out of the collector's sight until the run ends,
its cyclic garbage is not, and nothing stays frozen after it (tests run many reports in
one process)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from auditor import heap


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_settle_freezes_only_inside_held() -> None:
    heap.settle()
    assert gc.get_freeze_count() == 0
    keep = [Node() for _ in range(100)]
    with heap.held():
        heap.settle()
        assert gc.get_freeze_count() >= len(keep)
        with heap.held():  # nested: the outer run still holds its heap
            heap.settle()
        assert gc.get_freeze_count() >= len(keep)
    assert gc.get_freeze_count() == 0


def test_cyclic_garbage_of_a_stage_is_collected_not_frozen() -> None:
    with heap.held():
        with heap.paused():
            assert not gc.isenabled()
            kept = Node()
            dropped = Node()
            gone = weakref.ref(dropped)
            del dropped
        assert gc.isenabled() and gone() is None
        assert kept.me is kept
    assert gc.get_freeze_count() == 0


def test_paused_restores_a_disabled_collector() -> None:
    gc.disable()
    try:
        with heap.paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_report_leaves_the_collector_as_it_found_it(tmp_path: Path) -> None:
    from render_fixtures import build_snapshot

    from auditor.pipeline import AuditOptions, run_report
    from auditor.snapshot import save_snapshot

    path = save_snapshot(build_snapshot(), tmp_path / "in" / "snapshot.json")
    result = run_report(path, AuditOptions(out_dir=tmp_path / "out", formats=["json", "html"]))
    assert result.analysis.findings and (tmp_path / "out" / "report.html").exists()
    assert gc.isenabled() and gc.get_freeze_count() == 0
