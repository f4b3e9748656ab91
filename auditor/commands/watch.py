"""`twilio-audit watch`: the long-running service (auditor.watch); this module parses options."""

from __future__ import annotations

import logging
import re
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer

from auditor.collect.credentials import credentials_from_env
from auditor.commands.collect import request_log, stderr_log
from auditor.commands.options import ApiUrl, EdgeOpt, RegionOpt, Verbose
from auditor.errors import AuditorError
from auditor.outbound import parse_cidr
from auditor.outbound.cabundle import load_ca_bundle
from auditor.regions import resolve_region

NAME = "watch"
HELP = (
    "Watch for caller-ID failures as they happen: receive Twilio Debugger webhooks "
    "(--listen, POST /debugger, signed requests only) and/or poll every account's Monitor "
    "alerts (--poll), diagnose each 13214/13248/21210/21212 with the audit's rules against "
    "--snapshot, and write one JSON line per diagnosis (and POST it to each --notify URL). "
    "Credentials as for audit (the parent's). SIGTERM or Ctrl-C stops it."
)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str, option: str) -> float:
    """`90`, `90s`, `10m`, `1h`, `2d` → seconds; AuditorError otherwise."""
    m = _DURATION.match(text.lower())
    if not m or float(m.group(1)) <= 0:
        raise AuditorError(f"{option} {text!r}: give a duration such as 90s, 10m or 1h")
    return float(m.group(1)) * _UNITS[m.group(2)]


def run(
    snapshot: Annotated[
        Path,
        typer.Option(
            "--snapshot",
            help="The snapshot to judge events against (snapshot.json or .json.gz, or an "
            "audit folder).",
        ),
    ],
    listen: Annotated[
        str | None,
        typer.Option(
            "--listen",
            metavar="HOST:PORT",
            help="Receive Twilio Debugger webhooks at http://HOST:PORT/debugger "
            "(GET /healthz reports status). 127.0.0.1:8080 stays local; 0.0.0.0:8080 listens "
            "on every interface.",
        ),
    ] = None,
    poll: Annotated[
        float | None,
        typer.Option(
            "--poll",
            metavar="SECONDS",
            min=1,
            help="Also poll every account's Monitor alerts every SECONDS (each with its own "
            "token).",
        ),
    ] = None,
    notify: Annotated[
        list[str] | None,
        typer.Option(
            "--notify",
            metavar="URL",
            help="POST each diagnosis as Slack-compatible JSON {text, event} to URL; repeat "
            "for several. Public addresses only unless --notify-allow.",
        ),
    ] = None,
    notify_allow: Annotated[
        list[str] | None,
        typer.Option(
            "--notify-allow",
            metavar="CIDR",
            help="Let notifiers reach this private network too (an internal Slack proxy); "
            "repeatable.",
        ),
    ] = None,
    notify_ca: Annotated[
        Path | None,
        typer.Option(
            "--notify-ca",
            metavar="FILE",
            help="Trust the CA certificates in this PEM file too (in addition to the public "
            "CAs) for --notify URLs over https, e.g. the internal CA of a proxy opened with "
            "--notify-allow.",
        ),
    ] = None,
    jsonl: Annotated[
        Path | None,
        typer.Option("--jsonl", help="Append one JSON line per diagnosis here (default: stdout)."),
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="SQLite file for seen events, groups and poll cursors "
            "(default: watch-state.sqlite beside the snapshot).",
        ),
    ] = None,
    group_window: Annotated[
        str,
        typer.Option(
            "--group-window",
            help="Identical events (account, caller ID, rule) within this window notify once, "
            "then once more with their count when it closes.",
        ),
    ] = "10m",
    max_age: Annotated[
        str,
        typer.Option(
            "--max-age",
            help="A snapshot older than this is not trusted alone: each caller ID is confirmed "
            "with Twilio (PhoneNumber filter, as `check` does).",
        ),
    ] = "1h",
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            metavar="URL",
            help="The Debugger webhook URL as configured in the Console (behind a proxy or "
            "TLS terminator): Twilio signs that URL. Default: the URL the request arrived at.",
        ),
    ] = None,
    api_url: ApiUrl = None,
    region: RegionOpt = None,
    edge: EdgeOpt = None,
    verbose: Verbose = False,
) -> int:
    """Runs until SIGTERM or Ctrl-C; exit 0 after a clean stop, 2 on bad input."""
    # Imported here: the server, SQLAlchemy and the analysis cost every other command
    # start-up time they do not need.
    from auditor.watch import WatchConfig, Watcher
    from auditor.watch.notify import check_notify_url
    from auditor.watch.receiver import parse_listen

    choice = resolve_region(region, edge)  # a bad pair fails before the credentials are read
    if notify_ca is not None and not notify:
        raise AuditorError("--notify-ca applies to --notify URLs only; add --notify URL")
    extra_ca = load_ca_bundle(notify_ca, "--notify-ca") if notify_ca is not None else None
    config = WatchConfig(
        snapshot=snapshot,
        credentials=credentials_from_env(),
        api_url=api_url,
        region=choice,
        listen=parse_listen(listen) if listen else None,
        poll=poll,
        notify=[check_notify_url(u) for u in notify or []],
        notify_allow=tuple(parse_cidr(c, "--notify-allow") for c in notify_allow or []),
        notify_ca=extra_ca,
        jsonl=jsonl,
        state=state,
        group_window=parse_duration(group_window, "--group-window"),
        max_age=parse_duration(max_age, "--max-age"),
        public_url=public_url,
    )
    lines = "%(asctime)s watch: %(message)s"
    with (
        stderr_log("auditor.watch", lines, logging.INFO, "%Y-%m-%dT%H:%M:%S"),
        request_log(verbose),
    ):
        watcher = Watcher(config)

        def stop(signum: int, frame: FrameType | None) -> None:
            watcher.request_stop()

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            watcher.start()
            watcher.wait()
        finally:
            watcher.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    print("twilio-audit watch: stopped", file=sys.stderr)
    return 0
