"""The collector's last phase: Twilio's high-risk special prefixes of the countries dialed.

`GET voice.twilio.com/v1/DialingPermissions/Countries/{IsoCode}/HighRiskSpecialPrefixes`
lists the number ranges Twilio's Geo Permissions count as high-risk special services in
one country. Reading it for every country would add some 250 requests per audit; only
the countries the hierarchy's fixed destinations dial matter.

Which countries those are is known only after extraction: a destination is written in a
Studio flow, a Function, a TwiML answer of a probed webhook or an alert's TwiML, all
read by the walk. So this phase runs after the walk and the probe: it extracts the
references of the snapshot just collected (the same pure extraction the analysis runs
later, `auditor.extract`), adds the references found before the collection (`--code`
trees, `CollectConfig.known_references`), maps each fixed destination to the Geo
Permissions entry that governs it (a Canadian number: `US`, "United States/Canada"),
and reads each such country's list once. The prefixes describe the country, not an
account's settings, so one read serves every account; it is made with the credentials
of the first account (the parent first) whose Countries list holds the country.

Coverage `geo_prefixes`, per account whose Geo Permissions were read: ok when the
lists of every country its destinations need were read (or it needs none), an error
naming the countries that could not be read (their numbers are then judged by type).
Everywhere else: skipped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from twilio.rest import Client

from auditor.collect import records
from auditor.collect.pool import TaskPool
from auditor.extract import references_from_snapshot
from auditor.extract.destinations import entry_country
from auditor.model import (
    CallerIdReference,
    DialingPermissionCountry,
    HighRiskSpecialPrefixes,
    Snapshot,
)

PREFIX_SOURCE = "geo_prefixes"
GEO_SOURCE = "geo_permissions"  # the walker's source for the Countries list and Settings
PAGE_SIZE = 1000

Pages = Callable[[Callable[[], Any]], Iterator[Any]]
Describe = Callable[[BaseException], str]


def needed_countries(
    snapshot: Snapshot, known: Sequence[CallerIdReference] = ()
) -> dict[str, set[str]]:
    """Account SID → the Geo Permissions countries (ISO) its fixed destinations fall under."""
    refs, _ = references_from_snapshot(snapshot)
    lists = {
        p.account_sid: p.countries
        for p in snapshot.dialing_permissions
        if p.countries_read and p.countries
    }
    any_list: list[DialingPermissionCountry] = next(iter(lists.values()), [])
    need: dict[str, set[str]] = {}
    for ref in [*refs, *known]:
        account = ref.executing_account_sid
        if not ref.destination or not account:
            continue
        countries = lists.get(account) or any_list  # every list names every country
        iso = entry_country(countries, ref.destination, ref.destination_country)
        if iso:
            need.setdefault(account, set()).add(iso)
    return need


def _asker(snapshot: Snapshot, clients: Mapping[str, Client | None], iso: str) -> Client | None:
    """The client of the first account (parent first) whose Countries list holds `iso`."""
    for perms in snapshot.dialing_permissions:  # in account order, the parent first
        client = clients.get(perms.account_sid)
        if client is not None and any(c.iso_code == iso for c in perms.countries):
            return client
    return None


def read_prefixes(
    snapshot: Snapshot,
    clients: Mapping[str, Client | None],
    *,
    read_pages: Pages,
    describe_error: Describe,
    concurrency: int,
    cancel: threading.Event,
    known: Sequence[CallerIdReference] = (),
) -> None:
    """Read the prefixes each needed country has, into the snapshot, with coverage."""
    need = needed_countries(snapshot, known)
    countries = sorted({iso for isos in need.values() for iso in isos})
    found: dict[str, HighRiskSpecialPrefixes] = {}
    failed: dict[str, str] = {}
    lock = threading.Lock()

    def read(iso: str, client: Client) -> None:
        try:
            resource = client.voice.v1.dialing_permissions.countries(iso)
            prefixes = resource.highrisk_special_prefixes
            got = [
                str(value)
                for rec in read_pages(lambda: prefixes.page(page_size=PAGE_SIZE))
                if (value := records.Fields(rec, "high-risk prefix", None).maybe("prefix"))
            ]
        except Exception as exc:  # one country is its own failure domain
            with lock:
                failed[iso] = describe_error(exc).removeprefix("error: ")
            return
        with lock:
            found[iso] = HighRiskSpecialPrefixes(iso_code=iso, prefixes=got)

    asked = [(iso, _asker(snapshot, clients, iso)) for iso in countries]
    targets = [(iso, client) for iso, client in asked if client is not None]
    if targets:
        pool = TaskPool(max(1, min(concurrency, len(targets))), cancel)
        for iso, client in targets:
            pool.submit(read, iso, client)
        pool.wait()
        pool.close()
    snapshot.high_risk_special_prefixes = [found[iso] for iso in countries if iso in found]
    _coverage(snapshot, need, failed)
    if failed:
        listed = "; ".join(f"{iso}: {why}" for iso, why in sorted(failed.items()))
        snapshot.notes.append(
            f"Twilio's high-risk special prefixes could not be read for {len(failed)} "
            f"country(ies) ({listed}): numbers there are judged by their type instead."
        )


def _coverage(snapshot: Snapshot, need: dict[str, set[str]], failed: dict[str, str]) -> None:
    for account in snapshot.accounts:
        cov = snapshot.coverage.setdefault(account.sid, {})
        if cov.get(GEO_SOURCE) != "ok":
            cov[PREFIX_SOURCE] = "skipped"  # no Geo Permissions to judge by
            continue
        missing = sorted(iso for iso in need.get(account.sid, set()) if iso in failed)
        if missing:
            cov[PREFIX_SOURCE] = (
                f"error: high-risk special prefixes of {', '.join(missing)} not read "
                f"({failed[missing[0]]}); judged by number type"
            )
        else:
            cov[PREFIX_SOURCE] = "ok"


def skip_prefixes(snapshot: Snapshot) -> None:
    """No prefix phase (Geo Permissions not collected): every account says so."""
    for account in snapshot.accounts:
        snapshot.coverage.setdefault(account.sid, {})[PREFIX_SOURCE] = "skipped"
