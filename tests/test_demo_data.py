"""The demo file (auditor/emulator/scenarios/demo.toml) and its loader (demo_data).

The file is the story; these tests check that it expands to a valid scenario of the
expected shape, that the story's wiring holds (every route reaches a Function, a flow or a
web app that exists; every expected finding names things of the scenario), that the
loader names a mistake in the file instead of building something else, and that the
wheel ships the file. tests/test_demo.py runs the expanded demo end to end.
"""

from __future__ import annotations

import json
import re
import zipfile
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from wheel_support import build_wheel, run_from_wheel

from auditor.emulator import validate_scenario
from auditor.emulator.demo import (
    ABROAD_NUMBERS,
    CALL_CENTRE,
    DEMO_EXPECTED,
    DEMO_NOW,
    DEMO_WEBHOOKS,
    HILLCREST,
    NUMBER_COUNTS,
    PARENT,
    TELEHEALTH,
    demo_accept_toml,
    demo_baseline_scenario,
    demo_policy_toml,
    demo_scenario,
)
from auditor.emulator.demo_data import DEMO_FILE, DemoFileError, parse_demo_file
from auditor.emulator.scenario import regional_scenario, scenario_regions
from auditor.rules import ALL_RULES

TEXT = resources.files("auditor.emulator").joinpath("scenarios", DEMO_FILE).read_text("utf-8")
LEFT_OVER = re.compile(r"\$[A-Z]")  # a `$NAME` the loader did not replace


