"""The real `twilio` SDK, through the auditor's ReadOnlyHttpClient, against the emulator.

No mocks: every call below crosses a real loopback HTTP connection.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from auditor.collect.http import ReadOnlyHttpClient, RetryPolicy
from auditor.emulator import EmulatorServer, generate_hierarchy

NO_RETRY = RetryPolicy(max_attempts=1)


def sdk(server: EmulatorServer, user: str, secret: str, account_sid: str | None = None) -> Client:
    http = ReadOnlyHttpClient(server.url, retry=NO_RETRY)
    return Client(user, secret, account_sid=account_sid, http_client=http)


def creds(account: dict[str, Any]) -> tuple[str, str]:
    return account["sid"], account["auth_token"]


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[EmulatorServer, dict[str, Any]]]:
    """A subaccount with 1,500 numbers: more than one 1,000-item page."""
    scenario = generate_hierarchy(1, 1500, alerts_per_account=4)
    with EmulatorServer(scenario) as server:
        yield server, scenario


def test_parent_lists_itself_and_subaccounts_with_tokens(
    emulator: EmulatorServer, small_hierarchy: dict[str, Any]
) -> None:
    parent = small_hierarchy["accounts"][0]
    accounts = sdk(emulator, *creds(parent)).api.v2010.accounts.list()
    expected = {a["sid"]: a for a in small_hierarchy["accounts"]}
    assert [a.sid for a in accounts] == list(expected)
    for acc in accounts:
        assert acc.auth_token == expected[acc.sid]["auth_token"]
        assert acc.status == "active"
        assert acc.owner_account_sid == parent["sid"]  # a top-level account owns itself


def test_stream_pages_past_1000_items(big: tuple[EmulatorServer, dict[str, Any]]) -> None:
    server, scenario = big
    parent, sub = scenario["accounts"]
    client = sdk(server, *creds(parent))
    numbers = list(
        client.api.v2010.accounts(sub["sid"]).incoming_phone_numbers.stream(page_size=1000)
    )
    assert len(numbers) == 1500
    assert [n.sid for n in numbers] == [n["sid"] for n in sub["incoming_phone_numbers"]]
    assert {n.account_sid for n in numbers} == {sub["sid"]}
    assert client.http_client.stats.requests == 2  # two pages, no more


def test_phone_number_filters(big: tuple[EmulatorServer, dict[str, Any]]) -> None:
    server, scenario = big
    parent, sub = scenario["accounts"]
    account = sdk(server, *creds(parent)).api.v2010.accounts(sub["sid"])
    wanted = sub["incoming_phone_numbers"][123]["phone_number"]
    found = account.incoming_phone_numbers.list(phone_number=wanted)
    assert [n.phone_number for n in found] == [wanted]
    verified = sub["outgoing_caller_ids"][0]["phone_number"]
    assert [c.phone_number for c in account.outgoing_caller_ids.list(phone_number=verified)] == [
        verified
    ]
    assert account.outgoing_caller_ids.list(phone_number=wanted) == []


def test_fetch_resources_of_every_product(
    emulator: EmulatorServer, small_hierarchy: dict[str, Any]
) -> None:
    parent, sub = small_hierarchy["accounts"][0], small_hierarchy["accounts"][1]
    v2010 = sdk(emulator, *creds(parent)).api.v2010.accounts(sub["sid"])
    assert v2010.fetch().auth_token == sub["auth_token"]
    assert [a.sid for a in v2010.applications.list()] == [a["sid"] for a in sub["applications"]]
    assert [d.domain_name for d in v2010.sip.domains.list()] == [
        d["domain_name"] for d in sub["sip_domains"]
    ]
    own = sdk(emulator, *creds(sub))
    flow = sub["flows"][0]
    assert [f.sid for f in own.studio.v2.flows.list()] == [flow["sid"]]
    assert own.studio.v2.flows(flow["sid"]).fetch().definition == flow["definition"]

    svc = sub["services"][0]
    fn = svc["functions"][0]
    env = svc["environments"][0]
    service = own.serverless.v1.services(svc["sid"])
    assert [s.sid for s in own.serverless.v1.services.list()] == [svc["sid"]]
    assert [f.sid for f in service.functions.list()] == [fn["sid"]]
    versions = service.functions(fn["sid"]).function_versions.list()
    assert [v.sid for v in versions] == [v["sid"] for v in fn["versions"]]
    latest = fn["versions"][-1]
    content = (
        service.functions(fn["sid"]).function_versions(latest["sid"]).function_version_content()
    )
    assert content.fetch().content == latest["content"]
    (build,) = service.builds.list()
    assert [v["sid"] for v in build.function_versions] == svc["builds"][0]["function_versions"]
    (environment,) = service.environments.list()
    assert (environment.build_sid, environment.domain_name) == (
        env["build_sid"],
        env["domain_name"],
    )
    variables = service.environments(env["sid"]).variables.list()
    assert {v.key: v.value for v in variables} == {v["key"]: v["value"] for v in env["variables"]}


def test_alerts_filters_and_fetch(big: tuple[EmulatorServer, dict[str, Any]]) -> None:
    server, scenario = big
    sub = scenario["accounts"][1]
    monitor = sdk(server, *creds(sub)).monitor.v1
    everything = monitor.alerts.list()
    assert len(everything) == 4
    assert [a.date_created for a in everything] == sorted(
        (a.date_created for a in everything), reverse=True
    )
    errors = monitor.alerts.list(log_level="error")
    assert {a.error_code for a in errors} == {"13214"} and len(errors) == 2
    newest = everything[0].date_created
    window = monitor.alerts.list(start_date=newest, end_date=datetime(2027, 1, 1, tzinfo=UTC))
    assert [a.sid for a in window] == [everything[0].sid]
    raw = next(a for a in sub["alerts"] if a["error_code"] == "13214")
    fetched = monitor.alerts(raw["sid"]).fetch()
    assert fetched.response_body == raw["response_body"]
    assert fetched.request_variables == raw["request_variables"]


def test_products_answer_for_the_authenticating_account_only(
    emulator: EmulatorServer, small_hierarchy: dict[str, Any]
) -> None:
    parent, sub = small_hierarchy["accounts"][0], small_hierarchy["accounts"][1]
    flows = sdk(emulator, *creds(parent)).studio.v2.flows.list()
    assert {f.account_sid for f in flows} == {parent["sid"]}
    with pytest.raises(TwilioRestException) as info:
        sdk(emulator, *creds(parent)).studio.v2.flows(sub["flows"][0]["sid"]).fetch()
    assert info.value.status == 404


def test_wrong_token_is_401(emulator: EmulatorServer, small_hierarchy: dict[str, Any]) -> None:
    parent = small_hierarchy["accounts"][0]
    client = sdk(emulator, parent["sid"], "f" * 32)
    with pytest.raises(TwilioRestException) as info:
        client.api.v2010.accounts(parent["sid"]).fetch()
    assert (info.value.status, info.value.code) == (401, 20003)
    with pytest.raises(TwilioException) as page_info:  # a list page raises the base class
        client.studio.v2.flows.list()
    assert page_info.value.args[1].status_code == 401


def test_api_key_reads_only_its_own_account(
    emulator: EmulatorServer, small_hierarchy: dict[str, Any]
) -> None:
    parent, sub = small_hierarchy["accounts"][0], small_hierarchy["accounts"][1]
    key = small_hierarchy["api_keys"][0]
    client = sdk(emulator, key["sid"], key["secret"], parent["sid"])
    own = client.api.v2010.accounts(parent["sid"]).incoming_phone_numbers.list()
    assert len(own) == len(parent["incoming_phone_numbers"])
    assert [a.sid for a in client.api.v2010.accounts.list()] == [parent["sid"]]
    with pytest.raises(TwilioRestException) as info:
        client.api.v2010.accounts(sub["sid"]).fetch()
    assert (info.value.status, info.value.code) == (403, 20003)
    with pytest.raises(TwilioException) as page_info:
        client.api.v2010.accounts(sub["sid"]).incoming_phone_numbers.list()
    assert page_info.value.args[1].status_code == 403


def test_subaccount_reads_only_itself(
    emulator: EmulatorServer, small_hierarchy: dict[str, Any]
) -> None:
    parent, sub, sibling = small_hierarchy["accounts"][:3]
    client = sdk(emulator, *creds(sub))
    assert [a.sid for a in client.api.v2010.accounts.list()] == [sub["sid"]]
    for other in (parent, sibling):
        with pytest.raises(TwilioRestException) as info:
            client.api.v2010.accounts(other["sid"]).fetch()
        assert info.value.status == 403


def test_closed_account_credentials_are_401(small_hierarchy: dict[str, Any]) -> None:
    scenario = copy.deepcopy(small_hierarchy)
    closed = scenario["accounts"][2]
    closed["status"] = "closed"
    parent = scenario["accounts"][0]
    with EmulatorServer(scenario) as server:
        with pytest.raises(TwilioRestException) as info:
            sdk(server, *creds(closed)).api.v2010.accounts(closed["sid"]).fetch()
        assert (info.value.status, info.value.code) == (401, 20003)
        listed = {a.sid: a.status for a in sdk(server, *creds(parent)).api.v2010.accounts.list()}
        assert listed[closed["sid"]] == "closed"


def test_post_is_405_and_counted(emulator: EmulatorServer, small_hierarchy: dict[str, Any]) -> None:
    parent, sub = small_hierarchy["accounts"][0], small_hierarchy["accounts"][1]
    path = f"/api/2010-04-01/Accounts/{sub['sid']}/IncomingPhoneNumbers/PN{'0' * 32}.json"
    with requests.Session() as session:
        resp = session.post(
            emulator.url + path, data={"AccountSid": parent["sid"]}, auth=creds(parent)
        )
        assert resp.status_code == 405
        assert resp.json()["code"] == 20004
        again = session.delete(emulator.url + "/studio/v2/Flows", auth=creds(parent))
        assert again.status_code == 405
        # the keep-alive connection still serves GETs after a refused body
        assert session.get(emulator.url + "/studio/v2/Flows", auth=creds(parent)).ok
    assert emulator.refused_methods == [f"POST {path}", "DELETE /studio/v2/Flows"]
    assert emulator.stats.status_counts[405] == 2
