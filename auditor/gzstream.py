"""Gzip as a stream of byte chunks: deterministic out, capped in (snapshot.json.gz).

Out: the gzip header is written here, not by `gzip.GzipFile`, so it is the same on every
machine and run: modification time 0, no file name, OS "unknown" (RFC 1952). With the
same zlib and level, the same bytes in give the same file out.

In: a `.gz` is untrusted like any input, and a few kilobytes can inflate to gigabytes (a
gzip bomb). `gunzip` inflates one bounded piece at a time and refuses as soon as the
output would pass the cap, so memory never holds more than the cap plus one piece, and
the compressed bytes are never whole in memory (they arrive a chunk at a time). A stream
that inflates far better than any snapshot does is judged without keeping its output,
so a bomb costs one piece of memory, not the cap. zlib
checks each member's CRC-32 and length; a stream that ends early, carries bytes after
its end that are not another member, or fails a check is a `GunzipError`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterable, Iterator

GZIP_MAGIC = b"\x1f\x8b"
LEVEL = 6  # zlib's default: at 1,000 × 100 a 60 MB snapshot becomes 3.7 MB (benchmarks/README)
_PIECE = 1 << 20  # inflated bytes per step: the most one step adds before the cap is checked
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip wrapper (header and CRC-32/size trailer)
# A snapshot inflates about 16 times (measured at 1,000 × 100, level 6 or 9); a gzip bomb
# of zeros about 1,000 times. Past SUSPECT_AFTER inflated bytes, a stream inflating more
# than SUSPECT_RATIO times is judged while holding nothing (see `gunzip`).
SUSPECT_RATIO = 64
SUSPECT_AFTER = 16 << 20


class GunzipError(ValueError):
    """Not a whole, valid gzip stream within the cap; str() is the problem, in words."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # "too-large", "truncated", "corrupt"


def _header(level: int) -> bytes:
    """ID1 ID2, CM=8 (deflate), FLG=0 (no name, comment or extra), MTIME=0, XFL, OS=255."""
    xfl = 2 if level == 9 else 4 if level == 1 else 0  # as gzip(1) marks max / fastest
    return GZIP_MAGIC + struct.pack("<BBIBB", 8, 0, 0, xfl, 255)


def gzip_chunks(chunks: Iterable[bytes], level: int = LEVEL) -> Iterator[bytes]:
    """`chunks` as one gzip member, compressed as they come (never whole in memory)."""
    yield _header(level)
    deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
    crc, size = 0, 0
    for chunk in chunks:
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
        out = deflate.compress(chunk)
        if out:
            yield out
    yield deflate.flush() + struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)


def is_gzip(head: bytes | bytearray) -> bool:
    """Whether data starting with `head` is gzip (by its magic bytes, not a file name)."""
    return bytes(head[:2]) == GZIP_MAGIC


def gunzip(
    chunks: Iterable[bytes], cap: int, *, again: Callable[[], Iterable[bytes]] | None = None
) -> bytearray:
    """The inflated bytes of the gzip stream `chunks` (one or more members), at most `cap`.

    A bytearray, not bytes: growing it in place costs no second copy (bytes would need one
    at the end); msgspec and str decoding read it as they read bytes.

    With `again` (a way to read the same stream once more), a stream that inflates more than
    SUSPECT_RATIO times its size is not kept while it is judged: what it inflated is dropped
    and the rest only counted, so a bomb is refused at the cap holding one piece, not the
    cap. One that then ends within the cap (a genuine file that compresses that well) is
    inflated again from `again()`, kept this time.
    """
    out = _inflate(chunks, cap, judge=again is not None)
    if out is None:
        assert again is not None
        out = _inflate(again(), cap, judge=False)
        assert out is not None
    return out


def _inflate(chunks: Iterable[bytes], cap: int, *, judge: bool) -> bytearray | None:
    """`gunzip`'s one pass; None when it stopped keeping the output (see `gunzip`)."""
    out: bytearray | None = bytearray()
    total = taken = 0  # bytes inflated, compressed bytes read
    inflate = zlib.decompressobj(_GZIP_WBITS)
    fed = False  # the current member has been given bytes (it began)
    for chunk in chunks:
        data, taken = chunk, taken + len(chunk)
        while True:
            fed = fed or bool(data)
            try:
                piece = inflate.decompress(data, _PIECE)
            except zlib.error as exc:
                raise GunzipError(f"corrupt gzip data ({exc})", "corrupt") from None
            total += len(piece)
            if total > cap:
                raise GunzipError(f"inflates to more than the {cap:,}-byte cap", "too-large")
            if out is not None:
                out += piece
                used = taken - len(inflate.unconsumed_tail)  # compressed bytes inflated so far
                if judge and total > SUSPECT_AFTER and total > SUSPECT_RATIO * used:
                    out = None  # a bomb, most likely: count the rest, keep nothing
            if inflate.eof:  # a member ended: what follows can only be another member
                data = inflate.unused_data
                if len(data) >= 2 and not is_gzip(data):
                    raise GunzipError("bytes after the end of the gzip data", "corrupt")
                inflate, fed = zlib.decompressobj(_GZIP_WBITS), False
                if not data:
                    break
                continue
            data = inflate.unconsumed_tail
            if not data and len(piece) < _PIECE:
                break  # this chunk is used up and zlib holds no more output: read on
    if fed:
        raise GunzipError("the gzip data ends early: the file is truncated", "truncated")
    return out
