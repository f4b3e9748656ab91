"""The ownership and routing graph of one hierarchy, with the indexes the rules query.

`build_graph` turns a Snapshot and its callerId references into a networkx
MultiDiGraph (accounts, numbers, verified IDs, apps, flows, functions, SIP
domains, webhook URLs, references) and attaches a `GraphIndex` of plain dicts
under `graph.graph["index"]`: the rules ask the same few questions thousands of
times (who may use this number? who reaches this Dial?), so the answers are
precomputed once instead of walking the graph per reference.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs

import networkx as nx

from auditor.model import (
    Account,
    Alert,
    CallerIdReference,
    PhoneNumber,
    ServerlessFunction,
    SipDomain,
    Snapshot,
    SourceKind,
    StudioFlow,
    TwimlApp,
    VerifiedCallerId,
)
from auditor.urls import split_url

Authorization = Literal["owned", "verified"]
_T = TypeVar("_T")
_V = TypeVar("_V")

STUDIO_WEBHOOK = "https://webhooks.twilio.com/v1/Accounts/{account}/Flows/{flow}"

# Edge kinds (the `kind` attribute of every edge).
PARENT_OF = "parent_of"
OWNS = "owns"
VERIFIES = "verifies"
HAS = "has"
ROUTES_TO = "routes_to"
SERVES = "serves"
EXECUTES = "executes"
CONTAINS = "contains"
USES_CALLERID = "uses_callerid"
IS_NUMBER = "is_number"

# Node kinds whose presence upstream of a reference means "this one hears the failure".
_ENTRY_KINDS = ("number", "app", "flow", "sip_domain")
# Edges followed backwards to find who reaches a source.
_ROUTE_EDGES = (ROUTES_TO, SERVES)


def normalize_url(url: str | None) -> str | None:
    """Compare webhook URLs the way Twilio routes them: scheme/host case-free, no query."""
    if not url or not url.strip():
        return None
    return _normalize_url(url)


@lru_cache(maxsize=65536)
def _normalize_url(url: str) -> str:
    """Cached: 100,000 numbers point at a few thousand distinct URLs."""
    text = url.strip()
    parts = split_url(text)  # never raises: customer URLs may be malformed
    if parts is None:
        return text
    scheme, netloc, path = parts
    return f"{scheme.lower()}://{netloc.lower()}{path.rstrip('/')}"


def flow_url(flow: StudioFlow) -> str:
    """The webhook URL numbers and apps point at to run `flow`."""
    return flow.webhook_url or STUDIO_WEBHOOK.format(account=flow.account_sid, flow=flow.sid)


def node_id(kind: str, key: str) -> str:
    """Graph node names: prefixed, because OutgoingCallerIds and numbers both use PN SIDs."""
    return f"{kind}:{key}"


def alert_variables(alert: Alert) -> dict[str, str]:
    """The alert's form-encoded request_variables as a dict (first value of each key)."""
    if not alert.request_variables:
        return {}
    try:
        parsed = parse_qs(alert.request_variables, keep_blank_values=True)
    except ValueError:
        return {}
    return {k: v[0] for k, v in parsed.items() if v}


class _Compact(Mapping[str, _V]):
    """A read-only mapping over `_data`, whose values subclasses store compactly."""

    __slots__ = ("_data",)

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class Holders(_Compact[dict[str, Authorization]]):
    """e164 → {account_sid: "owned" | "verified"}, stored compactly.

    Almost every number has one owner and no verification: it is kept as that
    account's SID alone, and a fresh one-entry dict is handed out on lookup (a
    million numbers would otherwise be a million small dicts). Read-only.
    """

    __slots__ = ()

    def add(self, e164: str, account_sid: str, how: Authorization) -> None:
        """Record a holder; the first "owned" or "verified" for an account stays."""
        data = self._data
        held = data.get(e164)
        if held is None:
            data[e164] = account_sid if how == "owned" else {account_sid: how}
        elif type(held) is str:
            if held != account_sid:
                data[e164] = {held: "owned", account_sid: how}
        else:
            held.setdefault(account_sid, how)

    def __getitem__(self, e164: str) -> dict[str, Authorization]:
        held = self._data[e164]
        return {held: "owned"} if type(held) is str else dict(held)


