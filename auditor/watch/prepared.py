"""The snapshot's graph, indexes and Geo Permissions built once; each event judged against them.

`audit` builds the graph of the whole hierarchy and runs every rule over every
reference. Doing that per event costs seconds at 100,000 numbers, although an event
adds only one alert and its few references. So the graph and its indexes are built
once at start, without the snapshot's old alerts (history: the event's alert takes
their place); per event, every rule of `auditor.rules` runs on a RuleContext that
holds only the event's references, over the same indexes with:

- the event's alert as the only alert, and which account uses which number as its
  callerId (`used_by_account`: "the owner uses it itself") from the event's references
  plus every reference of the snapshot to the same numbers, its old alerts' included
  (as in the audit) — the only way another reference enters a finding about an alert;
- who reaches the alert (`impacted`) from `graph.alert_reach`: an alert is a leaf of
  the routes, so adding it changes no other answer of the graph;
- when Twilio was asked who holds a number now (auditor.watch.live), that number's
  holders replaced in the indexes, exactly as a snapshot rebuilt with the answer
  would list them;
- the Geo Permissions worked out once (they do not depend on the event).

The findings are the ones `analyse_references` gives about the event's alert on the
snapshot with that alert (tests compare the two on generated hierarchies).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import networkx as nx

from auditor.analysis import unique_references
from auditor.extract import references_from_snapshot
from auditor.findings import assign_fingerprints, sort_findings
from auditor.graph import (
    Authorization,
    Holders,
    Listing,
    alert_reach,
    build_graph,
    index_of,
    node_id,
    used_by_account,
)
from auditor.lookup import Authorization as Held
from auditor.model import (
    Alert,
    CallerIdReference,
    Finding,
    PhoneNumber,
    Snapshot,
    SourceKind,
    VerifiedCallerId,
)
from auditor.rules import ALL_RULES
from auditor.rules.base import RuleContext
from auditor.rules.dial_destination_not_permitted import geo_index
from auditor.watch.live import LiveHolders

_V = TypeVar("_V")


class Overlay(Mapping[str, _V]):
    """`base` with the keys of `changes` answered by `changes` and `removed` keys gone."""

    __slots__ = ("_base", "_changes", "_removed")

    def __init__(
        self, base: Mapping[str, _V], changes: Mapping[str, _V], removed: set[str]
    ) -> None:
        self._base, self._changes, self._removed = base, changes, removed

    def __getitem__(self, key: str) -> _V:
        if key in self._removed:
            raise KeyError(key)
        if key in self._changes:
            return self._changes[key]
        return self._base[key]

    def __contains__(self, key: object) -> bool:
        if key in self._removed:
            return False
        return key in self._changes or key in self._base

    def __iter__(self) -> Iterator[str]:
        for key in self._base:
            if key not in self._removed and key not in self._changes:
                yield key
        yield from self._changes

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass
class LiveView:
    """The index fields a snapshot rebuilt with Twilio's live answers would have differently."""

    authorized: Mapping[str, dict[str, Authorization]]
    numbers_by_e164: Mapping[str, list[PhoneNumber]]
    verified_by_e164: Mapping[str, list[VerifiedCallerId]]
    numbers_by_account: Mapping[str, list[PhoneNumber]]
    number_by_sid: Mapping[str, PhoneNumber]
    # E.164 → the numbers holding it now, for graph.alert_reach
    renumbered: dict[str, list[PhoneNumber]] = field(default_factory=dict)


