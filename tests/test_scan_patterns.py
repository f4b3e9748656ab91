"""`scan` on small applications in each framework's style (tests/fixtures/scan/patterns).

Every line that sets a caller ID carries its expected reading in a trailing
`ref:` comment; the scan must find exactly those places (nothing more) and read
each the same way: how it reaches Twilio (via), where its value comes from (a
literal, the environment, configuration, the caller's own number, run time),
what kind of value it is and what it dials.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from auditor.extract.code import scan_paths

PATTERNS = Path(__file__).parent / "fixtures" / "scan" / "patterns"
_REF = re.compile(
    r"ref: (?P<via>[\w-]+) (?P<source>[\w-]+)(?: (?P<kind>\w+))? dialed=(?P<dialed>\w+)"
)
# JSON has no comments: the Studio export's expectations are written here.
STUDIO = {
    ("studio/ivr-flow.json#connect_desk", "studio", "passthrough", "template", "number"),
    ("studio/ivr-flow.json#call_back", "studio", "passthrough", "template", "number"),
}
APPS = sorted(p.name for p in PATTERNS.iterdir() if p.is_dir())


def _expected(app: str) -> set[tuple[str, str, str, str | None, str]]:
    expected: set[tuple[str, str, str, str | None, str]] = set()
    for path in sorted((PATTERNS / app).rglob("*")):
        if not path.is_file() or path.suffix == ".json":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            m = _REF.search(line)
            if m:
                kind = None if m["source"] == "missing" else m["kind"]
                rel = path.relative_to(PATTERNS).as_posix()
                expected.add((f"{rel}:{number}", m["via"], m["source"], kind, m["dialed"]))
    expected |= {e for e in STUDIO if e[0].startswith(app + "/")}
    return expected


@pytest.mark.parametrize("app", APPS)
def test_application_patterns(app: str) -> None:
    result = scan_paths([PATTERNS / app])
    got = {
        (
            f"{app}/{r.source.location}",
            r.via,
            "missing" if r.missing else (r.value_source or ""),
            None if r.missing else r.kind,
            r.dialed,
        )
        for r in result.references
    }
    assert got == _expected(app)
    assert len(got) == len(result.references)  # one reference per place


def test_every_pattern_app_has_expectations() -> None:
    assert len(APPS) >= 8
    assert all(_expected(app) for app in APPS)


def test_env_and_config_lines_alone_are_not_references() -> None:
    result = scan_paths([PATTERNS])
    files = {(r.source.location or "").split(":")[0].split("#")[0] for r in result.references}
    assert not [f for f in files if f.endswith((".env", ".properties", "appsettings.json"))]
    # the SMS sender defined in node-app/.env is never reported, only the numbers code dials from
    assert "+14155550144" not in {r.raw_value for r in result.references}
    values = {r.resolved_from: r.raw_value for r in result.references if r.resolved_from}
    assert values["env:CALLER_ID"] in ("+14155550142", "+14155550160")
    assert values["config:twilio.caller-id"] == "+14155550180"
    assert values["config:Twilio:CallerId"] == "+14155550190"


def test_destinations_fixed_in_code(tmp_path: Path) -> None:
    (tmp_path / "call.py").write_text(
        "client.calls.create(to='+442071838750', from_='+14155550100', url=u)\n"
        "client.calls.create(to=number, from_='+14155550100', url=u)\n"
        "VoiceResponse().dial('+33142685300', caller_id='+14155550100')\n"
    )
    refs = scan_paths([tmp_path]).references
    assert [(r.via, r.destination, r.destination_country) for r in refs] == [
        ("calls-api", "+442071838750", "GB"),
        ("calls-api", None, None),
        ("dial", "+33142685300", "FR"),
    ]
