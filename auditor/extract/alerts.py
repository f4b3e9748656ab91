"""callerId references in Monitor alerts: the exact value Twilio refused.

The TwiML body Twilio received (`response_body`) gives the Dial and what it
dialed; without a body, `alert_text` (form-encoded: `Msg=…&callerId=…`) still
names the value. `request_variables` gives the call's From/To, so a
pass-through callerId is recognised.
"""

from __future__ import annotations

from auditor.extract.numberinfo import dialed_for_to, fixed_destination
from auditor.extract.twiml import extract_twiml, is_passthrough, parse_form
from auditor.extract.values import classify
from auditor.model import Alert, CallerIdReference, DialedKind, Source, SourceKind, Via

# The Monitor error codes about a refused caller ID.
# 13214 Dial: invalid callerId value; 13248 Dial: invalid callerId, too long;
# 21210 'From' phone number not verified; 21212 invalid 'From' number (caller ID).
CALLER_ID_ERROR_CODES = frozenset({"13214", "13248", "21210", "21212"})
# A call blocked by the account's Voice Geo Permissions: 13227 for <Dial>, 21215 for the
# Calls API (support.twilio.com/hc/en-us/articles/223180228).
GEO_ERROR_CODES = frozenset({"13227", "21215"})
# What the collector fetches and `watch` diagnoses: the TwiML or request of each such
# alert is judged by the same rules as everything else.
AUDITED_ALERT_CODES = CALLER_ID_ERROR_CODES | GEO_ERROR_CODES
# Errors of a REST request (Calls, Participants), not of a <Dial>.
REST_FROM_ERROR_CODES = frozenset({"21210", "21212", "21215"})
_TEXT_KEYS = ("callerId", "CallerId", "callerid", "caller_id", "From", "from")


def extract_alert(alert: Alert) -> tuple[list[CallerIdReference], list[str]]:
    """References for one alert (none unless its error code is about a caller ID)."""
    code = str(alert.error_code).strip()
    if code not in AUDITED_ALERT_CODES:
        return [], []
    request_vars = parse_form(alert.request_variables)
    notes: list[str] = []
    if alert.response_body and alert.response_body.strip():
        source = Source(kind=SourceKind.ALERT.value, sid=alert.sid, location="response_body")
        refs, notes = extract_twiml(
            alert.response_body,
            account_sid=alert.account_sid,
            source=source,
            request_vars=request_vars,
        )
        refs = [r for r in refs if not r.missing]
        if refs:
            return refs, notes
    fields = parse_form(alert.alert_text)
    rest = code in REST_FROM_ERROR_CODES
    key = next((k for k in _TEXT_KEYS if k in fields), None)
    if key is not None:
        value, location = fields[key], "alert_text"
    elif rest and "From" in request_vars:
        # A refused REST request: its own parameters say what From and To were.
        value, location = request_vars["From"], "request_variables"
    else:
        notes.append(f"alert {alert.sid}: no callerId in its TwiML body or alert text")
        return [], notes
    info = classify(value)
    to = request_vars.get("To") if rest else None
    destination, country = fixed_destination(to)
    ref = CallerIdReference(
        raw_value=value,
        kind=info.kind,
        source=Source(kind=SourceKind.ALERT.value, sid=alert.sid, location=location),
        executing_account_sid=alert.account_sid,
        e164=info.e164,
        dialed=dialed_for_to(to, default=DialedKind.UNKNOWN.value),
        passthrough=info.passthrough or is_passthrough(value, request_vars),
        template=info.template,
        client_leg=(request_vars.get("From") or "").lower().startswith("client:"),
        via=Via.CALLS_API.value if rest else Via.DIAL.value,
        destination=destination,
        destination_country=country,
    )
    return [ref], notes
