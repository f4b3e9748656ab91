"""Walk a hierarchy through the SDK into a Snapshot: concurrent across accounts and sources.

Shape of the work (each arrow is a task submitted to a bounded pool; pages of
one list are read in order by following next-page links):

  Accounts list (parent creds; the first request checks the credentials)
    └─ per account: v2010 numbers, caller IDs, apps, SIP domains (parent creds)
    └─ per account, with that account's own token (held in memory only):
         Studio flows → fetch each (definition)
         Serverless services → environments → deployed build + variables
                                             → content of each function version
         Monitor alerts in the window → fetch the caller-ID ones (request, TwiML)
         Voice Geo Permissions: DialingPermissions/Countries + Settings (inheritance)
         Flex Configuration (outbound caller ID); 404 means the account has no Flex
  then the webhook probe (opt-in), then the high-risk special prefixes of the
  countries fixed destinations dial (auditor.collect.prefixes: known only now)
"""

from __future__ import annotations

import json
import os
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import requests
import twilio
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.base.page import Page
from twilio.rest import Client

from auditor import __version__
from auditor.codec import MAX_RECORD_DEPTH
from auditor.collect import records
from auditor.collect.bounded import ApiRefusedError
from auditor.collect.client import make_client
from auditor.collect.config import MAX_ALERT_WINDOW_DAYS, MAX_PAGES, CollectConfig
from auditor.collect.credentials import Credentials
from auditor.collect.http import CancelledError, ReadOnlyHttpClient
from auditor.collect.pool import TaskPool
from auditor.collect.prefixes import GEO_SOURCE, read_prefixes, skip_prefixes
from auditor.collect.probe import REFUSED, failure_line, probe_webhooks
from auditor.collect.records import RecordError, admit, describe
from auditor.errors import ApiUnreachableError, AuditorError, CredentialsError
from auditor.extract.alerts import AUDITED_ALERT_CODES
from auditor.extract.functions import referenced_env_names
from auditor.model import (
    Account,
    Alert,
    DialingPermissions,
    ServerlessFunction,
    SharedTexts,
    Snapshot,
    StudioFlow,
)
from auditor.progress import NullProgress, Progress
from auditor.redact import redact_in_place, redact_url
from auditor.regions import FEATURE_NAMES, SOURCE_FEATURES, availability, lacks

PAGE_SIZE = 1000
PROBE_NOTES_MAX = 50  # one note per webhook that gave no TwiML, up to this many
REFUSED_MARK = f": {REFUSED}"
V2010_SOURCES = ("phone_numbers", "verified_caller_ids", "applications", "sip_domains")
PRODUCT_SOURCES = ("flows", "functions", "alerts", "flex", GEO_SOURCE)
SOURCES = V2010_SOURCES + PRODUCT_SOURCES
# The Snapshot list of a source, where it is not the source's name.
SNAPSHOT_LISTS = {"flex": "flex_configurations", GEO_SOURCE: "dialing_permissions"}
API_KEY_DENIED = (
    "error: not readable with an API key (Twilio denies a parent's API key access to "
    "subaccount resources); use the parent's Account SID and Auth Token"
)


class _Cancelled(Exception):
    pass


_SDK_DIR = os.path.dirname(os.path.abspath(twilio.__file__))


def _raised_in_sdk(exc: BaseException) -> bool:
    """True when the innermost frame is the SDK's own code (it choked on the answer)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and os.path.abspath(frames[-1].filename).startswith(_SDK_DIR + os.sep)


def garbled_answer(exc: BaseException) -> str | None:
    """What was wrong with an answer the SDK could not read, or None if `exc` is not that.

    A captive portal or an intercepting proxy answers 200 with an HTML page; a cut
    connection leaves truncated JSON; a hostile --api-url answers anything. None of
    that is a bug in the auditor: it is named, and the caller decides (exit 2 for the
    first request, a coverage error for one source later).
    """
    if isinstance(exc, json.JSONDecodeError):
        head = exc.doc.lstrip()[:200].lower() if isinstance(exc.doc, str) else ""
        if head.startswith("<") or "<html" in head:
            return "an HTML page instead of JSON (a captive portal or proxy?)"
        if not head:
            return "an empty answer instead of JSON"
        if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string"):
            return "truncated JSON (the answer stops mid-document)"
        return f"an answer that is not JSON ({exc.msg} at character {exc.pos:,})"
    if isinstance(exc, RecursionError):
        return "JSON nested too deeply to read"
    if isinstance(exc, RecordError):
        return str(exc)
    if isinstance(exc, TwilioException) and len(exc.args) == 1 and _raised_in_sdk(exc):
        return "JSON, but not in the shape of a Twilio list"
    if isinstance(exc, AttributeError | TypeError | KeyError | ValueError) and _raised_in_sdk(exc):
        if "'list' object" in str(exc):
            return "a JSON list where Twilio answers an object"
        return f"JSON in a shape Twilio never sends ({type(exc).__name__})"
    return None


class PagingError(ApiRefusedError):
    """A list whose next-page links do not end; str() is the coverage line."""


def describe_error(exc: BaseException) -> str:
    """A one-line coverage entry for a failed read: status and Twilio's message, no secrets."""
    garbled = garbled_answer(exc)
    if garbled is not None:
        return f"error: garbled answer: {garbled}"
    if isinstance(exc, TwilioRestException):
        code = f" (Twilio {exc.code})" if exc.code else ""
        return f"error: {exc.status} {_short(exc.msg)}{code}"
    if isinstance(exc, TwilioException) and len(exc.args) > 1:
        resp = exc.args[1]
        status: object = getattr(resp, "status_code", "?")
        message, twilio_code = _twilio_message(getattr(resp, "text", ""))
        suffix = f" (Twilio {twilio_code})" if twilio_code else ""
        return f"error: {status} {_short(message)}{suffix}".rstrip()
    if isinstance(exc, ApiRefusedError):
        return f"error: {exc}"
    if isinstance(exc, requests.Timeout):
        return "error: timed out after retries"
    if isinstance(exc, requests.ConnectionError):
        return "error: connection failed after retries"
    return f"error: unexpected {type(exc).__name__}"


