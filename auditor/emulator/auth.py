"""Who is asking, and may they read that account: Twilio's rules for Basic auth.

- Account SID + auth token: the account itself; a parent also reads the v2010
  resources of its subaccounts.
- API key SID + secret: its own account only (subaccount v2010 → 403 / 20003).
- Wrong credentials, or credentials of a closed account: 401 / 20003.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from auditor.emulator.index import ScenarioIndex


@dataclass(frozen=True)
class Principal:
    account_sid: str
    via_key: bool


def authenticate(index: ScenarioIndex, header: str | None) -> Principal | None:
    """The principal behind an Authorization header, or None (answer 401)."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    if user in index.accounts:
        acc = index.accounts[user]
        if hmac.compare_digest(acc.auth_token.encode(), password.encode()):
            return None if acc.status == "closed" else Principal(acc.sid, via_key=False)
        return None
    key = index.api_keys.get(user)
    if key and hmac.compare_digest(key.secret.encode(), password.encode()):
        owner = index.accounts[key.account_sid]
        return None if owner.status == "closed" else Principal(owner.sid, via_key=True)
    return None


def may_read_v2010(index: ScenarioIndex, who: Principal, target: str) -> bool:
    """Whether `who` may read v2010 resources of account `target` (which exists)."""
    if target == who.account_sid:
        return True
    if who.via_key:
        return False
    return index.accounts[target].owner == who.account_sid
