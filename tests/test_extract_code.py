"""scan_paths on the fixture tree: true positives in every language, no false positives."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.extract.code import is_callerid_name, scan_paths

FIXTURE = Path(__file__).parent / "fixtures" / "scan"
ACCOUNT = "AC" + "a" * 32

# (location, raw value, kind, dialed, missing, passthrough, resolved_from)
EXPECTED = [
    ("csharp/VoiceController.cs:13", "+15551230040", "number", "number", False, False, None),
    ("csharp/VoiceController.cs:26", "+15551230041", "number", "number", False, False, None),
    ("csharp/VoiceController.cs:28", "", "empty", "client", True, False, None),
    (
        "java/Settings.java:10",
        "+15551230090",
        "number",
        "unknown",
        False,
        False,
        "config:twilio.caller_id",
    ),
    ("java/Voice.java:13", "+15551230050", "number", "number", False, False, None),
    ("java/Voice.java:20", "+15551230080", "number", "number", False, False, "env:CALLER_ID"),
    ("js/dial.js:8", "+15551230010", "number", "number", False, False, None),
    ("js/dial.js:10", "+15551230080", "number", "client", False, False, "env:CALLER_ID"),
    ("js/dial.js:11", "event.From", "template", "number", False, True, None),
    ("js/dial.js:12", "${CALLER}", "empty", "number", False, False, None),
    ("js/dial.js:14", "", "empty", "number", True, False, None),
    ("js/dial.js:25", "+15551230011", "number", "number", False, False, None),
    ("js/outbound.ts:6", "`${process.env.AREA}5551234`", "template", "unknown", False, False, None),
    ("js/outbound.ts:8", "client:support", "client", "number", False, False, None),
    ("php/voice.php:10", "+15551230020", "number", "number", False, False, None),
    ("php/voice.php:13", "+15551230080", "number", "number", False, False, "env:CALLER_ID"),
    ("php/voice.php:20", "+15551230021", "number", "number", False, False, None),
    ("python/voice.py:13", "+15551230002", "number", "number", False, False, None),
    ("python/voice.py:21", "+15551230001", "number", "number", False, False, None),
    ("python/voice.py:27", "+15551230080", "number", "client", False, False, "env:CALLER_ID"),
    ("python/voice.py:34", 'request.values.get("From")', "template", "unknown", False, True, None),
    ("python/voice.py:40", "(555) 123-4567", "number", "number", False, False, None),
    ("python/voice.py:46", "", "empty", "number", False, False, None),
    ("python/voice.py:52", "", "empty", "number", True, False, None),
    ("python/voice.py:58", "+15551230003", "number", "number", False, False, None),
    ("ruby/voice.rb:12", "+15551230030", "number", "number", False, False, None),
    ("ruby/voice.rb:20", "+15551230080", "number", "number", False, False, "env:CALLER_ID"),
    ("ruby/voice.rb:25", "+15551230031", "number", "number", False, False, None),
    ("templates/dial.html:2", "+15551230070", "number", "sip", False, False, None),
    ("templates/dial.xml.j2:3", "{{ caller_id }}", "template", "number", False, False, None),
    ("twiml/bin.twiml:1", "{{From}}", "template", "number", False, True, None),
    ("twiml/forward.xml:4", "+15551230060", "number", "number", False, False, None),
    ("twiml/forward.xml:5", " 5551230061 ", "number", "number", False, False, None),
    ("twiml/forward.xml:6", "", "empty", "client", True, False, None),
]


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    return scan_paths([FIXTURE], account_sid=ACCOUNT, exclude=["patterns"])  # own test


def test_fixture_tree_exact_references(result) -> None:  # type: ignore[no-untyped-def]
    got = [
        (
            r.source.location,
            r.raw_value,
            r.kind,
            r.dialed,
            r.missing,
            r.passthrough,
            r.resolved_from,
        )
        for r in result.references
    ]
    assert got == EXPECTED


def test_no_false_positives(result) -> None:  # type: ignore[no-untyped-def]
    # Every +1555000xxxx in the fixtures is in a comment, a docstring, a log string,
    # a non-Dial call, or a vendored/generated/binary file.
    values = {r.raw_value for r in result.references} | {r.e164 for r in result.references}
    assert not [v for v in values if v and v.startswith("+1555000")]
    locations = {r.source.location.split(":")[0] for r in result.references}
    assert not any(
        part in loc
        for loc in locations
        for part in ("node_modules", "vendor", "dist", ".min.", "_pb2")
    )
    # secrets in the .env file never show up, only the caller-ID variables
    assert "not-a-real-token" not in repr(result)


def test_every_claimed_language_has_a_true_positive(result) -> None:  # type: ignore[no-untyped-def]
    suffixes = {r.source.location.split(":")[0].rsplit(".", 1)[-1] for r in result.references}
    assert {
        "py",
        "js",
        "ts",
        "php",
        "rb",
        "cs",
        "java",
        "xml",
        "twiml",
        "html",
        "j2",
    } <= suffixes
    # .env and config files are read where code uses their values, never on their own
    origins = {(r.resolved_from or "").split(":")[0] for r in result.references}
    assert {"env", "config"} <= origins
    assert not {"env", "yaml"} & suffixes


def test_counts_and_account(result) -> None:  # type: ignore[no-untyped-def]
    assert result.files_scanned == 14
    assert result.files_skipped == 1  # the binary file
    assert all(
        r.executing_account_sid == ACCOUNT and r.source.kind == "code" for r in result.references
    )
    assert list(result) == result.references


def test_e164_and_code_resolution(result) -> None:  # type: ignore[no-untyped-def]
    by_loc = {r.source.location: r for r in result.references}
    assert result.notes == [
        "python/voice.py:40: '(555) 123-4567' has no country code; read as US (+15551234567)",
        "twiml/forward.xml:5: '5551230061' has no country code; read as US (+15551230061)",
    ]
    assert by_loc["python/voice.py:40"].e164 == "+15551234567"
    assert by_loc["twiml/forward.xml:5"].e164 == "+15551230061"
    assert by_loc["python/voice.py:21"].raw_value == "+15551230001"  # SALES_LINE constant


def test_size_cap_venv_and_roots_with_accounts(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "big.py").write_text("x = 1\n" * 50 + 'Dial(caller_id="+15551230001")\n')
    (tmp_path / "app" / "small.py").write_text('Dial(caller_id="+15551230002")\n')
    env = tmp_path / "app" / "myenv"
    env.mkdir()
    (env / "pyvenv.cfg").write_text("home = /usr\n")
    (env / "lib.py").write_text('Dial(caller_id="+15551230003")\n')
    other = tmp_path / "other.xml"
    other.write_text('<Response><Dial callerId="+15551230004">+1</Dial></Response>')
    res = scan_paths([(tmp_path / "app", "AC" + "b" * 32), other], max_file_bytes=200)
    assert [(r.raw_value, r.executing_account_sid) for r in res.references] == [
        ("+15551230002", "AC" + "b" * 32),
        ("+15551230004", None),
    ]
    assert res.files_skipped == 1 and any("cap" in n for n in res.notes)
    assert res.references[0].source.location.endswith("app/small.py:1")


def test_missing_path_is_a_note(tmp_path: Path) -> None:
    res = scan_paths([tmp_path / "nope"])
    assert res.references == [] and res.notes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CALLER_ID", True),
        ("TWILIO_CALLER_ID", True),
        ("FROM_NUMBER", True),
        ("twilioPhoneNumber", True),
        ("TWILIO_AUTH_TOKEN", False),
        ("TWILIO_NUMBER_SID", False),
        ("DATABASE_URL", False),
    ],
)
def test_callerid_names(name: str, expected: bool) -> None:
    assert is_callerid_name(name) is expected


_SUFFIXES = [".py", ".js", ".ts", ".php", ".rb", ".cs", ".java", ".xml", ".html", ".env", ".yaml"]
_code_text = st.text(
    alphabet=st.sampled_from(
        list("Dial(caller_id=callerId:from_ calls.create->dial{}[]'\"`#/*\n<>=+1555 envENV$@:,;\\")
    ),
    max_size=200,
) | st.text(max_size=200)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(_SUFFIXES), _code_text)
def test_scan_never_raises(suffix: str, text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"f{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        res = scan_paths([Path(tmp)])
    assert res.files_scanned + res.files_skipped == 1
    assert all(r.source.location and r.source.location.startswith("f") for r in res.references)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("a.html", "<Dial <?\n" * 20_000),
        ("b.yaml", "caller_id: x" + " " * 100_000 + "y\n" + "\n" * 100),
        ("c.py", "Dial(caller_id=\n" * 20_000),
        ("d.cs", "new Dial(\n" * 20_000),
        ("e.js", "x = {\n" * 20_000 + "callerId: '+15551230001'\n" + "}\n" * 20_000),
        ("f.rb", "=begin\n" + "r.dial(caller_id: '+15551230001')\n" * 1000),
    ],
)
def test_hostile_files_stay_bounded(tmp_path: Path, name: str, text: str) -> None:
    from auditor.extract.syntax.base import MAX_SITES as MAX_HITS

    (tmp_path / name).write_text(text)
    res = scan_paths([tmp_path / name])
    assert res.files_scanned == 1
    assert len(res.references) <= MAX_HITS
    if name == "f.rb":  # an unterminated =begin comments out the rest of the file
        assert res.references == []


SNIPPETS = [
    (
        "a.js",
        "const cid = context.CALLER_ID || '+15551230001';\n"
        "twiml.dial({\n  callerId: cid,\n  answerOnBridge: true,\n}).number(event.To);\n"
        "twiml.dial({ callerId }).sip('sip:x@y');\n",
        [("+15551230001", "number", "number", False), ("callerId", "template", "sip", False)],
    ),
    (
        "b.ts",
        "twiml.dial({ callerId: process.env.CALLER_ID! }, event.To);\n"
        "twiml.dial({ timeout: 10, callerId: (process.env.X as string) });\n",
        [
            ("process.env.CALLER_ID", "template", "number", False),
            ("process.env.X", "template", "unknown", False),
        ],
    ),
    (
        "c.py",
        "resp.dial(number, caller_id=os.getenv('CALLER_ID', '+15551230001'))\n"
        "dial = Dial(\n    caller_id=None,\n    record=True,\n)\ndial.queue('support')\n",
        # twilio-python drops `caller_id=None`: that Dial sets no callerId (not an empty one),
        # and a Dial without callerId is listed only in files that name Twilio
        [("+15551230001", "number", "number", False)],
    ),
    (
        "d.php",
        "<?php\n$client->account->calls->create('+15551230001', $to, $url);\n"
        "$client->calls->create($to, '+15551230002', array('url' => $u));\n",
        # a call's `to` known only at run time: what it rings is unknown
        [
            ("+15551230001", "number", "unknown", False),
            ("+15551230002", "number", "unknown", False),
        ],
    ),
    (
        "e.rb",
        "require 'twilio-ruby'\n"
        "response.dial(:caller_id => '+15551230001') { |d| d.client 'amy' }\n"
        "@client.calls.create(:from => '+15551230002', :to => to, :url => url)\n"
        "response.dial(number: '+15557770000')\n",
        [
            ("+15551230001", "number", "client", False),
            ("+15551230002", "number", "unknown", False),
            ("", "empty", "number", True),
        ],
    ),
    (
        "f.cs",
        'var call = CallResource.Create(to, new PhoneNumber("+15551230001"), url: uri);\n'
        'response.Dial(number: "+15557770000", callerId: "client:bob");\n'
        'var d = new Dial { CallerId = new PhoneNumber("+15551230002") };\n'
        'var p = new Person { CallerId = "+15550000000" };\n',
        [
            ("+15551230001", "number", "unknown", False),
            ("client:bob", "client", "number", False),
            ("+15551230002", "number", "unknown", False),
        ],
    ),
]


SNIPPETS += [
    (
        "g.py",
        "xml = \"<Response><Dial callerId='%s'>%s</Dial></Response>\" % (cid, to)\n"
        "# xml = '<Dial callerId=\"+15550000000\">'\n"
        "static = '<Response><Dial callerId=\"+15551230001\"><Client>a</Client></Dial>'\n",
        [("%s", "template", "number", False), ("+15551230001", "number", "client", False)],
    ),
    (
        "h.js",
        'res.send(`<Response><Dial callerId="${cid}">${to}</Dial></Response>`);\n',
        [("${cid}", "template", "number", False)],
    ),
]


def test_dial_without_callerid_needs_a_twilio_file(tmp_path: Path) -> None:
    (tmp_path / "phone.py").write_text("modem.dial('5551234')\n")
    (tmp_path / "voice.py").write_text(
        "from twilio.twiml.voice_response import VoiceResponse\n"
        "VoiceResponse().dial('+15557770000')\n"
    )
    refs = scan_paths([tmp_path]).references
    assert [(r.source.location, r.missing) for r in refs] == [("voice.py:2", True)]


def test_python_caller_id_none_is_a_dial_without_callerid(tmp_path: Path) -> None:
    """twilio-python leaves an attribute set to None out of the TwiML (checked against the
    installed helper library): no callerId at all, never a high 'empty callerId'."""
    from twilio.twiml.voice_response import Dial

    assert "callerId" not in str(Dial(caller_id=None))
    (tmp_path / "voice.py").write_text(
        "from twilio.twiml.voice_response import Dial\n"
        "dial = Dial(caller_id=None)\n"
        "dial.number('+15557770000')\n"
    )
    refs = scan_paths([tmp_path]).references
    assert [(r.raw_value, r.missing, r.dialed) for r in refs] == [("", True, "number")]


@pytest.mark.parametrize(("name", "code", "expected"), SNIPPETS, ids=[s[0] for s in SNIPPETS])
def test_language_snippets(tmp_path: Path, name: str, code: str, expected: list[tuple]) -> None:
    (tmp_path / name).write_text(code)
    refs = scan_paths([tmp_path]).references
    assert [(r.raw_value, r.kind, r.dialed, r.missing) for r in refs] == expected


def test_a_parse_past_its_deadline_is_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.extract.syntax import tree

    hostile = ("var d = new Dial(\n" * 50_000).encode()
    assert tree.parse("csharp", hostile, seconds=0.01) is None  # stopped, not hung
    assert tree.parse("csharp", hostile[:200]) is not None
    (tmp_path / "Huge.cs").write_bytes(hostile)
    monkeypatch.setattr(tree, "PARSE_SECONDS", 0.01)
    res = scan_paths([tmp_path])
    assert res.references == []
    assert res.notes == ["Huge.cs: not parsed within the time limit; its code was not read"]


def test_audit_code_takes_exclude_and_include_tests(tmp_path: Path) -> None:
    from auditor.model import Snapshot
    from auditor.pipeline import scan_code

    for rel in ("app/voice.py", "legacy/voice.py", "tests/test_voice.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("r.dial(caller_id='+14155550100')\n")

    def scanned(**kw: object) -> list[str]:
        snap = Snapshot(root_account_sid="AC" + "0" * 32, collected_at="", tool_version="t")
        scan_code(snap, [(tmp_path, ACCOUNT)], **kw)  # type: ignore[arg-type]
        return sorted(r.source.location or "" for r in snap.code_references)

    assert scanned() == ["app/voice.py:1", "legacy/voice.py:1"]
    assert scanned(exclude=["legacy"]) == ["app/voice.py:1"]
    assert scanned(include_tests=True, exclude=["legacy"]) == [
        "app/voice.py:1",
        "tests/test_voice.py:1",
    ]
