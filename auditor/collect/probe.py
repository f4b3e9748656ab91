"""Opt-in webhook probe (`--probe-webhooks`): ask each voice webhook what TwiML it returns.

Numbers, TwiML apps and SIP domains often point at a customer's own web app,
whose TwiML the API cannot show. The probe sends each voice URL the request
Twilio would send for an incoming call — form fields and an `X-Twilio-Signature`
computed with the account's auth token, so webhooks that validate signatures
answer as they would for Twilio — once per account that points at the URL, and
for TwiML apps also as a Voice SDK client leg (`From=client:…`).

This is the one place the auditor sends anything but GET, and never to Twilio:
it reaches the customer's webhooks only, only when asked, with no redirects,
a short timeout and a size cap. A webhook that places calls or writes records
when hit will do so for a probe too, which is why the probe is opt-in.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import requests
from twilio.request_validator import RequestValidator

from auditor.model import PROBE_CALLER, PROBE_CLIENT, Snapshot, WebhookResponse
from auditor.redact import redact_url
from auditor.regions import canonical_host

MAX_BODY_BYTES = 256 * 1024
# Twilio-hosted handlers the API already shows us (Studio flows, Functions): no probe needed.
SKIP_HOST_SUFFIXES = ("webhooks.twilio.com", ".twil.io", "api.twilio.com")


@dataclass(frozen=True)
class ProbeTarget:
    """One request to send: a URL as seen from one account, as a phone or client leg."""

    url: str
    method: str
    account_sid: str
    client_leg: bool
    called: str  # the To Twilio would send (the number, or a SIP URI)
    reached_from: tuple[str, ...] = field(default=())


def probe_targets(snapshot: Snapshot) -> list[ProbeTarget]:
    """Every (URL, account, leg) Twilio would request for an incoming call, deduplicated."""
    found: dict[tuple[str, str, str, bool], tuple[str, list[str]]] = {}

    def add(
        url: str | None,
        method: str | None,
        account: str,
        called: str,
        sid: str,
        client_leg: bool = False,
    ) -> None:
        if not url or not _probe_allowed(url):
            return
        key = (url, (method or "POST").upper(), account, client_leg)
        _, sids = found.setdefault(key, (called, []))
        sids.append(sid)

    app_sids = {a.sid for a in snapshot.applications}
    for number in snapshot.phone_numbers:
        if number.trunk_sid or (number.voice_application_sid in app_sids):
            continue  # a trunk or an app answers the call: probed through that app
        add(
            number.voice_url,
            number.voice_method,
            number.account_sid,
            number.phone_number,
            number.sid,
        )
    for app in snapshot.applications:
        called = next(
            (n.phone_number for n in snapshot.phone_numbers if n.voice_application_sid == app.sid),
            PROBE_CALLER,
        )
        add(app.voice_url, app.voice_method, app.account_sid, called, app.sid)
        add(
            app.voice_url, app.voice_method, app.account_sid, PROBE_CALLER, app.sid, client_leg=True
        )
    for domain in snapshot.sip_domains:
        add(
            domain.voice_url,
            domain.voice_method,
            domain.account_sid,
            f"sip:{PROBE_CALLER}@{domain.domain_name}",
            domain.sid,
        )
    return [
        ProbeTarget(url, method, account, client_leg, called, tuple(sorted(sids)))
        for (url, method, account, client_leg), (called, sids) in sorted(found.items())
    ]


def _probe_allowed(url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return False
    host = canonical_host(host)  # webhooks.dublin.ie1.twilio.com is Twilio's too
    return not any(host == s.lstrip(".") or host.endswith(s) for s in SKIP_HOST_SUFFIXES)


def probe_params(target: ProbeTarget) -> dict[str, str]:
    """The form fields Twilio posts to a voice webhook for a ringing inbound call."""
    call_sid = (
        "CA"
        + hashlib.sha256(
            f"{target.url}|{target.account_sid}|{target.client_leg}".encode()
        ).hexdigest()[:32]
    )
    caller = PROBE_CLIENT if target.client_leg else PROBE_CALLER
    return {
        "AccountSid": target.account_sid,
        "ApiVersion": "2010-04-01",
        "CallSid": call_sid,
        "CallStatus": "ringing",
        "Called": target.called,
        "Caller": caller,
        "Direction": "inbound",
        "From": caller,
        "To": target.called,
    }


def probe_one(
    target: ProbeTarget,
    auth_token: str,
    *,
    session: requests.Session,
    timeout: float = 10.0,
    max_bytes: int = MAX_BODY_BYTES,
) -> WebhookResponse:
    """Send one signed request; every failure becomes an `error` on the result."""
    params = probe_params(target)
    result = WebhookResponse(
        url=target.url,
        method=target.method,
        http_status=None,
        served_accounts=[target.account_sid],
        reached_from=list(target.reached_from),
        client_leg=target.client_leg,
    )
    if target.method == "GET":
        sep = "&" if urlsplit(target.url).query else "?"
        signed_url = f"{target.url}{sep}{urlencode(params)}"
        signature = RequestValidator(auth_token).compute_signature(signed_url, {})
        request_kwargs: dict[str, object] = {}
    else:
        signed_url = target.url
        signature = RequestValidator(auth_token).compute_signature(signed_url, params)
        request_kwargs = {"data": params}
    headers = {
        "X-Twilio-Signature": signature,
        "User-Agent": "TwilioProxy/1.1 (twilio-audit webhook probe)",
        "Accept": "*/*",
    }
    try:
        with session.request(
            target.method,
            signed_url,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
            **request_kwargs,  # type: ignore[arg-type]
        ) as resp:
            result.http_status = resp.status_code
            result.content_type = resp.headers.get("Content-Type")
            body = _read_capped(resp, max_bytes)
            if body is None:
                result.error = f"response larger than {max_bytes} bytes; not read"
            else:
                result.body = body
    except requests.RequestException as exc:
        result.error = f"{type(exc).__name__}: could not reach {redact_url(target.url)}"
    return result


def _read_capped(resp: requests.Response, max_bytes: int) -> str | None:
    chunks: list[bytes] = []
    size = 0
    for chunk in resp.iter_content(chunk_size=16384):
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks).decode(resp.encoding or "utf-8", errors="replace")


def probe_webhooks(
    snapshot: Snapshot,
    tokens: Mapping[str, str],
    *,
    concurrency: int = 8,
    timeout: float = 10.0,
    on_done: Callable[[WebhookResponse], None] | None = None,
    session_factory: Callable[[], requests.Session] = requests.Session,
) -> list[WebhookResponse]:
    """Probe every target whose account's token we hold; results in target order."""
    targets: Sequence[ProbeTarget] = [t for t in probe_targets(snapshot) if t.account_sid in tokens]
    local = threading.local()

    def run(target: ProbeTarget) -> WebhookResponse:
        if not hasattr(local, "session"):
            local.session = session_factory()
        result = probe_one(
            target, tokens[target.account_sid], session=local.session, timeout=timeout
        )
        if on_done:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        return list(pool.map(run, targets))
