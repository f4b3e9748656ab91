"""Specific remediation text shared by the rules: move, verify, or use your own — where it works.

Every sentence names the number, the accounts and the exact API request, because
a specialist copies it into a change ticket. The auditor never sends these requests.

Whether verifying a number is a fix depends on where the call runs: a Twilio Region
without Verified Caller IDs (IE1, `auditor.regions`) accepts only numbers the account
owns. So every rule builds its remediation through one `Remedy`, made from the
reference it judges (`Remedy.for_ref`: the region the reference runs in) or, for a
caller ID that belongs to no single call (a policy entry), from the account
(`Remedy.for_account`: the regions its calls run in). No rule passes a region by
hand, and the verification request is written here only, so none can propose
verifying where verifying does not help.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.graph import hierarchy_path
from auditor.model import CallerIdReference, PhoneNumber
from auditor.regions import DEFAULT_REGION, VERIFIED_CALLER_IDS, lacks, region_label
from auditor.rules.base import RuleContext, move_request, own_numbers_text


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


def path_text(ctx: RuleContext, path: list[str]) -> str:
    """'Clinic A (AC1…) → Parent (AC0…) → Clinic B (AC2…)'."""
    return " → ".join(ctx.index.account_label(sid) for sid in path)


def _verify_request(account_sid: str, e164: str) -> str:
    return (
        f"POST /2010-04-01/Accounts/{account_sid}/OutgoingCallerIds.json "
        f"with PhoneNumber={e164} (Twilio calls the number; whoever answers enters the code)"
    )


def _labels(regions: tuple[str, ...]) -> str:
    return " and ".join(region_label(r) for r in regions)


@dataclass(frozen=True)
class Remedy:
    """The fixes open to `account` for a caller ID, given the regions its calls run in."""

    ctx: RuleContext
    account: str | None  # the executing account (None: not known, e.g. unmapped code)
    regions: tuple[str, ...]  # where the calls run (region codes, never empty)
    runs: str  # "this call runs" / "its calls run": how sentences name where

    @classmethod
    def for_ref(cls, ctx: RuleContext, ref: CallerIdReference) -> Remedy:
        """For one reference: it runs in the region of the snapshot it was read from
        (unknown, e.g. code without a region: US1, where the SDK sends by default)."""
        region = ref.region or DEFAULT_REGION
        return cls(ctx, ref.executing_account_sid, (region,), "this call runs")

    @classmethod
    def for_account(cls, ctx: RuleContext, account: str) -> Remedy:
        """For a caller ID an account uses anywhere (a policy entry): the regions its audited
        references run in, else every region the analysis covers."""
        own = {r.region for r in ctx.references if r.executing_account_sid == account and r.region}
        regions = sorted(own or ctx.regions or (ctx.snapshot.region,))
        ordered = tuple(sorted(regions, key=lambda r: (r != DEFAULT_REGION, r)))  # US1 first
        return cls(ctx, account, ordered, "its calls run")

    # ------------------------------------------------------------------ where verifying works

    @property
    def without_verified(self) -> tuple[str, ...]:
        """The regions among `regions` where Twilio does not support Verified Caller IDs."""
        return tuple(r for r in self.regions if lacks(r, VERIFIED_CALLER_IDS))

    @property
    def verifiable(self) -> bool:
        """True when verifying helps at least somewhere the calls run."""
        return len(self.without_verified) < len(self.regions)

    @property
    def _with_verified(self) -> tuple[str, ...]:
        return tuple(r for r in self.regions if r not in self.without_verified)

    def _no_verified(self) -> str:
        """'IE1, where this call runs, does not support Verified Caller IDs'."""
        lacking = self.without_verified
        verb = "does" if len(lacking) == 1 else "do"
        where = self.runs if not self._with_verified else "it also places calls"
        return f"{_labels(lacking)}, where {where}, {verb} not support Verified Caller IDs"

    def _sid(self) -> str:
        if self.account is None:
            raise ValueError("a remedy naming the executing account needs one")
        return self.account

    # ------------------------------------------------------------------ sentences

    def usable(self) -> str:
        """'a number the executing account owns or verifies', where verifying works."""
        if not self.without_verified:
            return "a number the executing account owns or verifies"
        if not self.verifiable:
            return f"a number the executing account owns ({self._no_verified()})"
        return (
            f"a number the executing account owns (a Verified Caller ID works in "
            f"{_labels(self._with_verified)} only: {self._no_verified()})"
        )

    def own_numbers(self) -> str:
        """'Or use one of X's own numbers: …' (owned numbers are global: valid in any region)."""
        x = self._sid()
        own = own_numbers_text(self.ctx, x)
        if own:
            return f"Or use one of {x}'s own numbers: {own}."
        return f"{x} owns no voice number of its own to use instead."

    def verify(self, e164: str) -> str:
        """'Verify it in X: POST …' — or, where the calls run without Verified Caller IDs, why
        that would not help (and, for calls in several regions, where it would)."""
        x = self._sid()
        if not self.verifiable:
            return (
                f"Verifying it would not help: {self._no_verified()} (only a number the "
                "account owns works there)."
            )
        request = f"Verify {e164} in {x}: {_verify_request(x, e164)}"
        if not self.without_verified:
            return f"{request}."
        return (
            f"{request}. That covers its calls in {_labels(self._with_verified)} only: "
            f"{self._no_verified()}, so calls there need a number {x} owns."
        )

    def borrow(self, e164: str, owner: str, how: str) -> str:
        """Fixes for a value held by `owner` but used by the account (cross-account, released …)."""
        x = self._sid()
        verify = self.verify(e164)
        if how != "owned":
            return (
                f"{e164} is a Verified Caller ID of {owner}, not a number it owns, so it cannot "
                f"be moved. {verify} {self.own_numbers()}"
            )
        number = owned_number(self.ctx, owner, e164)
        usage = owner_usage(self.ctx, owner, e164)
        if usage:
            return (
                f"Do not move {e164}: {'; '.join(usage)}, so moving it would break {owner}. "
                f"{verify} {self.own_numbers()}"
            )
        move = (
            f"Move {e164} ({number.sid}) from {owner} to {x}: {move_request(owner, number.sid, x)}."
            if number is not None
            else ""
        )
        if not self.verifiable:
            return f"{move} {verify} {self.own_numbers()}".strip()
        return f"{move} Or {verify[0].lower()}{verify[1:]} {self.own_numbers()}".strip()

    def unowned(self, e164: str) -> str:
        """Fixes for a value no account of the hierarchy holds."""
        x = self._sid()
        if not self.verifiable:
            return (
                f"No account of this hierarchy owns {e164}, and {self._no_verified()}: buy or "
                f"port it into {x}. {self.own_numbers()}"
            )
        caveat = (
            f" (that covers its calls in {_labels(self._with_verified)} only: "
            f"{self._no_verified()})"
            if self.without_verified
            else ""
        )
        return (
            f"No account of this hierarchy owns or verifies {e164}. If the business controls "
            f"that line, verify it in {x}: {_verify_request(x, e164)}{caveat}; or buy or port it "
            f"into {x}. {self.own_numbers()}"
        )

    def buy_back(self, e164: str) -> str:
        """Fixes for a released value no account holds any more: buy it back, or verify it."""
        x = self._sid()
        buy = (
            f"If Twilio still has {e164} available, buy it back into {x}: POST "
            f"/2010-04-01/Accounts/{x}/IncomingPhoneNumbers.json with PhoneNumber={e164}"
        )
        if not self.verifiable:
            return f"{buy}. {self.verify(e164)} {self.own_numbers()}"
        verify = self.verify(e164)
        return (
            f"{buy}; or, if the business still controls the line, {verify[0].lower()}"
            f"{verify[1:]} {self.own_numbers()}"
        )
