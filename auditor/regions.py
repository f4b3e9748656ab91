"""Twilio Regions as data: which regions and edges exist, and what each region supports.

Twilio processes data in three home regions (US1, IE1, AU1); each is isolated:
credentials, TwiML apps, SIP domains and the voice configuration of numbers
belong to one region, while the phone numbers themselves are global. The SDK
addresses a region with both `region` and `edge` (`api.dublin.ie1.twilio.com`)
and does not derive one from the other, so a choice is checked here once,
against Twilio's documented pairs, before any request is sent.

Feature availability per region is a table (`AVAILABILITY`), each row with the
page it comes from and the day it was read: the collector skips what a region
does not have, and the rules ask `lacks(region, feature)`, never `region == …`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from auditor.errors import AuditorError

DEFAULT_REGION = "us1"

# Pages the table cites (read with the search tool; dates in CHECKED).
AVAILABILITY_URL = (
    "https://www.twilio.com/docs/global-infrastructure/regional-product-and-feature-availability"
)
STUDIO_REGIONS_URL = "https://www.twilio.com/docs/global-infrastructure/studio-with-twilio-regions"
EDGE_LOCATIONS_URL = "https://www.twilio.com/docs/global-infrastructure/edge-locations"
LEGACY_EDGES_URL = "https://www.twilio.com/docs/global-infrastructure/edge-locations/legacy-regions"
DOMAIN_MIGRATION_URL = (
    "https://www.twilio.com/docs/global-infrastructure/api-domain-migration-guide"
)
DOMAIN_CHANGELOG_URL = "https://www.twilio.com/en-us/changelog/deprecation-of-region-specific-twilio-api-domain-patterns"
CREDENTIALS_URL = (
    "https://www.twilio.com/docs/global-infrastructure/manage-regional-api-credentials"
)
MIGRATION_URL = "https://www.twilio.com/docs/global-infrastructure/localized-uris/regional-migration-best-practices"
INBOUND_REGION_URL = (
    "https://www.twilio.com/docs/global-infrastructure/inbound-processing-region-api-phone-number"
)
CHECKED = "2026-12-01"

# Public edge IDs (Edge Locations page). Interconnect edges (ashburn-ix …) are private.
PUBLIC_EDGES = (
    "ashburn",
    "umatilla",
    "dublin",
    "frankfurt",
    "sao-paulo",
    "singapore",
    "tokyo",
    "sydney",
    "roaming",
)
# Legacy edge IDs that look like regions (legacy-regions page): api.{id}.twilio.com stopped
# working on 2026-04-28 and always processed in US1; ie1 and au1 remain processing regions.
LEGACY_EDGE_IDS = {
    "au1": "sydney",
    "br1": "sao-paulo",
    "ie1": "dublin",
    "de1": "frankfurt",
    "jp1": "tokyo",
    "sg1": "singapore",
    "us1": "ashburn",
    "us2": "umatilla",
    "gll": "roaming",
}


@dataclass(frozen=True)
class Region:
    """One home region and the edges its REST API hostnames are documented with."""

    id: str
    name: str
    edges: tuple[str, ...]  # edges Twilio documents for api.{edge}.{id}.twilio.com
    edge_optional: bool  # US1 alone is api.twilio.com (or the still valid api.us1.twilio.com)

    @property
    def label(self) -> str:
        return self.id.upper()


REGIONS: dict[str, Region] = {
    r.id: r
    for r in (
        # Without an edge the SDK sends to api.twilio.com (US1); with one, the SDK sets us1.
        Region("us1", "United States, Ashburn", PUBLIC_EDGES, edge_optional=True),
        # The migration guide and the changelog name api.dublin.ie1 / api.sydney.au1.
        Region("ie1", "Ireland, Dublin", ("dublin",), edge_optional=False),
        Region("au1", "Australia, Sydney", ("sydney",), edge_optional=False),
    )
}


class Status(StrEnum):
    SUPPORTED = "supported"
    UNSUPPORTED = "unsupported"
    UNKNOWN = "unknown"  # Twilio's page, as read, does not say


# Features the auditor depends on; each collector source names the one it needs.
VERIFIED_CALLER_IDS = "verified_caller_ids"
STUDIO = "studio"
SERVERLESS = "serverless"
MONITOR = "monitor"
FLEX = "flex"
FEATURE_NAMES = {
    VERIFIED_CALLER_IDS: "Verified Caller IDs",
    STUDIO: "Studio",
    SERVERLESS: "Functions (Serverless)",
    MONITOR: "Monitor alerts",
    FLEX: "Flex",
}
SOURCE_FEATURES = {
    "verified_caller_ids": VERIFIED_CALLER_IDS,
    "flows": STUDIO,
    "functions": SERVERLESS,
    "alerts": MONITOR,
    "flex": FLEX,
}


@dataclass(frozen=True)
class Availability:
    """One row: whether `region` has `feature`, in Twilio's words, and where that is written."""

    region: str
    feature: str
    status: Status
    source: str
    says: str  # what the page says, shortly
    checked: str = CHECKED


