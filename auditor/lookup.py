"""Is this number a valid callerId for that account? One filtered lookup, shared by check and guard.

Twilio accepts a `<Dial callerId>` that the executing account owns
(IncomingPhoneNumbers) or has verified (OutgoingCallerIds). Both lists take a
`PhoneNumber` filter, so one or two small GETs answer the question without
listing the whole inventory. The filter also matches partial numbers, so every
result is compared exactly.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from twilio.base.exceptions import TwilioException, TwilioRestException

from auditor.errors import ApiUnreachableError, AuditorError, CredentialsError
from auditor.extract.values import is_e164, normalize
from auditor.regions import VERIFIED_CALLER_IDS, lacks


class Authorization(StrEnum):
    OWNED = "owned"
    VERIFIED = "verified"
    NOT_FOUND = "not found"


@dataclass(frozen=True)
class CallerIdStatus:
    """Whether `account_sid` may use `phone_number` as callerId, and through which resource."""

    phone_number: str
    account_sid: str
    authorization: Authorization
    resource_sid: str | None = None  # PN… of the IncomingPhoneNumber or OutgoingCallerId

    @property
    def authorized(self) -> bool:
        return self.authorization is not Authorization.NOT_FOUND


def lookup_caller_id(client: Any, account_sid: str, e164: str) -> CallerIdStatus:
    """Ask Twilio whether `account_sid` owns or verified `e164` (1 GET if owned, else 2).

    With a client built for a region without Verified Caller IDs (IE1: `client.region`),
    only ownership counts, and OutgoingCallerIds is not asked. Raises TwilioException /
    requests errors as the SDK does; `api_error` turns them into one-line AuditorErrors.
    """
    account = client.api.v2010.accounts(account_sid)
    for owned in account.incoming_phone_numbers.list(phone_number=e164):
        if owned.phone_number == e164:
            return CallerIdStatus(e164, account_sid, Authorization.OWNED, owned.sid)
    if lacks(getattr(client, "region", None), VERIFIED_CALLER_IDS):
        # A region without Verified Caller IDs (IE1) refuses them as callerId: owned only.
        return CallerIdStatus(e164, account_sid, Authorization.NOT_FOUND)
    for verified in account.outgoing_caller_ids.list(phone_number=e164):
        if verified.phone_number == e164:
            return CallerIdStatus(e164, account_sid, Authorization.VERIFIED, verified.sid)
    return CallerIdStatus(e164, account_sid, Authorization.NOT_FOUND)


def e164_fix(value: str) -> str | None:
    """None when `value` is E.164 (what Twilio accepts as callerId), else how to write it."""
    if is_e164(value):
        return None
    fixed = normalize(value)
    if fixed:
        return f"write it as {fixed}"
    return "write it in E.164: + then country code and number, e.g. +14155550100"


@dataclass(frozen=True)
class VisibleAccount:
    sid: str
    friendly_name: str
    status: str


def visible_accounts(client: Any) -> list[VisibleAccount]:
    """The accounts these credentials can read (the parent's token sees every subaccount)."""
    return [
        VisibleAccount(a.sid, a.friendly_name or "", a.status or "")
        for a in client.api.v2010.accounts.list(page_size=1000)
    ]


def api_status(exc: BaseException) -> int | None:
    """The HTTP status of an SDK error: a fetch raises TwilioRestException, a list page
    TwilioException("Unable to fetch page", response)."""
    if isinstance(exc, TwilioRestException):
        return int(exc.status)
    if isinstance(exc, TwilioException) and len(exc.args) > 1:
        status = getattr(exc.args[1], "status_code", None)
        return int(status) if isinstance(status, int) else None
    return None


def find_elsewhere(
    client: Any,
    e164: str,
    accounts: list[VisibleAccount],
    exclude: str,
    *,
    workers: int = 8,
) -> list[CallerIdStatus]:
    """Where else in the hierarchy `e164` is owned or verified; unreadable accounts are skipped.

    One filtered lookup per account, `workers` at a time (a parent may have 1,000
    subaccounts; the HTTP client retries 429s). Results come in `accounts` order.
    """

    def one(sid: str) -> CallerIdStatus | None:
        try:
            status = lookup_caller_id(client, sid, e164)
        except TwilioException as exc:
            if api_status(exc) in (401, 403, 404):  # closed, or not readable with these credentials
                return None
            raise
        return status if status.authorized else None

    others = [a.sid for a in accounts if a.sid != exclude]
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(others) or 1))) as pool:
        return [s for s in pool.map(one, others) if s is not None]


def api_error(exc: Exception, account_sid: str) -> AuditorError:
    """One actionable line for an SDK or network failure (never with credentials)."""
    status = api_status(exc)
    if status is not None:
        if status == 401:
            return CredentialsError(
                "Twilio rejected the credentials (401); check TWILIO_ACCOUNT_SID and "
                "TWILIO_AUTH_TOKEN (or TWILIO_API_KEY + TWILIO_API_SECRET)"
            )
        if status == 403:
            return CredentialsError(
                f"these credentials cannot read account {account_sid} (403); use the parent "
                "account's SID and auth token, or that account's own"
            )
        if status == 404:
            return AuditorError(f"account {account_sid} was not found (404); check the Account SID")
        return AuditorError(f"Twilio answered {status} for account {account_sid}; try again later")
    import requests  # here: the HTTP stack loads only when a check ran

    if isinstance(exc, requests.RequestException):
        return ApiUnreachableError(
            f"cannot reach the Twilio API ({type(exc).__name__}); check the network or --api-url"
        )
    return AuditorError(f"lookup failed for account {account_sid}: {type(exc).__name__}")
