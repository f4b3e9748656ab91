"""The only door to the network: a read-only, retrying HTTP client for the `twilio` SDK.

Every request the SDK builds passes through `ReadOnlyHttpClient.request`, which
1. refuses any method but GET before anything is sent (the auditor can never
   change a customer's account, whatever a caller does with the SDK);
2. rewrites `https://{product}.twilio.com{path}` to `{api_url}/{product}{path}`
   when `--api-url` is given (emulator, mock), next-page links included; a
   regional host keeps its labels (`api.dublin.ie1` → `{api_url}/api.dublin.ie1`);
3. retries 429, 5xx, connection errors and timeouts with capped exponential
   backoff and full jitter, bounded in attempts and in time;
4. sends nothing (credentials least of all) anywhere but the API's own origin:
   `--api-url`'s scheme, host and port, or https on a *.twilio.com host; a
   next-page link elsewhere ends that list with a coverage error, and no
   redirect is ever followed;
5. ends each attempt at one deadline (`timeout`: connect, headers and body, a
   slow drip included) and refuses answers larger than `max_response_bytes`
   without reading them whole (auditor.collect.bounded);
6. counts requests, retries and errors for the progress display, and logs
   method + URL only (never headers, never credentials);
7. keeps at most `per_account_limit` requests in flight per account (the
   authenticating one and the one named in the path; Twilio answers 429 past its
   own limit), and stops sending once `cancel` is set (Ctrl-C), even in the
   middle of a backoff.

Without a proxy it sends over kept-alive `http.client` connections
(bounded.Connections: CPU per request is what bounds the collector); behind a
proxy through `requests`, which knows proxies and no_proxy.
"""

from __future__ import annotations

import base64
import http.client
import logging
import os
import random
import re
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import SplitResult, urlencode, urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from twilio.http import HttpClient
from twilio.http.response import Response

from auditor.collect.bounded import (
    ApiRefusedError,
    Connections,
    read_capped,
    request_deadline,
    watch_pools,
)
from auditor.collect.config import DEFAULT_MAX_RESPONSE_BYTES
from auditor.errors import AuditorError
from auditor.outbound import shown_url
from auditor.redact import redact_url

