"""callerid-client-on-pstn: a client:identity caller ID on a call to a phone number.

A client identity may call another client (`<Dial><Client>`, `calls.create(to='client:…')`);
only a call whose destination is a phone number, or not known, is refused.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import Finding, Severity
from auditor.rules.base import (
    DOCS_DIAL_CLIENT,
    ERROR_13214,
    ERROR_21212,
    Rule,
    RuleContext,
    client_on_pstn,
    describe_source,
    finding_for,
    own_numbers_text,
)
from auditor.rules.remedy import Remedy


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.distinct_references:
        if not client_on_pstn(ref):
            continue
        judge = ctx.judge(ref)
        x = ref.executing_account_sid
        own = own_numbers_text(ctx, x) if x else ""
        target = "dials a phone number" if ref.dialed == "number" else "may call a phone number"
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} {target} with {judge.field} {ref.raw_value!r}: a "
            f"client identity can only be shown to another client, so "
            f"{judge.refusal(judge.invalid)}.",
            f"Use {Remedy.for_ref(ctx, ref).usable()} as {judge.field}"
            + (f", e.g. {own}" if own else "")
            + "; keep client: identities for calls to clients.",
            error_codes=[judge.invalid],
        )


RULE = Rule(
    id="callerid-client-on-pstn",
    title="Client identity used as caller ID on a call to a phone number",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13214, ERROR_21212),
    risk="Calls from the app to phones fail: the phone network cannot display a client identity.",
    remediation="Set the caller ID to one of {account_sid}'s numbers for calls to phone numbers.",
    docs_url=DOCS_DIAL_CLIENT,
    check=check,
)