def _status(exc: BaseException) -> int | None:
    if isinstance(exc, TwilioRestException):
        return int(exc.status)
    if isinstance(exc, TwilioException) and len(exc.args) > 1:
        return getattr(exc.args[1], "status_code", None)
    return None


def _twilio_message(text: str) -> tuple[str, object]:
    try:
        body = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        return "", None
    if not isinstance(body, dict):
        return "", None
    return str(body.get("message") or ""), body.get("code")


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def page_records(page: Page) -> Iterator[Any]:
    """The records of an SDK page as the JSON objects Twilio sent, without an SDK instance
    object per record (the collector's CPU per request; the mappers in `records` read a
    dict as they read an instance). Anything but a JSON object goes through the SDK's own
    `get_instance`, which fails on it as it always did (a garbled answer).

    The SDK keeps a page's decoded records in `_records` (twilio.base.page.Page); a test
    pins that, so an SDK that renames it fails there, not in a customer's run.
    """
    for rec in page._records:
        yield rec if type(rec) is dict else page.get_instance(rec)


def read_pages(
    first: Callable[[], Any], max_pages: int = MAX_PAGES, *, raw: bool = False
) -> Iterator[Any]:
    """Every record of a list: the first page, then its next-page links, in order.

    `raw`: records as JSON objects (page_records), else as the SDK's instances.
    A server that loops (a link already followed, or ever new links) would keep
    us paging forever: past `max_pages` pages, or on a repeated link, the list
    ends with PagingError, which its coverage line reports.
    """
    page = first()
    seen: set[str] = set()
    pages = 1
    while page is not None:
        yield from page_records(page) if raw else page
        url = page.next_page_url
        if not url:
            return
        if url in seen:
            raise PagingError("a next-page link repeats an earlier page; the list was cut there")
        if pages >= max_pages:
            raise PagingError(
                f"more than {max_pages} pages in one list; stopped there "
                "(a next-page link that never ends?)"
            )
        seen.add(url)
        pages += 1
        page = page.next_page()


@dataclass
class _AccountWork:
    """Per-account bookkeeping: results in list order, coverage, tasks still pending."""

    account: Account
    client: Client | None  # the account's own credentials (products), None if unavailable
    pending: int = 0
    items: dict[str, list[Any]] = field(default_factory=lambda: {s: [] for s in SOURCES})
    coverage: dict[str, str] = field(default_factory=dict)
    env_vars: dict[str, dict[str, str]] = field(default_factory=dict)  # env SID → variables
    geo: DialingPermissions | None = None
    without_flex: bool = False  # flex-api answered 404: the account has no Flex instance
    notes: list[str] = field(default_factory=list)  # odd values kept as text (records.Fields)
    rejected: dict[str, int] = field(default_factory=dict)  # source → records not usable


