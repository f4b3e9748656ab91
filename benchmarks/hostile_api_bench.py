"""Hostile API benchmark: the collector's peak memory and time when pages are huge or drip.

    python benchmarks/hostile_api_bench.py [--mb 50] [--subaccounts 20]

The emulator serves `generate_hierarchy(subaccounts, 5)`; the tampering proxy of
the network tests (tests/loopback.py) sits in front of it, as an intercepting
proxy or a hostile `--api-url` would, and answers two subaccounts' phone-number
lists with `--mb` MB each (one with Content-Length, one chunked), or drips one
byte every 0.5 s into one answer. The collector runs in its own process, so its
peak RSS (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from loopback import TamperHandler, TamperProxy

from auditor.emulator import EmulatorServer, generate_hierarchy

CHILD = """
import json, sys
from auditor.collect import CollectConfig, collect
from auditor.collect.credentials import Credentials
sid, token, url = sys.argv[1:4]
snapshot = collect(CollectConfig(credentials=Credentials(sid, token), api_url=url))
errors = sorted({v for cov in snapshot.coverage.values() for v in cov.values() if v != "ok"})
print(json.dumps({"numbers": len(snapshot.phone_numbers), "errors": errors}))
"""


def run(scenario: dict, mb: int, mode: str) -> dict:
    parent = scenario["accounts"][0]
    subs = [a["sid"] for a in scenario["accounts"][1:3]]
    declared = {subs[0]: True, subs[1]: False}
    dripped: list[str] = []

    def tamper(handler: TamperHandler, path: str) -> bool:
        if mode == "huge":
            for sid, declare in declared.items():
                if path.startswith(f"/api/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json"):
                    handler.huge(mb * 1024**2, declare)
                    return True
        if mode == "drip" and "IncomingPhoneNumbers" in path and not dripped:
            dripped.append(path)
            handler.drip(400, 0.5, length=1_000_000)
            return True
        return False

    with EmulatorServer(scenario) as server:
        proxy = TamperProxy(server.url, tamper)
        try:
            started = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "-c", CHILD, parent["sid"], parent["auth_token"], proxy.url],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            assert proc.stdout is not None
            out = proc.stdout.read()
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.monotonic() - started
        finally:
            proxy.close()
    result = json.loads(out) if out.strip() else {"numbers": None, "errors": [f"exit {status}"]}
    return {
        "mode": mode,
        "seconds": round(seconds, 2),
        "peak_rss_mb": usage.ru_maxrss // 1024,
        **result,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--subaccounts", type=int, default=20)
    parser.add_argument("--modes", default="plain,huge,drip")
    args = parser.parse_args()
    scenario = generate_hierarchy(args.subaccounts, 5)
    for mode in args.modes.split(","):
        print(json.dumps(run(scenario, args.mb, mode)))


if __name__ == "__main__":
    main()
