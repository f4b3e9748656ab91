"""The demo file (`scenarios/demo.toml`) expanded into the emulator's scenario format.

The file tells the story (accounts, numbers, flows, Functions, alerts, web apps and the
findings each must produce); this module generates what is mechanical, as the file's header
describes: SIDs and tokens hashed from labels (so the scenario is the same on every
machine), number blocks, dates relative to the clock, Studio widgets, Function builds,
alert texts, Flex SIDs. It knows no name of the story: every one comes from the file.

A mistake in the file is a bug of this package, not bad input: it raises DemoFileError (a
ValueError, exit 4) naming the place.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import urlencode

Scenario = dict[str, Any]
Finding = tuple[str, str, str, str]  # (rule, account_sid, caller_id, source kind)

DEMO_FILE = "demo.toml"
_SALT = "northwind-demo"  # changing it changes every SID and token of the demo
_NAME = re.compile(r"\$(\$|[A-Z][A-Z0-9_]*)")


class DemoFileError(ValueError):
    """The demo file is inconsistent (a bug of the package, not of the user's input)."""


def hex_of(label: str, n: int = 32) -> str:
    """`n` hex digits derived from `label`: the demo's tokens, secrets and SIDs."""
    return hashlib.sha256(f"{_SALT}:{label}".encode()).hexdigest()[:n]


def sid(prefix: str, label: str) -> str:
    """A deterministic Twilio-style SID: prefix + 32 hex characters."""
    return prefix + hex_of(f"{prefix}:{label}")


def token_of(label: str) -> str:
    """An account's (US1) auth token, from its label."""
    return hex_of(f"token:{label}")


def iso(t: datetime) -> str:
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def flow_url(account: str, flow_sid: str) -> str:
    return f"https://webhooks.twilio.com/v1/Accounts/{account}/Flows/{flow_sid}"


def function_url(unique_name: str, digits: str, path: str) -> str:
    return f"https://{unique_name}-{digits}.twil.io{path}"


@dataclass(frozen=True)
class DemoAccount:
    """What code needs of an account: its names and its block of numbers."""

    id: str  # the name of its SID in code and in `$…` texts ("CALL_CENTRE")
    label: str  # what its SID and token derive from
    sid: str
    name: str
    area_code: str
    block: int  # lines 0 … block-1 of +1 <area_code> 555 01xx are its numbers

    def number(self, line: int) -> str:
        """The number `+1 NPA 555 01xx` of the account's area code (line 0…99)."""
        if not 0 <= line <= 99:
            raise DemoFileError(f"demo file: {self.id} line {line}: use a line 0…99")
        return f"+1{self.area_code}55501{line:02d}"


def _keys(item: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(item) - set(allowed))
    if unknown:
        raise DemoFileError(f"demo file: {where} has unknown key {unknown[0]!r}")


def _visible(item: Mapping[str, Any], baseline: bool, where: str) -> bool:
    """`when = "baseline"`: only in the baseline; `"today"`: only today; absent: both."""
    when = item.get("when")
    if when not in (None, "baseline", "today"):
        raise DemoFileError(f'demo file: {where} when = {when!r}: use "baseline" or "today"')
    return when is None or (when == "baseline") == baseline


def _lines(entry: Mapping[str, Any], where: str) -> list[int]:
    """An entry's `line`, `lines = [..]` or `lines = "a..b"` (inclusive)."""
    if "line" in entry:
        return [entry["line"]]
    lines = entry.get("lines", [])
    if isinstance(lines, str):
        first, sep, last = lines.partition("..")
        if not (sep and first.isdigit() and last.isdigit()):
            raise DemoFileError(f'demo file: {where} lines = {lines!r}: write "60..69"')
        return list(range(int(first), int(last) + 1))
    return list(lines)


def _text(value: str | list[str]) -> str:
    """A text given whole or as a list of pieces (so that comments can sit between them)."""
    return value if isinstance(value, str) else "".join(value)


# Studio widgets in the shape Studio exports them, from the file's short forms.


def _trigger(first: str) -> dict[str, Any]:
    return {
        "name": "Trigger",
        "type": "trigger",
        "transitions": [
            {"event": "incomingMessage"},
            {"event": "incomingCall", "next": first},
            {"event": "incomingConversationMessage"},
            {"event": "incomingRequest"},
            {"event": "incomingParent"},
        ],
        "properties": {"offset": {"x": 0, "y": 0}},
    }


def _say(w: Mapping[str, Any], account: DemoAccount) -> dict[str, Any]:
    nxt = w.get("next")
    return {
        "name": w["say"],
        "type": "say-play",
        "transitions": [{"event": "audioComplete", **({"next": nxt} if nxt else {})}],
        "properties": {
            "offset": {"x": 0, "y": 200},
            "say": w["text"],
            "voice": "Polly.Joanna",
            "loop": 1,
            "language": "en-US",
        },
    }


def _connect(w: Mapping[str, Any], account: DemoAccount) -> dict[str, Any]:
    return {
        "name": w["connect"],
        "type": "connect-call-to",
        "transitions": [{"event": "callCompleted"}, {"event": "hangup"}],
        "properties": {
            "offset": {"x": 200, "y": 400},
            "caller_id": w["caller_id"],
            "noun": w.get("noun", "number"),
            "to": w["to"],
            "timeout": 30,
            "record": False,
        },
    }


def _outgoing(w: Mapping[str, Any], account: DemoAccount) -> dict[str, Any]:
    return {
        "name": w["outgoing"],
        "type": "make-outgoing-call-v2",
        "transitions": [
            {"event": "answered"},
            {"event": "busy"},
            {"event": "noAnswer"},
            {"event": "failed"},
        ],
        "properties": {
            "offset": {"x": 400, "y": 200},
            "from": w["from"],
            "to": w.get("to", "{{flow.data.patient_phone}}"),
            "machine_detection": "Enable",
            "detect_answering_machine": True,
            "timeout": 60,
            "record": False,
            "trim": "true",
        },
    }


def _send_to_flex(w: Mapping[str, Any], account: DemoAccount) -> dict[str, Any]:
    """To the account's Flex workflow (the one its Flex Configuration names)."""
    return {
        "name": w["send_to_flex"],
        "type": "send-to-flex",
        "transitions": [{"event": "callComplete"}, {"event": "failedToEnqueue"}],
        "properties": {
            "offset": {"x": 0, "y": 400},
            "workflow": sid("WW", f"{account.label}:assign-to-anyone"),
            "channel": sid("TC", f"{account.label}:voice"),
        },
    }


_WIDGETS: dict[str, tuple[Callable[[Mapping[str, Any], DemoAccount], dict[str, Any]], set[str]]] = {
    "say": (_say, {"say", "text", "next"}),
    "connect": (_connect, {"connect", "caller_id", "to", "noun"}),
    "outgoing": (_outgoing, {"outgoing", "from", "to"}),
    "send_to_flex": (_send_to_flex, {"send_to_flex"}),
}


def _js(body: str) -> str:
    """A Function handler around `body` (TwiML response built with the helper library)."""
    return (
        "exports.handler = function (context, event, callback) {\n"
        "  const twiml = new Twilio.twiml.VoiceResponse();\n"
        f"{body}"
        "  return callback(null, twiml);\n"
        "};\n"
    )


# The keys each kind of entry may have (a typo in the file is named, not ignored).
# fmt: off
_ACCOUNT_KEYS = frozenset({
    "id", "label", "name", "status", "status_in_baseline", "created", "area_code", "block",
    "geo", "flex", "verified", "apps", "sip_domains", "numbers", "flow", "service", "alert",
    "regions", "expected",
})
_NUMBER_KEYS = frozenset({
    "line", "lines", "rest", "phone", "name", "flow", "voice_url", "app", "trunk", "voice",
    "mms", "when",
})
_ALERT_KEYS = frozenset({
    "label", "error_code", "days_ago", "hours_ago", "from", "caller_id", "to", "request_url",
    "response_body",
})
# fmt: on


class DemoFile:
    """The demo file, its `$NAME`s resolved; `scenario()` builds the hierarchy at a clock."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        raw_accounts = data["account"]
        self.accounts: dict[str, DemoAccount] = {}
        for raw in raw_accounts:
            _keys(raw, _ACCOUNT_KEYS, f"account {raw.get('id')!r}")
            self.accounts[raw["id"]] = DemoAccount(
                id=raw["id"],
                label=raw["label"],
                sid=sid("AC", raw["label"]),
                name=raw["name"],
                area_code=raw["area_code"],
                block=raw["block"],
            )
        self.names: dict[str, str] = {}
        for account in self.accounts.values():
            self._name(account.id, account.sid)
        self.numbers = {k: self._name(k, self._value(v)) for k, v in data["numbers"].items()}
        self.secrets = {k: self._name(k, self._value(v)) for k, v in data["secrets"].items()}
        self.urls = {w["name"]: self._name(w["name"], w["url"]) for w in data["web_app"]}
        # Everything else, with every `$NAME` and generated value in place.
        expanded = self._expand({k: v for k, v in data.items() if k not in ("numbers", "secrets")})
        self.now: datetime = expanded["now"]
        self.title: str = expanded["name"]
        self.baseline_weeks_earlier: int = expanded["baseline_weeks_earlier"]
        self.web_apps = {w["url"]: _text(w["twiml"]) for w in expanded["web_app"]}
        self.files: dict[str, str] = expanded["files"]
        self._geo_countries: list[dict[str, Any]] = expanded["geo_country"]
        self._raw = expanded["account"]
        self.api_keys = [
            {
                "sid": sid("SK", k["label"]),
                "secret": hex_of(f"api-secret:{k['label']}"),
                "account_sid": self.accounts[k["account"]].sid,
            }
            for k in expanded["api_key"]
        ]
        self.expected = self._expected()
        self.abroad = tuple(
            e["phone"]
            for raw in self._raw
            for e in raw.get("numbers", [])
            if "phone" in e and _visible(e, False, raw["id"])
        )
        for raw in self._raw:  # every reference checked now, not when a clock is given
            self._account(raw, self.now, baseline=False)
            self._account(raw, self.now, baseline=True)

    # ------------------------------------------------------------------ names and values

    def _name(self, name: str, value: str) -> str:
        if name in self.names:
            raise DemoFileError(f"demo file: the name {name} is given twice")
        self.names[name] = value
        return value

    def _sub(self, text: str) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "$":
                return "$"
            if name not in self.names:
                raise DemoFileError(
                    f"demo file: ${name} names nothing (not a number, secret, web app or "
                    "account of the file)"
                )
            return self.names[name]

        return _NAME.sub(one, text)

    def _value(self, value: Any) -> Any:
        """A number `{of, line}`, a secret `{secret, digits, prefix}`, or a text with `$NAME`s."""
        if isinstance(value, dict) and set(value) == {"of", "line"}:
            if value["of"] not in self.accounts:
                raise DemoFileError(f"demo file: {value} names no account")
            return self.accounts[value["of"]].number(value["line"])
        if isinstance(value, dict) and "secret" in value:
            _keys(value, ("secret", "digits", "prefix"), f"secret {value['secret']!r}")
            return value.get("prefix", "") + hex_of(value["secret"], value.get("digits", 32))
        if isinstance(value, str):
            return self._sub(value)
        return value

    def _expand(self, value: Any) -> Any:
        value = self._value(value)
        if isinstance(value, dict):
            return {k: self._expand(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._expand(v) for v in value]
        return value

    def _expected(self) -> frozenset[Finding]:
        found: list[Finding] = []
        for raw in self._raw:
            account = self.accounts[raw["id"]]
            expected = raw.get("expected", {})
            _keys(expected, ("findings",), f"{account.id} expected")
            for rule, caller_id, source in expected.get("findings", []):
                found.append((rule, account.sid, caller_id, source))
        if len(set(found)) != len(found):
            twice = next(f for f in found if found.count(f) > 1)
            raise DemoFileError(f"demo file: expected finding {twice} is listed twice")
        return frozenset(found)

    # ------------------------------------------------------------------ the scenario

    def scenario(self, now: datetime, *, baseline: bool) -> Scenario:
        """The hierarchy at `now`: today's, or (baseline) as it was before the failures."""
        return {
            "name": self.title + (" (baseline)" if baseline else ""),
            "now": iso(now),
            "accounts": [self._account(raw, now, baseline) for raw in self._raw],
            "api_keys": [dict(k) for k in self.api_keys],
        }

    def _account(self, raw: Mapping[str, Any], now: datetime, baseline: bool) -> dict[str, Any]:
        account = self.accounts[raw["id"]]
        parent = next(iter(self.accounts.values()))
        status = raw.get("status", "active")
        if baseline:
            status = raw.get("status_in_baseline", status)
        flows = [self._flow(account, f) for f in raw.get("flow", [])]
        apps = {a["label"]: self._app(account, a) for a in raw.get("apps", [])}
        data: dict[str, Any] = {
            "sid": account.sid,
            "friendly_name": account.name,
            "status": status,
            "owner_account_sid": None if account is parent else parent.sid,
            "auth_token": token_of(account.label),
            "date_created": iso(raw["created"]),
            "incoming_phone_numbers": self._numbers(account, raw, baseline, flows, apps),
            "outgoing_caller_ids": [
                {
                    "sid": sid("PN", f"verified:{account.sid}:{v['number']}"),
                    "phone_number": v["number"],
                    "friendly_name": v["name"],
                }
                for v in raw.get("verified", [])
            ],
            "applications": list(apps.values()),
            "sip_domains": [
                {
                    "sid": sid("SD", d["label"]),
                    "domain_name": d["domain_name"],
                    "friendly_name": d["name"],
                    "voice_url": d["voice_url"],
                    "voice_method": "POST",
                }
                for d in raw.get("sip_domains", [])
            ],
            "flows": flows,
            "services": [self._service(account, s) for s in raw.get("service", [])],
            # Before the failures started (the baseline): no alerts yet.
            "alerts": [] if baseline else self._alerts(account, raw.get("alert", []), now),
        }
        if "geo" in raw:
            data["dialing_permissions"] = self._geo(raw["geo"], account)
        data["flex_configuration"] = self._flex(account, raw["flex"]) if "flex" in raw else None
        regions = {
            region: self._region(account, block, flows, apps)
            for region, block in raw.get("regions", {}).items()
            if _visible(block, baseline, f"{account.id} regions.{region}")
        }
        if regions:
            data["regions"] = regions
        return data

    def _numbers(
        self,
        account: DemoAccount,
        raw: Mapping[str, Any],
        baseline: bool,
        flows: list[dict[str, Any]],
        apps: Mapping[str, dict[str, Any]],
    ) -> list[dict[str, Any]]:
        entries = raw.get("numbers", [])
        named: set[int] = set()
        for i, entry in enumerate(entries):
            where = f"{account.id} numbers[{i}]"
            _keys(entry, _NUMBER_KEYS, where)
            released = entry.get("when") == "baseline"
            for line in _lines(entry, where):
                if line in named:
                    raise DemoFileError(f"demo file: {where}: line {line} is listed twice")
                if (line < account.block) == released:
                    raise DemoFileError(
                        f"demo file: {where}: line {line} is "
                        + ("inside" if released else "outside")
                        + f" the block of {account.block} (numbers released since the "
                        "baseline are outside it, today's inside)"
                    )
                named.add(line)
        rest = [line for line in range(account.block) if line not in named]
        out = []
        for i, entry in enumerate(entries):
            where = f"{account.id} numbers[{i}]"
            if not _visible(entry, baseline, where):
                continue
            if "phone" in entry:
                if "mms" not in entry:
                    raise DemoFileError(f"demo file: {where}: a number abroad needs mms")
                out.append(self._number(account, entry, None, entry["name"], flows, apps))
                continue
            if "rest" in entry:  # every line of the block no other entry names
                lines, name = rest, entry["rest"]
            else:
                lines, name = _lines(entry, where), entry["name"]
            out += [
                self._number(account, entry, line, name.format(line=line), flows, apps)
                for line in lines
            ]
        return out

    def _route(
        self,
        account: DemoAccount,
        entry: Mapping[str, Any],
        flows: list[dict[str, Any]],
    ) -> str | None:
        """A number's voice URL: its flow's webhook, or the URL given."""
        if "flow" not in entry:
            return entry.get("voice_url")
        flow_sid = sid("FW", f"{account.sid}:{entry['flow']}")
        if not any(f["sid"] == flow_sid for f in flows):
            raise DemoFileError(f"demo file: {account.id} has no flow {entry['flow']!r}")
        return flow_url(account.sid, flow_sid)

    def _number(
        self,
        account: DemoAccount,
        entry: Mapping[str, Any],
        line: int | None,
        name: str,
        flows: list[dict[str, Any]],
        apps: Mapping[str, dict[str, Any]],
    ) -> dict[str, Any]:
        phone = entry["phone"] if line is None else account.number(line)
        voice = entry.get("voice", True)
        voice_url = self._route(account, entry, flows)
        app = None
        if "app" in entry:
            if entry["app"] not in apps:
                raise DemoFileError(f"demo file: {account.id} has no app {entry['app']!r}")
            app = apps[entry["app"]]["sid"]
        return {
            "sid": sid("PN", phone),
            "phone_number": phone,
            "friendly_name": name,
            "voice_url": voice_url if voice else None,
            "voice_method": "POST" if voice_url and voice else None,
            "voice_application_sid": app,
            "trunk_sid": sid("TK", entry["trunk"]) if "trunk" in entry else None,
            "capabilities": {
                "voice": voice,
                "sms": True,
                "mms": entry["mms"] if "mms" in entry else line is not None and line % 3 == 0,
                "fax": False,
            },
            "status": "in-use",
        }

    @staticmethod
    def _app(account: DemoAccount, app: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "sid": sid("AP", f"{account.sid}:{app['label']}"),
            "friendly_name": app["name"],
            "voice_url": app["voice_url"],
            "voice_method": "POST",
        }

    @staticmethod
    def _flow(account: DemoAccount, flow: Mapping[str, Any]) -> dict[str, Any]:
        _keys(flow, ("label", "name", "revision", "states"), f"{account.id} flow")
        states = []
        for widget in flow["states"]:
            kind = next((k for k in _WIDGETS if k in widget), None)
            if kind is None:
                raise DemoFileError(
                    f"demo file: {account.id} flow {flow['label']!r}: a widget needs one of "
                    + ", ".join(_WIDGETS)
                )
            build, allowed = _WIDGETS[kind]
            _keys(widget, allowed, f"{account.id} flow {flow['label']!r} {kind} widget")
            states.append(build(widget, account))
        name = flow["name"]
        return {
            "sid": sid("FW", f"{account.sid}:{flow['label']}"),
            "friendly_name": name,
            "status": "published",
            "revision": flow["revision"],
            "definition": {
                "description": name,
                "states": [_trigger(states[0]["name"] if states else ""), *states],
                "initial_state": "Trigger",
                "flags": {"allow_concurrent_calls": True},
            },
        }

    @staticmethod
    def _service(account: DemoAccount, svc: Mapping[str, Any]) -> dict[str, Any]:
        """A Serverless service with one production environment running the latest build.

        Versions before a function's `deployed` one sit in an older build; versions written
        after the last deploy are in no build at all: neither is what Twilio runs.
        """
        _keys(svc, ("name", "digits", "function", "variables"), f"{account.id} service")
        unique_name, digits = svc["name"], svc["digits"]
        key = f"{account.sid}:{unique_name}"
        fns: list[dict[str, Any]] = []
        deployed: list[str] = []
        older: list[str] = []
        for fn in svc.get("function", []):
            path = fn["path"]
            _keys(fn, ("path", "versions", "source", "deployed"), f"{unique_name} {path}")
            contents = [_js(body) for body in fn.get("versions", [])] + fn.get("source", [])
            live = fn.get("deployed", 0)
            versions = []
            for i, content in enumerate(contents):
                vsid = sid("ZN", f"{key}:{path}:{i}")
                versions.append(
                    {"sid": vsid, "path": path, "visibility": "public", "content": content}
                )
                if i == live:
                    deployed.append(vsid)
                elif i < live:
                    older.append(vsid)
            fns.append(
                {
                    "sid": sid("ZH", f"{key}:{path}"),
                    "friendly_name": path.strip("/"),
                    "versions": versions,
                }
            )
        builds = []
        if older:
            builds.append(
                {"sid": sid("ZB", f"{key}:old"), "status": "completed", "function_versions": older}
            )
        live_build = sid("ZB", f"{key}:live")
        builds.append({"sid": live_build, "status": "completed", "function_versions": deployed})
        return {
            "sid": sid("ZS", key),
            "unique_name": unique_name,
            "friendly_name": unique_name.replace("-", " ").title(),
            "functions": fns,
            "builds": builds,
            "environments": [
                {
                    "sid": sid("ZE", f"{key}:production"),
                    "unique_name": "production",
                    "domain_suffix": None,
                    "domain_name": f"{unique_name}-{digits}.twil.io",
                    "build_sid": live_build,
                    "variables": [
                        {"sid": sid("ZV", f"{key}:{k}"), "key": k, "value": v}
                        for k, v in svc.get("variables", {}).items()
                    ],
                }
            ],
        }

    @staticmethod
    def _alerts(
        account: DemoAccount, alerts: list[Mapping[str, Any]], now: datetime
    ) -> list[dict[str, Any]]:
        """Monitor alerts dated `days_ago`/`hours_ago` before `now`; a list of days (with
        `label` holding "{days}" and one `from` per day) gives one alert a day."""
        out = []
        for alert in alerts:
            _keys(alert, _ALERT_KEYS, f"{account.id} alert {alert.get('label')!r}")
            days = alert["days_ago"]
            if isinstance(days, list):
                if len(alert["from"]) != len(days):
                    raise DemoFileError(
                        f"demo file: {account.id} alert {alert['label']!r}: one from per day"
                    )
                each = [
                    (alert["label"].format(days=d), d, f)
                    for d, f in zip(days, alert["from"], strict=True)
                ]
            else:
                each = [(alert["label"], days, alert["from"])]
            for label, d, from_ in each:
                when = now - timedelta(days=d, hours=alert.get("hours_ago", 0))
                out.append(_alert(account.sid, label, when, alert, from_))
        return out

    def _geo(self, geo: Mapping[str, Any], account: DemoAccount) -> dict[str, Any]:
        """Voice Geo Permissions in Twilio's shape: low-risk ranges on for the countries
        `enabled` names, high-risk ranges off."""
        _keys(geo, ("inheritance", "enabled"), f"{account.id} geo")
        enabled = set(geo["enabled"])
        unknown = enabled - {c["iso_code"] for c in self._geo_countries}
        if unknown:
            raise DemoFileError(
                f"demo file: {account.id} geo enables {sorted(unknown)}: not a [[geo_country]]"
            )
        countries = [
            {
                "iso_code": c["iso_code"],
                "name": c["name"],
                "continent": c["continent"],
                "country_codes": list(c["country_codes"]),
                "low_risk_numbers_enabled": c["iso_code"] in enabled,
                "high_risk_special_numbers_enabled": False,
                "high_risk_tollfraud_numbers_enabled": False,
                "high_risk_special_prefixes": list(c["high_risk_special_prefixes"]),
            }
            for c in self._geo_countries
        ]
        inheritance = {"inheritance": geo["inheritance"]} if "inheritance" in geo else {}
        return {**inheritance, "countries": countries}

    @staticmethod
    def _flex(account: DemoAccount, flex: Mapping[str, Any]) -> dict[str, Any]:
        """A Flex Configuration whose agents' outbound calls present `caller_id`; any other
        key is a property of flex.v1.configuration, served as given."""
        label = account.label
        extra = copy.deepcopy({k: v for k, v in flex.items() if k != "caller_id"})
        return {
            "status": "ok",
            "flex_instance_sid": sid("GO", label),
            "taskrouter_workspace_sid": sid("WS", label),
            "outbound_call_flows": {
                "default": {
                    "caller_id": flex["caller_id"],
                    "queue_sid": sid("WQ", f"{label}:everyone"),
                    "workflow_sid": sid("WW", f"{label}:assign-to-anyone"),
                    "location": "US",
                }
            },
            **extra,
        }

    def _region(
        self,
        account: DemoAccount,
        block: Mapping[str, Any],
        flows: list[dict[str, Any]],
        apps: Mapping[str, dict[str, Any]],
    ) -> dict[str, Any]:
        """A `regions.<id>` block: its token, its voice configuration of the account's numbers
        (given by line), its services."""
        _keys(block, ("when", "auth_token", "numbers", "service"), f"{account.id} region")
        out: dict[str, Any] = {}
        if "auth_token" in block:
            out["auth_token"] = block["auth_token"]
        if "numbers" in block:
            out["incoming_phone_numbers"] = [
                {
                    "sid": sid("PN", account.number(n["line"])),
                    "voice_url": self._route(account, n, flows),
                    "voice_method": "POST",
                }
                for n in block["numbers"]
            ]
        if "service" in block:
            out["services"] = [self._service(account, s) for s in block["service"]]
        return out


def _alert(
    account: str, label: str, when: datetime, alert: Mapping[str, Any], from_: str
) -> dict[str, Any]:
    error_code = alert.get("error_code", "13214")
    call_sid = sid("CA", f"{account}:{label}")
    text = (
        {
            "Msg": "Dial: Invalid callerId value",
            "callerId": alert["caller_id"],
            "ErrorCode": "13214",
        }
        if error_code == "13214"
        else {"Msg": "HTTP retrieval failure", "url": alert["request_url"], "ErrorCode": error_code}
    )
    body = alert.get("response_body")
    return {
        "sid": sid("NO", f"{account}:{label}"),
        "error_code": error_code,
        "log_level": "error",
        "alert_text": urlencode(text),
        "date_created": iso(when),
        "request_url": alert["request_url"],
        "request_method": "POST",
        "resource_sid": call_sid,
        "service_sid": None,
        "request_variables": urlencode(
            {
                "AccountSid": account,
                "ApiVersion": "2010-04-01",
                "CallSid": call_sid,
                "CallStatus": "in-progress",
                "Called": alert["to"],
                "Direction": "inbound",
                "From": from_,
                "To": alert["to"],
            }
        ),
        "response_body": None if body is None else _text(body),
    }


def parse_demo_file(text: str) -> DemoFile:
    """A demo file from its TOML text (tests give broken ones)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DemoFileError(f"demo file: not valid TOML: {exc}") from None
    try:
        return DemoFile(data)
    except KeyError as exc:
        raise DemoFileError(f"demo file: missing key {exc}") from None


@functools.cache
def load_demo_file() -> DemoFile:
    """The demo file shipped with the package, read once."""
    text = resources.files("auditor.emulator").joinpath("scenarios", DEMO_FILE).read_text("utf-8")
    return parse_demo_file(text)
