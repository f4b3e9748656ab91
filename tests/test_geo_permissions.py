"""Voice Geo Permissions: which list applies (own, inherited, uncertain) and the rule
`dial-destination-not-permitted`, which fires on blocked destinations and stays quiet
on permitted ones and wherever the permissions cannot be told."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from test_rules_support import ROOT, A, B, make_ref, make_snapshot

from auditor.analysis import analyse_references
from auditor.extract.numberinfo import country_of
from auditor.findings import assign_fingerprints, finding_dict
from auditor.model import (
    CallerIdReference,
    DialingPermissionCountry,
    DialingPermissions,
    Finding,
    Snapshot,
    Source,
    Via,
)
from auditor.rules.geo import (
    HIGH_RISK_SPECIAL,
    INHERITED,
    LOW_RISK,
    OWN,
    UNCERTAIN,
    GeoIndex,
    entry_for,
    judge,
    risk_class,
)

RULE = "dial-destination-not-permitted"
A_NUM = "+15551110001"  # owned by A (test_rules_support)
DE = "+4930901820"
GB = "+442079460123"
GB_PREMIUM = "+449098790123"
US = "+14155550123"
CA = "+16135550123"
JM = "+18765550123"


def country(
    iso: str, codes: list[str], *, low: bool = False, special: bool = False, fraud: bool = False
) -> DialingPermissionCountry:
    return DialingPermissionCountry(
        iso_code=iso,
        name=iso,
        country_codes=codes,
        low_risk_numbers_enabled=low,
        high_risk_special_numbers_enabled=special,
        high_risk_tollfraud_numbers_enabled=fraud,
    )


def world(**enabled: bool) -> list[DialingPermissionCountry]:
    """US (+1), GB (+44), DE (+49), JM (+1876): low-risk enabled as given."""
    codes = {"US": ["+1"], "GB": ["+44"], "DE": ["+49"], "JM": ["+1876"]}
    return [country(iso, c, low=enabled.get(iso, False)) for iso, c in codes.items()]


def perms(account: str, countries: list[DialingPermissionCountry] | None, inherit: bool | None):
    return DialingPermissions(
        account_sid=account,
        inheritance=inherit,
        countries=list(countries or []),
        countries_read=countries is not None,
    )


def snap(*geo: DialingPermissions) -> Snapshot:
    return make_snapshot(dialing_permissions=list(geo))


def dial(to: str, account: str = A, **fields: object) -> CallerIdReference:
    fields.setdefault("source", Source("webhook", None, "https://a.example.com/voice"))
    return make_ref(A_NUM, account, destination=to, destination_country=country_of(to), **fields)


def blocked(snapshot: Snapshot, *refs: CallerIdReference) -> list[Finding]:
    return [f for f in analyse_references(snapshot, list(refs)).findings if f.rule == RULE]


# --------------------------------------------------------------------------- which list applies


def test_top_level_and_non_inheriting_accounts_use_their_own_list() -> None:
    geo = GeoIndex(snap(perms(ROOT, world(US=True), None), perms(A, world(DE=True), False)))
    root, a = geo.effective(ROOT), geo.effective(A)
    assert root and root.how == OWN and root.holder == ROOT
    assert a and a.how == OWN and a.holder == A


def test_inheriting_subaccount_uses_its_parents_list_not_its_own() -> None:
    # Twilio does not say what the Countries list answers an inheriting subaccount: its own
    # answer (here: everything enabled) is not what applies.
    geo = GeoIndex(snap(perms(ROOT, world(US=True), None), perms(A, world(DE=True), True)))
    a = geo.effective(A)
    assert a and a.how == INHERITED and a.holder == ROOT
    assert not judge(a, DE, "DE").permitted and judge(a, US, "US").permitted
    assert geo.inheriting_from(ROOT) == [A]


def test_unknown_inheritance_consults_every_list_that_may_apply() -> None:
    geo = GeoIndex(snap(perms(ROOT, world(US=True), None), perms(A, world(DE=True), None)))
    a = geo.effective(A)
    assert a and a.how == UNCERTAIN and len(a.lists) == 2
    assert judge(a, DE, "DE").permitted and judge(a, US, "US").permitted  # either list
    assert not judge(a, GB, "GB").permitted  # neither


def test_permissions_that_cannot_be_told() -> None:
    geo = GeoIndex(
        snap(
            perms(ROOT, None, None),  # Countries not read
            perms(A, world(DE=True), True),  # inherits from a parent that was not read
            perms(B, [], False),  # an empty list: Twilio always lists every country
        )
    )
    uncertain = GeoIndex(snap(perms(ROOT, world(US=True), None), perms(A, None, None)))
    assert uncertain.effective(A) is None  # Settings and its own list unknown: no guess
    assert geo.effective(ROOT) is None and geo.effective(A) is None and geo.effective(B) is None
    assert geo.by_method()[""] == [ROOT, A, B, "AC" + "c" * 32]


def test_a_cycle_in_the_hierarchy_ends() -> None:
    s = snap(perms(A, world(US=True), True), perms(B, world(US=True), True))
    s.accounts[1].owner_account_sid, s.accounts[2].owner_account_sid = B, A
    assert GeoIndex(s).effective(A) is None


# --------------------------------------------------------------------------- matching a number


def test_entry_by_iso_code_then_twilios_longest_country_code() -> None:
    countries = world(US=True, JM=False)
    assert entry_for(countries, US, "US").iso_code == "US"  # type: ignore[union-attr]
    assert entry_for(countries, CA, "CA").iso_code == "US"  # type: ignore[union-attr]
    assert entry_for(countries, JM, "JM").iso_code == "JM"  # type: ignore[union-attr]
    assert entry_for(countries, JM, None).iso_code == "JM"  # type: ignore[union-attr]
    assert entry_for(countries, "+33142685300", "FR") is None


def test_risk_class_from_the_number_type() -> None:
    assert risk_class(GB) == LOW_RISK and risk_class("+447700900123") == LOW_RISK
    assert risk_class(GB_PREMIUM) == HIGH_RISK_SPECIAL
    assert risk_class("+3278150000") == HIGH_RISK_SPECIAL  # Belgian UAN


# --------------------------------------------------------------------------- the rule


def test_fires_for_a_country_the_account_does_not_enable() -> None:
    (f,) = blocked(snap(perms(A, world(US=True), False)), dial(DE))
    assert f.severity == "high" and f.account_sid == A and f.error_codes == [13227]
    assert f.destination == DE and f.destination_country == "DE"
    assert "Germany (DE)" in f.message and "13227" in f.message
    assert "/v1/DialingPermissions/BulkCountryUpdates" in f.remediation
    request = f.remediation.split("UpdateRequest=", 1)[1].split(", authenticated", 1)[0]
    assert json.loads(unquote(request)) == [
        {
            "iso_code": "DE",
            "low_risk_numbers_enabled": "true",
            "high_risk_special_numbers_enabled": "false",
            "high_risk_tollfraud_numbers_enabled": "false",
        }
    ]
    assert f"authenticated as {A}" in f.remediation and "Geo permissions" in f.remediation
    assert "toll-fraud" in f.remediation
    assert f.details["geo_permissions"] == "its own list"


def test_quiet_for_an_enabled_country() -> None:
    assert blocked(snap(perms(A, world(US=True, DE=True), False)), dial(DE), dial(US)) == []


def test_inherited_permissions_name_the_parent_and_the_way_out() -> None:
    s = snap(
        perms(ROOT, world(US=True), None), perms(A, world(DE=True), True), perms(B, None, True)
    )
    (f,) = blocked(s, dial(DE))
    assert f.details["geo_permissions"] == "inherited from its parent"
    assert f.details["geo_permissions_of"] == f"Parent ({ROOT})"
    assert "inherits from Parent" in f.message
    assert f"authenticated as {ROOT}" in f.remediation  # the change is made on the parent
    assert "DialingPermissionsInheritance=false" in f.remediation
    assert "1 other subaccount(s) that inherit too" in f.remediation  # B inherits too


def test_non_inheriting_subaccount_is_judged_by_its_own_list() -> None:
    s = snap(perms(ROOT, world(US=True), None), perms(A, world(US=True, DE=True), False))
    assert blocked(s, dial(DE)) == []


def test_quiet_when_the_permissions_cannot_be_told() -> None:
    assert blocked(snap(), dial(DE)) == []  # not collected
    assert blocked(snap(perms(A, None, False)), dial(DE)) == []  # not read
    assert blocked(snap(perms(A, [], False)), dial(DE)) == []  # empty list


def test_uncertain_inheritance_fires_only_when_no_list_enables_it() -> None:
    s = snap(perms(ROOT, world(US=True), None), perms(A, world(US=True, DE=True), None))
    assert blocked(s, dial(DE)) == []
    (f,) = blocked(s, dial(GB))
    assert "not read" in str(f.details["geo_permissions"]) and "could not be read" in f.message


def test_high_risk_special_number_warns_of_toll_fraud() -> None:
    s = snap(perms(A, world(US=True, GB=True), False))
    (f,) = blocked(s, dial(GB_PREMIUM))
    assert f.details["destination_risk"] == HIGH_RISK_SPECIAL
    assert "Warning: this widens toll-fraud exposure" in f.remediation
    assert '"high_risk_special_numbers_enabled": "true"' in f.remediation
    assert blocked(s, dial(GB)) == []  # a London landline is low-risk: permitted
    special = [country("GB", ["+44"], low=True, special=True), *world(US=True)[:1]]
    assert blocked(snap(perms(A, special, False)), dial(GB_PREMIUM)) == []


def test_a_country_missing_from_twilios_list() -> None:
    (f,) = blocked(snap(perms(A, world(US=True), False)), dial("+33142685300"))
    assert "not in the Geo Permissions list" in f.message and f.destination_country == "FR"


@pytest.mark.parametrize(
    ("via", "code"),
    [
        (Via.DIAL.value, 13227),
        (Via.CALLS_API.value, 21215),
        (Via.CONFERENCE_PARTICIPANT.value, 21215),
        (Via.SIP_TRUNKING.value, 32205),
    ],
)
def test_error_code_follows_the_api_that_places_the_call(via: str, code: int) -> None:
    (f,) = blocked(snap(perms(A, world(US=True), False)), dial(DE, via=via))
    assert f.error_codes == [code] and str(code) in f.message


def test_studio_widgets_log_their_own_codes() -> None:
    flow_states = [
        {"name": "connect", "type": "connect-call-to", "properties": {}},
        {"name": "outgoing", "type": "make-outgoing-call-v2", "properties": {}},
    ]
    s = snap(perms(A, world(US=True), False))
    s.flows[0].definition = {"states": flow_states}
    refs = [
        dial(DE, via="studio", source=Source("studio_flow", s.flows[0].sid, name))
        for name in ("connect", "outgoing")
    ]
    codes = {f.source.location: f.error_codes for f in blocked(s, *refs)}
    assert codes == {"connect": [13227], "outgoing": [21215]}


def test_no_destination_no_finding() -> None:
    s = snap(perms(A, world(), False))
    assert blocked(s, make_ref(A_NUM, A), make_ref("{{flow.data.to}}", A)) == []
    assert blocked(s, dial(DE, account=None)) == []  # code without an executing account


def test_each_leg_of_a_dial_is_judged_and_fingerprinted_apart() -> None:
    s = snap(perms(A, world(US=True), False))
    findings = blocked(s, dial(DE), dial(GB), dial(US))
    assert sorted(f.destination_country for f in findings) == ["DE", "GB"]  # type: ignore[type-var]
    assign_fingerprints(findings)
    assert len({f.fingerprint for f in findings}) == 2
    doc = finding_dict(findings[0])
    assert doc["destination"] == findings[0].destination and doc["destination_country"]


def test_the_ownership_rules_see_the_legs_as_one_dial() -> None:
    """A stranger's caller ID on a Dial ringing three countries is one 13214, not three."""
    s = snap(perms(A, world(US=True, GB=True, DE=True), False))
    legs = [
        make_ref("+15559990001", A, destination=to, destination_country=country_of(to))
        for to in (DE, GB, US)
    ]
    rules = [f.rule for f in analyse_references(s, legs).findings]
    assert rules == ["callerid-not-authorized"]