AVAILABILITY: tuple[Availability, ...] = (
    Availability(
        "ie1",
        VERIFIED_CALLER_IDS,
        Status.UNSUPPORTED,
        AVAILABILITY_URL,
        "lists Verified Caller IDs among the Voice features not yet supported in IE1",
    ),
    Availability(
        "ie1",
        SERVERLESS,
        Status.SUPPORTED,
        AVAILABILITY_URL,
        "lists Functions and Assets among the products of the IE1 Region",
    ),
    Availability(
        "ie1",
        STUDIO,
        Status.SUPPORTED,
        STUDIO_REGIONS_URL,
        "Studio in IE1, including the API, is a public beta",
    ),
    Availability(
        "ie1",
        FLEX,
        Status.UNSUPPORTED,
        STUDIO_REGIONS_URL,
        "says the Send to Flex widget is not available in IE1 because Flex is not",
    ),
    Availability(
        "au1",
        FLEX,
        Status.UNSUPPORTED,
        AVAILABILITY_URL,
        "names only Programmable Voice and Elastic SIP Trunking as products of the AU1 Region",
    ),
    Availability(
        "au1",
        VERIFIED_CALLER_IDS,
        Status.UNKNOWN,
        AVAILABILITY_URL,
        "the copy read ends inside AU1's list of unsupported APIs, before its Voice features",
    ),
    Availability(
        "au1",
        STUDIO,
        Status.UNSUPPORTED,
        AVAILABILITY_URL,
        "names only Programmable Voice and Elastic SIP Trunking as products of the AU1 Region",
    ),
    Availability(
        "au1",
        SERVERLESS,
        Status.UNSUPPORTED,
        AVAILABILITY_URL,
        "names only Programmable Voice and Elastic SIP Trunking as products of the AU1 Region",
    ),
)
_AVAILABILITY = {(row.region, row.feature): row for row in AVAILABILITY}


def availability(region: str, feature: str) -> Availability:
    """The row for (region, feature); US1 has every feature, other gaps are unknown."""
    row = _AVAILABILITY.get((region, feature))
    if row is not None:
        return row
    status = Status.SUPPORTED if region == DEFAULT_REGION else Status.UNKNOWN
    return Availability(region, feature, status, AVAILABILITY_URL, "not listed")


def lacks(region: str | None, feature: str) -> bool:
    """True when Twilio says `region` does not support `feature` (unknown is not lacking)."""
    return availability(region or DEFAULT_REGION, feature).status is Status.UNSUPPORTED


def region_label(region: str | None) -> str:
    return (region or DEFAULT_REGION).upper()


# --------------------------------------------------------------------------- choosing a region


