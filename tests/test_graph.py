"""Graph queries: who may use a number, the hierarchy path, who reaches a reference."""

from __future__ import annotations

from test_rules_support import (
    A_NUM,
    APP_A,
    B_NUM,
    B_URL,
    B_VERIFIED,
    FLOW_A,
    FUNC_A,
    ROOT,
    STRANGER,
    A,
    B,
    C,
    alert,
    alert_ref,
    make_ref,
    make_snapshot,
    pn,
    webhook_ref,
)

from auditor.graph import (
    GraphIndex,
    authorized_accounts,
    build_graph,
    hierarchy_path,
    normalize_url,
    reached_by,
)
from auditor.model import Account, PhoneNumber, Source, StudioFlow, TwimlApp, VerifiedCallerId


def test_graph_holds_accounts_numbers_and_references() -> None:
    ref = make_ref(B_NUM)
    graph = build_graph(make_snapshot(), [ref])
    assert graph.nodes[f"account:{A}"]["kind"] == "account"
    assert graph.has_edge(f"account:{ROOT}", f"account:{A}")
    assert graph.has_edge(f"account:{B}", f"number:{pn('b1')}")
    assert graph.has_edge(f"account:{B}", f"verified:{pn('vb')}")
    assert graph.has_edge("ref:0", f"value:{B_NUM}")
    assert graph.has_edge(f"account:{A}", "ref:0")
    assert isinstance(graph.graph["index"], GraphIndex)


def test_authorized_accounts_owned_and_verified() -> None:
    snap = make_snapshot()
    snap.verified_caller_ids.append(VerifiedCallerId(pn("va"), A, B_NUM))
    snap.verified_caller_ids.append(VerifiedCallerId(pn("vb2"), B, B_NUM))
    graph = build_graph(snap, [])
    assert authorized_accounts(graph, B_NUM) == {A: "verified", B: "owned"}  # owned wins
    assert authorized_accounts(graph, B_VERIFIED) == {B: "verified"}
    assert authorized_accounts(graph.graph["index"], A_NUM) == {A: "owned"}
    assert authorized_accounts(graph, STRANGER) == {}
    assert authorized_accounts(graph, None) == {}


def test_hierarchy_path_sibling_parent_child_and_unrelated() -> None:
    snap = make_snapshot()
    snap.accounts.append(Account("AC" + "e" * 32, "Elsewhere", "active", None))
    graph = build_graph(snap, [])
    assert hierarchy_path(graph, A, B) == [A, ROOT, B]
    assert hierarchy_path(graph, A, ROOT) == [A, ROOT]
    assert hierarchy_path(graph, ROOT, C) == [ROOT, C]
    assert hierarchy_path(graph, A, A) == [A]
    assert hierarchy_path(graph, A, "AC" + "e" * 32) == [A, "AC" + "e" * 32]


def test_hierarchy_path_survives_a_parent_cycle() -> None:
    snap = make_snapshot(accounts=[Account(A, "a", "active", B), Account(B, "b", "active", A)])
    assert hierarchy_path(build_graph(snap, []), A, B) == [A, B]


def test_flow_reference_is_reached_by_the_number_through_its_app() -> None:
    ref = make_ref(STRANGER)  # in flow FLOW_A; A_NUM → APP_A → flow webhook URL
    assert reached_by(build_graph(make_snapshot(), [ref]), ref) == [A_NUM, APP_A]


def test_flow_reference_is_reached_by_a_number_pointing_at_the_flow_url() -> None:
    snap = make_snapshot(applications=[])
    snap.phone_numbers[1].voice_application_sid = None
    snap.phone_numbers[
        1
    ].voice_url = f"https://webhooks.twilio.com/v1/Accounts/{A}/Flows/{FLOW_A}/"  # trailing slash
    ref = make_ref(STRANGER)
    assert reached_by(build_graph(snap, [ref]), ref) == [A_NUM]


def test_function_is_reached_through_a_flow_running_it() -> None:
    other_flow = "FW" + "f" * 32
    definition = {
        "states": [
            {
                "name": "run",
                "type": "run-function",
                "properties": {"url": "https://clinic-a-1234.twil.io/dial?x=1"},
            }
        ]
    }
    snap = make_snapshot()
    snap.flows.append(StudioFlow(other_flow, A, "Runner", "published", 1, definition))
    snap.phone_numbers.append(
        PhoneNumber(
            pn("a3"),
            A,
            "+15551110003",
            voice_url=f"https://webhooks.twilio.com/v1/Accounts/{A}/Flows/{other_flow}",
        )
    )
    ref = make_ref(STRANGER, source=Source("function", FUNC_A, "/dial:4"))
    assert reached_by(build_graph(snap, [ref]), ref) == ["+15551110003", other_flow]


def test_webhook_reference_is_reached_by_numbers_apps_and_domains_on_its_url() -> None:
    snap = make_snapshot()
    snap.applications.append(
        TwimlApp("AP" + "b" * 32, B, "B app", B_URL.upper().replace("/VOICE", "/voice"))
    )
    ref = webhook_ref(B_NUM, B)
    assert reached_by(build_graph(snap, [ref]), ref) == [B_NUM, "AP" + "b" * 32]


def test_alert_reference_is_reached_by_its_to_number_and_request_url() -> None:
    a = alert("1", B, "2026-11-20T10:00:00Z")
    ref = alert_ref(a, STRANGER)
    assert reached_by(build_graph(make_snapshot(alerts=[a]), [ref]), ref) == [B_NUM]


def test_code_reference_is_reached_by_nothing() -> None:
    ref = make_ref(STRANGER, source=Source("code", None, "app.py:1"))
    assert reached_by(build_graph(make_snapshot(), [ref]), ref) == []


def test_trunk_routing_takes_precedence_over_the_voice_url() -> None:
    snap = make_snapshot()
    snap.phone_numbers[2].trunk_sid = "TK" + "1" * 32
    ref = webhook_ref(B_NUM, B)
    assert reached_by(build_graph(snap, [ref]), ref) == []


def test_normalize_url() -> None:
    assert normalize_url("HTTPS://Example.COM/a/?q=1") == "https://example.com/a"
    assert normalize_url("  ") is None
    assert normalize_url(None) is None


def test_fast_edge_building_matches_networkx() -> None:
    import networkx as nx

    from auditor.graph import _add_keyed_edges

    edges: list[tuple[str, str, dict[str, object]]] = [
        ("a", "b", {"kind": "owns"}),
        ("a", "b", {"kind": "routes_to"}),
        ("b", "c", {"kind": "owns"}),
        ("a", "b", {"kind": "owns"}),  # a repeat keeps one edge per kind
    ]
    fast, slow = nx.MultiDiGraph(), nx.MultiDiGraph()
    _add_keyed_edges(fast, edges)
    slow.add_edges_from((u, v, d["kind"], d) for u, v, d in edges)
    assert sorted(fast.edges(keys=True, data=True)) == sorted(slow.edges(keys=True, data=True))
    assert sorted(fast.in_edges("b", keys=True)) == sorted(slow.in_edges("b", keys=True))
    assert fast.number_of_edges() == 3 and set(fast.nodes) == {"a", "b", "c"}
    assert list(nx.topological_sort(fast)) == ["a", "b", "c"]
