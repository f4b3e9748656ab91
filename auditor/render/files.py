"""Atomic writes for the report files (text through auditor.snapshot, bytes here)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from auditor.snapshot import write_atomic


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Same contract as `write_atomic` for binary files (the PDF)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(
            tmp, 0o644
        )  # like write_atomic: mkstemp makes 0600; reports are meant to be shared
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


__all__ = ["write_atomic", "write_bytes_atomic"]
