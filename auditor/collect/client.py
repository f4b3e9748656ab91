"""The single factory for `twilio.rest.Client` objects, all behind ReadOnlyHttpClient."""

from __future__ import annotations

from twilio.rest import Client

from auditor.collect.credentials import Credentials
from auditor.collect.http import ReadOnlyHttpClient
from auditor.regions import RegionChoice


def make_client(
    creds: Credentials,
    api_url: str | None,
    *,
    http_client: ReadOnlyHttpClient | None = None,
    region: RegionChoice | None = None,
) -> Client:
    """Build an SDK client whose only HTTP door is a read-only, retrying client.

    Pass a shared `http_client` to pool connections and count requests across
    several clients (the collector builds one per subaccount). `region` and its
    edge are given to the SDK together: it does not derive one from the other.
    """
    http = http_client if http_client is not None else ReadOnlyHttpClient(api_url)
    if api_url and http.api_url is None:
        http.api_url = api_url.rstrip("/")
    choice = region or RegionChoice()
    client = Client(
        username=creds.username,
        password=creds.password,
        account_sid=creds.account_sid,
        http_client=http,
        region=choice.sdk_region,
        edge=choice.sdk_edge,
    )
    # The SDK falls back to TWILIO_REGION / TWILIO_EDGE when given None; the checked
    # choice is the only one that counts (the CLI reads those variables itself).
    client.region = choice.sdk_region
    client.edge = choice.sdk_edge
    return client
