"""Reading one answer's body: inflated chunk by chunk under a size cap (a gzip bomb stops there),
refused before parsing when its parsed form would dwarf the cap, and decoded as JSON at the edge.
"""

from __future__ import annotations

import re
import zlib
from typing import Any, Final

import httpx

from lineage.fastjson import loads
from lineage.io import scrub_surrogates

__all__ = ["BadEncoding", "TooLarge", "read_capped", "try_json"]

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]|\\u[dD][c-fC-F]")
_READ_CHUNK: Final = 65536
# a parsed answer may take this many times the cap; an empty dict or list costs ~100 bytes parsed
PARSED_FACTOR: Final = 4
PARSED_BYTES_PER_STRUCTURE: Final = 100


class TooLarge(Exception):
    def __init__(self, limit: int, how: str) -> None:
        super().__init__(limit)
        self.limit = limit
        self.how = how


class BadEncoding(Exception):
    """A Content-Encoding we did not ask for and cannot inflate."""


class Inflater:
    """Decode one Content-Encoding incrementally, never producing more than asked for."""

    def __init__(self, encoding: str) -> None:
        names = [e.strip().lower() for e in encoding.split(",") if e.strip()]
        names = [e for e in names if e != "identity"]
        if len(names) > 1 or (names and names[0] not in ("gzip", "x-gzip", "deflate")):
            raise BadEncoding(encoding[:40])
        self.kind = names[0] if names else None
        self._zlib: Any = None
        if self.kind in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self.kind == "deflate":
            self._zlib = zlib.decompressobj()
        self._started = False

    def feed(self, chunk: bytes, room: int) -> bytes:
        """Up to ``room + 1`` decoded bytes of ``chunk`` (one more than room means: too large)."""
        if self._zlib is None:
            return chunk
        try:
            out: bytes = self._zlib.decompress(chunk, room + 1)
        except zlib.error:
            if self.kind == "deflate" and not self._started:
                # some servers send raw deflate without the zlib wrapper
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._zlib.decompress(chunk, room + 1)
            else:
                raise
        self._started = True
        return out

    def finish(self, room: int) -> bytes:
        if self._zlib is None:
            return b""
        out: bytes = self._zlib.flush()
        return out[: room + 1]


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    """The decoded body, read and inflated chunk by chunk; ``TooLarge`` past ``limit`` bytes."""
    if response.is_stream_consumed:
        # an answer made in memory (a mock transport) was read, and decoded, when it was made
        if len(response.content) > limit:
            raise TooLarge(limit, "")
        refuse_json_flood(response.content, limit)
        return response.content
    inflater = Inflater(response.headers.get("content-encoding", ""))
    declared = response.headers.get("content-length", "")
    if inflater.kind is None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(limit, f" (it announced {int(declared) / 1048576:.0f} MB)")
    body = bytearray()
    wire = 0
    try:
        async for chunk in response.aiter_raw(_READ_CHUNK):
            wire += len(chunk)
            if wire > limit:
                raise TooLarge(limit, "")
            body += inflater.feed(chunk, limit - len(body))
            if len(body) > limit:
                raise TooLarge(limit, f" ({wire / 1048576:.1f} MB on the wire inflate past it)")
        body += inflater.finish(limit - len(body))
    except zlib.error:
        raise BadEncoding(f"{inflater.kind} (corrupt)") from None
    if len(body) > limit:
        raise TooLarge(limit, "")
    refuse_json_flood(body, limit)
    return bytes(body)


def refuse_json_flood(body: bytes | bytearray, limit: int) -> None:
    """Refuse an answer whose parsed form would dwarf the cap: ``[{},{},...]`` takes 3 bytes per
    value on the wire and ~70 once parsed. Counted in C (``bytes.count``), before parsing;
    braces and commas inside strings only make the estimate larger, never smaller."""
    structures = body.count(b"{") + body.count(b"[")
    items = body.count(b",")
    parsed = len(body) + PARSED_BYTES_PER_STRUCTURE * structures + 8 * items
    if parsed > PARSED_FACTOR * limit:
        raise TooLarge(
            limit,
            f" once parsed ({structures:,} objects and arrays, {items:,} items in "
            f"{len(body) / 1048576:.1f} MB)",
        )


def try_json(content: bytes, *, invalid: Any = None) -> Any:
    """Decoded JSON, ``None`` for an empty body, ``invalid`` for anything else.

    Lone surrogates (``"\\ud800"``) are valid JSON but cannot be written out as UTF-8: they become
    U+FFFD here, at the edge, rather than failing a save after a whole crawl. Parsed by orjson where
    it can be (:func:`lineage.fastjson.loads`: a page of 50,000 jobs is 17 MB), else by ``json``.
    """
    try:
        decoded = loads(content) if content.strip() else None
    except (ValueError, RecursionError):
        return invalid
    if _SURROGATE_ESCAPE.search(content) is not None:
        decoded = scrub_surrogates(decoded)
    return decoded
