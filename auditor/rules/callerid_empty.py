"""callerid-empty: an empty, null-ish or unrendered-placeholder callerId.

A Liquid expression in a Studio flow is rendered by Studio at run time, so the
extractor classifies it as a template, not empty; a Dial with no callerId attribute
at all is "missing" (Twilio uses the caller's number) and is judged by
callerid-missing-client-leg instead. A REST request (Calls API, Participants API,
Studio's Make Outgoing Call) must have a From: missing or empty is refused with 21213,
unrendered text with 21212, whatever it calls.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.extract.values import is_placeholder
from auditor.model import CallerIdReference, Finding, RefKind, Severity, SourceKind
from auditor.rules.base import (
    DOCS_DIAL_CALLERID,
    ERROR_13214,
    ERROR_21212,
    ERROR_21213,
    Judge,
    Rule,
    RuleContext,
    describe_source,
    dials_pstn,
    finding_for,
    is_missing,
    own_numbers_text,
)
from auditor.rules.remedy import Remedy

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


def _code(judge: Judge, ref: CallerIdReference) -> int | None:
    """The error Twilio answers for this empty value on this path (None: not refused)."""
    if not judge.rest:
        return judge.invalid if dials_pstn(ref) and looks_empty(ref) else None
    if is_missing(ref) or (looks_empty(ref) and not ref.raw_value.strip()):
        return judge.missing
    return judge.invalid if looks_empty(ref) else None


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.distinct_references:
        judge = ctx.judge(ref)
        code = _code(judge, ref)
        if code is None:
            continue
        x = ref.executing_account_sid
        own = own_numbers_text(ctx, x) if x else ""
        where = describe_source(ref, ctx)
        if is_missing(ref):
            message = f"{where} sends a {judge.label} without any {judge.field}"
        else:
            shown = repr(ref.raw_value) if ref.raw_value.strip() else "an empty value"
            message = (
                f"{where} sets {judge.field} to {shown}: the variable behind it was empty or "
                f"never rendered"
            )
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{message}, so {judge.refusal(code)}.",
            f"Make sure the value is set before the {judge.label} runs (check the environment "
            f"variable, template or code that fills it in {where}), or write "
            f"{Remedy.for_ref(ctx, ref).usable()}" + (f", e.g. {own}." if own else "."),
            error_codes=[code],
        )


RULE = Rule(
    id="callerid-empty",
    title="Empty or unrendered caller ID",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13214, ERROR_21212, ERROR_21213),
    risk="A missing environment variable or an unrendered template leaves the caller ID empty; "
    "every call through the Dial or API request fails.",
    remediation="Fill the variable behind {raw_value} or write one of {account_sid}'s numbers.",
    docs_url=DOCS_DIAL_CALLERID,
    check=check,
)
