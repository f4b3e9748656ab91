"""`twilio-audit check`: the start-up check that each configured callerId will be accepted.

For every number it asks Twilio, with the `PhoneNumber` filter, whether the
account owns it or has it as a verified caller ID (one or two small GETs per
number, never a full listing), and prints one line per number. When a number
fails, it looks in the other accounts the credentials can read, so the line can
say "owned by your sibling subaccount" instead of only "not found".
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from twilio.base.exceptions import TwilioException

from auditor.collect.credentials import credentials_from_env
from auditor.commands.options import ApiUrl, EdgeOpt, RegionOpt
from auditor.errors import ApiUnreachableError, AuditorError
from auditor.lookup import (
    Authorization,
    CallerIdStatus,
    VisibleAccount,
    api_error,
    e164_fix,
    find_elsewhere,
    lookup_caller_id,
    visible_accounts,
)
from auditor.policy import load_policy
from auditor.regions import VERIFIED_CALLER_IDS, availability, lacks, region_label, resolve_region
from auditor.text import visible

NAME = "check"
HELP = (
    "Check that caller IDs are owned or verified by their account (start-up check): "
    "--account SID NUMBER... or --policy FILE. One line per number; exit 1 if any fails, "
    "2 on bad input."
)

ACCOUNT_SID_RE = re.compile(r"^AC[0-9a-fA-F]{32}$")


@dataclass(frozen=True)
class CheckItem:
    account_sid: str
    number: str  # E.164, validated
    label: str | None = None  # the account's name in the policy file


@dataclass(frozen=True)
class CheckResult:
    item: CheckItem
    status: CallerIdStatus
    elsewhere: tuple[CallerIdStatus, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status.authorized


def validate_number(raw: str, where: str) -> str:
    """The number itself when it is E.164, else an AuditorError naming it and the fix."""
    value = raw.strip()
    fix = e164_fix(value)
    if fix:
        raise AuditorError(f"{where}: {raw!r} is not an E.164 phone number; {fix}")
    return value


def validate_account(sid: str, where: str) -> str:
    sid = sid.strip()
    if not ACCOUNT_SID_RE.match(sid):
        raise AuditorError(
            f"{where}: {sid!r} is not an Account SID; give AC followed by 32 hex characters"
        )
    return sid


def items_from_args(
    account: str | None, numbers: list[str], policy: Path | None
) -> list[CheckItem]:
    """Validate everything before any request: bad input is exit 2, never a half-run."""
    if numbers and not account:
        raise AuditorError("numbers were given without --account; add --account ACxxx")
    if account and not numbers:
        raise AuditorError("--account needs one or more numbers to check, e.g. +14155550100")
    if not account and policy is None:
        raise AuditorError("nothing to check; give --account SID NUMBER... or --policy FILE")
    items: list[CheckItem] = []
    if account:
        sid = validate_account(account, "--account")
        items += [CheckItem(sid, validate_number(n, "argument")) for n in numbers]
    if policy is not None:
        # load_policy validates SIDs and numbers, naming the file and the fix.
        items += [CheckItem(e.account_sid, e.caller_id, e.label) for e in load_policy(policy)]
    return items


def run_checks(client: Any, items: list[CheckItem]) -> tuple[list[CheckResult], dict[str, str]]:
    """Look up each item; search the rest of the hierarchy only for those that fail.

    Returns the results and the names of the accounts read for the hints.
    """
    import requests  # the HTTP stack and the walker: loaded when a check runs, not at start

    from auditor.collect.walker import garbled_answer

    results: list[CheckResult] = []
    accounts: list[VisibleAccount] | None = None
    for item in items:
        try:
            status = lookup_caller_id(client, item.account_sid, item.number)
        except (TwilioException, requests.RequestException) as exc:
            raise api_error(exc, item.account_sid) from None
        except Exception as exc:  # an answer the SDK could not read: the network, not a bug
            garbled = garbled_answer(exc)
            if garbled is None:
                raise
            raise ApiUnreachableError(
                f"the API did not answer like the Twilio API: {garbled}; check the network "
                "(a captive portal or proxy may be in the way) or --api-url"
            ) from None
        elsewhere: tuple[CallerIdStatus, ...] = ()
        if not status.authorized:
            try:
                if accounts is None:
                    accounts = visible_accounts(client)
                elsewhere = tuple(find_elsewhere(client, item.number, accounts, item.account_sid))
            except Exception as exc:  # the hint is best effort, but a bug is still a bug
                if not isinstance(exc, TwilioException | requests.RequestException) and (
                    garbled_answer(exc) is None
                ):
                    raise
                accounts = accounts or []
        results.append(CheckResult(item, status, elsewhere))
    return results, {a.sid: a.friendly_name for a in accounts or []}


def format_result(result: CheckResult, names: dict[str, str], region: str | None = None) -> str:
    item, status = result.item, result.status

    def label(sid: str) -> str:
        name = names.get(sid) or (item.label if sid == item.account_sid else None)
        return f"{sid} ({name})" if name else sid

    acct = label(item.account_sid)
    if status.authorization is Authorization.OWNED:
        return f"✓ {item.number}  owned by {acct}"
    if status.authorization is Authorization.VERIFIED:
        return f"✓ {item.number}  verified caller ID of {acct}"
    line = (
        f"✗ {item.number}  not found in {acct}: neither owned nor verified there, "
        "so Twilio refuses it as callerId (error 13214); "
    )
    if lacks(region, VERIFIED_CALLER_IDS):
        row = availability(region or "", VERIFIED_CALLER_IDS)
        line += (
            f"{region_label(region)} does not support Verified Caller IDs ({row.source}), so "
            "only a number the account owns works here; "
        )
    if result.elsewhere:
        where = ", ".join(
            f"{s.authorization.value} by {label(s.account_sid)}" for s in result.elsewhere
        )
        line += (
            f"it is {where} in the same hierarchy: move it to {item.account_sid} "
            "(update the IncomingPhoneNumber's AccountSid)"
            + ("" if lacks(region, VERIFIED_CALLER_IDS) else " or verify it there")
        )
    else:
        line += f"buy or port it into {item.account_sid}" + (
            "" if lacks(region, VERIFIED_CALLER_IDS) else ", or verify it there"
        )
    return line


def run(
    numbers: Annotated[
        list[str] | None,
        typer.Argument(metavar="NUMBER", help="Caller IDs in E.164 (+14155550100)."),
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            "--account", metavar="SID", help="The account that dials with these caller IDs (AC…)."
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy", metavar="FILE", help="A policy file listing each account's caller IDs."
        ),
    ] = None,
    api_url: ApiUrl = None,
    region: RegionOpt = None,
    edge: EdgeOpt = None,
) -> int:
    """Exit 0 when every number passes, 1 when one fails, 2 on bad input or credentials."""
    choice = resolve_region(region, edge)
    items = items_from_args(account, list(numbers or []), policy)
    from auditor.collect.client import make_client

    client = make_client(credentials_from_env(), api_url, region=choice)
    results, names = run_checks(client, items)
    for result in results:
        print(visible(format_result(result, names, choice.region)))  # names are account data
    failed = sum(not r.ok for r in results)
    if failed:
        print(f"twilio-audit: {failed} of {len(results)} caller ID(s) failed", file=sys.stderr)
        return 1
    return 0
