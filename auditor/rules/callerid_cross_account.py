"""callerid-cross-account: a callerId owned or verified only by another account of the hierarchy."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.graph import hierarchy_path
from auditor.model import Finding, Severity
from auditor.rules.base import (
    DOCS_SUBACCOUNTS,
    ERROR_13214,
    ERROR_21210,
    Rule,
    RuleContext,
    describe_source,
    finding_for,
    judgeable,
)
from auditor.rules.remedy import Remedy, path_text, pick_owner
from auditor.rules.webhook_context_mismatch import covered_by_mismatch


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.distinct_references:
        judge = ctx.judge(ref)
        if not judgeable(ref, judge) or not ref.e164 or not ref.executing_account_sid:
            continue
        x, e164 = ref.executing_account_sid, ref.e164
        if ctx.index.authorized_for(e164, x) or covered_by_mismatch(ctx, ref):
            continue
        picked = pick_owner(ctx, x, e164)
        if picked is None:
            continue
        owner, how = picked
        path = hierarchy_path(ctx.index, x, owner)
        verb = "owns" if how == "owned" else "has verified"
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} runs in {ctx.index.account_label(x)} and "
            f"{judge.uses} {e164}, which {ctx.index.account_label(owner)} {verb}, not {x} "
            f"(path {path_text(ctx, path)}). Twilio checks only the executing account: "
            f"{judge.refusal(judge.not_authorized)}.",
            Remedy.for_ref(ctx, ref).borrow(e164, owner, how),
            owner=owner,
            path=path,
            details={"owner_holds": how},
            error_codes=[judge.not_authorized],
        )


RULE = Rule(
    id="callerid-cross-account",
    title="Caller ID held by another account of the hierarchy",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13214, ERROR_21210),
    risk="The number belongs to a sibling, the parent or a child; Twilio does not share numbers "
    "between accounts, so every call through this Dial or API request fails.",
    remediation="Move {caller_id} from {owner_account_sid} to {account_sid} "
    "(IncomingPhoneNumber update with AccountSid={account_sid}) unless the owner still uses it; "
    "otherwise verify it in {account_sid} or use one of {account_sid}'s own numbers.",
    docs_url=DOCS_SUBACCOUNTS,
    check=check,
)
