"""alert-13214-observed: Twilio already refused these callerIds (Monitor alerts in the window)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from auditor.graph import hierarchy_path, reached_by
from auditor.model import Alert, CallerIdReference, Finding, Severity, Source, SourceKind, Via
from auditor.rules.base import (
    DOCS_13214,
    ERROR_13214,
    Rule,
    RuleContext,
    caller_id_of,
)
from auditor.rules.remedy import Remedy, pick_owner

UNKNOWN_CALLER_ID = "(not found in the alert)"
MAX_LISTED = 20


def _groups(
    ctx: RuleContext,
) -> dict[tuple[str, str | None], list[tuple[Alert, CallerIdReference | None]]]:
    refs_by_alert: dict[str, list[CallerIdReference]] = defaultdict(list)
    for ref in ctx.references:
        if ref.source.kind == SourceKind.ALERT and ref.source.sid:
            refs_by_alert[ref.source.sid].append(ref)
    groups: dict[tuple[str, str | None], list[tuple[Alert, CallerIdReference | None]]]
    groups = defaultdict(list)
    for alert in ctx.snapshot.alerts:
        if str(alert.error_code).strip() != str(ERROR_13214):
            continue
        refs: list[CallerIdReference | None] = list(refs_by_alert.get(alert.sid, [])) or [None]
        seen: set[str | None] = set()
        for found in refs:
            value = caller_id_of(found) if found else None
            if value in seen:
                continue
            seen.add(value)
            groups[(alert.account_sid, value)].append((alert, found))
    return groups


def _advice(
    ctx: RuleContext, account: str, value: str | None, ref: CallerIdReference | None
) -> tuple[str, str | None, list[str]]:
    """(remediation, owner, path) for one group."""
    if value is None or ref is None or ref.e164 is None:
        return (
            "Open the alerts in the Console (Monitor › Errors) to read the TwiML Twilio received, "
            "and see the callerid-empty, callerid-not-e164 and callerid-client-on-pstn findings "
            "for the same account.",
            None,
            [account],
        )
    e164 = ref.e164
    if ctx.index.authorized_for(e164, account):
        held = ctx.index.authorized[e164][account]
        return (
            f"{account} {held} {e164} now; if no alert is newer than the fix, nothing is left to "
            f"do. Otherwise look for another account running the same TwiML.",
            account,
            [account],
        )
    remedy = Remedy.for_ref(ctx, ref)  # the alert was logged in the region it was read from
    picked = pick_owner(ctx, account, e164)
    if picked:
        owner, how = picked
        return (
            remedy.borrow(e164, owner, how),
            owner,
            hierarchy_path(ctx.index, account, owner),
        )
    return remedy.unowned(e164), None, [account]


def check(ctx: RuleContext) -> Iterator[Finding]:
    for (account, value), items in sorted(
        _groups(ctx).items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
    ):
        alerts = sorted((a for a, _ in items), key=lambda a: (a.date_created, a.sid))
        refs = [r for _, r in items if r is not None]
        first, last = alerts[0], alerts[-1]
        ref = min(refs, key=lambda r: r.source.sid or "") if refs else None
        impacted = sorted({label for r in refs for label in reached_by(ctx.graph, r)})
        remediation, owner, path = _advice(ctx, account, value, ref)
        urls = sorted({a.request_url for a in alerts if a.request_url})
        shown = value or UNKNOWN_CALLER_ID
        count = len(alerts)
        yield Finding(
            rule=RULE.id,
            severity=RULE.severity,
            via=Via.DIAL.value,  # 13214 is the <Dial> verb's error
            account_sid=account,
            caller_id=shown if value else None,
            raw_value=ref.raw_value if ref else None,
            owner_account_sid=owner,
            source=Source(SourceKind.ALERT.value, last.sid, None),
            message=(
                f"Twilio refused callerId {shown} in {ctx.index.account_label(account)} "
                + (
                    f"once, on {first.date_created}"
                    if count == 1
                    else f"{count} times between {first.date_created} and {last.date_created}"
                )
                + " (13214: Dial: Invalid callerId value)."
            ),
            remediation=remediation,
            impacted=impacted,
            error_codes=list(RULE.error_codes),
            path=path,
            details={
                "count": count,
                "first_seen": first.date_created,
                "last_seen": last.date_created,
                "alert_sids": [a.sid for a in alerts][-MAX_LISTED:],
                "request_urls": urls[:MAX_LISTED],
            },
        )


RULE = Rule(
    id="alert-13214-observed",
    title="Twilio logged 13214 (invalid callerId) in the alert window",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13214,),
    risk="Not a prediction: these calls already failed in production.",
    remediation="Fix the callerId {caller_id} in {account_sid} as its other findings say, then "
    "check that no new 13214 alert appears.",
    docs_url=DOCS_13214,
    check=check,
)
