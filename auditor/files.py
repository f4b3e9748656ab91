"""Local files, read and written defensively: the one reader and the one writer.

Reading (`read_bytes`, `read_text`): regular files only, because a FIFO blocks
forever and `/dev/zero` never ends. The path is stat'ed first (a device is never
even opened), then opened without blocking and checked again with fstat (so a
swap between the two cannot slip a FIFO in), and read up to a cap: at most
cap + 1 bytes, so a file that grows while we read, or lies about its size like
those in /proc, is still bounded.

Writing (`write_atomic`): a temp file in the same folder, then a rename, so no
reader ever sees half a file. The temp file is created with `os.open(…, mode)`,
which lets the kernel apply the umask: reports get 0666 & ~umask (like any
other tool's output), private files such as the snapshot (it holds Function
source code and the answers of probed webhooks) 0600 & ~umask.

Every refusal is a `FileRefused`: an OSError whose message is one short line;
the CLI prints it and exits 2 (a path is the user's input, never a bug).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Generator, Iterable
from pathlib import Path

PUBLIC_MODE = 0o666  # & ~umask: reports are meant to be shared, as the umask allows
PRIVATE_MODE = 0o600  # & ~umask: the snapshot holds customer code and webhook answers

_CHUNK = 1 << 20
_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # opening a FIFO must not wait for a writer
    | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)
_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class FileRefused(OSError):
    """A path we will not read or cannot write; str() is one line naming it and why."""

    def __init__(self, message: str, reason: str = "unreadable") -> None:
        super().__init__(message)
        self.reason = reason  # "missing", "folder", "special", "too-large", "unreadable"

    def __str__(self) -> str:
        return str(self.args[0])


def _why(exc: OSError) -> str:
    return (exc.strerror or type(exc).__name__).lower()


def _kind(mode: int) -> str | None:
    """None for a regular file, else what the path is ("a FIFO", "a folder", …)."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    return next((name for test, name in _SPECIAL if test(mode)), "not a regular file")


def read_bytes(path: Path | str, cap: int) -> bytes:
    """The contents of a regular file of at most `cap` bytes (symlinks to one are fine)."""
    return b"".join(read_chunks(path, cap))


def read_chunks(path: Path | str, cap: int) -> Generator[bytes, None, None]:
    """`read_bytes`, a chunk (up to 1 MiB) at a time, for a reader that consumes the file
    as it comes (a compressed snapshot is inflated while it is read). Each refusal is
    raised by the `next()` that meets it; the file is closed when the iterator is."""
    name = os.fspath(path)
    fd = _open_regular(name, cap)
    try:
        left = cap + 1
        while left > 0:
            try:
                chunk = os.read(fd, min(_CHUNK, left))
            except BlockingIOError:  # pragma: no cover - regular files never block
                raise FileRefused(f"{name}: not a regular file", "special") from None
            except OSError as exc:
                raise FileRefused(f"{name}: cannot read ({_why(exc)})") from None
            if not chunk:
                return
            left -= len(chunk)
            if left <= 0:
                raise FileRefused(f"{name}: over the {cap:,}-byte cap", "too-large")
            yield chunk
    finally:
        os.close(fd)


def _open_regular(name: str, cap: int) -> int:
    """A read-only descriptor of `name` once it is known to be a regular file within `cap`."""
    try:
        before = os.stat(name)
    except FileNotFoundError:
        raise FileRefused(f"{name}: no such file", "missing") from None
    except OSError as exc:
        raise FileRefused(f"{name}: cannot read ({_why(exc)})") from None
    kind = _kind(before.st_mode)
    if kind == "a folder":
        raise FileRefused(f"{name}: is a folder, not a file", "folder")
    if kind is not None:
        raise FileRefused(f"{name}: not a regular file ({kind})", "special")
    if before.st_size > cap:
        raise FileRefused(
            f"{name}: {before.st_size:,} bytes, over the {cap:,}-byte cap", "too-large"
        )
    try:
        fd = os.open(name, _OPEN_FLAGS)
    except OSError as exc:
        raise FileRefused(f"{name}: cannot read ({_why(exc)})") from None
    try:
        now = os.fstat(fd)
    except OSError as exc:  # pragma: no cover - fstat of an open descriptor
        os.close(fd)
        raise FileRefused(f"{name}: cannot read ({_why(exc)})") from None
    if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino) or _kind(now.st_mode):
        os.close(fd)
        raise FileRefused(f"{name}: changed while it was opened; try again", "special")
    return fd


def read_text(path: Path | str, cap: int, *, errors: str = "strict") -> str:
    """`read_bytes` decoded as UTF-8 (a leading BOM dropped); not UTF-8 is a FileRefused."""
    data = read_bytes(path, cap)
    try:
        return data.decode("utf-8", errors=errors).removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise FileRefused(f"{os.fspath(path)}: not UTF-8 text (byte {exc.start:,})") from None


def write_atomic(
    path: Path, content: str | bytes | Iterable[bytes], *, private: bool = False
) -> None:
    """Write via a temp file in the same folder and rename, so no half file is ever seen.

    Text is written as UTF-8; bytes (the PDF) as they are; an iterable of bytes chunk by
    chunk (a large snapshot is never whole in memory). The file's mode is what the
    umask allows of 0666, or of 0600 with `private`. An existing file or symlink at
    `path` is replaced, never followed.
    """
    if isinstance(content, str):
        chunks: Iterable[bytes] = (content.encode("utf-8"),)
    elif isinstance(content, bytes):
        chunks = (content,)
    else:
        chunks = content
    mode = PRIVATE_MODE if private else PUBLIC_MODE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(path, mode)
    except OSError as exc:
        raise _write_refused(path, exc) from None
    try:
        with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
            for chunk in chunks:
                fh.write(chunk)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _write_refused(path, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _create_temp(path: Path, mode: int) -> tuple[int, str]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = os.path.join(path.parent, f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name")


def _write_refused(path: Path, exc: OSError) -> FileRefused:
    if isinstance(exc, FileRefused):
        return exc
    if isinstance(exc, IsADirectoryError) or path.is_dir():
        return FileRefused(f"cannot write {path}: it is a folder; pass a file name", "folder")
    return FileRefused(
        f"cannot write {path} ({_why(exc)}); pass an --out you can write to", "unwritable"
    )


def prepare_out_dir(out: Path) -> Path:
    """Create the --out folder and prove a file can be written in it, before any slow work.

    A dangling symlink, a file, /proc/self, a read-only or full place: one FileRefused
    line now, instead of a traceback after the collection (which would be lost).
    """
    if out.is_symlink() and not out.exists():
        target = os.readlink(out)
        raise FileRefused(
            f"--out {out}: a symlink to {target}, which does not exist; "
            "remove the link or pass another folder",
            "missing",
        )
    if out.exists() and not out.is_dir():
        raise FileRefused(
            f"--out {out}: is a file; pass a folder for the snapshot and reports", "folder"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(out / "write-test", PRIVATE_MODE)
        os.close(fd)
        os.unlink(tmp)
    except OSError as exc:
        raise FileRefused(
            f"--out {out}: cannot write there ({_why(exc)}); pass a folder you can write to",
            "unwritable",
        ) from None
    return out
