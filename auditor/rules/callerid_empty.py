"""callerid-empty: an empty, null-ish or unrendered-placeholder callerId.

A Liquid expression in a Studio flow is rendered by Studio at run time, so the
extractor classifies it as a template, not empty; a Dial with no callerId attribute
at all is "missing" (Twilio uses the caller's number) and is judged by
callerid-missing-client-leg instead.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.extract.values import is_placeholder
from auditor.model import CallerIdReference, Finding, RefKind, Severity, SourceKind
from auditor.rules.base import (
    DOCS_DIAL_CALLERID,
    ERROR_13214,
    Rule,
    RuleContext,
    describe_source,
    dials_pstn,
    finding_for,
    is_missing,
    own_numbers_text,
)

_NULLISH = frozenset({"", "none", "null", "undefined", "nil", "nan"})


def looks_empty(ref: CallerIdReference) -> bool:
    """True for a value Twilio would receive as nothing usable."""
    if is_missing(ref) or ref.kind == RefKind.TEMPLATE:
        return False
    if ref.kind == RefKind.EMPTY:
        return True  # the extractor's classification (auditor.extract.values.classify)
    value = ref.raw_value.strip()
    if value.lower() in _NULLISH:
        return True
    # Placeholders in what Twilio received (alerts, webhook answers) were never rendered.
    received = ref.source.kind in (SourceKind.ALERT, SourceKind.WEBHOOK)
    return received and is_placeholder(value)


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.distinct_references:
        if not dials_pstn(ref) or not looks_empty(ref):
            continue
        x = ref.executing_account_sid
        own = own_numbers_text(ctx, x) if x else ""
        shown = repr(ref.raw_value) if ref.raw_value.strip() else "an empty value"
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} sets callerId to {shown}: the variable behind it was "
            f"empty or never rendered, so Twilio refuses the Dial (13214).",
            f"Make sure the value is set before the Dial runs (check the environment variable, "
            f"template or code that fills it in {describe_source(ref, ctx)}), or write a number "
            f"the executing account owns" + (f", e.g. {own}." if own else " or verifies."),
        )


RULE = Rule(
    id="callerid-empty",
    title="Empty or unrendered caller ID",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13214,),
    risk="A missing environment variable or an unrendered template leaves the callerId empty; "
    "every call through the Dial fails.",
    remediation="Fill the variable behind {raw_value} or write one of {account_sid}'s numbers.",
    docs_url=DOCS_DIAL_CALLERID,
    check=check,
)
