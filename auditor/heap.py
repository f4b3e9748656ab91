"""The cyclic garbage collector over a run that builds a big heap and keeps it to the end.

An audit allocates millions of small objects (records, graph nodes, findings) that all
stay alive until the reports are written. The collector cannot free any of them, yet a
full collection rescans them all (0.3 s a pass at 100,000 numbers), and allocating them
triggers pass after pass: measured, 2.7 s of a 9 s report on 1,000 accounts. So the
stages that build the heap run with the collector paused, and once built it is
`settle`d: moved out of the collector's sight (gc.freeze). Garbage made afterwards
(WeasyPrint makes plenty) is still collected, cheaply. Leaving `held()` gives the heap
back (gc.unfreeze), so a long-lived process (tests, a library caller) frees it as usual
once it is garbage.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """No automatic collection inside: what is allocated here stays alive anyway, and is
    settled on the way out (else the next young collection would scan all of it)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        settle()
        if was_enabled:
            gc.enable()


_held = 0  # nesting depth of held()


@contextmanager
def held() -> Iterator[None]:
    """A run during which `settle` takes effect; the settled heap is given back at its end."""
    global _held
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        if not _held:
            gc.unfreeze()


def settle() -> None:
    """What exists now lives to the end of the run: no collection rescans it. Outside
    held() it does nothing, so nothing is kept from the collector for good.

    The youngest generation (what the stage just built) is collected first, so the cyclic
    garbage it left (a parsed Function's reader, say) is not kept to the end with it.
    """
    if _held:
        gc.collect(0)
        gc.freeze()
