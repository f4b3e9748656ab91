"""Options shared by several subcommands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from auditor.findings import FailOn
from auditor.render.options import DEFAULT_FORMATS, Format

__all__ = ["DEFAULT_FORMATS", "FailOn", "Format"]


ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url",
        envvar="TWILIO_AUDIT_API_URL",
        help="Send requests for https://{product}.twilio.com{path} to {URL}/{product}{path} "
        "(an emulator or a mock); nothing is sent to any other host. A password in the URL "
        "is never stored or printed. Default: Twilio itself.",
    ),
]
RegionOpt = Annotated[
    str | None,
    typer.Option(
        "--region",
        envvar="TWILIO_REGION",
        help="Twilio Region to read: us1 (default), ie1 or au1. Give its edge too (ie1 needs "
        "--edge dublin, au1 --edge sydney) and that region's credentials: Twilio's credentials "
        "are per region. Audit each region a hierarchy uses, then `report` them together.",
    ),
]
EdgeOpt = Annotated[
    str | None,
    typer.Option(
        "--edge",
        envvar="TWILIO_EDGE",
        help="Twilio edge location for the region (dublin for ie1, sydney for au1; for us1 "
        "optional). Requests go to api.{edge}.{region}.twilio.com.",
    ),
]
OutDir = Annotated[
    Path, typer.Option("--out", "-o", help="Folder for snapshot.json and the reports.")
]
Compress = Annotated[
    bool,
    typer.Option(
        "--compress",
        help="Write the snapshot gzip-compressed, as snapshot.json.gz (snapshot-<region>.json.gz) "
        "instead of snapshot.json: about 6 % of its size. Every command that reads a snapshot "
        "reads either form.",
    ),
]
Formats = Annotated[
    list[Format] | None,
    typer.Option(
        "--format",
        "-f",
        help="Report format; repeat for several (html, pdf, json, csv, sarif, md). "
        "Default: html, json.",
    ),
]
FailOnOpt = Annotated[
    FailOn,
    typer.Option(
        "--fail-on",
        help="Exit 1 when a finding is at or above this severity ('never' always exits 0).",
    ),
]
Strict = Annotated[
    bool,
    typer.Option("--strict", help="Exit 3 when part of the hierarchy could not be audited."),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet",
        "-q",
        help="No progress display and no findings table: the files written, one line of counts, "
        "and problems.",
    ),
]
Verbose = Annotated[
    bool, typer.Option("--verbose", "-v", help="Log each request (never with secrets).")
]
History = Annotated[
    str | None,
    typer.Option(
        "--history",
        envvar="TWILIO_AUDIT_HISTORY",
        metavar="TARGET",
        help="Record this run in a history database and show in the reports each finding's "
        "first-seen date, days open and the trend: a file path (SQLite, created if missing) or "
        "a postgresql://USER:PASSWORD@HOST:PORT/DB URL (the password is never shown).",
    ),
]
Accept = Annotated[
    Path | None,
    typer.Option(
        "--accept",
        metavar="FILE",
        help="TOML file of accepted risks ([[accept]]: fingerprint, or rule + account + "
        "caller_id; reason, accepted_by, expires). Accepted findings stay in every report, "
        "marked, and do not count toward --fail-on.",
    ),
]
