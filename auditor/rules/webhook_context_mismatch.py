"""webhook-context-mismatch: one webhook URL serves several accounts; its callerId fits only some.

The TwiML a URL returns runs under whichever account's number, app or SIP domain
called it. A literal callerId owned by one of them works there and fails everywhere
else. The data comes from the webhook probe (WebhookResponse.served_accounts) and the
references extracted from what each URL answered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from auditor.graph import hierarchy_path, normalize_url, webhook_url_of
from auditor.model import CallerIdReference, Finding, RefKind, Severity, SourceKind
from auditor.rules.base import (
    DOCS_DIAL_CALLERID,
    ERROR_13214,
    Rule,
    RuleContext,
    dials_pstn,
    finding_for,
    is_missing,
)
from auditor.rules.remedy import Remedy, path_text, pick_owner

_SHARED_KEY = "webhook-context-mismatch"


@dataclass
class MismatchGroup:
    url: str
    e164: str
    served: list[str]
    authorized: list[str]
    failing: list[str]
    refs: dict[str, CallerIdReference] = field(default_factory=dict)  # by executing account
    template: CallerIdReference | None = None


def _literal_webhook_ref(ref: CallerIdReference) -> bool:
    return (
        ref.source.kind == SourceKind.WEBHOOK
        and ref.kind == RefKind.NUMBER
        and ref.e164 is not None
        and not ref.passthrough
        and not is_missing(ref)
        and dials_pstn(ref)
    )


def mismatch_groups(ctx: RuleContext) -> dict[tuple[str, str], MismatchGroup]:
    """(normalised URL, e164) → the group, for URLs whose callerId fits only some accounts."""
    cached = ctx.shared.get(_SHARED_KEY)
    if isinstance(cached, dict):
        return cached
    served: dict[str, set[str]] = defaultdict(set)
    for response in ctx.snapshot.webhooks:
        url = normalize_url(response.url)
        if url:
            served[url].update(response.served_accounts)
    refs_by_key: dict[tuple[str, str], dict[str | None, CallerIdReference]] = defaultdict(dict)
    for ref in ctx.references:
        if not _literal_webhook_ref(ref) or ref.e164 is None:
            continue
        url = normalize_url(webhook_url_of(ref))
        if not url:
            continue
        if ref.executing_account_sid:
            served[url].add(ref.executing_account_sid)
        refs_by_key[(url, ref.e164)].setdefault(ref.executing_account_sid, ref)
    groups: dict[tuple[str, str], MismatchGroup] = {}
    for (url, e164), by_account in sorted(refs_by_key.items()):
        accounts = sorted(served.get(url, set()))
        ok = [a for a in accounts if ctx.index.authorized_for(e164, a)]
        failing = [a for a in accounts if a not in ok]
        if len(accounts) < 2 or not ok or not failing:
            continue
        template = min(by_account.values(), key=lambda r: (r.executing_account_sid or "",))
        groups[(url, e164)] = MismatchGroup(
            url=url,
            e164=e164,
            served=accounts,
            authorized=ok,
            failing=failing,
            refs={a: r for a, r in by_account.items() if a},
            template=template,
        )
    ctx.shared[_SHARED_KEY] = groups
    return groups


def covered_by_mismatch(ctx: RuleContext, ref: CallerIdReference) -> bool:
    """True when webhook-context-mismatch already reports this (URL, value, account)."""
    if ref.source.kind != SourceKind.WEBHOOK or not ref.e164:
        return False
    url = normalize_url(webhook_url_of(ref))
    group = mismatch_groups(ctx).get((url or "", ref.e164))
    return group is not None and ref.executing_account_sid in group.failing


def check(ctx: RuleContext) -> Iterator[Finding]:
    for group in mismatch_groups(ctx).values():
        for account in group.failing:
            ref = group.refs.get(account)
            if ref is None and group.template is not None:
                # The probe saw the URL serve this account; the TwiML is the same for all.
                t = group.template
                ref = CallerIdReference(
                    raw_value=t.raw_value,
                    kind=t.kind,
                    source=t.source,
                    executing_account_sid=account,
                    e164=t.e164,
                    dialed=t.dialed,
                    via=t.via,
                    destination=t.destination,
                    destination_country=t.destination_country,
                    region=t.region,  # the answer ran in the region the probe asked
                )
            if ref is None:
                continue
            picked = pick_owner(ctx, account, group.e164)
            owner, how = picked if picked else (group.authorized[0], "owned")
            path = hierarchy_path(ctx.index, account, owner)
            others = ", ".join(ctx.index.account_label(a) for a in group.authorized)
            yield finding_for(
                RULE,
                ctx,
                ref,
                f"Webhook {group.url} serves {len(group.served)} accounts and answers "
                f'<Dial callerId="{group.e164}">; that works for {others} but not when '
                f"{ctx.index.account_label(account)} calls it (path {path_text(ctx, path)}): "
                f"Twilio refuses the Dial there (13214).",
                f"Make the callerId depend on the account that calls the webhook (the "
                f"AccountSid request parameter) and answer with a number of that account, or "
                f"point {account}'s numbers at their own webhook. "
                + Remedy.for_ref(ctx, ref).borrow(group.e164, owner, how),
                owner=owner,
                path=path,
                details={
                    "url": group.url,
                    "served_accounts": group.served,
                    "authorized_accounts": group.authorized,
                },
            )


RULE = Rule(
    id="webhook-context-mismatch",
    title="Webhook shared by several accounts returns a callerId only some of them hold",
    severity=Severity.HIGH.value,
    error_codes=(ERROR_13214,),
    risk="The same TwiML works for one account and fails for the others, so failures look "
    "random: they depend on which number was called.",
    remediation="Return a callerId owned by the account in the request's AccountSid, or give "
    "{account_sid} its own webhook; otherwise move or verify {caller_id} in {account_sid}.",
    docs_url=DOCS_DIAL_CALLERID,
    check=check,
)