class Listing(_Compact[list[_T]]):
    """key → [items], stored as the item alone while a key has one (read-only)."""

    __slots__ = ()

    def add(self, key: str, item: _T) -> None:
        data = self._data
        held = data.get(key)
        if held is None:
            data[key] = item
        elif type(held) is list:
            held.append(item)
        else:
            data[key] = [held, item]

    def __getitem__(self, key: str) -> list[_T]:
        held = self._data[key]
        return list(held) if type(held) is list else [held]


@dataclass
class GraphIndex:
    """Precomputed answers over the graph; everything a rule asks is a dict lookup."""

    accounts: dict[str, Account] = field(default_factory=dict)
    parent: dict[str, str | None] = field(default_factory=dict)
    root_account_sid: str = ""
    # e164 -> {account_sid: "owned" | "verified"}; "owned" wins when both hold.
    authorized: Mapping[str, dict[str, Authorization]] = field(default_factory=Holders)
    numbers_by_e164: Mapping[str, list[PhoneNumber]] = field(default_factory=Listing)
    # Mappings, not dicts: `watch` lays one event's live answers over them (read-only).
    numbers_by_account: Mapping[str, list[PhoneNumber]] = field(default_factory=dict)
    number_by_sid: Mapping[str, PhoneNumber] = field(default_factory=dict)
    verified_by_e164: Mapping[str, list[VerifiedCallerId]] = field(default_factory=dict)
    apps: dict[str, TwimlApp] = field(default_factory=dict)
    flows: dict[str, StudioFlow] = field(default_factory=dict)
    functions: dict[str, list[ServerlessFunction]] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    # account_sid -> e164 values that account's own references use as callerId
    used_by_account: dict[str, set[str]] = field(default_factory=dict)
    # node → labels of the inbound numbers routing to it that have no node (build_graph)
    entry_numbers: dict[str, list[str]] = field(default_factory=dict)
    reach_cache: dict[str, list[str]] = field(default_factory=dict)

    def authorized_for(self, e164: str | None, account_sid: str | None) -> bool:
        if not e164 or not account_sid:
            return False
        return account_sid in self.authorized.get(e164, {})

    def account_label(self, sid: str | None) -> str:
        """'Name (AC…)' for messages; the SID alone when the account is unknown."""
        if not sid:
            return "an unknown account"
        account = self.accounts.get(sid)
        if account and account.friendly_name:
            return f"{account.friendly_name} ({sid})"
        return sid


def build_index(snapshot: Snapshot, references: list[CallerIdReference]) -> GraphIndex:
    """Dict indexes over the snapshot (used by build_graph and directly by baseline checks)."""
    idx = GraphIndex(root_account_sid=snapshot.root_account_sid)
    for account in snapshot.accounts:
        idx.accounts[account.sid] = account
        idx.parent[account.sid] = account.owner_account_sid
    authorized = Holders()
    numbers_by_e164: Listing[PhoneNumber] = Listing()
    numbers_by_account: dict[str, list[PhoneNumber]] = defaultdict(list)
    number_by_sid: dict[str, PhoneNumber] = {}
    for number in snapshot.phone_numbers:
        number_by_sid[number.sid] = number
        numbers_by_e164.add(number.phone_number, number)
        numbers_by_account[number.account_sid].append(number)
        authorized.add(number.phone_number, number.account_sid, "owned")
    verified_by_e164: dict[str, list[VerifiedCallerId]] = defaultdict(list)
    for vid in snapshot.verified_caller_ids:
        verified_by_e164[vid.phone_number].append(vid)
        authorized.add(vid.phone_number, vid.account_sid, "verified")
    idx.authorized = authorized
    idx.number_by_sid = number_by_sid
    idx.numbers_by_e164 = numbers_by_e164
    idx.numbers_by_account = dict(numbers_by_account)
    idx.verified_by_e164 = dict(verified_by_e164)
    idx.apps = {app.sid: app for app in snapshot.applications}
    idx.flows = {flow.sid: flow for flow in snapshot.flows}
    functions: dict[str, list[ServerlessFunction]] = defaultdict(list)
    for fn in snapshot.functions:
        functions[fn.sid].append(fn)
    idx.functions = dict(functions)
    idx.alerts = {alert.sid: alert for alert in snapshot.alerts}
    idx.used_by_account = used_by_account(references)
    return idx


