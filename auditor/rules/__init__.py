"""The rule registry: every rule of the design, in a fixed order (sorting and listing use it)."""

from __future__ import annotations

from auditor.rules import (
    alert_13214_observed,
    callerid_client_on_pstn,
    callerid_cross_account,
    callerid_empty,
    callerid_geo_restricted,
    callerid_missing_client_leg,
    callerid_not_authorized,
    callerid_not_e164,
    callerid_owner_inactive,
    callerid_passthrough,
    callerid_released,
    callerid_verified_unsupported_in_region,
    dial_destination_not_permitted,
    policy_callerid_missing,
    verified_callerid_duplicated,
    webhook_context_mismatch,
)
from auditor.rules.base import Rule, RuleContext

ALL_RULES: tuple[Rule, ...] = (
    callerid_not_authorized.RULE,
    callerid_cross_account.RULE,
    callerid_not_e164.RULE,
    callerid_empty.RULE,
    callerid_client_on_pstn.RULE,
    callerid_verified_unsupported_in_region.RULE,
    callerid_released.RULE,
    webhook_context_mismatch.RULE,
    callerid_owner_inactive.RULE,
    alert_13214_observed.RULE,
    policy_callerid_missing.RULE,
    callerid_missing_client_leg.RULE,
    verified_callerid_duplicated.RULE,
    callerid_passthrough.RULE,
    dial_destination_not_permitted.RULE,
    callerid_geo_restricted.RULE,
)

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in ALL_RULES}
# The name the report renderer looks up (auditor.render.rulemeta).
RULES = RULES_BY_ID
RULE_ORDER: dict[str, int] = {rule.id: i for i, rule in enumerate(ALL_RULES)}

__all__ = ["ALL_RULES", "RULES", "RULES_BY_ID", "RULE_ORDER", "Rule", "RuleContext"]
