"""The Jinja environment over the packaged templates (`auditor.templates`), autoescape on."""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

import jinja2
from markupsafe import Markup

from auditor.redact import redact_url
from auditor.text import visible

TEMPLATES_PACKAGE = "auditor.templates"


def templates_root() -> Traversable:
    return files(TEMPLATES_PACKAGE)


def templates_dir() -> Path:
    """The templates folder on disk (a regular or editable install always has one)."""
    return Path(str(templates_root())).resolve()


def resource_text(name: str) -> str:
    return templates_root().joinpath(name).read_text(encoding="utf-8")


def _load(name: str) -> str:
    try:
        return resource_text(name)
    except FileNotFoundError:
        raise jinja2.TemplateNotFound(name) from None


def shown(value: object) -> object:
    """What a template prints for `value`: account text without URL passwords or invisible
    or bidi characters (text.visible). Markup is ours (CSS, script, an inner template
    already rendered through this environment) and passes as it is."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(redact_url(value), multiline=True)
    return value


@cache
def environment() -> jinja2.Environment:
    """Autoescape every template (HTML, SVG, Markdown alike): account data is hostile.

    `finalize` runs on every {{ expression }}, so no template can forget the hygiene.
    """
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_load),
        autoescape=True,
        finalize=shown,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["t"] = bdi
    env.globals["sev"] = severity_badge
    env.filters["thousands"] = lambda n: f"{int(n):,}"
    env.filters["clip"] = clip
    env.filters["source_label"] = _source_label
    env.filters["day"] = _day
    return env


TOKEN_LIMIT = 120


# The report's two most-called helpers, in Python rather than as template macros (a macro
# call costs ~15 µs, and a large report makes 20,000): the same hygiene (`shown`) and escaping.
def bdi(value: object, limit: int = 160) -> Markup:
    """Account text clipped and isolated (`<bdi>`), so right-to-left names keep their place."""
    return Markup("<bdi>%s</bdi>") % shown(clip(value, limit))


def severity_badge(severity: object) -> Markup:
    text = shown(severity)
    return Markup('<span class="sev sev-%s">%s</span>') % (text, text)


def _source_label(source: str) -> str:
    from auditor.render.view import source_label

    return source_label(source)


def _day(value: str | None) -> str:
    from auditor.render.review import display_day

    return display_day(value)


def clip(value: object, limit: int = 160) -> str:
    """Shorten very long account data for display; the full value stays in JSON and CSV.

    A long unbroken run (a 10,000-digit "number") is cut too, so the prose around it stays
    readable; the note always gives the length of the original text.
    """
    text = "" if value is None else str(value)
    original = len(text)
    if original > TOKEN_LIMIT and any(len(w) > TOKEN_LIMIT for w in text.split()):
        text = " ".join(
            w if len(w) <= TOKEN_LIMIT else w[:TOKEN_LIMIT] + "…" for w in text.split(" ")
        )
    if len(text) > limit:
        text = text[: limit - 1].rstrip("…") + "…"
    if len(text) == original:
        return text
    return f"{text} ({original:,} characters)"


def csp_hash(script: str) -> str:
    """The CSP source expression allowing exactly this inline script."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"