def _regions(scenario: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {region: regional_scenario(scenario, region) for region in scenario_regions(scenario)}


# --------------------------------------------------------------------------- the shape


@pytest.mark.parametrize("now", [DEMO_NOW, datetime(2031, 6, 1, 8, 30, tzinfo=UTC)])
def test_the_file_expands_to_valid_scenarios_at_any_clock(now: datetime) -> None:
    for scenario in (demo_scenario(now), demo_baseline_scenario(now)):
        validate_scenario(scenario)  # every region's view too
        assert scenario_regions(scenario) == ["us1", "ie1"]
        assert not LEFT_OVER.search(json.dumps(scenario))
    assert not LEFT_OVER.search(demo_policy_toml() + demo_accept_toml())
    assert not LEFT_OVER.search("".join(DEMO_WEBHOOKS.values()))


def test_the_hierarchy_has_the_shape_of_the_story() -> None:
    today, baseline = demo_scenario(), demo_baseline_scenario()
    sids = [a["sid"] for a in today["accounts"]]
    assert sids == [a["sid"] for a in baseline["accounts"]] == list(NUMBER_COUNTS)
    assert sids[0] == PARENT and len(sids) == 10
    by_sid = {a["sid"]: a for a in today["accounts"]}
    then = {a["sid"]: a for a in baseline["accounts"]}
    for sid, account in by_sid.items():
        # Today: the account's block of +1 numbers (plus the numbers abroad), nothing else.
        phones = [n["phone_number"] for n in account["incoming_phone_numbers"]]
        block = [p for p in phones if p not in ABROAD_NUMBERS]
        assert len(block) == len(set(block)) == NUMBER_COUNTS[sid]
        assert len({p[:5] for p in block}) <= 1  # one area code an account
    assert sum(NUMBER_COUNTS.values()) == 347 and len(ABROAD_NUMBERS) == 3
    # The baseline, six weeks earlier: no alerts yet; Hillcrest still held five more
    # numbers; Telehealth was open with ten; the call centre's IE1 overflow did not exist.
    assert any(a["alerts"] for a in today["accounts"])
    assert not any(a["alerts"] for a in baseline["accounts"])
    assert len(then[HILLCREST]["incoming_phone_numbers"]) == NUMBER_COUNTS[HILLCREST] + 5
    assert by_sid[TELEHEALTH]["status"] == "closed" and then[TELEHEALTH]["status"] == "active"
    assert len(then[TELEHEALTH]["incoming_phone_numbers"]) == 10
    assert set(by_sid[CALL_CENTRE]["regions"]["ie1"]) == {"incoming_phone_numbers", "services"}
    assert "regions" not in then[CALL_CENTRE] and "regions" in then[PARENT]
    assert baseline["now"] == "2026-10-18T12:00:00Z" and today["now"] == "2026-11-29T12:00:00Z"


def test_every_route_reaches_something_that_exists() -> None:
    """A route to a Function names a deployed path of the account's service in that region;
    a route to the customer's web apps names one of them; every web app is used."""
    used: set[str] = set()
    for region, view in _regions(demo_scenario()).items():
        for account in view["accounts"]:
            served = {
                f"https://{env['domain_name']}{version['path']}"
                for service in account["services"]
                for env in service["environments"]
                for build in service["builds"]
                if build["sid"] == env["build_sid"]
                for fn in service["functions"]
                for version in fn["versions"]
                if version["sid"] in build["function_versions"]
            }
            flows = {f["sid"] for f in account["flows"]}
            routes = [
                *account["incoming_phone_numbers"],
                *account["applications"],
                *account["sip_domains"],
            ]
            for item in routes:
                url = item.get("voice_url")
                if url is None:
                    continue
                where = f"{region} {account['friendly_name']} {item.get('friendly_name')}"
                if ".twil.io" in url:
                    assert url in served, f"{where}: {url} is no deployed Function there"
                elif "/Flows/" in url:
                    assert url.rsplit("/", 1)[1] in flows, where
                else:
                    assert url in DEMO_WEBHOOKS, f"{where}: {url} is no web app of the demo"
                    used.add(url)
            for app_sid in {n["voice_application_sid"] for n in account["incoming_phone_numbers"]}:
                assert app_sid is None or app_sid in {a["sid"] for a in account["applications"]}
    assert used == set(DEMO_WEBHOOKS)


def test_every_expected_finding_names_the_story() -> None:
    """Each rule exists; each caller ID is written somewhere the audit reads (the scenario,
    a web app's answer, the policy)."""
    readable = json.dumps(demo_scenario(), ensure_ascii=False) + demo_policy_toml()
    readable += "".join(DEMO_WEBHOOKS.values())
    accounts = {a["sid"] for a in demo_scenario()["accounts"]}
    rules = {rule.id for rule in ALL_RULES}
    assert len(DEMO_EXPECTED) == 31
    for rule, account, caller_id, source in DEMO_EXPECTED:
        assert rule in rules and account in accounts and source
        assert caller_id in readable, (rule, caller_id)


def test_each_call_gives_a_fresh_scenario() -> None:
    """Callers change scenarios (faults, extra records): the file's data must not change."""
    first = demo_scenario()
    kept = json.dumps(demo_scenario())
    first["accounts"][0]["dialing_permissions"]["countries"][0]["country_codes"].append("+99")
    first["accounts"][9]["flex_configuration"]["crm_enabled"] = False
    first["accounts"][1]["flows"][0]["definition"]["states"].clear()
    assert json.dumps(demo_scenario()) == kept


# --------------------------------------------------------------------------- mistakes in the file


def _broken(old: str, new: str, count: int = 1) -> str:
    assert TEXT.count(old) >= count, old
    return TEXT.replace(old, new, count)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('caller_id = "$HILLCREST_TYPO"', 'caller_id = "$HILLCREST_TYPOS"', r"\$HILLCREST_TYPOS"),
        ('desk", flow = "main-ivr"', 'desk", flow = "main-ivr2"', "no flow 'main-ivr2'"),
        ('app = "nurse-softphone"', 'app = "nurse-phone"', "no app 'nurse-phone'"),
        ("{ lines = [20, 21], name", "{ lines = [1, 21], name", "line 1 is listed twice"),
        ('{ line = 40, name = "Riverside', '{ line = 60, name = "Riverside', "line 60 is outside"),
        ('lines = "60..64"', 'lines = "59..64"', "line 59 is inside"),
        ('lines = "60..64"', 'lines = "60-64"', 'write "60..69"'),
        ('name = "Riverside hold"', 'nmae = "Riverside hold"', "unknown key 'nmae'"),
        (', mms = true }', " }", "a number abroad needs mms"),
        ("days_ago = [2, 5, 9, 16]", "days_ago = [2, 5, 9]", "one from per day"),
        ('when = "today"\nnumbers', 'when = "now"\nnumbers', 'use "baseline" or "today"'),
        ('{ say = "welcome"', '{ speak = "welcome"', "a widget needs one of"),
        ("of = \"LEGACY\", line = 3", "of = \"LEGASY\", line = 3", "names no account"),
        ("line = 99 }", "line = 100 }", "line 100: use a line 0…99"),
        ('enabled = ["US"]', 'enabled = ["XX"]', r"\['XX'\]: not a \[\[geo_country\]\]"),
        ('name = "LEGACY_IVR_URL"', 'name = "CC_MAIN"', "the name CC_MAIN is given twice"),
        ('["callerid-passthrough", "event.From", "function"],',
         '["callerid-passthrough", "event.From", "function"],\n'
         '  ["callerid-passthrough", "event.From", "function"],',
         "listed twice"),
        ("block = 15\n", "", "missing key 'block'"),
        ("[[api_key]]", "[[api_key]", "not valid TOML"),
    ],
)  # fmt: skip
def test_a_mistake_in_the_file_is_named(old: str, new: str, message: str) -> None:
    with pytest.raises(DemoFileError, match=message):
        parse_demo_file(_broken(old, new))


def test_the_shipped_file_parses_and_dollar_escapes() -> None:
    demo = parse_demo_file(_broken('"Nurse softphone"', '"Nurse $$oftphone"'))
    apps = demo.scenario(DEMO_NOW, baseline=False)["accounts"][1]["applications"]
    assert apps[0]["friendly_name"] == "Nurse $oftphone"


# --------------------------------------------------------------------------- packaging


def test_the_wheel_ships_the_demo_file(tmp_path: Path) -> None:
    """An installed package (not this checkout) finds the file and builds the demo from it."""
    wheel = build_wheel(tmp_path)
    assert f"auditor/emulator/scenarios/{DEMO_FILE}" in zipfile.ZipFile(wheel).namelist()
    code = (
        "import sys, auditor.emulator.demo as d; "
        "assert d.__file__.startswith(sys.argv[1]), d.__file__; "
        "print(len(d.demo_scenario()['accounts']), len(d.DEMO_EXPECTED))"
    )
    done = run_from_wheel(wheel, tmp_path, code)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["10", str(len(DEMO_EXPECTED))]
