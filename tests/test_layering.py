"""Data flows one way (API → snapshot → references → graph → findings → renderers):
a module never imports a higher layer than its own.

Every top-level module or package of `auditor` has a rank; a new one must be
given a rank here, which is the point: deciding where it sits.
"""

from __future__ import annotations

import ast
from pathlib import Path

import auditor

# Lower numbers are lower layers. Same rank: may import each other only within one package.
LAYERS: dict[str, int] = {
    "errors": 0,
    "model": 0,
    "codec": 0,
    "progress": 0,
    "urls": 0,  # customer URLs taken apart without raising
    "redact": 0,  # the one URL redaction (userinfo → ***), used wherever a URL is shown
    "data": 0,  # facts as data files (the destination caller-ID table); no code
    "files": 0,  # the one reader (regular files, size cap) and writer (atomic, umask)
    "gzstream": 0,  # gzip over byte chunks: deterministic out, inflated size capped in
    "text": 0,  # text hygiene (controls, bidi) for every renderer and printer; safe JSON
    "heap": 0,  # the cyclic GC over a run that keeps a big heap (pause, freeze)
    "crash": 1,  # crash reports for exit 4 (uses redact)
    "outbound": 1,  # the one outbound policy for URLs from customer data (probe, notifiers)
    "extract": 1,  # pure functions over model data; the collector uses them to filter
    "snapshot": 1,
    "tomlfile": 1,  # the one reader of user TOML files (--policy, --accept)
    "regions": 1,  # Twilio Regions as data: regions, edges, what each supports (cited)
    "policy": 2,
    "collect": 2,
    "emulator": 2,
    "graph": 2,
    "regional": 2,  # several regional snapshots → one analysis input (merged view)
    "lookup": 2,
    "guard": 3,
    "rules": 3,
    "findings": 4,
    "accept": 5,
    "analysis": 5,
    "diff": 6,
    "history": 6,
    "render": 7,
    "pipeline": 8,
    "watch": 8,
    "commands": 9,
    "cli": 10,
    "__main__": 11,
    "__init__": 0,  # auditor/__init__.py (the version)
}

PACKAGE = Path(auditor.__file__).parent


def _top(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "auditor":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _imports() -> list[tuple[str, str, str]]:
    """(file, importing top-level module, imported top-level module) for every import."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        own = rel.parts[0].removesuffix(".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
                if node.module == "auditor":
                    names = [f"auditor.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                target = _top(name)
                if target is not None and target != own:
                    found.append((str(rel), own, target))
    return found


def test_every_module_has_a_layer() -> None:
    modules = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in PACKAGE.glob("*")}
    modules -= {"__pycache__", "py.typed", "templates"}
    missing = sorted(m for m in modules if m not in LAYERS)
    assert not missing, f"give these a rank in LAYERS: {missing}"


def test_imports_run_downhill() -> None:
    uphill = [
        f"{file}: {own} (layer {LAYERS[own]}) imports {target} (layer {LAYERS[target]})"
        for file, own, target in _imports()
        if own in LAYERS
        and target in LAYERS
        and LAYERS[target] >= LAYERS[own]
        and not (own == "__main__" or target == "__init__")
    ]
    assert not uphill, "\n".join(uphill)


def test_the_check_can_fail() -> None:
    """The import walk sees real edges (an empty walk would pass anything)."""
    edges = {(own, target) for _, own, target in _imports()}
    assert ("pipeline", "render") in edges
    assert ("render", "diff") in edges


def test_url_host_never_raises_on_customer_urls() -> None:
    from auditor.urls import url_host

    assert url_host("http://[::1/voice") == "::1"
    assert url_host("https://u:p@Webhooks.Dublin.IE1.twilio.com:443/x") == (
        "webhooks.dublin.ie1.twilio.com"
    )
    assert url_host("http://u:p@127.0.0.1:99999/") == "127.0.0.1"
    assert url_host("not a url") == "" and url_host(None) == ""


# Stacks a CLI start must not load: `report`, `scan`, `rules` and --help never use them, and
# they cost most of a start (SQLAlchemy + Alembic ~0.5 s, the SDK + requests ~0.25 s).
# Each is imported where it is used: collect/audit/check/demo/watch, --history, weasyprint
# for the PDF.
HEAVY_AT_START = ("sqlalchemy", "alembic", "requests", "urllib3", "twilio.rest", "weasyprint")


def _loaded_after(statement: str) -> list[str]:
    import subprocess
    import sys

    code = (
        f"import sys; {statement}; "
        f"print(' '.join(m for m in {HEAVY_AT_START!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.split()


def test_cli_start_loads_no_collector_database_or_pdf_stack() -> None:
    assert _loaded_after("import auditor.cli") == []


def test_the_start_up_check_sees_a_heavy_import() -> None:
    """The subprocess check can fail: the collector and the history store do load them."""
    loaded = _loaded_after("import auditor.cli, auditor.collect.walker, auditor.history.store")
    assert {"sqlalchemy", "alembic", "requests", "urllib3", "twilio.rest"} <= set(loaded)
