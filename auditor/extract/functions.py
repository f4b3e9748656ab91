"""callerId references in the deployed code of a Serverless Function (JavaScript).

Read through the JavaScript syntax layer (extract/syntax): `twiml.dial({ callerId })`
on a `new Twilio.twiml.VoiceResponse()`, `client.calls.create({ from })`, and TwiML
written as strings in the code. `context.NAME` (and `process.env.NAME`) is resolved
from the Function's environment variables (unset: the callerId is undefined);
`event.From` / `event.To` pass through.
"""

from __future__ import annotations

from auditor.extract.syntax.base import Found, TwimlString, read
from auditor.extract.syntax.javascript import JavaScript
from auditor.extract.syntax.resolve import NoProject
from auditor.model import (
    CallerIdReference,
    RefKind,
    ServerlessFunction,
    Source,
    SourceKind,
    ValueSource,
)

MAX_FUNCTION_CHARS = 2_000_000


def _read(code: str, env: dict[str, str]) -> tuple[list[Found], list[TwimlString]]:
    data = code.encode("utf-8", errors="replace")
    if not any(h.encode() in data for h in (*JavaScript.hints, "<Dial", "<dial")):
        return [], []
    found, strings, _ = read(JavaScript, data, NoProject(env), missing_env_is_empty=True)
    return found, strings


def referenced_env_names(code: str) -> set[str]:
    """Names of environment variables the code reads where a caller ID goes."""
    if not isinstance(code, str) or len(code) > MAX_FUNCTION_CHARS:
        return set()
    found, _ = _read(code, {})
    return {name for f in found if f.value is not None for name in f.value.env_names}


def _reference(fn: ServerlessFunction, found: Found) -> CallerIdReference:
    source = Source(kind=SourceKind.FUNCTION.value, sid=fn.sid, location=f"{fn.path}:{found.line}")
    ref = CallerIdReference(
        raw_value="",
        kind=RefKind.EMPTY.value,
        source=source,
        executing_account_sid=fn.account_sid,
        dialed=found.dialed,
        missing=found.value is None,
        via=found.via,
        destination=found.destination,
        destination_country=found.destination_country,
    )
    if found.value is not None:
        info = found.value.classified
        ref.raw_value = found.value.raw
        ref.kind = info.kind
        ref.e164 = info.e164
        ref.passthrough = info.passthrough
        ref.template = info.template
        ref.resolved_from = found.value.resolved_from
        ref.value_source = found.value.source
    return ref


def _markup_refs(string: TwimlString) -> list[Found]:
    """<Dial> tags in a TwiML string the Function returns (`callback(null, '<Response>…')`)."""
    from auditor.extract.code import markup_dials
    from auditor.extract.syntax.resolve import Value

    found: list[Found] = []
    body = string.text
    kind = "template" if string.literal else "code"
    for offset, value, info, dialed in markup_dials(body, kind, string.callerid_hole):
        at = string.line + body.count("\n", 0, offset)
        if value is None or info is None:
            found.append(Found(at, "dial", None, dialed))
            continue
        resolved = None if value in string.sets_callerid else string.hole(value)
        if resolved is None:
            source = (
                ValueSource.PASSTHROUGH.value
                if info.passthrough
                else ValueSource.RUNTIME.value
                if info.kind == RefKind.TEMPLATE
                else ValueSource.LITERAL.value
            )
            resolved = Value(value, info, source)
        found.append(Found(at, "dial", resolved, dialed))
    return found


def extract_function(fn: ServerlessFunction) -> tuple[list[CallerIdReference], list[str]]:
    """References in one Function's deployed code; location is "path:line"."""
    code = fn.content if isinstance(fn.content, str) else ""
    if len(code) > MAX_FUNCTION_CHARS:
        return [], [f"function {fn.sid} {fn.path}: {len(code)} characters, over the cap"]
    found, strings = _read(code, fn.environment or {})
    for string in strings:
        found.extend(_markup_refs(string))
    found.sort(key=lambda f: f.line)
    refs: list[CallerIdReference] = []
    notes: list[str] = []
    for item in found:
        ref = _reference(fn, item)
        if item.value is not None:
            notes.extend(f"function {fn.sid} {ref.source.location}: {n}" for n in item.value.notes)
        refs.append(ref)
    return refs, notes


__all__ = ["extract_function", "referenced_env_names"]
