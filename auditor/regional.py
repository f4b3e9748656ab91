"""Several regional snapshots of one hierarchy → one analysis input.

Twilio Regions are isolated: each has its own credentials, TwiML apps, SIP domains,
Studio flows, Functions, alerts and voice configuration of numbers, while the phone
numbers themselves are global (every region lists the account's numbers). A hierarchy
that uses several regions is collected once per region; `RegionalInput` is what the
analysis reads, so no rule has to know how many snapshots there were:

- `snapshots`: one per region, US1 first. References are extracted from each one and
  carry its region: that is where they execute.
- `merged`: one Snapshot for the graph and the renderers: accounts and numbers once
  (ownership is global; a number's voice route is the one of the region that configures
  it), every region's apps, flows, Functions, alerts and probe answers, the Verified
  Caller IDs of every region, and coverage per account and source (the worst state wins,
  an error names its region).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from auditor.errors import AuditorError
from auditor.model import Account, PhoneNumber, RegionScope, Snapshot, VerifiedCallerId
from auditor.regions import REGIONS, region_label
from auditor.snapshot import check_one_audit
from auditor.urls import url_host

_MERGED_LISTS = (
    "verified_caller_ids",
    "applications",
    "sip_domains",
    "flows",
    "functions",
    "alerts",
    "webhooks",
    "code_references",
    "flex_configurations",
)


@dataclass(frozen=True)
class RegionalInput:
    """The snapshots one analysis covers (one per region) and their merged view."""

    snapshots: tuple[Snapshot, ...]
    merged: Snapshot

    @classmethod
    def of(cls, snapshots: Snapshot | RegionalInput | Sequence[Snapshot]) -> RegionalInput:
        if isinstance(snapshots, RegionalInput):
            return snapshots
        items = (snapshots,) if isinstance(snapshots, Snapshot) else tuple(snapshots)
        if not items:
            raise AuditorError("no snapshot to analyse; pass a snapshot.json or an audit folder")
        check_one_audit(
            [(f"snapshot {i + 1} (collected {s.collected_at})", s) for i, s in enumerate(items)]
        )
        ordered = tuple(sorted(items, key=lambda s: (s.region != "us1", s.region)))
        merged = ordered[0] if len(ordered) == 1 else merge(ordered)
        return cls(ordered, merged)

    @property
    def multi(self) -> bool:
        return len(self.snapshots) > 1

    @property
    def regions(self) -> list[str]:
        return [s.region for s in self.snapshots]

    def scopes(self) -> list[RegionScope]:
        return [
            RegionScope(s.region, s.edge, s.collected_at, s.coverage, list(s.notes))
            for s in self.snapshots
        ]

    def not_audited(self) -> tuple[list[str], list[str]]:
        """(home regions no snapshot covers, notes saying what hints that they are used)."""
        return unaudited_regions(self.merged, self.regions)


def _configured(number: PhoneNumber) -> bool:
    return bool(number.voice_url or number.voice_application_sid or number.trunk_sid)


def _worst(states: list[tuple[str, str]]) -> str:
    """Coverage across regions: an error anywhere wins (named), then ok, then skipped."""
    for region, state in states:
        if state.startswith("error"):
            return f"error: {region_label(region)}: {state.removeprefix('error:').strip()}"
    if any(state == "ok" for _, state in states):
        return "ok"
    return states[0][1] if states else "skipped"


def merge(snapshots: Sequence[Snapshot]) -> Snapshot:
    """The union of regional snapshots (see the module docstring); inputs are not changed."""
    first = snapshots[0]
    merged = Snapshot(
        root_account_sid=first.root_account_sid,
        collected_at=first.collected_at,
        tool_version=first.tool_version,
        schema_version=first.schema_version,
        api_url=first.api_url,
        region=first.region,
        edge=first.edge,
        alert_window_days=first.alert_window_days,
    )
    accounts: dict[str, Account] = {}
    numbers: dict[str, PhoneNumber] = {}
    routed_in: dict[str, list[str]] = {}
    for snap in snapshots:
        for account in snap.accounts:
            accounts.setdefault(account.sid, account)
        for number in snap.phone_numbers:
            if _configured(number):
                routed_in.setdefault(number.sid, []).append(snap.region)
            kept = numbers.get(number.sid)
            if kept is None:
                numbers[number.sid] = number
            elif not _configured(kept) and _configured(number):
                # The number is global; its voice route is the one a region configures.
                numbers[number.sid] = replace(
                    kept,
                    voice_url=number.voice_url,
                    voice_method=number.voice_method,
                    voice_application_sid=number.voice_application_sid,
                    trunk_sid=number.trunk_sid,
                    voice_receive_mode=number.voice_receive_mode,
                )
        for name in _MERGED_LISTS:
            getattr(merged, name).extend(getattr(snap, name))
        # Geo Permissions are per region: each entry keeps the region it applies in.
        merged.dialing_permissions.extend(
            replace(p, region=p.region or snap.region) for p in snap.dialing_permissions
        )
        # High-risk prefixes describe a country, not a region's settings: each country once.
        known = {p.iso_code for p in merged.high_risk_special_prefixes}
        merged.high_risk_special_prefixes.extend(
            p for p in snap.high_risk_special_prefixes if p.iso_code not in known
        )
    merged.accounts = list(accounts.values())
    merged.phone_numbers = list(numbers.values())
    unique: dict[str, VerifiedCallerId] = {}
    for vid in merged.verified_caller_ids:
        unique.setdefault(vid.sid, vid)
    merged.verified_caller_ids = list(unique.values())
    covered = dict.fromkeys(
        [a.sid for a in merged.accounts] + [sid for snap in snapshots for sid in snap.coverage]
    )
    for sid in covered:
        per = [(snap.region, snap.coverage.get(sid, {})) for snap in snapshots]
        sources = sorted({source for _, cov in per for source in cov})
        if sources:
            merged.coverage[sid] = {
                source: _worst([(r, cov[source]) for r, cov in per if source in cov])
                for source in sources
            }
    merged.notes.extend(_tagged_notes(snapshots))
    several = sorted(sid for sid, regions in routed_in.items() if len(regions) > 1)
    if several:
        merged.notes.append(
            f"{len(several)} number(s) have a voice configuration in more than one region; "
            "Twilio uses the one of the number's inbound processing region (Routes API), which "
            "this audit does not read: the report shows the first region's."
        )
    return merged


def _tagged_notes(snapshots: Sequence[Snapshot]) -> list[str]:
    """Each region's notes, tagged with it; a note several regions share is said once."""
    regions_of: dict[str, list[str]] = {}
    for snap in snapshots:
        tag = f"{region_label(snap.region)}: "
        for note in snap.notes:
            text = note.removeprefix(tag)
            regions_of.setdefault(text, [])
            if snap.region not in regions_of[text]:
                regions_of[text].append(snap.region)
    return [
        f"{', '.join(region_label(r) for r in regions)}: {text}"
        for text, regions in regions_of.items()
    ]


