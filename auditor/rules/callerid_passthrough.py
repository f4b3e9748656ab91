"""callerid-passthrough: the caller ID passes the inbound From/To through (allowed; listed).

A `<Dial>` may present the call's own From or To. A REST request (Calls API,
Participants API, Studio's Make Outgoing Call) places a new call, and its From must be
a number the account owns or verifies: the called number (To) is one, the caller's
number (From) usually is not, so that case is listed with 21210.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from auditor.model import CallerIdReference, Finding, Severity
from auditor.rules.base import (
    DOCS_DIAL_CALLERID,
    ERROR_21210,
    Rule,
    RuleContext,
    client_on_pstn,
    describe_source,
    finding_for,
    own_numbers_text,
)
from auditor.rules.remedy import Remedy

# The caller's side of the inbound call: event.From, request.values['From'], Studio's
# {{trigger.call.From}} or {{contact.channel.address}} (not {{flow.channel.address}}).
_CALLER_SIDE = re.compile(r"\bfrom\b|\bcaller\b|contact\.channel\.address", re.IGNORECASE)


def refused_client(ref: CallerIdReference) -> bool:
    """A client identity passed through onto a call to a phone: callerid-client-on-pstn's case."""
    return client_on_pstn(ref)


def passes_caller(ref: CallerIdReference) -> bool:
    """True when the value passed through is the inbound caller's number (not the called one)."""
    return bool(_CALLER_SIDE.search(ref.template or ref.resolved_from or ref.raw_value))


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.distinct_references:
        if not ref.passthrough or refused_client(ref):
            continue
        judge = ctx.judge(ref)
        shown = ref.template or ref.resolved_from or ref.raw_value
        where = describe_source(ref, ctx)
        if judge.rest and passes_caller(ref):
            x = ref.executing_account_sid
            own = own_numbers_text(ctx, x) if x else ""
            yield finding_for(
                RULE,
                ctx,
                ref,
                f"{where} passes the caller's own number through as the From of a new "
                f"{judge.label} ({shown}). Unlike a <Dial>, a new call may only come from a "
                f"number the account owns or verifies: unless the caller's number is one, "
                f"{judge.refusal(judge.not_authorized)}.",
                f"Use {Remedy.for_ref(ctx, ref).usable()} as From"
                + (f", e.g. {own}" if own else "")
                + ", and pass the caller's number on as a parameter instead.",
                error_codes=[judge.not_authorized],
            )
            continue
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{where} passes the call's own number through as {judge.field} ({shown}); "
            "Twilio allows this.",
            "Nothing to fix. On a Voice SDK client leg From is client:…, which cannot be passed "
            "to a phone; use an owned number there.",
            error_codes=[],
        )


RULE = Rule(
    id="callerid-passthrough",
    title="Caller ID passes the inbound From/To through",
    severity=Severity.INFO.value,
    error_codes=(ERROR_21210,),
    risk="None today for a <Dial>; listed so the inventory of caller IDs is complete. A new "
    "call placed through the API from the caller's own number is refused (21210) unless that "
    "number is verified.",
    remediation="None needed for a <Dial>; for an API request use one of {account_sid}'s "
    "numbers as From.",
    docs_url=DOCS_DIAL_CALLERID,
    check=check,
)