def used_by_account(references: Sequence[CallerIdReference]) -> dict[str, set[str]]:
    """account_sid → the E.164 values that account's own references use as callerId."""
    used: dict[str, set[str]] = defaultdict(set)
    for ref in references:
        if ref.executing_account_sid and ref.e164:
            used[ref.executing_account_sid].add(ref.e164)
    return dict(used)


def _flow_function_urls(flow: StudioFlow) -> list[str]:
    """URLs of Functions a flow runs (run-function widgets), so a Function is reached via it."""
    states = flow.definition.get("states") if isinstance(flow.definition, dict) else None
    urls: list[str] = []
    if not isinstance(states, list):
        return urls
    for state in states:
        if not isinstance(state, dict) or state.get("type") != "run-function":
            continue
        props = state.get("properties")
        if isinstance(props, dict) and isinstance(props.get("url"), str):
            url = normalize_url(props["url"])
            if url:
                urls.append(url)
    return urls


def reference_source_node(ref: CallerIdReference) -> str | None:
    """The graph node a reference hangs from (flow, function, alert, webhook URL), if any."""
    kind, sid = ref.source.kind, ref.source.sid
    if kind == SourceKind.STUDIO_FLOW and sid:
        return node_id("flow", sid)
    if kind == SourceKind.FUNCTION and sid:
        return node_id("function", sid)
    if kind == SourceKind.ALERT and sid:
        return node_id("alert", sid)
    if kind == SourceKind.WEBHOOK:
        url = normalize_url(webhook_url_of(ref))
        return node_id("url", url) if url else None
    return None


def webhook_url_of(ref: CallerIdReference) -> str | None:
    """A webhook reference names its URL in source.location (or, failing that, source.sid)."""
    for value in (ref.source.location, ref.source.sid):
        if value and "://" in value:
            return value
    return None