def test_report_method_states_how_each_account_was_judged() -> None:
    from auditor.render.geo_view import geo_method_sentences

    s = snap(
        perms(ROOT, world(US=True), None),
        perms(A, None, True),  # inherits: judged by ROOT's list, its own answer unused
        perms(B, world(US=True), None),  # Settings unread: both lists
    )
    text = " ".join(geo_method_sentences(s))
    assert "judged by its parent's list" in text and "is not documented" in text
    assert (
        "1 by their own list; 1 by their parent's; 1 by both (inheritance unknown); "
        "1 not at all" in text
    )
    assert "toll-fraud ranges" in text and "destination-country rules" in text


def test_report_method_counts_each_region_by_its_own_permissions() -> None:
    """A multi-region input holds one entry per account per region: counted per region."""
    from dataclasses import replace

    from auditor.analysis import analyse
    from auditor.regional import RegionalInput
    from auditor.render.geo_view import geo_method_sentences
    from auditor.render.options import ReportOptions
    from auditor.render.view import build_view

    us1 = snap(
        perms(ROOT, world(US=True), None),
        perms(A, world(), True),
        perms(B, world(GB=True), False),
    )
    ie1 = replace(
        snap(perms(ROOT, world(GB=True), None), perms(A, world(), True)),
        region="ie1",
        edge="dublin",
    )
    au1 = replace(make_snapshot(), region="au1", edge="sydney")  # --no-geo-permissions there
    scope = RegionalInput.of([us1, ie1, au1])
    text = " ".join(geo_method_sentences(scope.merged, scope.regions))
    assert (
        "In US1: read for 3 accounts; accounts judged: 2 by their own list; 1 by their "
        "parent's; 1 not at all" in text
    )
    assert (
        "In IE1: read for 2 accounts; accounts judged: 1 by their own list; 1 by their "
        "parent's; 2 not at all" in text
    )
    assert "In AU1: not read, so no destination of a call running there was judged" in text
    assert "judged by the permissions of the region it runs in" in text
    # the report shows the same sentences
    view = build_view(scope.merged, analyse(scope), ReportOptions())
    assert " ".join(view.geo_method) == text
    # one region alone: no region named, its own entries counted
    alone = " ".join(geo_method_sentences(us1))
    assert "Read for 3 accounts; accounts judged: 2 by their own list" in alone
    assert "In US1" not in alone


