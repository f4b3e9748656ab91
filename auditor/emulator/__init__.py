"""A Twilio REST API emulator for the tests, the benchmarks and `twilio-audit demo`.

`EmulatorServer(scenario)` serves a scenario (docs/scenario-format.md) on
loopback in Twilio's shapes; `generate_hierarchy(...)` builds synthetic ones.
"""

from auditor.emulator.generate import generate_hierarchy
from auditor.emulator.scenario import load_scenario, validate_scenario
from auditor.emulator.server import EmulatorServer, EmulatorStats, Faults

__all__ = [
    "EmulatorServer",
    "EmulatorStats",
    "Faults",
    "generate_hierarchy",
    "load_scenario",
    "validate_scenario",
]
