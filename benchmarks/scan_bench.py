"""Benchmark `scan_paths`: a generated source tree of 10,000 files in every language.

Run: python benchmarks/scan_bench.py [--files 10000] [--keep DIR]
Prints files scanned, references found and wall time; the goal is a few seconds.
About 1 file in 10 sets a caller ID; the rest are ordinary code of similar size,
plus a node_modules tree that must be skipped.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from auditor.extract.code import scan_paths

FILLER = {
    ".py": "def handler_{i}(request):\n    value = request.args.get('q', '')  # lookup\n"
    "    return {{'from': value, 'n': {i}}}\n",
    ".js": "function handler{i}(req, res) {{\n  const from = req.query.from || '';\n"
    "  res.json({{ from, n: {i} }});\n}}\n",
    ".ts": "export const h{i} = (x: string): string => `${{x}}-{i}`; // import from here\n",
    ".php": "<?php\nfunction h{i}($x) {{ return $x . '{i}'; }} // from\n",
    ".rb": "def h{i}(x)\n  x.to_s + '{i}' # from\nend\n",
    ".cs": 'public class H{i} {{ public string From {{ get; set; }} = "{i}"; }}\n',
    ".java": 'public class H{i} {{ String from = "{i}"; }}\n',
    ".xml": '<config><item id="{i}">value</item></config>\n',
}
HITS = {
    ".py": "response.dial('+15557770000', caller_id='+1555123{n:04d}')\n",
    ".js": "twiml.dial({{ callerId: '+1555123{n:04d}' }}).number('+15557770000');\n",
    ".ts": "await client.calls.create({{ to, from: '+1555123{n:04d}', url }});\n",
    ".php": "$response->dial('', ['callerId' => '+1555123{n:04d}']);\n",
    ".rb": "r.dial(caller_id: '+1555123{n:04d}') {{ |d| d.number('+15557770000') }}\n",
    ".cs": 'var d = new Dial(callerId: new PhoneNumber("+1555123{n:04d}"));\n',
    ".java": 'Dial d = new Dial.Builder().callerId("+1555123{n:04d}").build();\n',
    ".xml": '<Response><Dial callerId="+1555123{n:04d}">+15557770000</Dial></Response>\n',
}


def generate(root: Path, files: int, seed: int = 7) -> int:
    """Write the tree; returns how many files set a caller ID."""
    rng = random.Random(seed)
    suffixes = list(FILLER)
    hits = 0
    for i in range(files):
        suffix = suffixes[i % len(suffixes)]
        folder = root / f"pkg{i // 200:03d}" / f"mod{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "".join(FILLER[suffix].format(i=i * 100 + k) for k in range(rng.randint(5, 40)))
        if rng.random() < 0.1:
            body += HITS[suffix].format(n=i % 10_000)
            hits += 1
        (folder / f"file{i}{suffix}").write_text(body, encoding="utf-8")
    vendored = root / "node_modules" / "dep"
    vendored.mkdir(parents=True)
    for i in range(1_000):
        (vendored / f"v{i}.js").write_text(HITS[".js"].format(n=i), encoding="utf-8")
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--keep", type=Path, default=None, help="generate into DIR and keep it")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="scan-bench-"))
    try:
        t0 = time.perf_counter()
        expected = generate(root, args.files)
        t1 = time.perf_counter()
        result = scan_paths([root], account_sid="AC" + "0" * 32)
        t2 = time.perf_counter()
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6
        print(
            f"tree: {args.files} files (+1000 in node_modules), {size:.1f} MB, "
            f"generated in {t1 - t0:.1f} s"
        )
        print(
            f"scan: {result.files_scanned} files scanned, {result.files_skipped} skipped, "
            f"{len(result.references)} references (expected {expected}) in {t2 - t1:.2f} s"
        )
        if len(result.references) != expected:
            raise SystemExit("reference count differs from what was generated")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
