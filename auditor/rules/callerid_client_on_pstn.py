"""callerid-client-on-pstn: a client:identity callerId on a Dial to a phone number."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import DialedKind, Finding, RefKind, Severity
from auditor.rules.base import (
    DOCS_DIAL_CLIENT,
    ERROR_13214,
    Rule,
    RuleContext,
    describe_source,
    finding_for,
    own_numbers_text,
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.distinct_references:
        is_client = ref.kind == RefKind.CLIENT or ref.raw_value.strip().lower().startswith(
            "client:"
        )
        if not is_client or ref.dialed != DialedKind.NUMBER:
            continue
        x = ref.executing_account_sid
        own = own_numbers_text(ctx, x) if x else ""
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} dials a phone number with callerId "
            f"{ref.raw_value!r}: a client identity can only be shown to another <Client>, "
            f"so Twilio refuses the Dial (13214).",
            "Use a phone number the executing account owns or verifies as callerId"
            + (f", e.g. {own}" if own else "")
            + "; keep client: identities for Dials to <Client>.",
        )


RULE = Rule(
    id="callerid-client-on-pstn",
    title="Client identity used as caller ID on a call to a phone number",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13214,),
    risk="Calls from the app to phones fail: the phone network cannot display a client identity.",
    remediation="Set callerId to one of {account_sid}'s numbers for Dials to phone numbers.",
    docs_url=DOCS_DIAL_CLIENT,
    check=check,
)
