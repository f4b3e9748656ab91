"""verified-callerid-duplicated: one number is a Verified Caller ID in several accounts."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Severity, Source, SourceKind
from auditor.rules.base import DOCS_OUTGOING_CALLER_IDS, Rule, RuleContext


def check(ctx: RuleContext) -> Iterator[Finding]:
    idx = ctx.index
    for e164 in sorted(idx.verified_by_e164):
        vids = sorted(idx.verified_by_e164[e164], key=lambda v: (v.account_sid, v.sid))
        accounts = sorted({v.account_sid for v in vids})
        if len(accounts) < 2:
            continue
        users = sorted(a for a in accounts if e164 in idx.used_by_account.get(a, set()))
        idle = [v for v in vids if v.account_sid not in users]
        keep = (
            f"It is used as callerId by {', '.join(users)}; keep those verifications"
            if users
            else "No audited reference uses it as callerId"
        )
        removals = "; ".join(
            f"DELETE /2010-04-01/Accounts/{v.account_sid}/OutgoingCallerIds/{v.sid}.json"
            for v in idle
        )
        first = vids[0]
        yield Finding(
            rule=RULE.id,
            severity=RULE.severity,
            account_sid=first.account_sid,
            caller_id=e164,
            raw_value=first.phone_number,
            owner_account_sid=None,
            source=Source(SourceKind.INVENTORY.value, first.sid, "OutgoingCallerIds"),
            message=(
                f"{e164} is a Verified Caller ID in {len(accounts)} accounts: "
                f"{', '.join(idx.account_label(a) for a in accounts)}."
            ),
            remediation=(
                f"{keep}. Confirm who controls the line, then remove the verifications that "
                f"nothing uses" + (f" ({removals})." if removals and users else ".")
            ),
            error_codes=list(RULE.error_codes),
            details={"accounts": accounts, "used_by": users},
        )


RULE = Rule(
    id="verified-callerid-duplicated",
    title="Same number verified in several accounts",
    severity=Severity.LOW.value,
    error_codes=(),
    risk="Allowed by Twilio, but nobody knows which account really controls the line; when it "
    "changes hands every account keeps presenting it.",
    remediation="Keep {caller_id} verified only where it is used as callerId.",
    docs_url=DOCS_OUTGOING_CALLER_IDS,
    check=check,
)
