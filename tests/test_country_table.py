"""The destination caller-ID table: every row is valid, sourced, dated, and has its own test.

Each row gets a call that makes exactly it fire through the real rule
(`callerid-geo-restricted`), and a clean twin that differs in one condition and
stays quiet. A row added to the TOML without a case here fails
`test_every_row_has_a_case`.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import date
from importlib import resources

import pytest
from test_rules_support import A, make_ref, make_snapshot, pn

from auditor.analysis import analyse_references
from auditor.errors import AuditorError
from auditor.model import Finding, PhoneNumber, Source, VerifiedCallerId
from auditor.rules.country_table import (
    EFFECTS,
    TABLE_FILE,
    CallerFacts,
    DestinationFacts,
    check_rows,
    country_rules,
    iso_countries,
    parse_rows,
)

US_OWN = "+14155550100"  # a US number account A owns in every case


def _table_text() -> str:
    return resources.files("auditor").joinpath("data", TABLE_FILE).read_text(encoding="utf-8")


def test_table_ships_inside_the_package() -> None:
    assert "[[rule]]" in _table_text()
    assert len(country_rules()) >= 16


def test_every_row_is_valid_sourced_and_dated() -> None:
    iso = iso_countries()
    for row in country_rules():
        assert row.effect in EFFECTS
        assert row.destination in iso
        assert row.source.startswith("https://") and "twilio.com/" in row.source
        assert isinstance(row.checked, date) and row.checked <= date.today()
        assert row.rule.strip() and row.quote.strip()
        assert (
            row.severity
            == {"refused": "high", "replaced": "medium", "surcharge": "low"}[row.effect]
        )
    assert len({row.id for row in country_rules()}) == len(country_rules())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": "https://example.com/guidelines/tr/voice"}, "source must be"),
        ({"source": ""}, "source must be"),
        ({"effect": "blocked"}, "effect must be"),
        ({"destination": "XX"}, "not an ISO 3166"),
        ({"destination": "tr"}, "not an ISO 3166"),
        ({"caller_id_country": "elsewhere"}, "caller_id_country"),
        ({"caller_id_types": ("tollfree",)}, "unknown number type"),
        ({"held_as": "ported"}, "held_as"),
        ({"checked": date(2999, 1, 1)}, "checked must be"),
        ({"quote": " "}, "rule and quote"),
    ],
)
def test_check_rows_refuses_a_bad_row(change: dict[str, object], message: str) -> None:
    good = country_rules()[0]
    with pytest.raises(AuditorError, match=message):
        check_rows((replace(good, **change),), iso_countries())  # type: ignore[arg-type]


def test_check_rows_refuses_a_repeated_id() -> None:
    row = country_rules()[0]
    with pytest.raises(AuditorError, match="unique"):
        check_rows((row, row), iso_countries())


def test_parse_rows_names_a_row_without_a_field() -> None:
    data = tomllib.loads(_table_text())
    del data["rule"][2]["effect"]
    with pytest.raises(AuditorError, match=r"rule #3 .*effect"):
        parse_rows(data)
    with pytest.raises(AuditorError, match="schema = 1"):
        parse_rows({"rule": []})


def test_date_is_a_toml_date_not_text() -> None:
    data = tomllib.loads(_table_text())
    assert all(isinstance(r["checked"], date) for r in data["rule"])


# --------------------------------------------------------------------------- one case per row

# row id → (caller ID, how account A holds it, destination number, clean twin).
# The twin changes one thing (the caller ID, how it is held, or the destination) so that
# the row no longer applies: it must stay quiet.
Twin = tuple[str, str, str]
CASES: dict[str, tuple[str, str, str, Twin]] = {
    "tr-turkish-callerid": ("+902122223344", "owned", "+902163334455", (US_OWN, "owned", "")),
    "in-indian-callerid": ("+919876543210", "owned", "+917410410123", (US_OWN, "owned", "")),
    "my-verified-malaysian": ("+60123456789", "verified", "+60323856789", ("", "owned", "")),
    "hk-toll-free": ("+852800901234", "owned", "+85221234567", ("+85251234567", "owned", "")),
    "hk-verified-hongkong": ("+85251234567", "verified", "+85221234567", ("", "owned", "")),
    "be-toll-free": ("+3280012345", "owned", "+3212345678", ("+3224567890", "owned", "")),
    "be-national-number": ("+3278150000", "owned", "+3212345678", ("+3224567890", "owned", "")),
    "br-toll-free": ("+5508001234567", "owned", "+551123456789", ("+551130001234", "owned", "")),
    "br-non-twilio-brazilian": ("+551130001234", "verified", "+551123456789", ("", "owned", "")),
    "cn-chinese-callerid": ("+8613912345678", "owned", "+861012345678", (US_OWN, "owned", "")),
    "jp-domestic-outside-tokyo-edge": (
        "+81312345678",
        "owned",
        "+819012345678",
        (US_OWN, "owned", ""),
    ),
    "jp-verified-domestic": ("+81312345678", "verified", "+819012345678", ("", "owned", "")),
    "au-verified-telstra": ("+61291234567", "verified", "+61412345678", ("", "owned", "")),
    "ar-toll-free": ("+18005550100", "owned", "+541123456789", (US_OWN, "owned", "")),
    "gb-invalid-uk-callerid": (
        "+447700900123",
        "verified",
        "+442079460123",
        ("+442071234567", "verified", ""),
    ),
    "ie-invalid-callerid-to-mobile": (
        "+15555550100",
        "verified",
        "+353850123456",
        ("", "verified", "+3532212345"),  # the same caller ID on a call to an Irish landline
    ),
}
# Rows that fire together by design: a Japanese Verified Caller ID on a call within Japan
# is also a Japanese caller ID outside the Tokyo edge.
ALSO = {"jp-verified-domestic": {"jp-domestic-outside-tokyo-edge"}}


def _run(caller: str, held: str, destination: str) -> list[Finding]:
    numbers = [PhoneNumber(pn("own-us"), A, US_OWN, "US desk", {"voice": True})]
    verified: list[VerifiedCallerId] = []
    if held == "owned" and caller != US_OWN:
        numbers.append(PhoneNumber(pn("own-x"), A, caller, "Abroad desk", {"voice": True}))
    elif held == "verified":
        verified.append(VerifiedCallerId(pn("ver-x"), A, caller, "Partner line"))
    snapshot = make_snapshot(phone_numbers=numbers, verified_caller_ids=verified)
    ref = make_ref(
        caller,
        A,
        source=Source("webhook", None, "https://a.example.com/voice"),
        destination=destination,
        destination_country=snapshot_country(destination),
    )
    findings = analyse_references(snapshot, [ref]).findings
    return [f for f in findings if f.rule == "callerid-geo-restricted"]


def snapshot_country(e164: str) -> str | None:
    from auditor.extract.numberinfo import country_of

    return country_of(e164)


def test_every_row_has_a_case() -> None:
    assert set(CASES) == {row.id for row in country_rules()}


@pytest.mark.parametrize("row_id", sorted(CASES))
def test_row_fires_on_its_case(row_id: str) -> None:
    caller, held, destination, _ = CASES[row_id]
    findings = _run(caller, held, destination)
    fired = {str(f.details["country_rule"]) for f in findings}
    assert fired == {row_id, *ALSO.get(row_id, set())}
    row = next(r for r in country_rules() if r.id == row_id)
    (f,) = [f for f in findings if f.details["country_rule"] == row_id]
    assert f.severity == row.severity and f.account_sid == A
    assert f.destination == destination and f.destination_country == row.destination
    assert row.source in f.message and row.rule in f.message
    assert f.remediation.startswith(("Use ", "Buy "))  # a caller ID to use, or a number to get
    assert row.fix in f.remediation  # and the remedy the source itself names, if any


@pytest.mark.parametrize("row_id", sorted(CASES))
def test_row_stays_quiet_on_its_twin(row_id: str) -> None:
    caller, _held, destination, (twin_caller, twin_held, twin_destination) = CASES[row_id]
    findings = _run(twin_caller or caller, twin_held, twin_destination or destination)
    assert row_id not in {str(f.details["country_rule"]) for f in findings}


def test_matching_is_data_driven() -> None:
    """A row is a pure predicate over facts: the same facts, the same answer."""
    (tr,) = [r for r in country_rules() if r.id == "tr-turkish-callerid"]
    dest = DestinationFacts("TR", "fixed_line")
    assert tr.matches(CallerFacts("TR", "mobile", True, None), dest)
    assert not tr.matches(CallerFacts("DE", "mobile", True, "owned"), dest)
    assert not tr.matches(CallerFacts("TR", "mobile", True, "owned"), DestinationFacts("DE", ""))