class PreparedSnapshot:
    """One snapshot, ready to judge events; built at start and whenever it is reloaded."""

    def __init__(self, snapshot: Snapshot) -> None:
        # Building the graph allocates many small objects that all stay alive; the cyclic
        # collector would rescan them again and again (as in auditor.analysis).
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self.snapshot = replace(snapshot, alerts=[])
            self.graph = build_graph(self.snapshot, [])
            self.index = index_of(self.graph)
            # Who uses which number: every reference, the old alerts' too (as the audit).
            refs, _ = references_from_snapshot(snapshot)
            self.refs_by_e164: dict[str, list[CallerIdReference]] = {}
            for ref in refs:
                if ref.e164:
                    self.refs_by_e164.setdefault(ref.e164, []).append(ref)
            # Geo Permissions depend on the snapshot only: worked out once, shared by events.
            seed = RuleContext(self.snapshot, self.graph, [], self.index)
            geo_index(seed, self.snapshot.region)
            self._shared = dict(seed.shared)
        finally:
            if was_enabled:
                gc.enable()

    def findings(
        self,
        alert: Alert,
        references: Sequence[CallerIdReference],
        live: Sequence[LiveHolders] = (),
    ) -> list[Finding]:
        """Every rule's findings about `alert` (sorted, fingerprinted as the audit's)."""
        refs = unique_references(references)
        values = sorted({r.e164 for r in refs if r.e164})
        others = [o for e164 in values for o in self.refs_by_e164.get(e164, [])]
        view = self._live_view(live)
        index = replace(
            self.index,
            alerts={alert.sid: alert},
            used_by_account=used_by_account([*others, *refs]),
            reach_cache={},
        )
        if view is not None:
            index.authorized = view.authorized
            index.numbers_by_e164 = view.numbers_by_e164
            index.verified_by_e164 = view.verified_by_e164
            index.numbers_by_account = view.numbers_by_account
            index.number_by_sid = view.number_by_sid
        node = node_id("alert", alert.sid)
        index.reach_cache[node] = alert_reach(
            self.graph, alert, index, renumbered=view.renumbered if view else None
        )
        # The rules ask the graph only who reaches a reference (graph.reached_by): for the
        # event's references, the alert's node, answered from the cache filled above.
        graph = nx.MultiDiGraph(root=self.snapshot.root_account_sid, index=index)
        graph.add_node(node, kind="alert", sid=alert.sid)
        ctx = RuleContext(
            snapshot=replace(self.snapshot, alerts=[alert]),
            graph=graph,
            references=refs,
            index=index,
            regions=(self.snapshot.region,),
            shared=dict(self._shared),
        )
        found = sort_findings(f for rule in ALL_RULES for f in rule.check(ctx))
        assign_fingerprints(found)
        return [f for f in found if f.source.kind == SourceKind.ALERT and f.source.sid == alert.sid]

    def _live_view(self, live: Sequence[LiveHolders]) -> LiveView | None:
        """The holders of each answered number replaced by Twilio's answer.

        As a snapshot rebuilt with the answer lists them: the snapshot's numbers and
        Verified Caller IDs of that value in the accounts the answer covers are dropped
        (every account when all were asked, else the executing one), and what Twilio
        says holds it now is added after the rest, the snapshot's own record of a number
        kept when it still exists.
        """
        answered = [h for h in live if h.error is None]
        if not answered:
            return None
        base = self.index

        def stale(item: PhoneNumber | VerifiedCallerId) -> bool:
            return any(
                item.phone_number == h.e164 and (h.complete or item.account_sid == h.executing)
                for h in answered
            )

        values = {h.e164 for h in answered}
        removed = {id(n) for e164 in values for n in base.numbers_by_e164.get(e164, []) if stale(n)}
        removed_numbers = [
            n for e164 in values for n in base.numbers_by_e164.get(e164, []) if id(n) in removed
        ]
        removed_verified = {
            id(v) for e164 in values for v in base.verified_by_e164.get(e164, []) if stale(v)
        }
        added_numbers: list[PhoneNumber] = []
        added_verified: list[VerifiedCallerId] = []
        for h in answered:
            for status in h.holders:
                sid = status.resource_sid or ""
                if status.authorization is Held.OWNED:
                    known = base.number_by_sid.get(sid)
                    if known is None or known.account_sid != status.account_sid:
                        known = PhoneNumber(
                            sid=sid, account_sid=status.account_sid, phone_number=h.e164
                        )
                    added_numbers.append(known)
                elif status.authorization is Held.VERIFIED:
                    added_verified.append(
                        VerifiedCallerId(
                            sid=sid, account_sid=status.account_sid, phone_number=h.e164
                        )
                    )
        touched = (
            values
            | {n.phone_number for n in added_numbers}
            | {v.phone_number for v in added_verified}
        )
        numbers: dict[str, list[PhoneNumber]] = {}
        verified: dict[str, list[VerifiedCallerId]] = {}
        holders = Holders()
        by_e164: Listing[PhoneNumber] = Listing()
        for e164 in sorted(touched):
            numbers[e164] = [
                n for n in base.numbers_by_e164.get(e164, []) if id(n) not in removed
            ] + [n for n in added_numbers if n.phone_number == e164]
            verified[e164] = [
                v for v in base.verified_by_e164.get(e164, []) if id(v) not in removed_verified
            ] + [v for v in added_verified if v.phone_number == e164]
            for n in numbers[e164]:
                holders.add(e164, n.account_sid, "owned")
                by_e164.add(e164, n)
            for v in verified[e164]:
                holders.add(e164, v.account_sid, "verified")
        accounts = {n.account_sid for n in (*removed_numbers, *added_numbers)}
        by_account = {
            a: [n for n in base.numbers_by_account.get(a, []) if id(n) not in removed]
            + [n for n in added_numbers if n.account_sid == a]
            for a in accounts
        }
        sids = {n.sid for n in (*removed_numbers, *added_numbers)}
        by_sid: dict[str, PhoneNumber] = {}
        for sid in sids:
            kept = base.number_by_sid.get(sid)
            candidates = [kept] if kept is not None and id(kept) not in removed else []
            candidates += [n for n in added_numbers if n.sid == sid]
            if candidates:
                by_sid[sid] = candidates[-1]
        return LiveView(
            authorized=Overlay(base.authorized, holders, touched - set(holders)),
            numbers_by_e164=Overlay(base.numbers_by_e164, by_e164, touched - set(by_e164)),
            verified_by_e164=Overlay(
                base.verified_by_e164,
                {e: v for e, v in verified.items() if v},
                {e for e, v in verified.items() if not v},
            ),
            numbers_by_account=Overlay(
                base.numbers_by_account,
                {a: v for a, v in by_account.items() if v},
                {a for a, v in by_account.items() if not v},
            ),
            number_by_sid=Overlay(base.number_by_sid, by_sid, sids - set(by_sid)),
            renumbered=numbers,
        )
