"""A Twilio REST API emulator for the tests, the benchmarks and `twilio-audit demo`.

`EmulatorServer(scenario)` serves a scenario (docs/scenario-format.md) on
loopback in Twilio's shapes; `generate_hierarchy(...)` builds synthetic ones.

The names are imported on first use: the CLI imports `auditor.emulator.demo` at every start
(for `demo`'s options), and the server side (the HTTP stack its Debugger delivery uses) is
not needed for that.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.emulator.generate import generate_hierarchy
    from auditor.emulator.scenario import load_scenario, validate_scenario
    from auditor.emulator.server import EmulatorServer, EmulatorStats, Faults

_WHERE = {
    "EmulatorServer": "server",
    "EmulatorStats": "server",
    "Faults": "server",
    "generate_hierarchy": "generate",
    "load_scenario": "scenario",
    "validate_scenario": "scenario",
}

__all__ = [
    "EmulatorServer",
    "EmulatorStats",
    "Faults",
    "generate_hierarchy",
    "load_scenario",
    "validate_scenario",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"auditor.emulator.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
