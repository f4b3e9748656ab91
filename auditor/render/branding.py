"""A client-branded report: `--logo FILE` (PNG or SVG) on the cover, `--accent COLOR` on the
cover and headings.

The logo is embedded as a data: URI (the report never fetches anything), capped in size,
and an SVG is rebuilt from an allow-list of drawing elements and attributes: no script, no
event handler, no foreignObject, no reference outside the file itself. The accent must be
a hex colour dark enough to read as heading text on white.
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import Element, register_namespace, tostring

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException

from auditor.errors import AuditorError
from auditor.files import FileRefused, read_bytes

MAX_LOGO_BYTES = 256 * 1024
MAX_PNG_SIDE = 4096
MIN_CONTRAST = 3.0  # WCAG AA for large text: headings
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")

# Drawing only. Not here, so dropped with their content: script, style, foreignObject,
# image, a, iframe, animate/set (they can rewrite href), use of external files, font-face.
ALLOWED_ELEMENTS = {
    "svg", "g", "path", "rect", "circle", "ellipse", "line", "polyline", "polygon", "text",
    "tspan", "defs", "linearGradient", "radialGradient", "stop", "clipPath", "mask", "title",
    "desc", "symbol", "use", "pattern",
}  # fmt: skip
_URL = re.compile(r"url\s*\(\s*(?!['\"]?#)", re.I)
_BAD_VALUE = re.compile(r"javascript:|data:|expression\s*\(|@import", re.I)


@dataclass(frozen=True)
class Logo:
    mime: str  # "image/png" | "image/svg+xml"
    data: bytes

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def _fail(path: Path, problem: str, fix: str) -> AuditorError:
    return AuditorError(f"--logo {path}: {problem}; {fix}")


def load_logo(path: Path | str) -> Logo:
    """Read, check and (for SVG) sanitise a logo file."""
    path = Path(path)
    try:
        data = read_bytes(path, MAX_LOGO_BYTES)
    except FileRefused as exc:
        if exc.reason == "too-large":
            raise _fail(
                path,
                f"larger than {MAX_LOGO_BYTES // 1024} KiB",
                "export a smaller logo (a cover logo needs a few KiB)",
            ) from None
        reason = str(exc).removeprefix(f"{path}: ")
        raise _fail(path, reason, "pass a PNG or SVG file") from None
    if data.startswith(PNG_MAGIC):
        _check_png(path, data)
        return Logo("image/png", data)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--")):
        return Logo("image/svg+xml", sanitise_svg(data, path))
    raise _fail(path, "is neither PNG nor SVG", "pass a .png or .svg logo")


def _check_png(path: Path, data: bytes) -> None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise _fail(path, "is not a valid PNG (no IHDR header)", "re-export the logo")
    width, height = struct.unpack(">II", data[16:24])
    if not (0 < width <= MAX_PNG_SIDE and 0 < height <= MAX_PNG_SIDE):
        raise _fail(
            path,
            f"is {width}x{height} pixels",
            f"use at most {MAX_PNG_SIDE} pixels a side",
        )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def sanitise_svg(data: bytes, path: Path | None = None) -> bytes:
    """The SVG rebuilt with allowed elements and attributes only (see ALLOWED_ELEMENTS)."""
    shown = path or Path("logo.svg")
    try:
        root = SafeET.fromstring(data)
    except (DefusedXmlException, SafeET.ParseError, ValueError) as exc:
        raise _fail(shown, f"is not a valid SVG ({exc})", "re-export the logo") from None
    if _local(root.tag) != "svg":
        raise _fail(shown, "has no <svg> root element", "pass an SVG image")
    clean = _clean(root)
    assert clean is not None
    register_namespace("", SVG_NS)
    register_namespace("xlink", XLINK_NS)
    out: bytes = tostring(clean, encoding="utf-8")
    return out


def _clean(node: Element) -> Element | None:
    name = _local(node.tag)
    if name not in ALLOWED_ELEMENTS:
        return None
    clean = Element(f"{{{SVG_NS}}}{name}")
    for key, value in node.attrib.items():
        attr = _local(key)
        if key.startswith("{") and key[1:].split("}")[0] not in (XLINK_NS, XML_NS):
            continue  # editor metadata (inkscape:, sodipodi:) and anything unknown
        if attr.lower().startswith("on") or _BAD_VALUE.search(value) or _URL.search(value):
            continue
        if attr == "href" and not value.strip().startswith("#"):
            continue  # a reference outside this file (xlink:href or href)
        if attr == "href":
            key = f"{{{XLINK_NS}}}href"
        clean.set(key, value)
    clean.text = node.text if name in ("text", "tspan", "title", "desc") else None
    for child in node:
        kept = _clean(child)
        if kept is not None:
            kept.tail = child.tail if name in ("text", "tspan") else None
            clean.append(kept)
    return clean


# --------------------------------------------------------------------------- accent


def _luminance(hex6: str) -> float:
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(hex6[i : i + 2], 16) for i in (0, 2, 4))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def parse_accent(text: str) -> str:
    """'#1F3A5F' or '#135' → '#1f3a5f'; refuses what is not a hex colour or too light."""
    value = text.strip()
    if not _HEX.match(value):
        raise AuditorError(
            f"--accent {text!r}: not a colour; use a hex colour such as '#1f3a5f' or '#135'"
        )
    hex6 = value[1:].lower()
    if len(hex6) == 3:
        hex6 = "".join(c * 2 for c in hex6)
    contrast = 1.05 / (_luminance(hex6) + 0.05)
    if contrast < MIN_CONTRAST:
        raise AuditorError(
            f"--accent {value}: too light for headings on white (contrast {contrast:.1f}:1, "
            f"needs {MIN_CONTRAST:.0f}:1); pick a darker shade"
        )
    return f"#{hex6}"