def _url_region(url: str | None) -> str | None:
    """The home region a Twilio URL names (`webhooks.dublin.ie1.twilio.com` → ie1)."""
    host = url_host(url)  # customer data: never raises on a malformed URL
    if not host.endswith(".twilio.com"):
        return None
    labels = host.removesuffix(".twilio.com").split(".")
    return next((label for label in labels[1:] if label in REGIONS), None)


def unaudited_regions(merged: Snapshot, audited: Sequence[str]) -> tuple[list[str], list[str]]:
    """Twilio's home regions that no snapshot covers, and what hints that they are in use.

    What the tool can see from the audited regions: numbers with no voice configuration
    in any of them (a number answers calls in the region that configures it), and
    webhook URLs that name another region's Twilio host.
    """
    missing = [r for r in REGIONS if r not in audited]
    if not missing:
        return [], []
    notes: list[str] = []
    unrouted = [
        n for n in merged.phone_numbers if n.capabilities.get("voice", True) and not _configured(n)
    ]
    urls = {  # a million numbers share a few thousand URLs: each is read once
        *(n.voice_url for n in merged.phone_numbers),
        *(a.voice_url for a in merged.applications),
        *(d.voice_url for d in merged.sip_domains),
    }
    named = sorted({r for r in map(_url_region, urls) if r in missing})
    for region in named:
        notes.append(
            f"Webhooks of the audited regions point at {region_label(region)} Twilio hosts: "
            f"{region_label(region)} is in use but was not audited."
        )
    if unrouted:
        notes.append(
            f"{len(unrouted)} voice number(s) have no voice configuration in "
            f"{', '.join(region_label(r) for r in audited)}: if they answer calls, a region "
            "that was not audited configures them."
        )
    return missing, notes
