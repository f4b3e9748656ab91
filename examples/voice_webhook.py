"""A voice webhook that forwards calls, checking its callerId before it builds <Dial>.

Twilio refuses a <Dial callerId> that the account running the call neither owns
nor has verified (error 13214): the caller hears silence. CallerIdGuard asks
Twilio once per number and TTL, so a misconfigured or released caller ID is
caught here, logged, and replaced by the caller's own number (on a call from a
phone, Twilio accepts that pass-through) instead of dropping the call.

Run:  TWILIO_ACCOUNT_SID=AC… TWILIO_AUTH_TOKEN=… CALLER_ID=+1… FORWARD_TO=+1… \
      flask --app examples/voice_webhook.py run
In production also check the X-Twilio-Signature header (twilio.request_validator).
"""

from __future__ import annotations

import os

from flask import Flask, Response, request
from twilio.base.exceptions import TwilioException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

from auditor.guard import CallerIdGuard, CallerIdNotAuthorizedError


def make_webhook(client: Client, account_sid: str, caller_id: str, forward_to: str) -> Flask:
    app = Flask(__name__)
    guard = CallerIdGuard(client, account_sid, ttl=300)  # one lookup per number per 5 minutes

    @app.post("/voice")
    def voice() -> Response:
        if request.form.get("AccountSid") != account_sid:
            # The Dial runs under the account Twilio posts, not the one the guard checks.
            app.logger.warning(
                "webhook runs for %s, guard checks %s", request.form.get("AccountSid"), account_sid
            )
        try:
            dial_from = guard.require(caller_id)
        except CallerIdNotAuthorizedError as exc:
            app.logger.error("%s", exc)  # names the number, the account and the fix
            dial_from = request.form["From"]  # pass the caller's own number through
        except TwilioException as exc:  # the lookup failed: keep the configured number
            app.logger.warning("caller ID check skipped: %s", exc)
            dial_from = caller_id
        response = VoiceResponse()
        response.dial(forward_to, caller_id=dial_from)
        return Response(str(response), mimetype="text/xml")

    return app


def create_app() -> Flask:
    """The app `flask --app examples/voice_webhook.py run` starts (configured from env)."""
    sid = os.environ["TWILIO_ACCOUNT_SID"]
    client = Client(sid, os.environ["TWILIO_AUTH_TOKEN"])
    return make_webhook(client, sid, os.environ["CALLER_ID"], os.environ["FORWARD_TO"])


if __name__ == "__main__":
    create_app().run(port=int(os.environ.get("PORT", "5000")))
