"""Rule metadata as the report shows it, read from the rules package when it has the rule.

The rules engineer owns titles, risk text and remediation; this module only adapts
their metadata to what the templates need, and falls back to the rule id itself.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RuleInfo:
    id: str
    title: str
    risk: str
    remediation: str
    error_codes: tuple[int, ...]
    docs_url: str


def rule_info(rule_id: str) -> RuleInfo:
    meta = _registry().get(rule_id)
    if meta is None:
        return RuleInfo(rule_id, rule_id.replace("-", " ").capitalize(), "", "", (), "")
    return RuleInfo(
        id=rule_id,
        title=str(getattr(meta, "title", "") or rule_id),
        risk=str(getattr(meta, "risk", "") or ""),
        remediation=str(getattr(meta, "remediation", "") or ""),
        error_codes=tuple(int(c) for c in getattr(meta, "error_codes", ()) or ()),
        docs_url=str(getattr(meta, "docs_url", "") or ""),
    )


def _registry() -> dict[str, object]:
    try:
        from auditor import rules
    except ImportError:  # pragma: no cover - rules always ship with the package
        return {}
    registry = getattr(rules, "RULES", None)
    if isinstance(registry, dict):
        return registry
    if isinstance(registry, list | tuple):
        return {str(getattr(m, "id", "")): m for m in registry}
    return {}