class _Walk:
    def __init__(
        self,
        config: CollectConfig,
        http: ReadOnlyHttpClient,
        root: Client,
        progress: Progress,
    ) -> None:
        self.config = config
        self.http = http
        self.root = root
        self.progress = progress
        self.pool = TaskPool(config.concurrency, http.cancel)
        self.lock = threading.Lock()
        self.shared = SharedTexts()
        self.work: dict[str, _AccountWork] = {}
        now = config.now or datetime.now(UTC)
        # Sources this region does not have (auditor.regions): never requested, "skipped".
        region = config.region.region
        self.unavailable = {s for s, feature in SOURCE_FEATURES.items() if lacks(region, feature)}
        self.alert_days = max(1, min(config.since_days, MAX_ALERT_WINDOW_DAYS))
        self.alert_start = now - timedelta(days=self.alert_days)

    # ---------------------------------------------------------------- task plumbing

    def read_pages(self, first: Callable[[], Any]) -> Iterator[Any]:
        return read_pages(first, self.config.max_pages)

    def records(self, first: Callable[[], Any]) -> Iterator[dict[str, Any]]:
        """A list's records as the JSON objects Twilio sent (read_pages, raw)."""
        return read_pages(first, self.config.max_pages, raw=True)

    def spawn(self, w: _AccountWork, source: str, fn: Callable[..., None], *args: Any) -> None:
        with self.lock:
            w.pending += 1
        self.pool.submit(self._run, w, source, fn, args)

    def _run(self, w: _AccountWork, source: str, fn: Callable[..., None], args: tuple) -> None:
        try:
            fn(w, *args)
        except CancelledError:
            pass
        except Exception as exc:  # one source of one account is its own failure domain
            self.mark(w, source, describe_error(exc))
        finally:
            self._release(w)

    def each(
        self, w: _AccountWork, source: str, recs: Iterator[Any], mapper: Callable[[Any], Any]
    ) -> Iterator[Any]:
        """`mapper(rec)` for each record; one that cannot be mapped is counted and skipped.

        Reading the list itself (a garbled page) still fails the whole source.
        """
        for rec in recs:
            try:
                yield mapper(rec)
            except Exception as exc:
                self.reject(w, source, exc)

    def reject(self, w: _AccountWork, source: str, exc: BaseException) -> None:
        why = str(exc) if isinstance(exc, RecordError) else f"unexpected {type(exc).__name__}"
        with self.lock:
            w.rejected[source] = w.rejected.get(source, 0) + 1
            first = w.rejected[source] == 1
        if first:
            self.mark(w, source, f"error: a record Twilio returned could not be used: {why}")

    def _release(self, w: _AccountWork) -> None:
        """One piece of an account's work is over; the last one reports the account done."""
        with self.lock:
            w.pending -= 1
            done = w.pending == 0
        if done:
            self.progress.account_done(w.account.sid)

    def mark(self, w: _AccountWork, source: str, status: str) -> None:
        with self.lock:
            current = w.coverage.get(source, "")
            if status == "ok":
                if not current:
                    w.coverage[source] = "ok"
            elif not current.startswith("error"):
                w.coverage[source] = status
                if status.startswith("error"):
                    # 'errors' on the progress line are sources the report will call
                    # incomplete (a 404 that means "no Flex" is not one).
                    self.progress.http_event("error", source)

    def add(self, w: _AccountWork, source: str, item: Any) -> None:
        with self.lock:
            w.items[source].append(item)

    # ---------------------------------------------------------------- per account

    def start(self, w: _AccountWork, api_key_denied: bool) -> None:
        """Queue an account's reads; it counts as done when its last task ends."""
        with self.lock:
            w.pending += 1  # held while queueing, so a fast task cannot finish the account
        try:
            self._queue_account(w, api_key_denied)
        finally:
            self._release(w)

    def _queue_account(self, w: _AccountWork, api_key_denied: bool) -> None:
        cfg = self.config
        if api_key_denied:
            for source in SOURCES:
                w.coverage[source] = API_KEY_DENIED
            return
        acct = self.root.api.v2010.accounts(w.account.sid)
        v2010 = {
            "phone_numbers": (acct.incoming_phone_numbers, records.phone_number),
            "verified_caller_ids": (acct.outgoing_caller_ids, records.verified_caller_id),
            "applications": (acct.applications, records.application),
            "sip_domains": (acct.sip.domains, records.sip_domain),
        }
        for source, (resource, mapper) in v2010.items():
            if source in self.unavailable:
                w.coverage[source] = "skipped"
                continue
            self.spawn(w, source, self._v2010_list, source, resource, mapper)
        wanted = {
            "flows": cfg.studio,
            "functions": cfg.functions,
            "alerts": cfg.alerts,
            GEO_SOURCE: cfg.geo_permissions,
            "flex": cfg.flex,
        }
        wanted = {s: on and s not in self.unavailable for s, on in wanted.items()}
        if w.account.status == "closed":
            # A closed account runs no calls, and Twilio refuses its credentials: its
            # products have nothing to audit. Its numbers (read above) still matter.
            wanted = dict.fromkeys(wanted, False)
        for source, on in wanted.items():
            if not on:
                w.coverage[source] = "skipped"
            elif w.client is None:
                w.coverage[source] = (
                    "error: Twilio returned no auth token for this subaccount, "
                    "so its own products could not be read"
                )
        if wanted["flows"] and w.client is not None:
            self.spawn(w, "flows", self._flows)
        if wanted["functions"] and w.client is not None:
            self.spawn(w, "functions", self._services)
        if wanted["alerts"] and w.client is not None:
            self.spawn(w, "alerts", self._alerts)
        if wanted[GEO_SOURCE] and w.client is not None:
            w.geo = DialingPermissions(account_sid=w.account.sid)
            self.spawn(w, GEO_SOURCE, self._geo_countries)
            self.spawn(w, GEO_SOURCE, self._geo_settings)
        if wanted["flex"] and w.client is not None:
            self.spawn(w, "flex", self._flex)

    def _v2010_list(
        self,
        w: _AccountWork,
        source: str,
        resource: Any,
        mapper: Callable[[Any, str, list[str]], Any],
    ) -> None:
        recs = self.records(lambda: resource.page(page_size=PAGE_SIZE))
        items = list(self.each(w, source, recs, lambda rec: mapper(rec, w.account.sid, w.notes)))
        self.shared.share(items)  # a million numbers: one copy of each account SID, URL…
        with self.lock:
            w.items[source].extend(items)
        self.mark(w, source, "ok")

    # Studio ---------------------------------------------------------------------

    def _flows(self, w: _AccountWork) -> None:
        assert w.client is not None
        flows = w.client.studio.v2.flows
        recs = self.records(lambda: flows.page(page_size=PAGE_SIZE))
        for flow in self.each(w, "flows", recs, lambda r: records.flow(r, w.account.sid, w.notes)):
            self.add(w, "flows", flow)
            self.spawn(w, "flows", self._flow_fetch, flow)
        self.mark(w, "flows", "ok")

    def _flow_fetch(self, w: _AccountWork, flow: StudioFlow) -> None:
        assert w.client is not None
        context = w.client.studio.v2.flows(flow.sid)
        records.fill_flow(flow, context.fetch(), w.notes)
        if flow.status != "published":
            # The latest revision is a draft; Twilio executes the latest published one.
            # None (404): the flow never ran; it is kept as the draft it is.
            try:
                published = context.revisions("LatestPublished").fetch()
            except TwilioRestException as exc:
                if exc.status != 404:
                    raise
            else:
                records.fill_flow(flow, published, w.notes)
        self.mark(w, "flows", "ok")

    # Serverless -------------------------------------------------------------------

    def _services(self, w: _AccountWork) -> None:
        assert w.client is not None
        services = w.client.serverless.v1.services
        for svc in self.each(
            w, "functions", self.records(lambda: services.page(page_size=PAGE_SIZE)), _service
        ):
            self.spawn(w, "functions", self._environments, *svc)
        self.mark(w, "functions", "ok")

    def _environments(self, w: _AccountWork, service_sid: str, service_name: str) -> None:
        assert w.client is not None
        service = w.client.serverless.v1.services(service_sid)
        envs = self.records(lambda: service.environments.page(page_size=PAGE_SIZE))
        for env_sid, domain_name, build_sid in self.each(w, "functions", envs, _environment):
            if not build_sid:
                continue  # nothing deployed: nothing Twilio executes
            self.spawn(w, "functions", self._variables, service_sid, env_sid)
            self.spawn(
                w, "functions", self._build, service_sid, service_name,
                env_sid, domain_name, build_sid,
            )  # fmt: skip

    def _variables(self, w: _AccountWork, service_sid: str, env_sid: str) -> None:
        assert w.client is not None
        variables = w.client.serverless.v1.services(service_sid).environments(env_sid).variables
        found = {
            v["key"]: str(v.get("value") or "")
            for v in self.records(lambda: variables.page(page_size=PAGE_SIZE))
            if isinstance(v.get("key"), str) and isinstance(v.get("value"), str | None)
        }
        with self.lock:
            w.env_vars[env_sid] = found  # in memory only; filtered before the snapshot

    def _build(
        self,
        w: _AccountWork,
        service_sid: str,
        service_name: str,
        env_sid: str,
        domain_name: str | None,
        build_sid: str,
    ) -> None:
        assert w.client is not None
        build = w.client.serverless.v1.services(service_sid).builds(build_sid).fetch()
        versions = build.function_versions
        if not isinstance(versions, list):
            raise RecordError(f"build {build_sid} lists function versions as {describe(versions)}")

        def function(fv: Any) -> ServerlessFunction:
            return records.function_version(fv, w.account.sid, service_sid, service_name, w.notes)

        for fn in self.each(w, "functions", iter(versions), function):
            fn.environment_sid = env_sid
            fn.domain_name = domain_name or None
            self.add(w, "functions", fn)
            self.spawn(w, "functions", self._content, fn)

    def _content(self, w: _AccountWork, fn: ServerlessFunction) -> None:
        assert w.client is not None
        version = (
            w.client.serverless.v1.services(fn.service_sid)
            .functions(fn.sid)
            .function_versions(fn.version_sid)
        )
        content = version.function_version_content().fetch().content
        if not isinstance(content, str | None):
            raise RecordError(f"function version {fn.version_sid}: content is {describe(content)}")
        fn.content = content or ""

    # Voice Geo Permissions ----------------------------------------------------------

    def _geo_countries(self, w: _AccountWork) -> None:
        """The account's own Countries list (the path names no account: its token decides)."""
        assert w.client is not None and w.geo is not None
        countries = w.client.voice.v1.dialing_permissions.countries
        found = [
            records.dialing_country(rec, w.notes)
            for rec in self.records(lambda: countries.page(page_size=PAGE_SIZE))
        ]
        with self.lock:
            w.geo.countries = found
            w.geo.countries_read = True
        self.mark(w, GEO_SOURCE, "ok")

    def _geo_settings(self, w: _AccountWork) -> None:
        """dialing_permissions_inheritance: whether a subaccount follows its parent's list."""
        assert w.client is not None and w.geo is not None
        settings = w.client.voice.v1.dialing_permissions.settings().fetch()
        inheritance = settings.dialing_permissions_inheritance
        with self.lock:
            w.geo.inheritance = inheritance if isinstance(inheritance, bool) else None
        self.mark(w, GEO_SOURCE, "ok")

    # Monitor ----------------------------------------------------------------------

    def _alerts(self, w: _AccountWork) -> None:
        assert w.client is not None
        alerts = w.client.monitor.v1.alerts
        start = self.alert_start
        recs = (
            rec
            for rec in self.records(lambda: alerts.page(start_date=start, page_size=PAGE_SIZE))
            if str(rec.get("error_code")) in AUDITED_ALERT_CODES
        )
        for alert in self.each(
            w, "alerts", recs, lambda r: records.alert(r, w.account.sid, w.notes)
        ):
            self.add(w, "alerts", alert)
            self.spawn(w, "alerts", self._alert_fetch, alert)
        self.mark(w, "alerts", "ok")

    def _alert_fetch(self, w: _AccountWork, alert: Alert) -> None:
        assert w.client is not None
        records.fill_alert(alert, w.client.monitor.v1.alerts(alert.sid).fetch(), w.notes)

    # Flex -------------------------------------------------------------------------

    def _flex(self, w: _AccountWork) -> None:
        """The account's Flex Configuration; 404 (20404) is an account without Flex."""
        assert w.client is not None
        try:
            rec = w.client.flex_api.v1.configuration().fetch()
        except TwilioRestException as exc:
            if exc.status != 404:
                raise
            with self.lock:
                w.without_flex = True
        else:
            self.add(w, "flex", records.flex_configuration(rec, w.account.sid, w.notes))
        self.mark(w, "flex", "ok")


