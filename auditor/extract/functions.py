"""callerId references in the deployed code of a Serverless Function (JavaScript).

`dial({ callerId })` in its common spellings, a `callerId` on an options object,
and `client.calls.create({ from })`. `context.NAME` is resolved from the
Function's environment variables; `event.From` / `event.To` pass through.
"""

from __future__ import annotations

from auditor.extract.expressions import Scope, evaluate
from auditor.extract.lexing import Lines, mask
from auditor.extract.sourcecode import find_hits, might_hold_hits
from auditor.model import CallerIdReference, RefKind, ServerlessFunction, Source, SourceKind

MAX_FUNCTION_CHARS = 2_000_000


def _scope(code: str, env: dict[str, str], record: set[str] | None = None) -> Scope:
    def lookup(name: str) -> tuple[str, str] | None:
        if record is not None:
            record.add(name)
        value = env.get(name)
        return (value, "") if value is not None else None

    return Scope(
        text=code, masked=mask(code, "js"), lang="js", env=lookup, missing_context_is_empty=True
    )


def referenced_env_names(code: str) -> set[str]:
    """Names of environment variables the code reads where a caller ID goes."""
    if not isinstance(code, str) or len(code) > MAX_FUNCTION_CHARS:
        return set()
    if not might_hold_hits("js", code):
        return set()
    names: set[str] = set()
    scope = _scope(code, {}, names)
    for hit in find_hits("js", scope.masked):
        if not hit.missing:
            evaluate(scope, hit.offset, hit.end)
    return names


def extract_function(fn: ServerlessFunction) -> tuple[list[CallerIdReference], list[str]]:
    """References in one Function's deployed code; location is "path:line"."""
    code = fn.content if isinstance(fn.content, str) else ""
    if len(code) > MAX_FUNCTION_CHARS:
        return [], [f"function {fn.sid} {fn.path}: {len(code)} characters, over the cap"]
    if not might_hold_hits("js", code):
        return [], []
    scope = _scope(code, fn.environment or {})
    lines = Lines.of(code)
    refs: list[CallerIdReference] = []
    notes: list[str] = []
    for hit in find_hits("js", scope.masked):
        source = Source(
            kind=SourceKind.FUNCTION.value,
            sid=fn.sid,
            location=f"{fn.path}:{lines.line(hit.offset)}",
        )
        if hit.missing:
            refs.append(
                CallerIdReference(
                    raw_value="",
                    kind=RefKind.EMPTY.value,
                    source=source,
                    executing_account_sid=fn.account_sid,
                    dialed=hit.dialed,
                    missing=True,
                )
            )
            continue
        value = evaluate(scope, hit.offset, hit.end)
        notes.extend(f"function {fn.sid} {source.location}: {n}" for n in value.notes)
        info = value.classified
        refs.append(
            CallerIdReference(
                raw_value=value.raw,
                kind=info.kind,
                source=source,
                executing_account_sid=fn.account_sid,
                e164=info.e164,
                dialed=hit.dialed,
                passthrough=info.passthrough,
                template=info.template,
                resolved_from=value.resolved_from,
            )
        )
    return refs, notes