@dataclass(frozen=True)
class RegionChoice:
    """A checked (region, edge) pair and what the SDK is given for it."""

    region: str = DEFAULT_REGION
    edge: str | None = None

    @property
    def sdk_region(self) -> str | None:
        """None for plain US1: the SDK then sends to api.twilio.com, Twilio's default host."""
        return None if self.region == DEFAULT_REGION and self.edge is None else self.region

    @property
    def sdk_edge(self) -> str | None:
        return self.edge

    @property
    def label(self) -> str:
        return region_label(self.region) + (f" (edge {self.edge})" if self.edge else "")

    def host(self, product: str = "api") -> str:
        """The hostname the SDK builds: product[.edge.region].twilio.com."""
        parts = [product, self.sdk_edge, self.sdk_region]
        return ".".join(p for p in parts if p) + ".twilio.com"


def _documented_pairs() -> str:
    return "; ".join(
        f"{r.label}: --region {r.id}"
        + (f" --edge {r.edges[0]}" if not r.edge_optional else " (edge optional)")
        for r in REGIONS.values()
    )


def resolve_region(region: str | None, edge: str | None) -> RegionChoice:
    """Check --region/--edge (or TWILIO_REGION/TWILIO_EDGE) against Twilio's documented pairs.

    Raises AuditorError (exit 2) with one line naming the problem and the pair to use.
    """
    reg = (region or "").strip().lower() or None
    edg = (edge or "").strip().lower() or None
    if edg is not None and edg not in PUBLIC_EDGES:
        if edg in LEGACY_EDGE_IDS:
            raise AuditorError(
                f"--edge {edg} is a legacy edge ID; use --edge {LEGACY_EDGE_IDS[edg]} "
                f"(Twilio's legacy edge IDs: {LEGACY_EDGES_URL})"
            )
        raise AuditorError(
            f"--edge {edg} is not a Twilio edge location; use one of {', '.join(PUBLIC_EDGES)} "
            f"({EDGE_LOCATIONS_URL})"
        )
    if reg is None:
        # The SDK's own rule: an edge alone means region us1.
        return RegionChoice(DEFAULT_REGION, edg)
    known = REGIONS.get(reg)
    if known is None:
        hint = (
            f"{reg} is a legacy edge ID, not a processing region; "
            if reg in LEGACY_EDGE_IDS
            else f"{reg} is not a Twilio region; "
        )
        homes = ", ".join(r.label for r in REGIONS.values())
        raise AuditorError(
            f"--region {hint}Twilio processes data in {homes} ({_documented_pairs()})"
        )
    if edg is None:
        if known.edge_optional:
            return RegionChoice(known.id, None)
        raise AuditorError(
            f"--region {reg} needs --edge {known.edges[0]}: with a region alone the SDK sends to "
            f"api.{reg}.twilio.com, which processed every request in US1 and stopped working on "
            f"2026-04-28 ({DOMAIN_MIGRATION_URL})"
        )
    if edg not in known.edges:
        raise AuditorError(
            f"--region {reg} --edge {edg} is not a documented pair; Twilio's {known.label} "
            f"hostname is {RegionChoice(known.id, known.edges[0]).host()}: use --edge "
            f"{known.edges[0]}"
        )
    return RegionChoice(known.id, edg)


def canonical_host(host: str) -> str:
    """`studio.dublin.ie1.twilio.com` → `studio.twilio.com`: the product host without the
    edge and region labels the SDK adds (other hosts are returned as they are)."""
    host = host.lower().rstrip(".")
    if not host.endswith(".twilio.com"):
        return host
    labels = host.removesuffix(".twilio.com").split(".")
    rest = labels[1:]
    if rest and (rest[-1] in REGIONS or rest[-1] in LEGACY_EDGE_IDS):
        rest = rest[:-1]
    if rest and rest[0] in PUBLIC_EDGES:
        rest = rest[1:]
    return host if rest else f"{labels[0]}.twilio.com"
