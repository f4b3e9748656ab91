"""The single factory for `twilio.rest.Client` objects, all behind ReadOnlyHttpClient."""

from __future__ import annotations

from twilio.rest import Client

from auditor.collect.credentials import Credentials
from auditor.collect.http import ReadOnlyHttpClient


def make_client(
    creds: Credentials,
    api_url: str | None,
    *,
    http_client: ReadOnlyHttpClient | None = None,
) -> Client:
    """Build an SDK client whose only HTTP door is a read-only, retrying client.

    Pass a shared `http_client` to pool connections and count requests across
    several clients (the collector builds one per subaccount).
    """
    http = http_client if http_client is not None else ReadOnlyHttpClient(api_url)
    if api_url and http.api_url is None:
        http.api_url = api_url.rstrip("/")
    return Client(
        username=creds.username,
        password=creds.password,
        account_sid=creds.account_sid,
        http_client=http,
    )