def build_graph(
    snapshot: Snapshot, references: list[CallerIdReference], *, every_number: bool = False
) -> nx.MultiDiGraph:
    """The hierarchy as a graph; `graph.graph["index"]` holds the GraphIndex for fast queries.

    `every_number` gives every number a node, as the graph had before issue #14 (tests
    check that both layouts give the same findings).
    """
    idx = build_index(snapshot, references)
    graph = nx.MultiDiGraph(root=snapshot.root_account_sid, index=idx)
    nodes: list[tuple[str, dict[str, object]]] = []
    edges: list[tuple[str, str, dict[str, object]]] = []
    # Value nodes only for numbers some reference uses: 100,000 unused ones would cost
    # memory and time and answer nothing (authorization is answered by the index).
    used_values = {ref.e164 for ref in references if ref.e164}
    for account in snapshot.accounts:
        nodes.append((node_id("account", account.sid), {"kind": "account", "sid": account.sid}))
        if account.owner_account_sid:
            edges.append(
                (
                    node_id("account", account.owner_account_sid),
                    node_id("account", account.sid),
                    {"kind": PARENT_OF},
                )
            )
    # A number no reference uses as a caller ID only matters as an entry (who hears a
    # failure): it gets no node, and its label is kept under the node it routes to
    # (`GraphIndex.entry_numbers`), which `reached_by` reads. A million numbers would
    # otherwise be a million nodes and two million edges that answer nothing else.
    entry_numbers: dict[str, list[str]] = defaultdict(list)
    for number in snapshot.phone_numbers:
        target = _number_route(number)
        if not every_number and number.phone_number not in used_values:
            if target:
                entry_numbers[target].append(number_label(number))
            continue
        n = node_id("number", number.sid)
        nodes.append((n, {"kind": "number", "sid": number.sid, "e164": number.phone_number}))
        edges.append((node_id("account", number.account_sid), n, {"kind": OWNS}))
        if number.phone_number in used_values:
            edges.append((n, node_id("value", number.phone_number), {"kind": IS_NUMBER}))
        if target:
            edges.append((n, target, {"kind": ROUTES_TO}))
    for vid in snapshot.verified_caller_ids:
        v = node_id("verified", vid.sid)
        nodes.append((v, {"kind": "verified", "sid": vid.sid, "e164": vid.phone_number}))
        edges.append((node_id("account", vid.account_sid), v, {"kind": VERIFIES}))
        if vid.phone_number in used_values:
            edges.append((v, node_id("value", vid.phone_number), {"kind": IS_NUMBER}))
    routed: list[tuple[str, TwimlApp | SipDomain]] = [
        *(("app", app) for app in snapshot.applications),
        *(("sip_domain", domain) for domain in snapshot.sip_domains),
    ]
    for kind, item in routed:  # apps and SIP domains: an account's item routing to a URL
        n = node_id(kind, item.sid)
        nodes.append((n, {"kind": kind, "sid": item.sid}))
        edges.append((node_id("account", item.account_sid), n, {"kind": HAS}))
        url = normalize_url(item.voice_url)
        if url:
            edges.append((n, node_id("url", url), {"kind": ROUTES_TO}))
    for flow in snapshot.flows:
        f = node_id("flow", flow.sid)
        nodes.append((f, {"kind": "flow", "sid": flow.sid}))
        edges.append((node_id("account", flow.account_sid), f, {"kind": HAS}))
        edges.append((node_id("url", normalize_url(flow_url(flow)) or ""), f, {"kind": SERVES}))
        for url in _flow_function_urls(flow):
            edges.append((f, node_id("url", url), {"kind": ROUTES_TO}))
    for fn in snapshot.functions:
        z = node_id("function", fn.sid)
        nodes.append((z, {"kind": "function", "sid": fn.sid}))
        edges.append((node_id("account", fn.account_sid), z, {"kind": HAS}))
        url = normalize_url(fn.url)
        if url:
            edges.append((node_id("url", url), z, {"kind": SERVES}))
    for alert in snapshot.alerts:
        al = node_id("alert", alert.sid)
        nodes.append((al, {"kind": "alert", "sid": alert.sid}))
        edges.append((node_id("account", alert.account_sid), al, {"kind": HAS}))
        for entry in _alert_entries(alert, idx):
            entry_number = idx.number_by_sid.get(entry.removeprefix("number:"))
            if (
                entry_number is not None
                and not every_number
                and entry_number.phone_number not in used_values
            ):
                entry_numbers[al].append(number_label(entry_number))
            else:
                edges.append((entry, al, {"kind": ROUTES_TO}))
    for i, ref in enumerate(references):
        r = node_id("ref", str(i))
        nodes.append((r, {"kind": "ref", "index": i}))
        if ref.executing_account_sid:
            edges.append((node_id("account", ref.executing_account_sid), r, {"kind": EXECUTES}))
        src = reference_source_node(ref)
        if src:
            edges.append((src, r, {"kind": CONTAINS}))
        if ref.e164:
            edges.append((r, node_id("value", ref.e164), {"kind": USES_CALLERID}))
    idx.entry_numbers = dict(entry_numbers)
    graph.add_nodes_from(nodes)
    _add_keyed_edges(graph, edges)
    for n, data in graph.nodes(data=True):
        if "kind" not in data:
            data["kind"] = n.split(":", 1)[0]
    return graph


