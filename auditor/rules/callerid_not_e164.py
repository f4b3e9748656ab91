"""callerid-not-e164: a callerId written as a number but not in E.164 (+ and country code)."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.extract.values import is_e164
from auditor.model import CallerIdReference, Finding, RefKind, Severity
from auditor.regions import region_label
from auditor.rules.base import (
    DOCS_DIAL_CALLERID,
    ERROR_13214,
    ERROR_21212,
    Rule,
    RuleContext,
    describe_source,
    finding_for,
    is_missing,
    own_numbers_text,
)
from auditor.rules.remedy import Remedy, pick_owner


def _would_be(ctx: RuleContext, ref: CallerIdReference) -> tuple[str, bool | None]:
    """A sentence on the normalised form, and whether it would be authorized (None: unknown)."""
    if ref.e164 is None:
        return "It cannot be read as a phone number at all.", False
    x = ref.executing_account_sid
    if x is None:
        return (
            f"Its E.164 form is {ref.e164}; whether that is authorized cannot be told because "
            f"the executing account is unknown.",
            None,
        )
    if ctx.index.authorized_for(ref.e164, x):
        owned = ctx.index.authorized[ref.e164][x] == "owned"
        if not owned and not Remedy.for_ref(ctx, ref).verifiable:
            return (
                f"Even written as {ref.e164} it would still be refused: {x} holds it only as a "
                f"Verified Caller ID, which {region_label(ref.region)} does not support (see "
                "callerid-verified-unsupported-in-region).",
                False,
            )
        how = "owns" if owned else "has verified"
        return f"Written as {ref.e164} it would be authorized ({x} {how} it).", True
    picked = pick_owner(ctx, x, ref.e164)
    if picked:
        return (
            f"Even written as {ref.e164} it would still be refused: {picked[0]} holds it, not "
            f"{x} (see callerid-cross-account).",
            False,
        )
    return (
        f"Even written as {ref.e164} it would still be refused: no account of the hierarchy "
        f"holds it (see callerid-not-authorized).",
        False,
    )


def check(ctx: RuleContext) -> Iterator[Finding]:
    for ref in ctx.distinct_references:
        if ref.kind != RefKind.NUMBER or ref.passthrough or is_missing(ref):
            continue
        judge = ctx.judge(ref)
        if not judge.judges(ref) or is_e164(ref.raw_value.strip()):
            continue
        sentence, authorized = _would_be(ctx, ref)
        if ref.e164 and authorized:
            fix = f'Write the {judge.field} as "{ref.e164}" in {describe_source(ref, ctx)}.'
        elif ref.e164:
            x = ref.executing_account_sid
            own = own_numbers_text(ctx, x) if x else ""
            fix = (
                f'Write the {judge.field} in E.164 ("{ref.e164}") and make it '
                f"{Remedy.for_ref(ctx, ref).usable()}" + (f", e.g. {own}." if own else ".")
            )
        else:
            fix = (
                f"Replace {ref.raw_value!r} in {describe_source(ref, ctx)} with an E.164 number "
                f"(+ and country code): {Remedy.for_ref(ctx, ref).usable()}."
            )
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} {judge.uses} {ref.raw_value!r}, which is not E.164 "
            f"(+ and country code): {judge.refusal(judge.invalid)}. {sentence}",
            fix,
            details={"normalized": ref.e164, "normalized_authorized": authorized},
            error_codes=[judge.invalid],
        )


RULE = Rule(
    id="callerid-not-e164",
    title="Caller ID not in E.164 format",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13214, ERROR_21212),
    risk="Twilio only accepts caller IDs with + and the country code; the call leg is never "
    "created.",
    remediation="Write {raw_value} as its E.164 form and check that {account_sid} owns or "
    "verifies it.",
    docs_url=DOCS_DIAL_CALLERID,
    check=check,
)
