"""What a report says about itself: who it is for, who wrote it, paper and date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from auditor.errors import AuditorError
from auditor.render.branding import Logo

PAPERS = ("a4", "letter")


class Format(StrEnum):
    """The report files `--format` chooses (see README: --out/--format)."""

    HTML = "html"
    PDF = "pdf"
    JSON = "json"
    CSV = "csv"
    SARIF = "sarif"
    MD = "md"


DEFAULT_FORMATS = [Format.HTML, Format.JSON]


@dataclass(frozen=True)
class ReportOptions:
    """Options of every report; `generated_at` is injectable so sample reports are reproducible."""

    client_name: str = ""
    prepared_by: str = ""
    paper: str = "a4"  # "a4" | "letter"
    generated_at: str | None = None  # ISO 8601; None means now (UTC)
    logo: Logo | None = None  # --logo: embedded on the cover (already checked and sanitised)
    accent: str | None = None  # --accent: '#rrggbb', checked (auditor.render.branding)

    def resolved_generated_at(self) -> str:
        if self.generated_at:
            return self.generated_at
        return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")

    def checked_paper(self) -> str:
        paper = self.paper.lower()
        if paper not in PAPERS:
            raise AuditorError(
                f"unknown paper size {self.paper!r}; use --paper a4 or --paper letter"
            )
        return paper