def _service(svc: Any) -> tuple[str, str]:
    """(SID, name) of a Serverless service."""
    f = records.Fields(svc, "Serverless service", None)
    sid = f.sid(prefix="ZS")
    return sid, f.text("unique_name") or f.text("friendly_name") or sid


def _environment(env: Any) -> tuple[str, str | None, str | None]:
    """(SID, domain name, deployed build SID or None) of a Serverless environment."""
    f = records.Fields(env, "Serverless environment", None)
    return f.sid(prefix="ZE"), f.optional("domain_name"), f.optional_sid("build_sid")


# -------------------------------------------------------------------- entry point


def _requests_and_retries(progress: Progress) -> Callable[[str, str], None]:
    """The HTTP layer's events for the progress line, but its 4xx/5xx answers: whether one
    is an error is the walker's call (see _Walk.mark)."""

    def on_event(kind: str, detail: str) -> None:
        if kind != "error":
            progress.http_event(kind, detail)

    return on_event


def _where(config: CollectConfig) -> str:
    """How messages name the API: the --api-url (redacted), or Twilio's host in the region."""
    if config.api_url:
        return redact_url(config.api_url)
    region = config.region
    return f"the Twilio API ({region.host()})" if region.sdk_region else "the Twilio API"


def _first_request(root: Client, creds: Credentials, config: CollectConfig) -> list[Any]:
    """List the accounts (parent + subaccounts); this request also checks the credentials.

    The parent is fetched on its own when the list does not hold it. Any answer the
    SDK cannot read is the operator's network (or --api-url), not a bug: exit 2.
    """
    where = _where(config)
    accounts = root.api.v2010.accounts
    try:
        try:
            listed = list(read_pages(lambda: accounts.page(page_size=PAGE_SIZE), config.max_pages))
        except TwilioException as exc:
            if creds.uses_api_key and _status(exc) == 403:
                # Some keys may not list accounts: fall back to the key's own account.
                return [accounts(creds.account_sid).fetch()]
            raise
        if not any(getattr(rec, "sid", None) == creds.account_sid for rec in listed):
            listed.insert(0, accounts(creds.account_sid).fetch())
        return listed
    except Exception as exc:
        raise _first_request_error(exc, creds, where, config) from None


