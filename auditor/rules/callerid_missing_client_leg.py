"""callerid-missing-client-leg: a Dial to a number without callerId, on a Voice SDK client leg.

Without callerId Twilio presents the caller's From; on a client leg that is
`client:identity`, which the phone network cannot carry, so the Dial fails.
The client-leg knowledge comes from the webhook probe (WebhookResponse.client_leg)
or from the extractor (CallerIdReference.client_leg). Only a Dial presents the
caller's From when it has none; a REST request without From is callerid-empty's.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.graph import normalize_url, webhook_url_of
from auditor.model import CallerIdReference, DialedKind, Finding, Severity, SourceKind
from auditor.rules.base import (
    DOCS_DIAL_CLIENT,
    ERROR_13214,
    Rule,
    RuleContext,
    describe_source,
    finding_for,
    is_missing,
    own_numbers_text,
)
from auditor.rules.remedy import Remedy


def _client_leg_urls(ctx: RuleContext) -> set[str]:
    return {
        url
        for response in ctx.snapshot.webhooks
        if response.client_leg and (url := normalize_url(response.url))
    }


def _on_client_leg(ref: CallerIdReference, urls: set[str]) -> bool:
    if ref.client_leg:
        return True
    if ref.source.kind != SourceKind.WEBHOOK:
        return False
    return normalize_url(webhook_url_of(ref)) in urls


def check(ctx: RuleContext) -> Iterator[Finding]:
    urls = _client_leg_urls(ctx)
    # The probe asks a URL twice (as a phone and as a client leg): one finding per Dial.
    seen: set[tuple[str | None, str, str | None, str | None]] = set()
    for ref in ctx.distinct_references:
        if not is_missing(ref) or ref.dialed != DialedKind.NUMBER:
            continue
        if ctx.judge(ref).rest:
            continue  # a REST request without From: callerid-empty (21213)
        if not _on_client_leg(ref, urls):
            continue
        key = (ref.executing_account_sid, ref.source.kind, ref.source.sid, ref.source.location)
        if key in seen:
            continue
        seen.add(key)
        x = ref.executing_account_sid
        own = own_numbers_text(ctx, x, limit=1) if x else ""
        example = own.split(" ", 1)[0] if own else "+1XXXXXXXXXX"
        yield finding_for(
            RULE,
            ctx,
            ref,
            f"{describe_source(ref, ctx)} dials a phone number without callerId on a Voice SDK "
            f"client leg: Twilio would present client:… as the caller, which the phone network "
            f"refuses (13214).",
            f'Add callerId="{example}" ({Remedy.for_ref(ctx, ref).usable()}) to the '
            f"<Dial> in {describe_source(ref, ctx)}.",
        )


RULE = Rule(
    id="callerid-missing-client-leg",
    title="Dial to a phone number from a Voice SDK client without callerId",
    severity=Severity.MEDIUM.value,
    error_codes=(ERROR_13214,),
    risk="Browser and mobile app users cannot call phones: their identity is not a phone number.",
    remediation="Add callerId set to one of {account_sid}'s numbers to the Dial.",
    docs_url=DOCS_DIAL_CLIENT,
    check=check,
)
