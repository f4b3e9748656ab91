"""Pure parts of the collector: credentials, caller-ID env references, progress output."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from auditor.collect.credentials import Credentials, credentials_from_env
from auditor.collect.http import rewrite_url
from auditor.collect.walker import callerid_environment
from auditor.errors import CredentialsError
from auditor.extract.functions import referenced_env_names
from auditor.progress import NullProgress, PlainProgress, RichProgress, make_progress

SID = "AC" + "1" * 32


def test_credentials_from_env_token_and_key() -> None:
    c = credentials_from_env({"TWILIO_ACCOUNT_SID": SID, "TWILIO_AUTH_TOKEN": "tok-secret-1"})
    assert (c.username, c.password, c.uses_api_key) == (SID, "tok-secret-1", False)
    k = credentials_from_env(
        {"TWILIO_ACCOUNT_SID": SID, "TWILIO_API_KEY": "SK" + "2" * 32, "TWILIO_API_SECRET": "s3c"}
    )
    assert (k.username, k.password, k.uses_api_key) == ("SK" + "2" * 32, "s3c", True)


def test_credentials_repr_hides_secrets() -> None:
    c = Credentials(account_sid=SID, auth_token="tok-secret-1")
    k = Credentials(account_sid=SID, api_key="SK" + "2" * 32, api_secret="key-secret-2")
    for text in (repr(c), str(c), repr(k), f"{k}"):
        assert "secret-" not in text and SID in text


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({}, "TWILIO_ACCOUNT_SID is not set; export TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"),
        ({"TWILIO_ACCOUNT_SID": SID}, "TWILIO_AUTH_TOKEN is not set"),
        ({"TWILIO_ACCOUNT_SID": "ACshort", "TWILIO_AUTH_TOKEN": "x"}, "does not look like"),
        ({"TWILIO_ACCOUNT_SID": SID, "TWILIO_API_KEY": "SK" + "2" * 32}, "TWILIO_API_SECRET"),
    ],
)
def test_credentials_errors_are_one_clear_line(env: dict[str, str], needle: str) -> None:
    with pytest.raises(CredentialsError) as exc:
        credentials_from_env(env)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("code", "names"),
    [
        ("twiml.dial({ callerId: context.CALLER_ID }, event.To)", {"CALLER_ID"}),
        ("const d = twiml.dial({callerId: context['MAIN']});", {"MAIN"}),
        ("client.calls.create({ from: process.env.FROM_NUMBER, to: event.To })", {"FROM_NUMBER"}),
        (
            "const cid = context.OUT_CID; const k = context.API_KEY; dial({ callerId: cid })",
            {"OUT_CID"},
        ),
        ("const { CID, DB_PASSWORD } = context; twiml.dial({ callerId: CID })", {"CID"}),
        ("const { API_KEY } = context; fetch(url, { headers: { key: API_KEY } })", set()),
        ("twiml.dial({ callerId: context.getTwilioClient() })", set()),
        ("twiml.dial({ callerId: `${context.TPL}` })", {"TPL"}),
        ("const password = context.PASSWORD; twiml.say(password)", set()),
    ],
)
def test_callerid_env_names(code: str, names: set[str]) -> None:
    assert referenced_env_names(code) == names


def test_callerid_environment_drops_everything_else() -> None:
    code = "twiml.dial({ callerId: context.CALLER_ID })"
    env = {"CALLER_ID": "+15550001111", "API_SECRET": "hunter2", "OTHER": "x"}
    assert callerid_environment(code, env) == {"CALLER_ID": "+15550001111"}


def test_rewrite_url_keeps_path_and_query() -> None:
    assert (
        rewrite_url("https://studio.twilio.com/v2/Flows?PageSize=1000", "http://h:1/")
        == "http://h:1/studio/v2/Flows?PageSize=1000"
    )


def test_plain_progress_prints_lines_and_quiet_prints_nothing() -> None:
    out = io.StringIO()
    p = PlainProgress(out)
    p.start(20)
    for i in range(20):
        p.http_event("request", "")
        p.account_done(f"AC{i}")
    p.http_event("retry", "429")
    p.finish()
    lines = out.getvalue().splitlines()
    assert lines[0] == "collect: reading 20 account(s)"
    assert lines[-1].startswith("collect: accounts 20/20 · requests 20 · retries 1 · errors 0")
    assert 5 <= len(lines) <= 12
    assert isinstance(make_progress(True, out), NullProgress)
    assert isinstance(make_progress(False, io.StringIO()), PlainProgress)  # not a terminal


def test_rich_progress_renders_counts_on_a_terminal() -> None:
    out = io.StringIO()
    p = RichProgress(Console(file=out, force_terminal=True, width=120))
    p.start(3)
    p.http_event("request", "")
    p.http_event("error", "403")
    p.account_done("AC1")
    p._live.refresh()
    p.finish()
    assert "accounts 1/3 · requests 1 · retries 0 · errors 1" in out.getvalue()
