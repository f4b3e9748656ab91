"""Opt-in webhook probe (`--probe-webhooks`): ask each voice webhook what TwiML it returns.

Numbers, TwiML apps and SIP domains often point at a customer's own web app,
whose TwiML the API cannot show. The probe sends each voice URL the request
Twilio would send for an incoming call — form fields and an `X-Twilio-Signature`
computed with the account's auth token, so webhooks that validate signatures
answer as they would for Twilio — once per account that points at the URL, and
for TwiML apps also as a Voice SDK client leg (`From=client:…`).

This is the one place the auditor sends anything but GET, and never to Twilio.
The URLs are written by subaccount owners, so every request goes through the
outbound policy (auditor.outbound): public addresses only unless `--probe-allow`
opts a network in, GET or POST (the number's `voice_method`, nothing else), no
redirects, no credentials but the signature, a deadline per request and one for
the whole phase. Each target is its own failure domain: a refused, failing or
bizarre webhook becomes an `error` on its own result and the run goes on.

A webhook that places calls or writes records when hit will do so for a probe
too, which is why the probe is opt-in.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from auditor.collect.pool import TaskPool
from auditor.model import PROBE_CALLER, PROBE_CLIENT, Snapshot, WebhookResponse
from auditor.outbound import (
    METHODS,
    OutboundFailed,
    OutboundPolicy,
    OutboundRefused,
    parse_target,
    shown_url,
)
from auditor.redact import redact_url
from auditor.regions import canonical_host

MAX_BODY_BYTES = 256 * 1024
PROBE_TIMEOUT = 10.0  # seconds per request: connect, TLS, headers and body
PROBE_PHASE_DEADLINE = 300.0  # seconds for the whole probe phase
# Twilio-hosted handlers the API already shows us (Studio flows, Functions): no probe needed.
SKIP_HOST_SUFFIXES = ("webhooks.twilio.com", ".twil.io", "api.twilio.com")
REFUSED = "refused: "
NOT_PROBED = "not probed: "


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
        if not url or _twilio_hosted(url):
            return
        key = (url, _method(method), account, client_leg)
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


def _method(method: object) -> str:
    """The verb as Twilio would use it; anything else is kept (escaped) to be refused."""
    if method is None or method == "":
        return "POST"  # Twilio's default voice_method
    if isinstance(method, str) and method.upper() in METHODS:
        return method.upper()
    return shown_url(method)[:40]


def _twilio_hosted(url: str) -> bool:
    try:
        host = parse_target(url).host
    except OutboundRefused:
        return False  # not skipped: probed, and refused there with the reason
    host = canonical_host(host)  # webhooks.dublin.ie1.twilio.com is Twilio's too
    return any(host == s.lstrip(".") or host.endswith(s) for s in SKIP_HOST_SUFFIXES)


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


def _result(target: ProbeTarget) -> WebhookResponse:
    # The URL is stored without its userinfo: the policy never sends it anyway.
    return WebhookResponse(
        url=redact_url(target.url),
        method=target.method,
        http_status=None,
        served_accounts=[target.account_sid],
        reached_from=list(target.reached_from),
        client_leg=target.client_leg,
    )


def probe_one(
    target: ProbeTarget,
    auth_token: str,
    *,
    policy: OutboundPolicy,
    deadline: float | None = None,
) -> WebhookResponse:
    """Send one signed request through the policy; every failure becomes `error`."""
    result = _result(target)
    if target.method not in METHODS:
        result.error = f"{REFUSED}voice method {target.method!r} is not GET or POST"
        return result
    params = probe_params(target)
    validator = RequestValidator(auth_token)
    headers = {"User-Agent": "TwilioProxy/1.1 (twilio-audit webhook probe)", "Accept": "*/*"}
    body: bytes | None = None
    if target.method == "GET":
        sep = "&" if "?" in target.url else "?"
        url = f"{target.url}{sep}{urlencode(params)}"
        headers["X-Twilio-Signature"] = validator.compute_signature(url, {})
    else:
        url = target.url
        headers["X-Twilio-Signature"] = validator.compute_signature(url, params)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(params).encode()
    try:
        response = policy.send(target.method, url, headers=headers, body=body, deadline=deadline)
        result.http_status = response.status
        result.content_type = response.content_type
        result.body = response.text()
    except OutboundRefused as exc:
        result.error = f"{REFUSED}{exc.reason}"
    except OutboundFailed as exc:
        result.error = exc.reason
    except Exception as exc:  # one strange webhook must not end the probe of the others
        result.error = f"unexpected {type(exc).__name__} while probing"
    return result


def probe_webhooks(
    snapshot: Snapshot,
    tokens: Mapping[str, str],
    *,
    policy: OutboundPolicy | None = None,
    concurrency: int = 8,
    phase_deadline: float = PROBE_PHASE_DEADLINE,
    on_done: Callable[[WebhookResponse], None] | None = None,
    cancel: threading.Event | None = None,
) -> list[WebhookResponse]:
    """Probe every target whose account's token we hold; results in target order.

    No request outlives `phase_deadline`: each gets what is left of the phase (at
    most the policy's own deadline), and targets not started by then are returned
    as not probed. Ctrl-C returns at once (the workers are daemon threads).
    """
    policy = policy or OutboundPolicy(deadline=PROBE_TIMEOUT, max_bytes=MAX_BODY_BYTES)
    targets: Sequence[ProbeTarget] = [t for t in probe_targets(snapshot) if t.account_sid in tokens]
    results: list[WebhookResponse | None] = [None] * len(targets)
    end = time.monotonic() + phase_deadline
    pool = TaskPool(max(1, min(concurrency, len(targets) or 1)), cancel)

    def run(index: int, target: ProbeTarget) -> None:
        left = end - time.monotonic()
        if left <= 0:
            result = _result(target)
            result.error = (
                f"{NOT_PROBED}the probe phase deadline ({phase_deadline:g} s) passed first"
            )
        else:
            result = probe_one(
                target,
                tokens[target.account_sid],
                policy=policy,
                deadline=min(policy.deadline, left),
            )
        results[index] = result
        if on_done:
            on_done(result)

    for index, target in enumerate(targets):
        pool.submit(run, index, target)
    pool.wait()
    pool.close()
    done: list[WebhookResponse] = []
    for target, found in zip(targets, results, strict=True):
        if found is None:  # cancelled before it ran
            found = _result(target)
            found.error = f"{NOT_PROBED}interrupted"
        done.append(found)
    return done


def failure_line(result: WebhookResponse) -> str | None:
    """One line naming the URL (redacted) and why it gave no TwiML, or None if it did."""
    if result.error:
        reason = result.error
    elif result.http_status is None or result.http_status >= 400:
        reason = f"answered HTTP {result.http_status}"
    else:
        return None
    return f"{result.method} {shown_url(result.url)}: {reason}"