def _add_keyed_edges(
    graph: nx.MultiDiGraph, edges: list[tuple[str, str, dict[str, object]]]
) -> None:
    """Add edges keyed by their kind, as `add_edges_from` would, in a fraction of the time.

    networkx's add_edge costs ~6 µs per edge (views, key lookup, cache clearing); a
    100,000-number hierarchy has ~300,000 edges. On a fresh graph the result is the same
    adjacency networkx builds itself: succ[u][v] and pred[v][u] share one {key: data} dict.
    Falls back to the public API if networkx ever changes that layout.
    """
    succ = getattr(graph, "_succ", None)
    pred = getattr(graph, "_pred", None)
    node = getattr(graph, "_node", None)
    if not (isinstance(succ, dict) and isinstance(pred, dict) and isinstance(node, dict)):
        graph.add_edges_from((u, v, str(d["kind"]), d) for u, v, d in edges)
        return
    for u, v, data in edges:
        for n in (u, v):
            if n not in succ:
                succ[n] = {}
                pred[n] = {}
                node[n] = {}
        keydict = succ[u].get(v)
        if keydict is None:
            keydict = {}
            succ[u][v] = keydict
            pred[v][u] = keydict
        keydict[str(data["kind"])] = data
    clear = getattr(nx, "_clear_cache", None)  # networkx ≥ 3.3 caches views on the graph
    if clear is not None:
        clear(graph)


def _number_route(number: PhoneNumber) -> str | None:
    """The node a number's calls go to: Twilio routes to its trunk if set, else its app,
    else its voice_url."""
    if number.trunk_sid:
        return node_id("trunk", number.trunk_sid)
    if number.voice_application_sid:
        return node_id("app", number.voice_application_sid)
    url = normalize_url(number.voice_url)
    return node_id("url", url) if url else None


def number_label(number: PhoneNumber) -> str:
    """How `reached_by` names an inbound number: its E.164, else its SID."""
    return number.phone_number or number.sid


def _alert_entries(alert: Alert, idx: GraphIndex) -> list[str]:
    """Who an alert's call came in through: its To number, its resource, its request URL."""
    entries: list[str] = []
    to = alert_variables(alert).get("To")
    if to:
        for number in idx.numbers_by_e164.get(to, []):
            if number.account_sid == alert.account_sid:
                entries.append(node_id("number", number.sid))
    rsid = alert.resource_sid or ""
    if rsid.startswith("PN") and rsid in idx.number_by_sid:
        entries.append(node_id("number", rsid))
    elif rsid.startswith("AP") and rsid in idx.apps:
        entries.append(node_id("app", rsid))
    url = normalize_url(alert.request_url)
    if url:
        entries.append(node_id("url", url))
    return entries


def index_of(graph_or_index: nx.MultiDiGraph | GraphIndex) -> GraphIndex:
    if isinstance(graph_or_index, GraphIndex):
        return graph_or_index
    idx = graph_or_index.graph.get("index")
    if not isinstance(idx, GraphIndex):
        raise TypeError("graph was not built by auditor.graph.build_graph")
    return idx


def authorized_accounts(
    graph_or_index: nx.MultiDiGraph | GraphIndex, e164: str | None
) -> dict[str, Authorization]:
    """Accounts of the hierarchy that may use `e164` as callerId, and why."""
    if not e164:
        return {}
    return dict(index_of(graph_or_index).authorized.get(e164, {}))


def ancestors(graph_or_index: nx.MultiDiGraph | GraphIndex, sid: str) -> list[str]:
    """`sid`, its parent, its grandparent … (stops on a cycle or an unknown parent)."""
    idx = index_of(graph_or_index)
    chain = [sid]
    current: str | None = idx.parent.get(sid)
    while current and current not in chain:
        chain.append(current)
        current = idx.parent.get(current)
    return chain


