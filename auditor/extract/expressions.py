"""Evaluate the expression written where a callerId goes: a literal, a constant, an env read.

No interpreter: a string literal is read, a name is followed to its last
assignment in the same file, an environment read is looked up in the variables
we were given (Function environment, .env files), the call's own From/To is a
pass-through, and anything else is a run-time value (kind template).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from auditor.extract.lexing import expression_end
from auditor.extract.values import Classified, classify
from auditor.model import RefKind

# An environment read; the name is in one of the groups.
_ENV_READ = re.compile(
    r"^(?:process\.env|context|ENV|os\.environ|\$_ENV|\$_SERVER)\s*\.\s*([A-Za-z_]\w*)$"
    r"|^(?:process\.env|context|os\.environ|ENV|\$_ENV|\$_SERVER|getenv|os\.getenv|"
    r"os\.environ\.get|env|ENV\.fetch|Environment\.GetEnvironmentVariable|System\.getenv|"
    r"Deno\.env\.get|process\.env\.get)\s*[\[(]\s*:?[\"']?([A-Za-z_]\w*)[\"']?\s*"
    r"(?:,\s*(?P<default>.+?))?\s*[\])]$"
)
# The call's own From/To (or Caller/Called) read from the incoming request.
_PASSTHROUGH = re.compile(
    r"(?:^|[.\[(:'\"\s])(From|To|Caller|Called)['\"]?\s*[\])]?\s*$"
    r"|\b(?:event|req\.body|req\.query|request\.(?:form|values|args|POST|GET)|params|"
    r"\$_(?:REQUEST|POST|GET)|Request\.Form|request)\b.*\b(From|To|Caller|Called)\b"
)
_NULL_WORDS = {"None", "null", "nil", "undefined", "NULL", "Nothing"}
_IDENTIFIER = re.compile(r"(?:this\.|self\.|@|\$|\$this->)?[A-Za-z_]\w*")
_WRAPPER = re.compile(
    r"^(?:new\s+)?(?:Twilio\.Types\.|com\.twilio\.type\.)?(?:PhoneNumber|String|str|"
    r"strval|String\.valueOf)\s*\((?P<inner>.*)\)$",
    re.S,
)
# Conversions that do not change the value: '+1…'.freeze, x.toString(), x.strip()
_CONVERSION = re.compile(r"(?:\.(?:freeze|to_s|toString\(\)|strip\(\)|trim\(\)|ToString\(\)))+$")
# TypeScript's non-null assertion and casts: `process.env.X!`, `x as string`
_TS_SUFFIX = re.compile(r"(?:!|\s+(?:as|satisfies)\s+[\w.<>\[\]| ]+)$")
_TERNARY = re.compile(r"([^?:]+?)\s\?\s(.+?)\s:\s(.+)", re.S)
_FALLBACK = re.compile(r"\s(?:\|\||\?\?|or|\?:)\s")
_STRING = re.compile(
    r"""^(?P<prefix>[rRbBuUfF@$]{0,2})(?P<q>'''|\"\"\"|["'`])(?P<body>.*)(?P=q)$""", re.S
)


@dataclass
class Evaluated:
    """A value expression, evaluated as far as the file (and env) allow."""

    raw: str  # what goes in CallerIdReference.raw_value
    classified: Classified
    resolved_from: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Scope:
    """What an expression can be resolved against."""

    text: str  # the original source
    masked: str  # lexing.mask(text)
    lang: str
    env: Callable[[str], tuple[str, str] | None]  # name -> (value, where it is defined)
    missing_context_is_empty: bool = False  # Functions: an unset context.X/process.env.X: undefined
    # name -> [(offset, where its value starts | the value text of a destructuring)]
    assignments: dict[str, list[tuple[int, int | str]]] = field(default_factory=dict)
    indexed: bool = False


_ASSIGN: dict[str, re.Pattern[str]] = {
    "js": re.compile(r"\b(?:const|let|var)\s+([A-Za-z_$][\w$]*)\s*(?::\s*\w+\s*)?=(?![=>])\s*"),
    "python": re.compile(r"^[ \t]*((?:self\.)?[A-Za-z_]\w*)\s*(?::\s*\w+\s*)?=(?!=)\s*", re.M),
    "php": re.compile(
        r"(\$[A-Za-z_]\w*|(?<=const )[A-Za-z_]\w*|(?<=\$this->)[A-Za-z_]\w*)\s*=(?![=>])\s*"
    ),
    "ruby": re.compile(r"^[ \t]*(@?[A-Za-z_]\w*)\s*=(?![=~>])\s*", re.M),
    "csharp": re.compile(r"\b([A-Za-z_]\w*)\s*=(?![=>])\s*"),
    "java": re.compile(r"\b([A-Za-z_]\w*)\s*=(?!=)\s*"),
}
_DESTRUCTURE = re.compile(r"\b(?:const|let|var)\s*\{([^{}]*)\}\s*=\s*(context|process\.env)\b")


def collect_assignments(scope: Scope) -> None:
    """Index `name = expression` in the file so names can be followed to their value."""
    scope.indexed = True
    pattern = _ASSIGN.get(scope.lang)
    if pattern is None:
        return
    for m in pattern.finditer(scope.masked):
        scope.assignments.setdefault(_bare(m.group(1)), []).append((m.start(), m.end()))
    if scope.lang == "js":
        for m in _DESTRUCTURE.finditer(scope.masked):
            for part in m.group(1).split(","):
                var, _, alias = part.partition(":")
                var, alias = var.strip(), (alias.split("=")[0] if alias else var).strip()
                if re.fullmatch(r"[A-Za-z_$][\w$]*", var) and alias:
                    scope.assignments.setdefault(alias, []).append(
                        (m.start(), f"{m.group(2)}.{var}")
                    )


def _bare(name: str) -> str:
    for prefix in ("self.", "this.", "$this->", "@"):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _literal(expr: str, lang: str) -> str | None:
    """The value of a plain string literal (None when the expression is not one)."""
    m = _STRING.match(expr)
    if not m:
        return None
    body = m.group("body")
    quote = m.group("q")
    if quote in ('"', "'") and quote in body.replace("\\" + quote, ""):
        return None  # two literals joined: 'a' + 'b'
    if lang == "python":
        try:
            value = ast.literal_eval(expr)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return body
        return value if isinstance(value, str) else None
    return body.replace("\\" + quote, quote)


def _interpolated(expr: str, lang: str) -> bool:
    """A string the language fills in at run time (f-string, JS template, Ruby "#{}")."""
    m = _STRING.match(expr)
    if not m:
        return False
    prefix, quote, body = m.group("prefix"), m.group("q"), m.group("body")
    if lang == "python" and "f" in prefix.lower():
        return "{" in body
    if lang == "js" and quote == "`":
        return "${" in body
    if lang in ("ruby",) and quote == '"':
        return "#{" in body
    if lang == "php" and quote == '"':
        return bool(re.search(r"\$[A-Za-z_{]", body))
    if lang == "csharp" and "$" in prefix:
        return "{" in body
    return False


_WHOLE_INTERPOLATION = re.compile(r"`\$\{([^`{}]*)\}`")


def evaluate(scope: Scope, start: int, end: int, depth: int = 0) -> Evaluated:
    """Evaluate the expression at text[start:end]."""
    expr = scope.text[start:end].strip()
    return _evaluate_text(scope, expr, start, depth)


def _evaluate_text(scope: Scope, expr: str, offset: int, depth: int) -> Evaluated:
    expr = expr.strip().rstrip(",;").strip()
    while expr.startswith("(") and expr.endswith(")") and _balanced(expr[1:-1]):
        expr = expr[1:-1].strip()
    wrapped = _WRAPPER.match(expr)
    if wrapped and _balanced(wrapped.group("inner")):
        expr = wrapped.group("inner").strip()
    if expr.startswith("await "):
        expr = expr[6:].strip()
    expr = _CONVERSION.sub("", expr)
    expr = _TS_SUFFIX.sub("", expr)
    parts = _FALLBACK.split(expr, maxsplit=1)
    if len(parts) == 2 and _balanced(parts[0]) and _balanced(parts[1]) and depth < 8:
        first = _evaluate_text(scope, parts[0], offset, depth + 1)
        if first.classified.kind != RefKind.EMPTY and not (
            first.classified.kind == RefKind.TEMPLATE
            and first.resolved_from is None
            and not first.classified.passthrough
        ):
            return first
        second = _evaluate_text(scope, parts[1], offset, depth + 1)
        second.notes = first.notes + second.notes
        return second
    ternary = None if _STRING.match(expr) else _TERNARY.fullmatch(expr)
    if ternary and depth < 8 and all(_balanced(g) for g in ternary.groups()):
        # a run-time choice; both branches are followed so env names are seen
        branches = [_evaluate_text(scope, g, offset, depth + 1) for g in ternary.groups()[1:]]
        notes = [n for b in branches for n in b.notes]
        return Evaluated(expr, Classified(RefKind.TEMPLATE.value, template=expr), notes=notes)
    if not expr:
        return Evaluated("", classify(""))
    if expr in _NULL_WORDS:
        return Evaluated(expr, classify(expr))
    whole = _WHOLE_INTERPOLATION.fullmatch(expr) if scope.lang == "js" else None
    if whole and depth < 8:  # `${context.X}` is just context.X
        return _evaluate_text(scope, whole.group(1), offset, depth + 1)
    if _interpolated(expr, scope.lang):
        return Evaluated(expr, Classified(RefKind.TEMPLATE.value, template=expr))
    literal = _literal(expr, scope.lang)
    if literal is not None:
        return Evaluated(literal, classify(literal))
    if re.fullmatch(r"\d{7,15}L?", expr):  # a number written as an integer literal
        digits = expr.rstrip("L")
        return Evaluated(digits, classify(digits))
    env = _ENV_READ.match(expr)
    if env:
        name = env.group(1) or env.group(2)
        found = scope.env(name)
        via = "context" if expr.startswith("context") else "env"
        origin = f"context.{name}" if via == "context" else f"env:{name}"
        if found is not None:
            value, where = found
            result = Evaluated(value, classify(value), resolved_from=origin)
            if where:
                result.notes.append(f"{origin} = {value!r} ({where})")
            return result
        default = env.group("default")
        if default and depth < 8:
            fallback = _evaluate_text(scope, default, offset, depth + 1)
            if fallback.classified.kind != RefKind.TEMPLATE:
                fallback.resolved_from = f"{origin} (default)"
                return fallback
        if scope.missing_context_is_empty:
            return Evaluated(
                expr,
                Classified(RefKind.EMPTY.value, template=expr),
                notes=[f"{expr} is not set in the environment: the callerId is undefined"],
            )
        return Evaluated(expr, Classified(RefKind.TEMPLATE.value, template=expr))
    if _PASSTHROUGH.search(expr) and not _STRING.match(expr):
        return Evaluated(expr, Classified(RefKind.TEMPLATE.value, passthrough=True, template=expr))
    if _IDENTIFIER.fullmatch(expr) and depth < 8:
        resolved = _follow(scope, _bare(expr), offset, depth)
        if resolved is not None:
            if resolved.resolved_from is None and resolved.classified.kind != RefKind.TEMPLATE:
                resolved.notes.append(f"{expr} resolved from its assignment in the file")
            return resolved
    return Evaluated(expr, Classified(RefKind.TEMPLATE.value, template=expr))


def _follow(scope: Scope, name: str, offset: int, depth: int) -> Evaluated | None:
    if not scope.indexed:
        collect_assignments(scope)
    candidates = scope.assignments.get(name)
    if not candidates:
        return None
    before = [c for c in candidates if c[0] < offset]
    _, value = before[-1] if before else candidates[0]
    if isinstance(value, str):
        return _evaluate_text(scope, value, offset, depth + 1)
    end = expression_end(scope.masked, value)
    if value >= end:
        return None
    return evaluate(scope, value, end, depth + 1)


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0
