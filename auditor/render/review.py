"""What the reports show of a periodic review: accepted risks (`--accept`) and the history
(`--history`: trend, first seen, days open, mean time to fix). Plain data for the templates,
built once; nothing here decides what is accepted or recorded (auditor.accept, .history)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from auditor.accept import AcceptanceReport, AcceptEntry, EntryOutcome
from auditor.history import HistoryReport
from auditor.model import Finding
from auditor.render.rulemeta import rule_info
from auditor.render.trend import trend_svg
from auditor.render.view import SEVERITIES, Directory, display_date


def display_day(value: str | None) -> str:
    """'2026-10-18T12:00:00Z' or '2026-10-18' → '18 October 2026'."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return f"{moment.day} {moment:%B %Y}"


@dataclass
class EntryRow:
    """One `[[accept]]` entry as the report lists it."""

    entry: int
    names: str  # what the entry names, with the account's name
    reason: str
    accepted_by: str
    expires: str  # '31 March 2027'
    state: str
    matched: int


@dataclass
class TrendRow:
    date: str
    counts: list[tuple[str, int]]
    open_total: int
    accepted: int


@dataclass
class HistoryView:
    runs: int
    first_run: str
    previous_run: str
    new: int
    reopened: int
    fixed_since_previous: int
    svg: str
    rows: list[TrendRow]
    time_to_fix: str  # one sentence
    window: int


@dataclass
class ReviewView:
    open_counts: list[tuple[str, int]]
    accepted_counts: list[tuple[str, int]]
    open_total: int
    accepted_total: int
    accept_file: str = ""
    as_of: str = ""
    active: list[EntryRow] = field(default_factory=list)
    expired: list[EntryRow] = field(default_factory=list)
    stale: list[EntryRow] = field(default_factory=list)
    history: HistoryView | None = None

    @property
    def has_acceptance(self) -> bool:
        return bool(self.accept_file)


def _names(entry: AcceptEntry, d: Directory) -> str:
    if entry.fingerprint is not None:
        return f"finding {entry.fingerprint[:12]}…"
    title = rule_info(entry.rule or "").title
    return f"{title}: caller ID {entry.caller_id} in {d.name(entry.account)}"


def _row(outcome: EntryOutcome, d: Directory) -> EntryRow:
    e = outcome.entry
    return EntryRow(
        entry=e.index,
        names=_names(e, d),
        reason=e.reason,
        accepted_by=e.accepted_by,
        expires=display_day(e.expires.isoformat()),
        state=outcome.state,
        matched=len(outcome.fingerprints),
    )


def time_to_fix_sentence(history: HistoryReport) -> str:
    ttf = history.time_to_fix
    window = f"the last {len(history.trend)} run{'s' if len(history.trend) != 1 else ''}"
    if ttf.mean_days is None:
        return f"No finding was fixed in {window}."
    days = f"{ttf.mean_days:.1f}".removesuffix(".0")
    return (
        f"Mean time to fix: {days} day{'' if days == '1' else 's'}, over the {ttf.fixed} "
        f"finding{'s' if ttf.fixed != 1 else ''} fixed in {window}."
    )


def history_view(history: HistoryReport) -> HistoryView:
    return HistoryView(
        runs=history.runs,
        first_run=display_date(_iso(history.first_run)),
        previous_run=display_date(_iso(history.previous_run)) if history.previous_run else "",
        new=history.new,
        reopened=history.reopened,
        fixed_since_previous=history.fixed_since_previous,
        svg=trend_svg(history.trend),
        rows=[
            TrendRow(
                date=p.collected_at.strftime("%Y-%m-%d"),
                counts=[(s, p.open.get(s, 0)) for s in SEVERITIES],
                open_total=p.open_total,
                accepted=p.accepted,
            )
            for p in history.trend
        ],
        time_to_fix=time_to_fix_sentence(history),
        window=len(history.trend),
    )


def review_view(
    findings: list[Finding],
    d: Directory,
    acceptance: AcceptanceReport | None,
    history: HistoryReport | None,
) -> ReviewView | None:
    if acceptance is None and history is None:
        return None
    accepted = Counter(f.severity for f in findings if f.acceptance is not None)
    opened = Counter(f.severity for f in findings if f.acceptance is None)
    view = ReviewView(
        open_counts=[(s, opened[s]) for s in SEVERITIES],
        accepted_counts=[(s, accepted[s]) for s in SEVERITIES],
        open_total=sum(opened.values()),
        accepted_total=sum(accepted.values()),
    )
    if acceptance is not None:
        view.accept_file = acceptance.source
        view.as_of = display_day(acceptance.as_of.isoformat())
        view.active = [_row(o, d) for o in acceptance.active]
        view.expired = [_row(o, d) for o in acceptance.expired]
        view.stale = [_row(o, d) for o in acceptance.stale]
    if history is not None:
        view.history = history_view(history)
    return view


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat().replace("+00:00", "Z")