# ------------------------------------------------------------- Twilio's high-risk prefixes


def with_prefixes(s: Snapshot, **lists: list[str]) -> Snapshot:
    from auditor.model import HighRiskSpecialPrefixes

    s.high_risk_special_prefixes = [HighRiskSpecialPrefixes(iso, p) for iso, p in lists.items()]
    return s


def test_a_number_in_twilios_high_risk_prefixes_is_high_risk_whatever_its_type() -> None:
    """A London fixed line inside a listed prefix: low-risk enabled is not enough."""
    s = with_prefixes(snap(perms(A, world(GB=True), False)), GB=["+44 (20) 7946"])
    (f,) = blocked(s, dial(GB))
    assert f.details["destination_risk"] == HIGH_RISK_SPECIAL
    assert "Twilio's high-risk special prefix +44207946 of GB" in f.message
    assert "toll-fraud exposure" in f.remediation and '"high_risk_special_numbers_enabled": ' in (
        unquote(f.remediation)
    )
    # its clean twin: the same list, a London number outside the prefix
    assert blocked(s, dial("+442080001234")) == []


def test_a_read_prefix_list_decides_over_the_number_type() -> None:
    """Twilio's list of GB holds no range of this premium number: Twilio counts it low-risk."""
    s = with_prefixes(snap(perms(A, world(GB=True), False)), GB=["+4487"])
    assert blocked(s, dial(GB_PREMIUM)) == []
    empty = with_prefixes(snap(perms(A, world(GB=True), False)), GB=[])
    assert blocked(empty, dial(GB_PREMIUM)) == []  # read, and empty: nothing is high-risk


