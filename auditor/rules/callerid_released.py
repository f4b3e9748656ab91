"""callerid-released: a callerId its account held in the baseline snapshot and holds no more."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.graph import hierarchy_path
from auditor.model import Finding, Severity
from auditor.rules.base import (
    DOCS_INCOMING_NUMBERS,
    ERROR_13214,
    ERROR_21210,
    Rule,
    RuleContext,
    describe_source,
    finding_for,
    judgeable,
)
from auditor.rules.remedy import Remedy, pick_owner


def check(ctx: RuleContext) -> Iterator[Finding]:
    base = ctx.baseline_index
    if base is None or ctx.baseline is None:
        return
    for ref in ctx.distinct_references:
        judge = ctx.judge(ref)
        if not judgeable(ref, judge) or not ref.e164 or not ref.executing_account_sid:
            continue
        x, e164 = ref.executing_account_sid, ref.e164
        if ctx.index.authorized_for(e164, x) or not base.authorized_for(e164, x):
            continue
        was = base.authorized[e164][x]
        old_sid = next(
            (n.sid for n in base.numbers_by_e164.get(e164, []) if n.account_sid == x), None
        )
        held = f"{'owned' if was == 'owned' else 'verified'}" + (
            f" as {old_sid}" if old_sid else ""
        )
        picked = pick_owner(ctx, x, e164)
        remedy = Remedy.for_ref(ctx, ref)
        if picked:
            owner, how = picked
            now = f"it now belongs to {ctx.index.account_label(owner)}"
            fix = remedy.borrow(e164, owner, how)
            path = hierarchy_path(ctx.index, x, owner)
        else:
            owner, path = None, [x]
            now = "no account of the hierarchy holds it now"
            fix = remedy.buy_back(e164)
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} {judge.uses} {e164}, which "
            f"{ctx.index.account_label(x)} {held} in the baseline of "
            f"{ctx.baseline.collected_at}; {now}: {judge.refusal(judge.not_authorized)}.",
            fix,
            owner=owner,
            path=path,
            details={"baseline_collected_at": ctx.baseline.collected_at, "baseline_held": was},
            error_codes=[judge.not_authorized],
        )


RULE = Rule(
    id="callerid-released",
    title="Caller ID released or moved since the baseline",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13214, ERROR_21210),
    risk="A number was released or moved while a Dial or API request still uses it; calls "
    "that worked before now fail.",
    remediation="Buy back or move {caller_id} into {account_sid}, verify it there, or change the "
    "callerId to a number {account_sid} still owns.",
    docs_url=DOCS_INCOMING_NUMBERS,
    check=check,
)
