"""callerid-passthrough: the callerId passes the inbound From/To through (allowed; listed)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.model import CallerIdReference, DialedKind, Finding, RefKind, Severity
from auditor.rules.base import (
    DOCS_DIAL_CALLERID,
    Rule,
    RuleContext,
    describe_source,
    finding_for,
)


def refused_client(ref: CallerIdReference) -> bool:
    """A client identity passed through onto a call to a phone: callerid-client-on-pstn's case."""
    is_client = ref.kind == RefKind.CLIENT or ref.raw_value.strip().lower().startswith("client:")
    return is_client and ref.dialed == DialedKind.NUMBER


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.distinct_references:
        if not ref.passthrough or refused_client(ref):
            continue
        shown = ref.template or ref.resolved_from or ref.raw_value
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} passes the call's own number through as callerId "
            f"({shown}); Twilio allows this.",
            "Nothing to fix. On a Voice SDK client leg From is client:…, which cannot be passed "
            "to a phone; use an owned number there.",
        )


RULE = Rule(
    id="callerid-passthrough",
    title="Caller ID passes the inbound From/To through",
    severity=Severity.INFO.value,
    error_codes=(),
    risk="None today; listed so the inventory of caller IDs is complete.",
    remediation="None needed.",
    docs_url=DOCS_DIAL_CALLERID,
    check=check,
)