def hierarchy_path(
    graph_or_index: nx.MultiDiGraph | GraphIndex, from_sid: str, to_sid: str
) -> list[str]:
    """Accounts from `from_sid` up to the closest common ancestor and down to `to_sid`.

    Sibling subaccounts give [X, parent, Y]; a child using its parent's number [X, parent];
    accounts with no common ancestor in the snapshot give [X, Y].
    """
    if from_sid == to_sid:
        return [from_sid]
    up = ancestors(graph_or_index, from_sid)
    down = ancestors(graph_or_index, to_sid)
    down_set = set(down)
    for i, sid in enumerate(up):
        if sid in down_set:
            j = down.index(sid)
            return up[: i + 1] + list(reversed(down[:j]))
    return [from_sid, to_sid]


def reached_by(graph: nx.MultiDiGraph, reference: CallerIdReference) -> list[str]:
    """Inbound numbers (E.164), apps, flows and SIP domains (SIDs) that reach `reference`.

    Walks routes backwards from the reference's source: number → app → URL → flow/function,
    flow → run-function URL → function, alert ← its To number / request URL. Cached per source.
    """
    src = reference_source_node(reference)
    idx = index_of(graph)
    if src is None or (src not in graph and src not in idx.entry_numbers):
        return []
    cached = idx.reach_cache.get(src)
    if cached is not None:
        return list(cached)
    _, found = _walk_routes(graph, idx.entry_numbers, [src])
    result = sorted(found)
    idx.reach_cache[src] = result
    return list(result)


def _walk_routes(
    graph: nx.MultiDiGraph, entry_numbers: Mapping[str, list[str]], starts: Iterable[str]
) -> tuple[set[str], set[str]]:
    """(nodes walked, entry labels found) going backwards along routes from `starts`."""
    seen = set(starts)
    stack = list(seen)
    found: set[str] = set()
    while stack:
        node = stack.pop()
        found.update(entry_numbers.get(node, ()))  # numbers without a node of their own
        if node not in graph:
            continue
        for pred, _, data in graph.in_edges(node, data=True):
            if data.get("kind") not in _ROUTE_EDGES or pred in seen:
                continue
            seen.add(pred)
            stack.append(pred)
            kind = graph.nodes[pred].get("kind")
            if kind in _ENTRY_KINDS:
                found.add(_entry_label(graph, pred))
    return seen, found


def alert_reach(
    graph: nx.MultiDiGraph,
    alert: Alert,
    index: GraphIndex | None = None,
    *,
    renumbered: Mapping[str, Sequence[PhoneNumber]] | None = None,
) -> list[str]:
    """What `reached_by` answers for `alert`'s references in a graph built with the alert,
    from `graph`, built without it (`watch`: one graph for every event).

    An alert is a leaf of the routes (nothing routes through it), so adding one changes
    no other answer. `index`: where the alert's entries are read (default: the graph's).
    `renumbered`: E.164 → the numbers holding it now, for numbers whose holders changed
    since the graph was built; whether they reach the alert is judged by these.
    """
    idx = index or index_of(graph)
    found: set[str] = set()
    starts: list[str] = []
    for entry in _alert_entries(alert, idx):
        kind, key = entry.split(":", 1)
        number = idx.number_by_sid.get(key) if kind == "number" else None
        if number is not None:
            found.add(number_label(number))  # a number routes nowhere further back
            continue
        starts.append(entry)
        if kind in _ENTRY_KINDS:
            found.add(key)  # an app: its SID, as _entry_label names it
    walked, labels = _walk_routes(graph, index_of(graph).entry_numbers, starts)
    if renumbered:
        labels -= renumbered.keys()  # a number's label is its E.164: these are judged anew
        labels.update(
            e164
            for e164, numbers in renumbered.items()
            if any(_number_route(n) in walked for n in numbers)
        )
    return sorted(found | labels)


def _entry_label(graph: nx.MultiDiGraph, node: str) -> str:
    data = graph.nodes[node]
    if data.get("kind") == "number":
        return str(data.get("e164") or data.get("sid"))  # as number_label
    return str(data.get("sid") or node.split(":", 1)[1])
