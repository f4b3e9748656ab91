"""CallerIdGuard against the emulator over HTTP: answers, typed errors, and the TTL cache."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any

import pytest
from test_check import BILLING, CLINIC, NOWHERE, OWNED, SIBLING, TOKENS, VERIFIED, scenario

from auditor.collect.client import make_client
from auditor.collect.credentials import Credentials
from auditor.emulator import EmulatorServer
from auditor.guard import CallerIdGuard, CallerIdNotAuthorizedError


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(scenario()) as srv:
        yield srv


@pytest.fixture
def client(server: EmulatorServer) -> Any:
    """The clinic's own credentials, as a webhook running in the clinic would hold them."""
    server.reset_stats()
    return make_client(Credentials(CLINIC, auth_token=TOKENS[CLINIC]), server.url)


def test_owned_and_verified_are_authorized(client: Any) -> None:
    guard = CallerIdGuard(client, CLINIC)
    assert guard.is_authorized(OWNED)
    assert guard.is_authorized(VERIFIED)
    assert guard.require(OWNED) == OWNED
    assert guard.check(VERIFIED).reason == "verified"


def test_require_raises_a_typed_error_naming_number_account_and_fix(client: Any) -> None:
    guard = CallerIdGuard(client, CLINIC)
    assert not guard.is_authorized(NOWHERE)
    with pytest.raises(CallerIdNotAuthorizedError) as info:
        guard.require(SIBLING)  # owned by a sibling subaccount: still refused in the clinic
    err = info.value
    assert (err.number, err.account_sid) == (SIBLING, CLINIC)
    text = str(err)
    assert SIBLING in text and CLINIC in text and "13214" in text and "verify it" in text


def test_non_e164_values_are_refused_without_a_request(client: Any, server: EmulatorServer) -> None:
    guard = CallerIdGuard(client, CLINIC)
    with pytest.raises(CallerIdNotAuthorizedError, match=r"write it as \+15551230001"):
        guard.require("(555) 123-0001")
    assert not guard.is_authorized("")
    assert not guard.is_authorized("client:alice")
    assert server.stats.total_requests == 0


def test_cache_hits_within_ttl_and_asks_again_after(client: Any, server: EmulatorServer) -> None:
    clock = FakeClock()
    guard = CallerIdGuard(client, CLINIC, ttl=300, clock=clock)
    assert guard.is_authorized(OWNED)
    first = server.stats.total_requests
    assert first == 1  # one filtered GET: IncomingPhoneNumbers?PhoneNumber=…
    clock.now += 299
    assert guard.is_authorized(OWNED)
    assert server.stats.total_requests == first  # served from the cache
    clock.now += 2
    assert guard.is_authorized(OWNED)
    assert server.stats.total_requests == first + 1  # expired: asked again


def test_negative_answers_are_cached_too(client: Any, server: EmulatorServer) -> None:
    clock = FakeClock()
    guard = CallerIdGuard(client, CLINIC, ttl=300, clock=clock, negative_ttl=30)
    assert not guard.is_authorized(NOWHERE)
    asked = server.stats.total_requests
    assert asked == 2  # not owned, then not verified
    assert not guard.is_authorized(NOWHERE)
    assert server.stats.total_requests == asked
    clock.now += 31
    assert not guard.is_authorized(NOWHERE)
    assert server.stats.total_requests == asked + 2


def test_invalidate_forgets(client: Any, server: EmulatorServer) -> None:
    guard = CallerIdGuard(client, CLINIC, clock=FakeClock())
    guard.is_authorized(OWNED)
    guard.invalidate(OWNED)
    guard.is_authorized(OWNED)
    assert server.stats.total_requests == 2


def test_concurrent_first_calls_make_one_lookup(client: Any, server: EmulatorServer) -> None:
    guard = CallerIdGuard(client, CLINIC)
    results: list[bool] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        results.append(guard.is_authorized(OWNED))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 8
    assert server.stats.total_requests == 1


def test_cache_is_bounded(client: Any) -> None:
    clock = FakeClock()
    guard = CallerIdGuard(client, CLINIC, clock=clock, max_entries=2)
    for number in (OWNED, VERIFIED, NOWHERE):
        clock.now += 1
        guard.is_authorized(number)
    assert len(guard._cache) == 2 and OWNED not in guard._cache  # the oldest went first


def test_api_errors_propagate_and_are_not_cached(server: EmulatorServer) -> None:
    # The clinic's token cannot read the billing account: the SDK error reaches the caller.
    client = make_client(Credentials(CLINIC, auth_token=TOKENS[CLINIC]), server.url)
    guard = CallerIdGuard(client, BILLING)
    with pytest.raises(Exception, match="403"):
        guard.is_authorized(SIBLING)
    assert guard._cache == {}


def _load_example() -> Any:
    path = Path(__file__).resolve().parent.parent / "examples" / "voice_webhook.py"
    spec = spec_from_file_location("voice_webhook_example", path)
    assert spec is not None and spec.loader is not None
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("configured", "expected_caller_id"),
    [(OWNED, OWNED), (SIBLING, "+15550001111")],  # refused → the caller's own From
)
def test_voice_webhook_example(client: Any, configured: str, expected_caller_id: str) -> None:
    example = _load_example()
    app = example.make_webhook(client, CLINIC, configured, "+15552223333")
    reply = app.test_client().post(
        "/voice", data={"AccountSid": CLINIC, "From": "+15550001111", "To": OWNED}
    )
    assert reply.status_code == 200 and reply.mimetype == "text/xml"
    body = reply.get_data(as_text=True)
    assert f'<Dial callerId="{expected_caller_id}">+15552223333</Dial>' in body


def test_docs_show_the_tested_example() -> None:
    root = Path(__file__).resolve().parent.parent
    example = (root / "examples" / "voice_webhook.py").read_text(encoding="utf-8")
    start = example.index("def make_webhook")
    body = example[start : example.index("    return app\n", start)]
    docs = (root / "docs" / "periodic-review.md").read_text(encoding="utf-8")
    assert body in docs  # the README/docs copy has not drifted from the tested file
