"""Server details: lifecycle, paging edge cases, filters, odd requests."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from auditor.emulator import EmulatorServer, generate_hierarchy
from auditor.emulator.paging import page_body, parse_page_request


def _auth(account: dict[str, Any]) -> tuple[str, str]:
    return account["sid"], account["auth_token"]


@pytest.fixture(scope="module")
def served() -> Any:
    scenario = generate_hierarchy(1, 7)
    with EmulatorServer(scenario) as server:
        yield server, scenario


def _numbers(served: Any, **params: Any) -> requests.Response:
    server, scenario = served
    parent, sub = scenario["accounts"]
    return requests.get(
        f"{server.url}/api/2010-04-01/Accounts/{sub['sid']}/IncomingPhoneNumbers.json",
        params=params,
        auth=_auth(parent),
        timeout=10,
    )


def test_stopped_server_answers_nothing_even_on_keep_alive() -> None:
    scenario = generate_hierarchy(0, 1)
    parent = scenario["accounts"][0]
    with requests.Session() as session:
        server = EmulatorServer(scenario).start()
        url = server.url
        assert session.get(f"{url}/studio/v2/Flows", auth=_auth(parent), timeout=5).ok
        server.stop()
        server.stop()  # idempotent
        with pytest.raises(requests.ConnectionError):
            session.get(f"{url}/studio/v2/Flows", auth=_auth(parent), timeout=5)


def test_walk_pages_forward_and_back(served: Any) -> None:
    server, scenario = served
    sids = [n["sid"] for n in scenario["accounts"][1]["incoming_phone_numbers"]]
    parent = scenario["accounts"][0]
    seen: list[str] = []
    body = _numbers(served, PageSize=3).json()
    pages = [body]
    while True:
        seen += [n["sid"] for n in body["incoming_phone_numbers"]]
        if not body["next_page_uri"]:
            break
        body = requests.get(
            server.url + "/api" + body["next_page_uri"], auth=_auth(parent), timeout=10
        ).json()
        pages.append(body)
    assert seen == sids
    assert [(p["page"], p["start"], p["end"]) for p in pages] == [(0, 0, 2), (1, 3, 5), (2, 6, 6)]
    back = requests.get(
        server.url + "/api" + pages[2]["previous_page_uri"], auth=_auth(parent), timeout=10
    ).json()
    assert [n["sid"] for n in back["incoming_phone_numbers"]] == sids[3:6]


def test_page_without_token_and_past_the_end(served: Any) -> None:
    body = _numbers(served, PageSize=2, Page=1).json()
    assert body["start"] == 2 and len(body["incoming_phone_numbers"]) == 2
    empty = _numbers(served, PageSize=5, Page=9).json()
    assert empty["incoming_phone_numbers"] == [] and empty["next_page_uri"] is None


def test_page_size_capped_and_checked(served: Any) -> None:
    assert _numbers(served, PageSize=5000).json()["page_size"] == 1000
    bad = _numbers(served, PageSize=0)
    assert bad.status_code == 400 and bad.json()["code"] == 20001
    assert _numbers(served, PageSize="x").status_code == 400


def test_phone_number_filter_forms(served: Any) -> None:
    _server, scenario = served
    number = scenario["accounts"][1]["incoming_phone_numbers"][4]["phone_number"]
    assert (
        _numbers(served, PhoneNumber=number).json()["incoming_phone_numbers"][0]["phone_number"]
        == number
    )
    wildcard = number[:-1] + "*"
    found = {
        n["phone_number"]
        for n in _numbers(served, PhoneNumber=wildcard).json()["incoming_phone_numbers"]
    }
    assert number in found
    body = _numbers(served, PhoneNumber=number, PageSize=1).json()
    assert body["uri"].startswith(body["uri"].split("?")[0] + "?PhoneNumber=%2B")


def test_plus_sent_unencoded_is_a_plus(served: Any) -> None:
    server, scenario = served
    parent, sub = scenario["accounts"]
    number = sub["incoming_phone_numbers"][2]["phone_number"]
    url = f"{server.url}/api/2010-04-01/Accounts/{sub['sid']}/IncomingPhoneNumbers.json"
    raw = requests.get(f"{url}?PhoneNumber={number}", auth=_auth(parent), timeout=10).json()
    assert [n["phone_number"] for n in raw["incoming_phone_numbers"]] == [number]


@pytest.mark.parametrize(
    "path",
    [
        "/voice/v1/Calls",
        "/api/2010-04-01/Accounts/AC" + "0" * 32 + "/IncomingPhoneNumbers.json",
        "/api/2010-04-01/Calls.json",
        "/studio/v2/Flows/",
        "/",
    ],
)
def test_unknown_paths_are_404(served: Any, path: str) -> None:
    server, scenario = served
    resp = requests.get(server.url + path, auth=_auth(scenario["accounts"][0]), timeout=10)
    assert resp.status_code == 404
    assert resp.json()["code"] == 20404


def test_head_is_refused(served: Any) -> None:
    server, scenario = served
    resp = requests.head(server.url + "/studio/v2/Flows", auth=_auth(scenario["accounts"][0]))
    assert resp.status_code == 405
    assert server.refused_methods[-1] == "HEAD /studio/v2/Flows"


def test_bad_alert_dates_are_400(served: Any) -> None:
    server, scenario = served
    resp = requests.get(
        server.url + "/monitor/v1/Alerts",
        params={"StartDate": "yesterday"},
        auth=_auth(scenario["accounts"][1]),
        timeout=10,
    )
    assert resp.status_code == 400 and "StartDate" in resp.json()["message"]


def test_alert_dates_accept_bare_days(served: Any) -> None:
    server, scenario = served
    sub = scenario["accounts"][1]
    day = sub["alerts"][0]["date_created"][:10]
    resp = requests.get(
        server.url + "/monitor/v1/Alerts",
        params={"StartDate": day, "EndDate": day},
        auth=_auth(sub),
        timeout=10,
    )
    assert [a["sid"] for a in resp.json()["alerts"]] == [sub["alerts"][0]["sid"]]


@given(n=st.integers(0, 60), size=st.integers(1, 25), v2010=st.booleans())
def test_following_next_links_yields_every_item_once(n: int, size: int, v2010: bool) -> None:
    items = [{"sid": f"PN{i:032x}"} for i in range(n)]
    host = None if v2010 else "https://studio.twilio.com"
    path = "/2010-04-01/Accounts/AC1/IncomingPhoneNumbers.json" if v2010 else "/v2/Flows"
    query: list[tuple[str, str]] = [("FriendlyName", "x"), ("PageSize", str(size))]
    seen: list[str] = []
    for _ in range(n + 2):
        body = page_body(items, parse_page_request(query), key="k", path=path, host=host)
        seen += [it["sid"] for it in body["k"]]
        link = body["next_page_uri"] if v2010 else body["meta"]["next_page_url"]
        if link is None:
            break
        assert link.startswith((host or "") + path + "?FriendlyName=x&PageSize=")
        query = parse_qsl(urlsplit(link).query)
    assert seen == [it["sid"] for it in items]
