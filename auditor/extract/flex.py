"""Caller IDs in a Flex Configuration: the number agents' outbound calls present.

Flex places an agent's outbound call from the account Flex runs in, so the caller ID
of each `outbound_call_flows` entry is judged like a Dial's caller ID of that account
(`via: flex-outbound`). A Flex instance that was never set up (`status: notstarted`)
places no call, and an entry without a caller ID means outbound dialing is not
configured: neither gives a reference.
"""

from __future__ import annotations

from auditor.extract.values import classify
from auditor.model import (
    CallerIdReference,
    DialedKind,
    FlexConfiguration,
    Source,
    SourceKind,
    Via,
)

NOT_STARTED = "notstarted"


def _region(location: str | None) -> str | None:
    """The dialpad's country (ISO alpha-2), used to read a number written without +."""
    text = (location or "").strip()
    return text.upper() if len(text) == 2 and text.isalpha() else None


def extract_flex(config: FlexConfiguration) -> tuple[list[CallerIdReference], list[str]]:
    """One reference per outbound call flow that names a caller ID."""
    if config.status == NOT_STARTED:
        return [], []
    refs: list[CallerIdReference] = []
    for flow in config.outbound_call_flows:
        value = flow.caller_id
        if value is None or not value.strip():
            continue
        info = classify(value, default_region=_region(flow.location))
        refs.append(
            CallerIdReference(
                raw_value=value,
                kind=info.kind,
                # One Flex instance per account: the account and the flow's name place it.
                source=Source(SourceKind.FLEX.value, None, f"outbound_call_flows.{flow.name}"),
                executing_account_sid=config.account_sid,
                e164=info.e164,
                dialed=DialedKind.NUMBER.value,  # the dialpad calls phone numbers
                passthrough=info.passthrough,
                template=info.template,
                via=Via.FLEX_OUTBOUND.value,
            )
        )
    return refs, []
