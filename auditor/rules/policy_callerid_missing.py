"""policy-callerid-missing: the policy file says an account uses a caller ID it does not hold."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.graph import hierarchy_path
from auditor.model import Finding, Severity, Source, SourceKind, Via
from auditor.rules.base import (
    DOCS_OUTGOING_CALLER_IDS,
    ERROR_13214,
    ERROR_21210,
    Rule,
    RuleContext,
)
from auditor.rules.remedy import Remedy, path_text, pick_owner


def check(ctx: RuleContext) -> Iterator[Finding]:
    for entry in ctx.policy or ():
        account, e164 = entry.account_sid, entry.caller_id
        if ctx.index.authorized_for(e164, account):
            continue
        owner: str | None = None
        path = [account]
        label = f" ({entry.label})" if entry.label else ""
        if account not in ctx.index.accounts:
            message = (
                f"The policy names {account}{label} with caller ID {e164}, but that account is "
                f"not part of the audited hierarchy."
            )
            remediation = (
                f"Correct the account SID in the policy file, or audit the hierarchy that "
                f"holds {account}."
            )
        else:
            picked = pick_owner(ctx, account, e164)
            remedy = Remedy.for_account(ctx, account)  # where the account's calls run
            if picked:
                owner, how = picked
                path = hierarchy_path(ctx.index, account, owner)
                where = f"{ctx.index.account_label(owner)} holds it (path {path_text(ctx, path)})"
                remediation = remedy.borrow(e164, owner, how)
            else:
                where = "no account of the hierarchy holds it"
                remediation = remedy.unowned(e164)
            message = (
                f"The policy says {ctx.index.account_label(account)} uses caller ID {e164}, but "
                f"it neither owns nor verifies it: {where}."
            )
        yield Finding(
            rule=RULE.id,
            severity=RULE.severity,
            via=Via.POLICY.value,
            account_sid=account,
            caller_id=e164,
            raw_value=e164,
            owner_account_sid=owner,
            source=Source(SourceKind.POLICY.value, None, entry.label),
            message=message,
            remediation=remediation,
            error_codes=list(RULE.error_codes),
            path=path,
        )


RULE = Rule(
    id="policy-callerid-missing",
    title="Policy caller ID not owned or verified by its account",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13214, ERROR_21210),
    risk="The caller ID the business expects an account to show is not available to it; calls "
    "made with it will be refused (13214 in a <Dial>, 21210 in an API request).",
    remediation="Move or verify {caller_id} in {account_sid}, or correct the policy file.",
    docs_url=DOCS_OUTGOING_CALLER_IDS,
    check=check,
)
