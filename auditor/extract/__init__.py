"""callerId references from everything a snapshot holds, and from local source trees.

Pure functions over data, no network: hostile input becomes a note, never an
exception. `references_from_snapshot` is what the analysis consumes; each alert,
flow, Function and webhook answer is its own failure domain there (`_isolated`): if
one still makes an extractor raise, that item gets a note and the rest is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from auditor.extract.alerts import extract_alert
from auditor.extract.flex import extract_flex
from auditor.extract.functions import extract_function
from auditor.extract.studio import extract_flow
from auditor.extract.twiml import extract_twiml
from auditor.extract.values import region_notes
from auditor.model import (
    PROBE_CALLER,
    PROBE_CLIENT,
    CallerIdReference,
    Snapshot,
    Source,
    SourceKind,
    WebhookResponse,
)

__all__ = ["references_from_snapshot"]

_KIND_ORDER = {k.value: i for i, k in enumerate(SourceKind)}


def _webhook_refs(
    hook: WebhookResponse, snapshot: Snapshot
) -> tuple[list[CallerIdReference], list[str]]:
    """A probed webhook's TwiML, once per account it serves (each executes it)."""
    if not hook.body or hook.error or (hook.http_status is not None and hook.http_status >= 400):
        return [], []
    numbers = {n.sid: n.phone_number for n in snapshot.phone_numbers}
    called = [numbers[s] for s in hook.reached_from if s in numbers]
    request_vars = {
        "From": PROBE_CLIENT if hook.client_leg else PROBE_CALLER,
        "To": called[0] if called else "",
    }
    refs: list[CallerIdReference] = []
    notes: list[str] = []
    accounts: list[str | None] = [*sorted(set(hook.served_accounts))] or [None]
    for account in accounts:
        source = Source(kind=SourceKind.WEBHOOK.value, sid=None, location=hook.url)
        found, found_notes = extract_twiml(
            hook.body, account_sid=account, source=source, request_vars=request_vars
        )
        for ref in found:
            ref.client_leg = hook.client_leg
            if ref.raw_value.strip() in called:
                ref.passthrough = True
        refs.extend(found)
        notes.extend(found_notes)
    return refs, notes


Extracted = tuple[list[CallerIdReference], list[str]]


def _isolated(what: str, extract: Callable[[], Extracted]) -> Extracted:
    """One item's references, or none and a note when extracting it raised (a bug)."""
    try:
        return extract()
    except Exception as exc:
        return [], [
            f"{what}: could not be analysed ({type(exc).__name__}: a bug in twilio-audit, "
            "please report it); its caller IDs are not audited"
        ]


def _sort_key(ref: CallerIdReference) -> tuple[int, str, str, str, str, str]:
    return (
        _KIND_ORDER.get(ref.source.kind, len(_KIND_ORDER)),
        ref.source.sid or "",
        ref.source.location or "",
        ref.executing_account_sid or "",
        ref.raw_value,
        ref.dialed,
    )


def references_from_snapshot(snapshot: Snapshot) -> tuple[list[CallerIdReference], list[str]]:
    """Every callerId reference Twilio actually executes, in a deterministic order."""
    refs: list[CallerIdReference] = []
    notes: list[str] = []
    jobs: list[tuple[str, Callable[[], Extracted]]] = []
    jobs += [(f"alert {a.sid}", partial(extract_alert, a)) for a in snapshot.alerts]
    jobs += [
        (f"flow {f.sid}", partial(extract_flow, f))
        for f in snapshot.flows
        if f.status == "published"
    ]
    jobs += [(f"function {f.sid}", partial(extract_function, f)) for f in snapshot.functions]
    jobs += [(f"webhook {h.url}", partial(_webhook_refs, h, snapshot)) for h in snapshot.webhooks]
    for what, extract in jobs:
        found, found_notes = _isolated(what, extract)
        refs.extend(found)
        notes.extend(found_notes)
    for config in snapshot.flex_configurations:
        found, found_notes = extract_flex(config)
        refs.extend(found)
        notes.extend(found_notes)
    refs.sort(key=_sort_key)
    notes.extend(region_notes(refs))
    for ref in refs:
        ref.region = snapshot.region  # what a region holds (flows, Functions …) runs there
    # Local code (--code) keeps the region it was given, if any: which region a program's
    # client addresses is not something the snapshot knows.
    refs.extend(snapshot.code_references)
    return refs, notes
