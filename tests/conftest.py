"""Shared fixtures: a small synthetic hierarchy and an emulator serving it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from auditor.emulator import EmulatorServer, generate_hierarchy


@pytest.fixture(scope="session")
def small_hierarchy() -> dict[str, Any]:
    """A parent and 3 subaccounts, 5 numbers each (deterministic; do not mutate)."""
    return generate_hierarchy(3, 5)


@pytest.fixture
def emulator(small_hierarchy: dict[str, Any]) -> Iterator[EmulatorServer]:
    """A running emulator serving `small_hierarchy`, fresh per test (its own faults and stats)."""
    with EmulatorServer(small_hierarchy) as server:
        yield server
