"""Which environment variables a Function uses as a caller ID (the only ones we may keep).

Environment variables often hold secrets (API keys, passwords), so the
snapshot keeps a variable only when the deployed code reads it in a caller-ID
position: `callerId: context.X`, `callerId = context.X`, `from: process.env.X`,
`caller_id: context["X"]`, or through a local alias / destructured name that
is then used there.
"""

from __future__ import annotations

import re

_KEY = r"(?:['\"]?(?:callerId|callerID|callerid|caller_id|CallerId|from|From)['\"]?)"
_ENV = r"(?:context|process\.env)"
_DOT = r"\.\s*(?P<dot>[A-Za-z_$][\w$]*+)(?!\s*\()"  # context.NAME, not context.fn()
_IDX = r"\[\s*['\"](?P<idx>[^'\"]+)['\"]\s*\]"  # context["NAME"]
_ACCESS = rf"{_ENV}\s*(?:{_DOT}|{_IDX})"
_DIRECT = re.compile(rf"{_KEY}\s*[:=]\s*(?:`\$\{{\s*)?{_ACCESS}")
_ALIAS = re.compile(rf"\b(?:const|let|var)\s+(?P<alias>[A-Za-z_$][\w$]*)\s*=\s*{_ACCESS}")
_DESTRUCT = re.compile(rf"\b(?:const|let|var)\s*\{{(?P<names>[^}}]*)\}}\s*=\s*{_ENV}\b")
_POSITION = r"{key}\s*[:=]\s*(?:`\$\{{\s*)?{name}\b(?!\s*[.\[(])"


def callerid_env_names(code: str) -> set[str]:
    """Names of environment variables the code uses in a caller-ID position."""
    names: set[str] = set()
    for m in _DIRECT.finditer(code):
        names.add(m.group("dot") or m.group("idx"))
    aliases: dict[str, str] = {}
    for m in _ALIAS.finditer(code):
        aliases[m.group("alias")] = m.group("dot") or m.group("idx")
    for m in _DESTRUCT.finditer(code):
        for part in m.group("names").split(","):
            part = part.strip()
            if not part or part.startswith("..."):
                continue
            var, _, local = part.partition(":")
            var = var.strip()
            local = (local.split("=")[0] if local else var).strip()
            if re.fullmatch(r"[A-Za-z_$][\w$]*", var) and local:
                aliases[local] = var
    for local, var in aliases.items():
        pattern = _POSITION.format(key=_KEY, name=re.escape(local))
        if re.search(pattern, code):
            names.add(var)
    return names


def callerid_environment(code: str, variables: dict[str, str]) -> dict[str, str]:
    """The subset of `variables` the code uses as a caller ID (every other value is dropped)."""
    wanted = callerid_env_names(code)
    return {k: v for k, v in variables.items() if k in wanted}
