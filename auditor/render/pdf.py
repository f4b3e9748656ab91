"""report.pdf: WeasyPrint over the same template, with a URL fetcher that fetches nothing risky."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import CSS, HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

from auditor.render.templating import templates_dir

PAGE_SIZE = {"a4": "A4", "letter": "letter"}


class RefusedFetch(ValueError):
    """A URL the report may not load (network, or a file outside the templates)."""


class TemplatesOnlyFetcher(URLFetcher):
    """Refuse every network URL and every file outside the packaged templates; allow data: URLs."""

    def __init__(self, root: Path | None = None) -> None:
        super().__init__(allowed_protocols=("file", "data"))
        self.root = (root or templates_dir()).resolve()
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        try:
            parts = urlsplit(url)
        except ValueError:  # a malformed URL (`http://[::1/x`) is refused like any other
            parts = urlsplit("refused:")
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme == "file":
            path = Path(unquote(parts.path)).resolve()
            if path.is_relative_to(self.root) and path.is_file():
                return URLFetcherResponse(url, body=path.read_bytes())
        self.refused.append(url[:200])
        raise RefusedFetch(f"report.pdf may not load {url[:200]!r}")


def render_pdf(html: str, paper: str, fetcher: URLFetcher | None = None) -> bytes:
    """Lay out `html` (rendered with pdf=True) on A4 or Letter pages."""
    fetcher = fetcher or TemplatesOnlyFetcher()
    size = PAGE_SIZE[paper]
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    document = HTML(string=html, base_url=templates_dir().as_uri() + "/", url_fetcher=fetcher)
    page = CSS(string=f"@page {{ size: {size}; }}", url_fetcher=fetcher)
    pdf: bytes = document.write_pdf(stylesheets=[page])
    return pdf