def _first_request_error(
    exc: Exception, creds: Credentials, where: str, config: CollectConfig
) -> Exception:
    """The one-line error for a failed first request (or `exc` itself when it is a bug)."""
    garbled = garbled_answer(exc)
    if garbled is not None:
        return ApiUnreachableError(
            f"{where} did not answer like the Twilio API: {garbled}; "
            "check the network (a captive portal or proxy may be in the way) or --api-url"
        )
    if isinstance(exc, TwilioException):
        status = _status(exc)
        if status in (401, 403):
            names = (
                "TWILIO_ACCOUNT_SID, TWILIO_API_KEY and TWILIO_API_SECRET"
                if creds.uses_api_key
                else "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
            )
            region = config.region
            regional = region.sdk_region is not None
            name = region.region.upper()
            return CredentialsError(
                f"Twilio rejected the credentials for {creds.account_sid}"
                + (f" in {name} ({region.host()})" if regional else "")
                + f" (HTTP {status}); check {names}"
                + (f" (credentials are per region: use {name}'s own)" if regional else "")
            )
        return ApiUnreachableError(
            f"{where} answered {describe_error(exc).removeprefix('error: ')} to the first "
            "request; try again later or check --api-url"
        )
    if isinstance(exc, ApiRefusedError):
        return ApiUnreachableError(f"{where}: {exc} (in the account list); check --api-url")
    if isinstance(exc, requests.RequestException):
        return ApiUnreachableError(
            f"cannot reach {where} ({type(exc).__name__}); check the network or --api-url"
        )
    return exc