log = logging.getLogger("auditor.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CHUNK = 64 * 1024
# What a request target may hold as it is (RFC 3986 pchar, "/", "?", "%"); the rest
# is percent-encoded first.
_PLAIN_TARGET = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")
_TARGET_ACCOUNT = re.compile(r"/2010-04-01/Accounts/(AC[0-9a-fA-F]{32})\b")


class MethodRefusedError(RuntimeError):
    """Raised when any code path tries a non-GET request: the auditor is read-only."""


class CancelledError(RuntimeError):
    """Raised instead of sending once the run was cancelled (Ctrl-C)."""


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.2  # seconds; doubled each attempt, full jitter
    max_delay: float = 8.0
    max_total: float = 90.0  # give up on one request after this long


@dataclass
class HttpStats:
    requests: int = 0
    retries: int = 0
    errors: int = 0


def rewrite_url(url: str, api_url: str | None) -> str:
    """Map https://{host}.twilio.com{path} to {api_url}/{host}{path}.

    `host` is every label before .twilio.com: `api`, or `api.dublin.ie1` for a region.
    """
    if not api_url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host.endswith(".twilio.com"):
        return url
    product = host.removesuffix(".twilio.com")
    base = _base(api_url)
    return urlunsplit(
        (base.scheme, base.netloc, f"{base.path}/{product}{parts.path}", parts.query, "")
    )


@lru_cache(maxsize=8)
def _base(api_url: str) -> SplitResult:
    return urlsplit(api_url.rstrip("/"))


def api_origin(api_url: str | None) -> tuple[str, str, int] | None:
    """(scheme, host, port) of --api-url, or None for Twilio itself; AuditorError if malformed."""
    if not api_url:
        return None
    origin = _origin_of(api_url)
    if origin is None or origin[0] not in ("http", "https"):
        raise AuditorError(
            f"--api-url {redact_url(api_url)}: not an http(s) URL with a host and a valid "
            "port; write it like http://127.0.0.1:8080"
        )
    return origin


def _origin_of(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


class _WatchedAdapter(HTTPAdapter):
    """requests' adapter (the proxy path) with connections the deadline can cut."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        watch_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> urllib3.ProxyManager:
        manager = super().proxy_manager_for(proxy, **kwargs)
        watch_pools(manager)
        return manager


class ReadOnlyHttpClient(HttpClient):
    """A thread-safe `twilio` HttpClient that only ever sends GET (see module docstring)."""

    def __init__(
        self,
        api_url: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        pool_size: int = 64,
        on_event: Callable[[str, str], None] | None = None,
        sleep: Callable[[float], None] | None = None,
        per_account_limit: int = 0,
        cancel: threading.Event | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        super().__init__(logger=log, is_async=False, timeout=timeout)
        self.api_url = api_url
        self.retry = retry or RetryPolicy()
        self.stats = HttpStats()
        self.max_response_bytes = max_response_bytes
        self._lock = threading.Lock()
        self._on_event = on_event
        self.cancel = cancel or threading.Event()
        self._sleep = sleep or self._interruptible_sleep
        self.per_account_limit = per_account_limit
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self.session = requests.Session()
        adapter = _WatchedAdapter(pool_connections=8, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        # requests costs ~0.6 ms of CPU per request (it re-reads the environment
        # for proxies each time), urllib3 about half that, http.client half again; the
        # collector is CPU-bound at its concurrency. requests stays the transport when a
        # proxy is configured (it knows proxies and no_proxy).
        self._direct: Connections | None = None
        if not urllib.request.getproxies():
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            self._direct = Connections(maxsize=pool_size, ca_certs=bundle or None)

    @property
    def api_url(self) -> str | None:
        return self._api_url

    @api_url.setter
    def api_url(self, value: str | None) -> None:
        self._origin = api_origin(value)  # AuditorError for a malformed --api-url
        self._api_url = value.rstrip("/") if value else None

    def _check_origin(self, url: str) -> tuple[str, str, int]:
        """Credentials go to the API's own origin only, whatever a next-page link says;
        the origin to send to."""
        origin = _origin_of(url)
        if self._origin is not None:
            allowed = origin == self._origin
        else:
            allowed = (
                origin is not None
                and origin[0] == "https"
                and (origin[1] == "twilio.com" or origin[1].endswith(".twilio.com"))
            )
        if not allowed or origin is None:
            where = redact_url(self._api_url or "") if self._origin else "https://*.twilio.com"
            raise ApiRefusedError(
                f"refused to follow a link to {shown_url(url)}: requests (and credentials) "
                f"go to {where} only"
            )
        return origin

    def _send(
        self,
        url: str,
        params: dict[str, object] | None,
        headers: dict[str, str] | None,
        auth: tuple[str, str] | None,
        timeout: float,
        origin: tuple[str, str, int] | None = None,
    ) -> tuple[int, str, Mapping[str, str]]:
        """One GET under one deadline: network problems raise requests.ConnectionError or
        requests.Timeout (retried), an answer too large ApiRefusedError (not retried)."""
        with request_deadline(timeout) as watchdog:
            try:
                if self._direct is None:
                    return self._send_via_requests(url, params, headers, auth, timeout)
                return self._send_direct(url, params, headers, auth, timeout, origin)
            except ApiRefusedError:
                raise  # an OSError too (as every RequestException): not a network failure
            except (urllib3.exceptions.TimeoutError, requests.Timeout, TimeoutError):
                raise requests.Timeout(f"no complete answer within {timeout:g} s") from None
            except (
                urllib3.exceptions.HTTPError,
                http.client.HTTPException,
                requests.ConnectionError,
                OSError,
            ) as exc:
                if watchdog.fired:
                    raise requests.Timeout(f"no complete answer within {timeout:g} s") from None
                raise requests.ConnectionError(f"connection failed: {type(exc).__name__}") from None

    def _send_via_requests(
        self,
        url: str,
        params: dict[str, object] | None,
        headers: dict[str, str] | None,
        auth: tuple[str, str] | None,
        timeout: float,
    ) -> tuple[int, str, Mapping[str, str]]:
        resp = self.session.get(
            url,
            params=params,  # type: ignore[arg-type]
            headers=headers,
            auth=auth,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
        try:
            raw = resp.raw
            data = read_capped(
                raw, self.max_response_bytes, raw.stream(_CHUNK, decode_content=True)
            )
        finally:
            resp.close()
        return int(resp.status_code), data.decode("utf-8", errors="replace"), resp.headers

    def _send_direct(
        self,
        url: str,
        params: dict[str, object] | None,
        headers: dict[str, str] | None,
        auth: tuple[str, str] | None,
        timeout: float,
        origin: tuple[str, str, int] | None = None,
    ) -> tuple[int, str, Mapping[str, str]]:
        assert self._direct is not None
        parts = urlsplit(url)
        origin = origin or _origin_of(url)
        assert origin is not None  # _check_origin let it through
        query = parts.query
        if params:
            extra = urlencode(params, doseq=True)
            query = f"{query}&{extra}" if query else extra
        target = f"{parts.path or '/'}?{query}" if query else parts.path or "/"
        if not _PLAIN_TARGET.fullmatch(target):
            # A next-page link with spaces or non-ASCII: percent-encoded as urllib3 does.
            target = urllib3.util.parse_url(target).request_uri
        all_headers = dict(headers or {})
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode("latin-1")).decode()
            all_headers["Authorization"] = f"Basic {token}"
        status, data, resp_headers = self._direct.get(
            origin, target, all_headers, timeout, self.max_response_bytes
        )
        return status, data.decode("utf-8", errors="replace"), resp_headers  # type: ignore[return-value]

    def _interruptible_sleep(self, delay: float) -> None:
        self.cancel.wait(delay)

    def _slots_for(
        self, url: str, auth: tuple[str, str] | None
    ) -> list[threading.BoundedSemaphore]:
        """In-flight semaphores to hold: the authenticating account's and the target's.

        Twilio counts concurrent requests per account; a parent reading a
        subaccount's v2010 resources may count against either, so both are held
        (always the authenticating account first: no cycle, no deadlock).
        """
        if self.per_account_limit <= 0:
            return []
        keys = [auth[0] if auth else ""]
        target = _TARGET_ACCOUNT.search(urlsplit(url).path)
        if target and target.group(1) not in keys:
            keys.append(target.group(1))
        with self._lock:
            for key in keys:
                if key not in self._slots:
                    self._slots[key] = threading.BoundedSemaphore(self.per_account_limit)
            return [self._slots[key] for key in keys]

    def _count(self, what: str, detail: str = "") -> None:
        with self._lock:
            if what == "request":
                self.stats.requests += 1
            elif what == "retry":
                self.stats.retries += 1
            elif what == "error":
                self.stats.errors += 1
        if self._on_event:
            self._on_event(what, detail)

    def request(
        self,
        method: str,
        url: str,
        params: dict[str, object] | None = None,
        data: dict[str, object] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,
        allow_redirects: bool = False,  # ignored: a redirect is never followed
    ) -> Response:
        if method.upper() != "GET":
            log.warning("refused %s %s: the auditor is read-only", method.upper(), redact_url(url))
            raise MethodRefusedError(
                f"refused {method.upper()} {redact_url(url)}: twilio-audit only sends GET requests"
            )
        target = rewrite_url(url, self.api_url)
        origin = self._check_origin(target)
        started = time.monotonic()
        attempt = 0
        slots = self._slots_for(url, auth)
        while True:
            if self.cancel.is_set():
                raise CancelledError("cancelled")
            attempt += 1
            self._count("request", target)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("GET %s params=%s", redact_url(target), params)
            for slot in slots:
                slot.acquire()
            try:
                status, text, resp_headers = self._send(
                    target, params, headers, auth, timeout or self.timeout, origin
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure: Exception | None = exc
            else:
                failure = None
            finally:
                for slot in reversed(slots):
                    slot.release()
            if failure is not None:
                if not self._may_retry(attempt, started):
                    self._count("error", f"{type(failure).__name__} {redact_url(target)}")
                    raise failure
                self._backoff(attempt, None, type(failure).__name__)
                continue
            if status in RETRY_STATUSES and self._may_retry(attempt, started):
                self._backoff(attempt, resp_headers.get("Retry-After"), str(status))
                continue
            if status >= 400:
                self._count("error", f"{status} {redact_url(target)}")
            return Response(status, text, resp_headers)

    def _may_retry(self, attempt: int, started: float) -> bool:
        return (
            attempt < self.retry.max_attempts and time.monotonic() - started < self.retry.max_total
        )

    def _backoff(self, attempt: int, retry_after: str | None, why: str) -> None:
        delay = random.uniform(0, min(self.retry.max_delay, self.retry.base_delay * 2**attempt))
        if retry_after and retry_after.isdigit():
            delay = max(delay, min(float(retry_after), self.retry.max_delay))
        self._count("retry", why)
        log.debug("retry %d after %s in %.2fs", attempt, why, delay)
        self._sleep(delay)