def test_without_the_countrys_prefixes_the_type_decides() -> None:
    s = with_prefixes(snap(perms(A, world(GB=True), False)), DE=["+49900"])  # GB's not read
    (f,) = blocked(s, dial(GB_PREMIUM))
    assert "its number type (premium_rate; Twilio's high-risk prefixes of GB were not read)" in (
        f.message
    )
    assert blocked(s, dial(GB)) == []


def test_the_governing_entrys_prefixes_apply_to_a_grouped_country() -> None:
    """A Canadian number is governed by "United States/Canada" (US, +1): US's prefixes."""
    s = with_prefixes(snap(perms(A, world(US=True), False)), US=["+1613555"])
    (f,) = blocked(s, dial(CA))
    assert "prefix +1613555 of US" in f.message and f.destination_country == "CA"
    assert blocked(s, dial(US)) == []
    assert risk_class(CA, ("1613555",)) == HIGH_RISK_SPECIAL
    assert risk_class(CA, ()) == LOW_RISK


def test_report_method_says_where_twilios_prefixes_decided() -> None:
    from auditor.render.geo_view import geo_method_sentences

    plain = " ".join(geo_method_sentences(snap(perms(A, world(GB=True), False))))
    assert "A number's risk class comes from its type" in plain
    s = with_prefixes(snap(perms(A, world(GB=True), False)), GB=["+449"], DE=[])
    text = " ".join(geo_method_sentences(s))
    assert "Twilio's own high-risk special prefixes of its country, read for the 2 countries" in (
        text
    )
    assert "(DE, GB)" in text and "For other countries it comes from the number's type" in text
