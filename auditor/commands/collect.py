"""`twilio-audit collect`: read the hierarchy and write DIR/snapshot.json (atomically)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from auditor.collect import CollectConfig
from auditor.collect.config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_PER_ACCOUNT_LIMIT,
    KNOWN_REFERENCES,
)
from auditor.collect.credentials import credentials_from_env
from auditor.collect.probe import PROBE_PHASE_DEADLINE
from auditor.commands.options import (
    ApiUrl,
    Compress,
    EdgeOpt,
    OutDir,
    Quiet,
    RegionOpt,
    Verbose,
)
from auditor.errors import AuditorError
from auditor.files import prepare_out_dir
from auditor.outbound import parse_cidr
from auditor.outbound.cabundle import load_ca_bundle
from auditor.progress import make_progress
from auditor.redact import redact_url
from auditor.regions import resolve_region
from auditor.snapshot import save_snapshots
from auditor.text import visible

NAME = "collect"
HELP = (
    "Read the account hierarchy (parent and subaccounts) through the Twilio API and write "
    "OUT/snapshot.json. Credentials: TWILIO_ACCOUNT_SID + TWILIO_AUTH_TOKEN, or "
    "TWILIO_ACCOUNT_SID + TWILIO_API_KEY + TWILIO_API_SECRET. Read-only (GET requests only)."
)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests swap it)."""

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


class _SafeFormatter(logging.Formatter):
    """Log lines carry URLs from the API (next-page links): no password, no escape codes."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(redact_url(super().format(record)))


@contextmanager
def stderr_log(name: str, fmt: str, level: int, datefmt: str | None = None) -> Iterator[None]:
    """Logger `name`'s lines on stderr at `level` (redacted, escape codes shown), for one
    command run only, so a library caller (or the next test) gets the logger back as it was."""
    logger = logging.getLogger(name)
    handler = _StderrHandler()
    handler.setFormatter(_SafeFormatter(fmt, datefmt))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@contextmanager
def request_log(enabled: bool) -> Iterator[None]:
    """--verbose: log every request's method and URL (never headers or credentials)."""
    if not enabled:
        yield
        return
    with stderr_log("auditor.http", "http: %(message)s", logging.DEBUG):
        yield


