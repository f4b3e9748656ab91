"""Faults on demand: latency, the per-account in-flight limit (429 / 20429), every-Nth failure."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from auditor.emulator import EmulatorServer, Faults
from auditor.errors import AuditorError


def _get(server: EmulatorServer, account: dict[str, Any], path: str = "/studio/v2/Flows") -> int:
    auth = (account["sid"], account["auth_token"])
    return requests.get(server.url + path, auth=auth, timeout=30).status_code


def test_latency_is_added(emulator: EmulatorServer, small_hierarchy: dict[str, Any]) -> None:
    parent = small_hierarchy["accounts"][0]
    emulator.set_faults(latency_ms=200)
    started = time.monotonic()
    assert _get(emulator, parent) == 200
    assert time.monotonic() - started >= 0.2  # a lower bound: sleep never returns early


def test_in_flight_limit_answers_429(
    emulator: EmulatorServer, small_hierarchy: dict[str, Any]
) -> None:
    parent, sub = small_hierarchy["accounts"][0], small_hierarchy["accounts"][1]
    emulator.set_faults(latency_ms=120_000, max_in_flight_per_account=2)
    outcomes: list[int | str] = []

    def worker() -> None:
        try:
            outcomes.append(_get(emulator, sub))
        except requests.RequestException as exc:  # cut by stop() below
            outcomes.append(type(exc).__name__)

    held = [threading.Thread(target=worker) for _ in range(2)]
    for t in held:
        t.start()
    deadline = time.monotonic() + 60
    while emulator.in_flight().get(sub["sid"], 0) < 2:  # both are sleeping in the server
        assert time.monotonic() < deadline, "requests never reached the emulator"
        time.sleep(0.01)
    emulator.set_faults(latency_ms=0)  # new requests answer at once; the limit stays
    resp = requests.get(
        emulator.url + "/studio/v2/Flows", auth=(sub["sid"], sub["auth_token"]), timeout=30
    )
    assert resp.status_code == 429
    assert resp.json()["code"] == 20429
    assert _get(emulator, parent) == 200  # the limit is per account
    emulator.stop()  # wakes the held requests
    for t in held:
        t.join(timeout=30)
    stats = emulator.stats
    assert stats.too_many_requests == 1
    assert stats.max_in_flight[sub["sid"]] == 3  # attempts, the refused one included
    assert len(outcomes) == 2


def test_429_body(emulator: EmulatorServer, small_hierarchy: dict[str, Any]) -> None:
    sub = small_hierarchy["accounts"][1]
    emulator.set_faults(fail_every_n=1, fail_status=429)
    resp = requests.get(
        emulator.url + "/studio/v2/Flows", auth=(sub["sid"], sub["auth_token"]), timeout=10
    )
    assert resp.status_code == 429
    assert resp.json()["code"] == 20429


def test_fail_every_nth_request(emulator: EmulatorServer, small_hierarchy: dict[str, Any]) -> None:
    parent = small_hierarchy["accounts"][0]
    emulator.set_faults(fail_every_n=3)
    assert [_get(emulator, parent) for _ in range(9)] == [200, 200, 500] * 3
    assert emulator.stats.injected_failures == 3


def test_product_errors(emulator: EmulatorServer, small_hierarchy: dict[str, Any]) -> None:
    parent, sub = small_hierarchy["accounts"][0], small_hierarchy["accounts"][1]
    emulator.set_faults(product_errors={sub["sid"]: {"studio": 403, "api": 503}})
    assert _get(emulator, sub) == 403
    assert _get(emulator, sub, "/serverless/v1/Services") == 200
    assert _get(emulator, parent) == 200
    numbers = f"/api/2010-04-01/Accounts/{sub['sid']}/IncomingPhoneNumbers.json"
    assert _get(emulator, parent, numbers) == 503  # v2010: the account in the path
    assert _get(emulator, parent, f"/api/2010-04-01/Accounts/{parent['sid']}.json") == 200


def test_faults_from_scenario(small_hierarchy: dict[str, Any]) -> None:
    scenario = {**small_hierarchy, "faults": {"fail_every_n": 2, "fail_status": 503}}
    with EmulatorServer(scenario) as server:
        assert server.faults == Faults(fail_every_n=2, fail_status=503)
        parent = small_hierarchy["accounts"][0]
        assert [_get(server, parent) for _ in range(4)] == [200, 503, 200, 503]
        server.set_faults(Faults())
        assert _get(server, parent) == 200


@pytest.mark.parametrize(
    "faults",
    [{"latency": 5}, {"fail_status": 200}, {"product_errors": {"AC1": {"fax": 500}}}],
)
def test_bad_faults_are_refused(small_hierarchy: dict[str, Any], faults: dict[str, Any]) -> None:
    with pytest.raises(AuditorError):
        EmulatorServer({**small_hierarchy, "faults": faults})


def test_stats_count_requests_per_account(
    emulator: EmulatorServer, small_hierarchy: dict[str, Any]
) -> None:
    parent, sub = small_hierarchy["accounts"][0], small_hierarchy["accounts"][1]
    numbers = f"/api/2010-04-01/Accounts/{sub['sid']}/IncomingPhoneNumbers.json"
    for _ in range(3):
        _get(emulator, parent, numbers)
    _get(emulator, parent)
    stats = emulator.stats
    assert stats.total_requests == 4
    assert stats.per_account_requests == {sub["sid"]: 3, parent["sid"]: 1}
    emulator.reset_stats()
    assert emulator.stats.total_requests == 0
