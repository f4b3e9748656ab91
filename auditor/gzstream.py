"""Gzip as a stream of byte chunks: deterministic out, capped in (snapshot.json.gz).

Out: the gzip header is written here, not by `gzip.GzipFile`, so it is the same on every
machine and run: modification time 0, no file name, OS "unknown" (RFC 1952). With the
same zlib and level, the same bytes in give the same file out.

In: a `.gz` is untrusted like any input, and a few kilobytes can inflate to gigabytes (a
gzip bomb). `gunzip` inflates one bounded piece at a time and refuses as soon as the
output would pass the cap, so memory never holds more than the cap plus one piece, and
the compressed bytes are never whole in memory (they arrive a chunk at a time). zlib
checks each member's CRC-32 and length; a stream that ends early, carries bytes after
its end that are not another member, or fails a check is a `GunzipError`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator

GZIP_MAGIC = b"\x1f\x8b"
LEVEL = 6  # zlib's default: at 1,000 × 100 a 60 MB snapshot becomes ~5 MB (benchmarks/README)
_PIECE = 1 << 20  # inflated bytes per step: what one step may add beyond the cap's check
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip wrapper (header and CRC-32/size trailer)


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


def gunzip(chunks: Iterable[bytes], cap: int) -> bytearray:
    """The inflated bytes of the gzip stream `chunks` (one or more members), at most `cap`.

    A bytearray, not bytes: growing it in place costs no second copy (bytes would need one
    at the end); msgspec and str decoding read it as they read bytes.
    """
    out = bytearray()
    inflate = zlib.decompressobj(_GZIP_WBITS)
    fed = False  # the current member has been given bytes (it began)
    for chunk in chunks:
        data = chunk
        while True:
            fed = fed or bool(data)
            try:
                piece = inflate.decompress(data, _PIECE)
            except zlib.error as exc:
                raise GunzipError(f"corrupt gzip data ({exc})", "corrupt") from None
            if len(out) + len(piece) > cap:
                raise GunzipError(f"inflates to more than the {cap:,}-byte cap", "too-large")
            out += piece
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
