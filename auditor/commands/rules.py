"""`twilio-audit rules`: the rules the analysis runs, with their metadata (table or JSON)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from auditor.rules import ALL_RULES
from auditor.rules.country_table import TABLE_FILE, country_rules

NAME = "rules"
HELP = (
    "List the rules (id, severity, Twilio error codes, risk, docs link) and the destination "
    "country table of callerid-geo-restricted; --json for machines."
)


def rules_json() -> str:
    return json.dumps([rule.metadata() for rule in ALL_RULES], indent=2, ensure_ascii=False)


def run(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the rules as a JSON list instead of a table.")
    ] = False,
) -> None:
    """List every rule with its metadata."""
    if as_json:
        typer.echo(rules_json())
        return
    table = Table(title="twilio-audit rules", caption="--json adds risk, remediation, docs links")
    table.add_column("id", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("errors", no_wrap=True)
    table.add_column("title")
    for rule in ALL_RULES:
        table.add_row(
            rule.id,
            rule.severity,
            " ".join(str(c) for c in rule.error_codes) or "-",
            rule.title,
        )
    console = Console()
    console.print(table)
    countries = Table(
        title=f"Destination caller-ID rules (callerid-geo-restricted, {TABLE_FILE})",
        caption="--json adds Twilio's wording and notes; severity: refused high, replaced "
        "medium, surcharge low",
    )
    countries.add_column("to", no_wrap=True)
    countries.add_column("caller ID")
    countries.add_column("effect", no_wrap=True)
    countries.add_column("rule")
    countries.add_column("source (checked)", overflow="fold")
    for row in country_rules():
        countries.add_row(
            row.destination,
            row.condition_text(),
            row.effect,
            row.rule,
            f"{row.source} ({row.checked.isoformat()})",
        )
    console.print(countries)