def _accounts(
    listed: list[Any], root_sid: str, where: str
) -> tuple[list[Account], dict[str, str], list[str]]:
    """The usable account records (parent first), their tokens, and notes on the rest."""
    accounts: dict[str, Account] = {}
    tokens: dict[str, str] = {}
    odd: list[str] = []
    skipped: list[str] = []
    for rec in listed:
        try:
            account, _ = admit(records.account(rec, root_sid, odd))
        except RecordError as exc:
            skipped.append(str(exc))
            continue
        if account.sid in accounts:
            continue
        accounts[account.sid] = account
        token = getattr(rec, "auth_token", None)
        if isinstance(token, str) and token:
            tokens[account.sid] = token
    if root_sid not in accounts:
        reason = f" ({skipped[0]})" if skipped else ""
        raise ApiUnreachableError(
            f"{where} did not answer like the Twilio API: no usable record of {root_sid} in "
            f"the account list{reason}; check the network or --api-url"
        )
    notes = []
    if skipped:
        notes.append(
            f"The account list held {len(skipped)} record(s) that could not be used, so they "
            f"were not audited (first: {skipped[0]})."
        )
    notes.extend(_odd_note("the account list", odd))
    ordered = sorted(
        accounts.values(), key=lambda a: (a.sid != root_sid, a.date_created or "", a.sid)
    )
    return ordered, tokens, notes


def _odd_note(where: str, odd: list[str]) -> list[str]:
    """At most one note for values of the wrong type that were kept as text."""
    if not odd:
        return []
    return [
        f"{where}: {len(odd)} value(s) of an unexpected type were kept as text or dropped "
        f"(first: {odd[0]})."
    ]


def list_accounts(
    root: Client, config: CollectConfig
) -> tuple[list[Account], dict[str, str], list[str]]:
    """The hierarchy's usable accounts (root first), each one's auth token (memory only),
    and notes on records that could not be used.

    Twilio returns every subaccount's token in the parent's account list; the caller
    holds them in memory to read that subaccount's own products, and never writes them.
    Raises CredentialsError / ApiUnreachableError on the first request.
    """
    creds = config.credentials
    listed = _first_request(root, creds, config)
    accounts, tokens, notes = _accounts(listed, creds.account_sid, _where(config))
    del listed  # the records hold auth tokens: keep them in `tokens` only
    return accounts, tokens, notes


def account_client(
    account_sid: str,
    root: Client,
    config: CollectConfig,
    tokens: dict[str, str],
    http: ReadOnlyHttpClient,
) -> Client | None:
    """A client authenticated as `account_sid` (for its own products), None if unavailable.

    The root reuses the parent's client; a subaccount needs its own token, which an
    API key never gets from Twilio.
    """
    creds = config.credentials
    if account_sid == creds.account_sid:
        return root
    if account_sid in tokens and not creds.uses_api_key:
        sub = Credentials(account_sid=account_sid, auth_token=tokens[account_sid])
        return make_client(sub, config.api_url, http_client=http, region=config.region)
    return None


