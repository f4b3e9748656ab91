"""Collection: read a live hierarchy through the official `twilio` SDK into a Snapshot."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from auditor.collect.config import CollectConfig

if TYPE_CHECKING:
    from auditor.collect.walker import collect

__all__ = ["CollectConfig", "collect"]


def __getattr__(name: str) -> Any:
    """`collect` (the walker, the SDK and the HTTP stack) is imported on first use: every CLI
    start imports this package for the options, and `report` never collects."""
    if name == "collect":
        from auditor.collect.walker import collect

        return collect
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
