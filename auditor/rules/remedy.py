"""Specific remediation text shared by the authorization rules: move, verify, or use your own.

Every sentence names the number, the accounts and the exact API request, because
a specialist copies it into a change ticket. The auditor never sends these requests.
"""

from __future__ import annotations

from auditor.graph import hierarchy_path
from auditor.model import PhoneNumber
from auditor.regions import VERIFIED_CALLER_IDS, lacks, region_label
from auditor.rules.base import RuleContext, move_request, own_numbers_text, verify_request


def pick_owner(ctx: RuleContext, executing: str | None, e164: str) -> tuple[str, str] | None:
    """The account to borrow from: an owner before a verifier, then the closest, then by SID."""
    holders = ctx.index.authorized.get(e164, {})
    if not holders:
        return None

    def distance(sid: str) -> int:
        return len(hierarchy_path(ctx.index, executing, sid)) if executing else 0

    sid = min(holders, key=lambda s: (holders[s] != "owned", distance(s), s))
    return sid, holders[sid]


def owned_number(ctx: RuleContext, owner: str, e164: str) -> PhoneNumber | None:
    return next(
        (n for n in ctx.index.numbers_by_e164.get(e164, []) if n.account_sid == owner), None
    )


def owner_usage(ctx: RuleContext, owner: str, e164: str) -> list[str]:
    """Why moving the number away from `owner` would break it (empty: nothing found)."""
    reasons: list[str] = []
    if e164 in ctx.index.used_by_account.get(owner, set()):
        reasons.append(f"{owner} uses it as a callerId itself")
    number = owned_number(ctx, owner, e164)
    if number is not None:
        if number.trunk_sid:
            reasons.append(f"it answers inbound calls for {owner} through trunk {number.trunk_sid}")
        elif number.voice_application_sid:
            reasons.append(
                f"it answers inbound calls for {owner} through app {number.voice_application_sid}"
            )
        elif number.voice_url:
            reasons.append(f"it answers inbound calls for {owner} at {number.voice_url}")
    return reasons


def own_numbers_clause(ctx: RuleContext, executing: str) -> str:
    own = own_numbers_text(ctx, executing)
    if own:
        return f"Or use one of {executing}'s own numbers: {own}."
    return f"{executing} owns no voice number of its own to use instead."


def verify_fix(executing: str, e164: str, region: str | None) -> str:
    """'Verify it in X: POST …' — or, where the region has no Verified Caller IDs, why not."""
    if lacks(region, VERIFIED_CALLER_IDS):
        return (
            f"Verifying it would not help: {region_label(region)}, where this call runs, does not "
            "support Verified Caller IDs (only a number the account owns works there)."
        )
    return f"Verify {e164} in {executing}: {verify_request(executing, e164)}."


def borrow_fixes(
    ctx: RuleContext, executing: str, e164: str, owner: str, how: str, region: str | None = None
) -> str:
    """Fixes for a value held by `owner` but used by `executing` (cross-account, released …).

    `region` is where the call runs: without Verified Caller IDs there, verifying is no fix.
    """
    verify = verify_fix(executing, e164, region)
    if how != "owned":
        return (
            f"{e164} is a Verified Caller ID of {owner}, not a number it owns, so it cannot be "
            f"moved. {verify} {own_numbers_clause(ctx, executing)}"
        )
    number = owned_number(ctx, owner, e164)
    usage = owner_usage(ctx, owner, e164)
    if usage:
        return (
            f"Do not move {e164}: {'; '.join(usage)}, so moving it would break {owner}. "
            f"{verify} {own_numbers_clause(ctx, executing)}"
        )
    move = (
        f"Move {e164} ({number.sid}) from {owner} to {executing}: "
        f"{move_request(owner, number.sid, executing)}."
        if number is not None
        else ""
    )
    if lacks(region, VERIFIED_CALLER_IDS):
        return f"{move} {own_numbers_clause(ctx, executing)}".strip()
    return f"{move} Or {verify[0].lower()}{verify[1:]} {own_numbers_clause(ctx, executing)}".strip()


def unowned_fixes(ctx: RuleContext, executing: str, e164: str, region: str | None = None) -> str:
    """Fixes for a value no account of the hierarchy holds (`region`: where the call runs)."""
    if lacks(region, VERIFIED_CALLER_IDS):
        return (
            f"No account of this hierarchy owns {e164}, and {region_label(region)}, where this "
            f"call runs, does not support Verified Caller IDs: buy or port it into {executing}. "
            f"{own_numbers_clause(ctx, executing)}"
        )
    return (
        f"No account of this hierarchy owns or verifies {e164}. If the business controls that "
        f"line, verify it in {executing}: {verify_request(executing, e164)}; or buy or port it "
        f"into {executing}. {own_numbers_clause(ctx, executing)}"
    )


def path_text(ctx: RuleContext, path: list[str]) -> str:
    """'Clinic A (AC1…) → Parent (AC0…) → Clinic B (AC2…)'."""
    return " → ".join(ctx.index.account_label(sid) for sid in path)