def collect(
    config: CollectConfig,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Snapshot:
    """Read the hierarchy into a Snapshot (raises CredentialsError/ApiUnreachableError early).

    `cancel` set (the CLI's Ctrl-C handler sets it before raising KeyboardInterrupt)
    stops every request and ends the collection with KeyboardInterrupt, even if the
    interrupt itself was lost: Python drops an exception raised inside a finalizer.
    """
    progress = progress or NullProgress()
    creds = config.credentials
    http = ReadOnlyHttpClient(
        config.api_url,
        timeout=config.timeout,
        pool_size=max(config.concurrency, config.per_account_limit) + 8,
        on_event=_requests_and_retries(progress),
        per_account_limit=config.per_account_limit,
        cancel=cancel,
        max_response_bytes=config.max_response_bytes,
    )
    root = make_client(creds, config.api_url, http_client=http, region=config.region)
    accounts, tokens, account_notes = list_accounts(root, config)
    root_sid = creds.account_sid

    known = {a.sid for a in accounts}
    unknown = [sid for sid in config.accounts if sid not in known]
    if unknown:
        raise AuditorError(
            f"--account {unknown[0]} is not in the hierarchy of {root_sid}; "
            "run without --account to list every account"
        )
    selected = set(config.accounts) or known

    snapshot = Snapshot(
        root_account_sid=root_sid,
        collected_at=records.iso(datetime.now(UTC)) or "",
        tool_version=__version__,
        api_url=redact_url(config.api_url) if config.api_url else None,
        region=config.region.region,
        edge=config.region.edge,
        accounts=accounts,
        notes=account_notes,
    )
    walk = _Walk(config, http, root, progress)
    snapshot.alert_window_days = walk.alert_days if config.alerts else None
    for account in accounts:
        client = account_client(account.sid, root, config, tokens, http)
        walk.work[account.sid] = _AccountWork(account=account, client=client)
    probe_tokens: dict[str, str] = {}
    if config.probe_webhooks and not creds.uses_api_key:
        probe_tokens = {sid: tok for sid, tok in tokens.items() if sid in selected}
        if creds.auth_token and root_sid in selected:
            probe_tokens[root_sid] = creds.auth_token
    tokens.clear()

    progress.start(len(selected))
    try:
        for account in accounts:
            w = walk.work[account.sid]
            if account.sid not in selected:
                w.coverage = dict.fromkeys(SOURCES, "skipped")
                continue
            walk.start(w, api_key_denied=creds.uses_api_key and account.sid != root_sid)
        walk.pool.wait()
    except BaseException:
        http.cancel.set()
        progress.finish()
        raise
    walk.pool.close()
    progress.finish()
    _raise_if_cancelled(http.cancel)
    _assemble(snapshot, walk, config)
    if config.probe_webhooks:
        try:
            _probe(snapshot, probe_tokens, config, http.cancel)
        finally:
            probe_tokens.clear()
        snapshot.webhooks = _admitted_webhooks(snapshot)
        _raise_if_cancelled(http.cancel)
    if config.geo_permissions and GEO_SOURCE not in walk.unavailable:
        read_prefixes(
            snapshot,
            {sid: w.client for sid, w in walk.work.items()},
            read_pages=walk.read_pages,
            describe_error=describe_error,
            concurrency=min(8, config.concurrency),
            cancel=http.cancel,
            known=config.known_references,
        )
        _raise_if_cancelled(http.cancel)
    else:
        skip_prefixes(snapshot)
    redact_in_place(snapshot)  # after the probe, before use
    return snapshot


def _raise_if_cancelled(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise KeyboardInterrupt


def _probe(
    snapshot: Snapshot, tokens: dict[str, str], config: CollectConfig, cancel: threading.Event
) -> None:
    """Ask each voice webhook for its TwiML, signed with its account's token (opt-in).

    Each refused or failed target is one note naming the URL (redacted) and the
    reason; each account's coverage line says how many of its webhooks gave no TwiML.
    """
    snapshot.webhooks = probe_webhooks(
        snapshot,
        tokens,
        policy=config.outbound_policy(),
        concurrency=min(8, config.concurrency),
        phase_deadline=config.probe_deadline,
        cancel=cancel,
    )
    failed: dict[str, list[str]] = {}
    probed: set[str] = set()
    lines: list[str] = []
    for result in snapshot.webhooks:
        line = failure_line(result)
        if line is not None:
            lines.append(line)
        for sid in result.served_accounts:
            probed.add(sid)
            if line is not None:
                failed.setdefault(sid, []).append(line)
    for account in snapshot.accounts:
        cov = snapshot.coverage.setdefault(account.sid, {})
        if account.sid not in tokens:
            cov["webhooks"] = (
                "error: not probed (the probe signs with the account's auth token; "
                "use the parent's Account SID and Auth Token)"
                if config.credentials.uses_api_key
                else "skipped"
            )
        elif failed.get(account.sid):
            first = failed[account.sid]
            more = f" (and {len(first) - 1} more: see notes)" if len(first) > 1 else ""
            cov["webhooks"] = f"error: {len(first)} webhook(s) gave no TwiML; {first[0]}{more}"
        else:
            cov["webhooks"] = "ok" if account.sid in probed else "skipped"
    unique = list(dict.fromkeys(lines))
    for line in unique[:PROBE_NOTES_MAX]:
        snapshot.notes.append(f"Webhook probe: {line}")
    if len(unique) > PROBE_NOTES_MAX:
        snapshot.notes.append(
            f"Webhook probe: {len(unique) - PROBE_NOTES_MAX} more webhook(s) gave no TwiML "
            "(each is in snapshot.json under webhooks)."
        )
    if any(REFUSED_MARK in line for line in unique):
        snapshot.notes.append(
            "Webhook probe: only publicly routable addresses are contacted; "
            "--probe-allow CIDR opts in a network of your own (e.g. an internal webhook server)."
        )


def _admitted_webhooks(snapshot: Snapshot) -> list[Any]:
    kept = []
    for hook in snapshot.webhooks:
        try:
            kept.append(admit(hook)[0])
        except RecordError as exc:
            snapshot.notes.append(f"A webhook answer could not be kept: {exc}")
    return kept


def _admitted(walk: _Walk, w: _AccountWork, source: str, notes: list[str]) -> list[Any]:
    """The source's records as the snapshot holds them (records.admit), the rest rejected."""
    kept: list[Any] = []
    for item in w.items[source]:
        try:
            clean, cut = admit(item)
        except RecordError as exc:
            walk.reject(w, source, exc)
            continue
        if cut:
            notes.append(
                f"{source} {getattr(item, 'sid', '')}: JSON nested deeper than "
                f"{MAX_RECORD_DEPTH} levels was cut before saving ({cut} part(s)); "
                "no widget Twilio runs sits that deep"
            )
        kept.append(clean)
    return kept


def _assemble(snapshot: Snapshot, walk: _Walk, config: CollectConfig) -> None:
    """Fill the snapshot in account order, lists in the order Twilio paged them.

    Each record passes records.admit (the loader's own checks, URL userinfo redacted,
    depth capped) on its way in; one that fails is a coverage error for its source.
    """
    creds = config.credentials
    for account in snapshot.accounts:
        w = walk.work[account.sid]
        if w.geo is not None:
            w.items[GEO_SOURCE].append(w.geo)
        for fn in w.items["functions"]:
            fn.environment = callerid_environment(
                fn.content, w.env_vars.get(fn.environment_sid or "", {})
            )  # every other variable (often a secret) is dropped here
        w.env_vars.clear()
        for source in SOURCES:
            target = getattr(snapshot, SNAPSHOT_LISTS.get(source, source))
            target.extend(_admitted(walk, w, source, snapshot.notes))
        for source, count in w.rejected.items():
            first = w.coverage.get(source, "")
            if count > 1 and first.startswith("error: a record"):
                w.coverage[source] = first.replace("a record", f"{count} records", 1)
        snapshot.notes.extend(_odd_note(f"{account.sid}", w.notes))
        snapshot.coverage[account.sid] = {
            s: w.coverage.get(s, "error: not read (interrupted)") for s in SOURCES
        }
    if creds.uses_api_key:
        snapshot.notes.append(
            "Collected with an API key: Twilio denies a parent's API key access to subaccount "
            "resources, so only the key's own account was audited. Use the parent's Account SID "
            "and Auth Token to audit every subaccount."
        )
    region = config.region.region
    for source in sorted(walk.unavailable):
        row = availability(region, SOURCE_FEATURES[source])
        snapshot.notes.append(
            f"{region.upper()}: {FEATURE_NAMES[row.feature]} not read: Twilio's page "
            f"({row.source}) {row.says}."
        )
    if config.accounts:
        snapshot.notes.append(
            f"Restricted with --account to {len(set(config.accounts))} account(s); "
            "the other accounts are listed but their resources were not read."
        )
    if config.alerts and config.since_days > MAX_ALERT_WINDOW_DAYS:
        snapshot.notes.append(
            f"Alerts were read for the last {MAX_ALERT_WINDOW_DAYS} days: Twilio's Monitor API "
            "does not answer for older alerts."
        )
    without_flex = [a.sid for a in snapshot.accounts if walk.work[a.sid].without_flex]
    if without_flex:
        snapshot.notes.append(
            f"{len(without_flex)} account(s) have no Flex (flex-api answered 404 to "
            "/v1/Configuration): there is no Flex outbound caller ID to audit there."
        )
    closed = [a.friendly_name or a.sid for a in snapshot.accounts if a.status == "closed"]
    if closed:
        snapshot.notes.append(
            f"Closed account(s) {', '.join(closed)}: their numbers were read, but not their "
            "Studio flows, Functions, alerts, Flex configuration or Geo Permissions (a closed "
            "account places no "
            "calls and Twilio no longer accepts its credentials)."
        )
    failed = [
        sid
        for sid, cov in snapshot.coverage.items()
        if any(v.startswith("error") for v in cov.values())
    ]
    if failed:
        snapshot.notes.append(
            f"{len(failed)} account(s) could not be read completely; see coverage for each source."
        )


def callerid_environment(code: str, variables: dict[str, str]) -> dict[str, str]:
    """The variables the code uses as a caller ID; the only ones a snapshot may keep."""
    wanted = _env_names(code)
    return {k: v for k, v in variables.items() if k in wanted}


@lru_cache(maxsize=1024)
def _env_names(code: str) -> frozenset[str]:
    """referenced_env_names, once per distinct source: an ISV deploys the same Functions
    to many subaccounts, and parsing one costs milliseconds."""
    return frozenset(referenced_env_names(code))
