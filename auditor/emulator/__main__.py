"""`python -m auditor.emulator --scenario FILE --port N`: serve a scenario until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from auditor.emulator.server import EmulatorServer
from auditor.errors import AuditorError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m auditor.emulator",
        description="Serve a Twilio hierarchy scenario on loopback (pass the URL as --api-url).",
    )
    parser.add_argument("--scenario", required=True, help="scenario JSON file")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # stop as cleanly on SIGTERM as on Ctrl-C
    server = None
    try:
        server = EmulatorServer.from_file(args.scenario, args.host, args.port).start()
        print(server.url, flush=True)
        accounts = len(server.index.accounts)
        print(f"serving {accounts} accounts from {args.scenario}; Ctrl-C stops", file=sys.stderr)
        threading.Event().wait()
    except AuditorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
