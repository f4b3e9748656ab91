"""callerid-owner-inactive: the account holding a borrowed callerId is suspended or closed."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.graph import hierarchy_path
from auditor.model import AccountStatus, Finding, Severity
from auditor.rules.base import (
    DOCS_SUBACCOUNTS,
    ERROR_13214,
    ERROR_21210,
    Rule,
    RuleContext,
    describe_source,
    finding_for,
    judgeable,
    move_request,
)
from auditor.rules.remedy import Remedy, owned_number, pick_owner

_INACTIVE = frozenset({AccountStatus.SUSPENDED.value, AccountStatus.CLOSED.value})


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.distinct_references:
        judge = ctx.judge(ref)
        if not judgeable(ref, judge) or not ref.e164 or not ref.executing_account_sid:
            continue
        x, e164 = ref.executing_account_sid, ref.e164
        if ctx.index.authorized_for(e164, x):
            continue
        picked = pick_owner(ctx, x, e164)
        if picked is None:
            continue
        owner, how = picked
        account = ctx.index.accounts.get(owner)
        if account is None or account.status not in _INACTIVE:
            continue
        number = owned_number(ctx, owner, e164) if how == "owned" else None
        if account.status == AccountStatus.CLOSED:
            consequence = (
                "Twilio deletes a closed subaccount 30 days after closure and releases its numbers"
            )
        else:
            consequence = "a suspended account's numbers stop working and may be released"
        first = " (reactivate it first if Twilio refuses)" if account.status != "closed" else ""
        fix = (
            f"Move {e164} ({number.sid}) out of {owner} into {x} before it is lost: "
            f"{move_request(owner, number.sid, x)}{first}."
            if number is not None
            else _verify_instead(Remedy.for_ref(ctx, ref), e164)
        )
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} in {ctx.index.account_label(x)} depends on {e164}, "
            f"held by {ctx.index.account_label(owner)}, which is {account.status}: "
            f"{consequence}.",
            fix,
            owner=owner,
            path=hierarchy_path(ctx.index, x, owner),
            details={"owner_status": account.status},
            error_codes=[judge.not_authorized],
        )


def _verify_instead(remedy: Remedy, e164: str) -> str:
    """The owner only verified the number (it cannot be moved): verify it here, where that helps."""
    if remedy.verifiable:
        return remedy.verify(e164)
    return f"{remedy.verify(e164)} {remedy.own_numbers()}"


RULE = Rule(
    id="callerid-owner-inactive",
    title="Caller ID held by a suspended or closed account",
    severity=Severity.MEDIUM.value,
    error_codes=(ERROR_13214, ERROR_21210),
    risk="The number lives in an account that is going away; when it is released the callerId "
    "cannot be recovered.",
    remediation="Move {caller_id} from {owner_account_sid} into {account_sid} while the number "
    "still exists.",
    docs_url=DOCS_SUBACCOUNTS,
    check=check,
)
