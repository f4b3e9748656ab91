"""callerId references in a Studio flow definition (the revision Twilio executes).

`connect-call-to` dials with `caller_id`; `make-outgoing-call-v2` places a call
`from` a number. Values are usually Liquid: `{{contact.channel.address}}` and
`{{trigger.call.From}}` pass the caller's own number through, other variables
are rendered by Studio at run time (kind template, not empty). Each number the widget
rings (its `to`; several, comma-separated, for the `number-multi` noun) gives one
reference with that fixed destination.
"""

from __future__ import annotations

from auditor.extract.numberinfo import dialed_for_to
from auditor.extract.twiml import per_destination
from auditor.extract.values import classify
from auditor.model import (
    CallerIdReference,
    DialedKind,
    RefKind,
    Source,
    SourceKind,
    StudioFlow,
    Via,
)

_NOUN_DIALED = {
    "number": DialedKind.NUMBER,
    "number-multi": DialedKind.NUMBER,
    "client": DialedKind.CLIENT,
    "sip": DialedKind.SIP,
    "conference": DialedKind.CONFERENCE,
    "queue": DialedKind.QUEUE,
}
# widget type -> the property that holds the caller ID
_WIDGETS = {"connect-call-to": "caller_id", "make-outgoing-call-v2": "from"}


def widget_targets(props: dict[str, object], dialed: str) -> list[str]:
    """The numbers a call-placing widget rings, as written (empty unless it rings numbers)."""
    to = props.get("to")
    if dialed != DialedKind.NUMBER.value or not isinstance(to, str):
        return []
    if props.get("noun") == "number-multi":
        return [part.strip() for part in to.split(",") if part.strip()]
    return [to.strip()]


def extract_flow(flow: StudioFlow) -> tuple[list[CallerIdReference], list[str]]:
    """References for each call-placing widget of a flow, plus notes on malformed states."""
    refs: list[CallerIdReference] = []
    notes: list[str] = []
    definition = flow.definition if isinstance(flow.definition, dict) else {}
    states = definition.get("states", [])
    if not isinstance(states, list):
        return [], [f"flow {flow.sid}: definition has no list of states"]
    for index, state in enumerate(states):
        if not isinstance(state, dict):
            notes.append(f"flow {flow.sid}: state #{index} is not an object")
            continue
        widget_type = state.get("type")
        prop = _WIDGETS.get(widget_type) if isinstance(widget_type, str) else None
        if prop is None:
            continue
        name = state.get("name")
        location = name if isinstance(name, str) and name else f"state #{index}"
        props = state.get("properties")
        props = props if isinstance(props, dict) else {}
        if widget_type == "connect-call-to":
            noun = props.get("noun")
            kind = _NOUN_DIALED.get(noun) if isinstance(noun, str) else None
            dialed = kind.value if kind else DialedKind.UNKNOWN.value
        else:
            dialed = dialed_for_to(props.get("to"))
        source = Source(kind=SourceKind.STUDIO_FLOW.value, sid=flow.sid, location=location)
        targets = widget_targets(props, dialed)
        if prop not in props or props[prop] is None:
            missing = CallerIdReference(
                raw_value="",
                kind=RefKind.EMPTY.value,
                source=source,
                executing_account_sid=flow.account_sid,
                dialed=dialed,
                missing=True,
                via=Via.STUDIO.value,
            )
            refs.extend(per_destination(missing, targets))
            continue
        value = props[prop]
        if not isinstance(value, str):
            notes.append(f"flow {flow.sid}: widget {location}: {prop} is not text")
            value = str(value)
        info = classify(value)
        ref = CallerIdReference(
            raw_value=value,
            kind=info.kind,
            source=source,
            executing_account_sid=flow.account_sid,
            e164=info.e164,
            dialed=dialed,
            passthrough=info.passthrough,
            template=info.template,
            via=Via.STUDIO.value,
        )
        refs.extend(per_destination(ref, targets))
    return refs, notes