@contextmanager
def cancel_on_sigint(cancel: threading.Event) -> Iterator[None]:
    """Ctrl-C sets `cancel` before it raises KeyboardInterrupt, so it cannot be lost.

    Python drops an exception raised inside a finalizer (`__del__`, a weakref
    callback), and a KeyboardInterrupt that lands there would let the collection
    finish and exit 0; the event stops it regardless. An ignored SIGINT (a
    background job) stays ignored.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:
        yield
        return

    def interrupted(signum: int, frame: object) -> None:
        cancel.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def run(
    out: OutDir,
    api_url: ApiUrl = None,
    region: RegionOpt = None,
    edge: EdgeOpt = None,
    account: Annotated[
        list[str] | None,
        typer.Option(
            "--account", help="Audit only this account SID (repeat for several). Default: all."
        ),
    ] = None,
    since: Annotated[
        int,
        typer.Option("--since", min=1, help="Read Monitor alerts of the last DAYS days (max 30)."),
    ] = 30,
    no_alerts: Annotated[bool, typer.Option("--no-alerts", help="Skip Monitor alerts.")] = False,
    no_studio: Annotated[bool, typer.Option("--no-studio", help="Skip Studio flows.")] = False,
    no_functions: Annotated[
        bool, typer.Option("--no-functions", help="Skip Serverless Functions.")
    ] = False,
    no_geo_permissions: Annotated[
        bool,
        typer.Option(
            "--no-geo-permissions",
            help="Skip Voice Geo Permissions (then no destination is judged against them).",
        ),
    ] = False,
    no_flex: Annotated[
        bool,
        typer.Option("--no-flex", help="Skip Flex configurations (outbound caller ID)."),
    ] = False,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            min=1,
            max=256,
            help=f"Requests in flight at most (never more than {DEFAULT_PER_ACCOUNT_LIMIT} for any "
            "one account).",
        ),
    ] = DEFAULT_CONCURRENCY,
    probe_webhooks: Annotated[
        bool,
        typer.Option(
            "--probe-webhooks",
            help="Also send a signed, Twilio-like test call to each voice webhook of your own "
            "(numbers, TwiML apps, SIP domains) to read the TwiML it returns. Opt-in: a webhook "
            "that acts on calls will act on the probe too. Never sent to Twilio. Only public "
            "addresses are contacted (see --probe-allow), with the number's voice method if it "
            "is GET or POST, no redirects, no credentials, 10 s per webhook.",
        ),
    ] = False,
    probe_allow: Annotated[
        list[str] | None,
        typer.Option(
            "--probe-allow",
            metavar="CIDR",
            help="Let --probe-webhooks contact this network too (repeatable), e.g. "
            "10.20.0.0/16 for an internal webhook server of your own. Default: none; "
            "loopback, private, link-local (cloud metadata) and other non-public addresses "
            "are refused.",
        ),
    ] = None,
    probe_ca: Annotated[
        Path | None,
        typer.Option(
            "--probe-ca",
            metavar="FILE",
            help="Trust the CA certificates in this PEM file too (in addition to the public "
            "CAs) when --probe-webhooks connects over https, e.g. your internal CA for a "
            "webhook server opened with --probe-allow. Used for the probe only, never for "
            "the Twilio API.",
        ),
    ] = None,
    probe_deadline: Annotated[
        float,
        typer.Option(
            "--probe-deadline",
            metavar="SECONDS",
            min=1,
            help="Stop probing webhooks after this many seconds in all; the webhooks not "
            "probed by then are listed in the coverage notes.",
        ),
    ] = PROBE_PHASE_DEADLINE,
    compress: Compress = False,
    quiet: Quiet = False,
    verbose: Verbose = False,
) -> None:
    choice = resolve_region(region, edge)  # a bad pair fails before the credentials are read
    allow = tuple(parse_cidr(text) for text in probe_allow or [])
    if allow and not probe_webhooks:
        raise AuditorError("--probe-allow applies to --probe-webhooks only; add --probe-webhooks")
    if probe_ca is not None and not probe_webhooks:
        raise AuditorError("--probe-ca applies to --probe-webhooks only; add --probe-webhooks")
    extra_ca = load_ca_bundle(probe_ca) if probe_ca is not None else None
    creds = credentials_from_env()
    prepare_out_dir(out)  # a bad --out fails now, not after the collection
    config = CollectConfig(
        credentials=creds,
        api_url=api_url,
        region=choice,
        accounts=list(dict.fromkeys(account or [])),
        since_days=since,
        alerts=not no_alerts,
        studio=not no_studio,
        functions=not no_functions,
        geo_permissions=not no_geo_permissions,
        flex=not no_flex,
        concurrency=concurrency,
        probe_webhooks=probe_webhooks,
        probe_allow=allow,
        probe_deadline=probe_deadline,
        probe_ca=extra_ca,
        known_references=KNOWN_REFERENCES.get(),  # audit --code: read before collecting
    )
    from auditor.collect.walker import collect  # the SDK and HTTP stack: loaded to collect only

    progress = make_progress(quiet)
    cancel = threading.Event()
    try:
        with request_log(verbose), cancel_on_sigint(cancel):
            snapshot = collect(config, progress, cancel)
    except KeyboardInterrupt:
        raise typer.Abort() from None
    if cancel.is_set():  # Ctrl-C came after the last check, or its exception was lost
        raise typer.Abort()
    (path,) = save_snapshots([snapshot], out, compress=compress)
    errors = sum(
        1 for cov in snapshot.coverage.values() for v in cov.values() if v.startswith("error")
    )
    where = f" in {choice.label}" if choice.sdk_region else ""
    summary = (
        f"collected{where} {len(snapshot.accounts)} accounts, "
        f"{len(snapshot.phone_numbers)} numbers, "
        f"{len(snapshot.verified_caller_ids)} verified caller IDs, "
        f"{len(snapshot.applications)} apps, {len(snapshot.sip_domains)} SIP domains, "
        f"{len(snapshot.flows)} flows, {len(snapshot.functions)} functions, "
        f"{len(snapshot.alerts)} alerts, {len(snapshot.flex_configurations)} Flex configurations, "
        f"Geo Permissions of {len(snapshot.dialing_permissions)} accounts"
        + (f", {len(snapshot.webhooks)} webhook answers" if probe_webhooks else "")
        + f" → {path}"
    )
    if errors:
        summary += f" ({errors} source(s) not read: see coverage)"
    print(visible(summary))
