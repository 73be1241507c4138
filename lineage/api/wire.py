"""A lean HTTP/1.1 transport under ``httpx`` for a plain-``http://`` host reached without a proxy
(the simulator, a PostHog on localhost).

httpx's own transport goes through httpcore, anyio and h11: about half of the client's CPU time per
request in a crawl of thousands of small answers (issue 16), paid while the request's slot waits.
This one speaks HTTP/1.1 straight over an asyncio protocol: one write per request, the head parsed
with ``bytes`` methods, the body handed to httpx as a stream that reads it chunk by chunk (so the
sender's size cap still stops a flood), and idle keep-alive connections reused, newest first.

It does no TLS and no proxy: the sender uses it only for an ``http`` base URL when no proxy is
configured, and a redirect to another origin (``https`` included) is refused before httpx follows
it. Everything above the wire (redirects, headers, timeouts' meaning, errors) stays httpx's: failures
are raised as the ``httpx`` exceptions its own transport raises (``ConnectError``, ``ReadTimeout``,
``RemoteProtocolError``...), which the sender sorts into retries and errors as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any, Final

import httpx

__all__ = ["PlainHTTPTransport"]

# what httpcore's debug trace told (connections opened, reused, closed; answers' status lines), never
# a header, a path or a body: the key travels in a header, and paths may hold names
log = logging.getLogger("lineage.api.wire")

_CHUNK: Final = 65536  # what one read of a body hands on at most
_MAX_HEAD: Final = 65536  # status line and headers (h11's default limit is 16 KB)
_HIGH_WATER: Final = 1 << 20  # stop reading the socket while this much is buffered and unread
_MAX_IDLE: Final = 20  # idle connections kept per origin (httpx's default keep-alive limit)
_NO_BODY_STATUS: Final = frozenset({204, 304})


class _Closed(Exception):
    """The connection ended before what was being read was complete."""


class _Connection(asyncio.Protocol):
    """One TCP connection: a receive buffer the reader waits on, and the transport to write to."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False
        self._write_ready: asyncio.Future[None] | None = None
        self.requests = 0  # how many requests it has carried (0: fresh)
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- asyncio callbacks ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        if self._write_ready is not None and not self._write_ready.done():
            self._write_ready.set_result(None)

    def pause_writing(self) -> None:
        if self._write_ready is None or self._write_ready.done():
            self._write_ready = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._write_ready is not None and not self._write_ready.done():
            self._write_ready.set_result(None)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- used by the transport -----------------------------------------------------------------

    def reusable(self) -> bool:
        """Idle and clean: open both ways, nothing unasked-for buffered (a server that closed an
        idle connection has sent its FIN, seen here as ``eof``)."""
        return (
            not self.eof
            and not self.buffer
            and self.transport is not None
            and not self.transport.is_closing()
            and self.loop is asyncio.get_running_loop()  # a client used again under a new loop
        )

    def close(self) -> None:
        if self.transport is not None and self.loop is not None and not self.loop.is_closed():
            self.transport.abort()

    async def write(self, data: bytes, timeout: float | None) -> None:
        assert self.transport is not None
        if self.eof or self.transport.is_closing():
            raise _Closed
        self.transport.write(data)
        ready = self._write_ready
        if ready is not None and not ready.done():
            async with asyncio.timeout(timeout):
                await ready
        if self.error is not None:
            raise self.error

    async def more(self, timeout: float | None) -> None:
        """Wait until more bytes arrive (or the connection ends: ``_Closed``)."""
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        if self.eof:
            if self.error is not None:
                raise self.error
            raise _Closed
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        try:
            async with asyncio.timeout(timeout):
                await waiter
        finally:
            self._waiter = None

    def take(self, size: int) -> bytes:
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        if self._paused and len(self.buffer) < _HIGH_WATER // 2 and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def read_line(self, timeout: float | None, limit: int) -> bytes:
        """One CRLF-terminated line (without the CRLF)."""
        start = 0
        while True:
            end = self.buffer.find(b"\r\n", start)
            if end >= 0:
                line = self.take(end + 2)
                return line[:-2]
            if len(self.buffer) > limit:
                raise httpx.RemoteProtocolError("a chunk-size or trailer line is too long")
            start = max(0, len(self.buffer) - 1)
            await self.more(timeout)

    async def read_exactly(self, size: int, timeout: float | None) -> bytes:
        while len(self.buffer) < size:
            await self.more(timeout)
        return self.take(size)


def _timeouts(request: httpx.Request) -> tuple[float | None, float | None, float | None]:
    timeout: dict[str, float | None] = request.extensions.get("timeout", {})
    return timeout.get("connect"), timeout.get("read"), timeout.get("write")


def _request_bytes(request: httpx.Request, body: bytes) -> tuple[bytes, bool]:
    """The request's head and body as sent, and whether it asked to close the connection."""
    url = request.url
    lines = [b"%s %s HTTP/1.1\r\n" % (request.method.encode("ascii"), url.raw_path)]
    names = set()
    close = False
    for name, value in request.headers.raw:
        lower = name.lower()
        names.add(lower)
        if lower == b"connection" and b"close" in value.lower():
            close = True
        lines.append(b"%s: %s\r\n" % (name, value))
    if b"host" not in names:
        lines.insert(1, b"Host: %s\r\n" % url.netloc)
    if b"transfer-encoding" in names:
        body = (b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)) if body else b"0\r\n\r\n"
    elif body and b"content-length" not in names:
        lines.append(b"Content-Length: %d\r\n" % len(body))
    lines.append(b"\r\n")
    lines.append(body)
    return b"".join(lines), close


def _parse_head(head: bytes) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]:
    """``(version, status, reason, headers)`` of a response head (without its final blank line)."""
    status_line, *lines = head.split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise httpx.RemoteProtocolError(f"malformed status line {status_line[:80]!r}")
    headers = []
    for line in lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip() or line[:1] in (b" ", b"\t"):
            raise httpx.RemoteProtocolError(f"malformed header line {line[:80]!r}")
        headers.append((name, value.strip(b" \t")))
    return version, int(code), reason, headers


def _framing(
    method: str, status: int, version: bytes, headers: list[tuple[bytes, bytes]], close: bool
) -> tuple[str, int, bool]:
    """How the body is delimited (``none``, ``length``, ``chunked`` or ``close``), its length, and
    whether the connection can carry another request after it."""
    lengths = set()
    coding = None
    keep = version == b"HTTP/1.1" and not close
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-length":
            lengths.add(value)
        elif lower == b"transfer-encoding":
            coding = value.lower()
        elif lower == b"connection":
            tokens = {t.strip() for t in value.lower().split(b",")}
            if b"close" in tokens:
                keep = False
            elif b"keep-alive" in tokens and version == b"HTTP/1.0" and not close:
                keep = True
    if method == "HEAD" or status in _NO_BODY_STATUS or status < 200:
        return "none", 0, keep
    if coding is not None:
        if coding.rsplit(b",", 1)[-1].strip() == b"chunked":
            return "chunked", 0, keep
        return "close", 0, False
    if lengths:
        if len(lengths) > 1 or not all(v.isdigit() for v in lengths):
            raise httpx.RemoteProtocolError(f"bad Content-Length {sorted(lengths)!r}")
        return "length", int(lengths.pop()), keep
    return "close", 0, False


class _Body(httpx.AsyncByteStream):
    """A response body read off the connection as httpx asks for it; the connection goes back to
    the pool once the body is read to its end, and is closed if the reader stops early."""

    def __init__(
        self,
        transport: PlainHTTPTransport,
        key: tuple[str, int],
        conn: _Connection,
        framing: str,
        length: int,
        keep: bool,
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._key = key
        self._conn = conn
        self._framing = framing
        self._left = length
        self._keep = keep
        self._timeout = timeout
        self._done = framing == "none" or (framing == "length" and length == 0)
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            if self._framing == "length":
                async for chunk in self._sized():
                    yield chunk
            elif self._framing == "chunked":
                async for chunk in self._chunked():
                    yield chunk
            elif self._framing == "close":
                async for chunk in self._to_close():
                    yield chunk
        except _Closed:
            self._release()
            raise httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body"
            ) from None
        except TimeoutError:
            self._release()
            raise httpx.ReadTimeout("timed out reading the response body") from None
        except OSError as exc:
            self._release()
            raise httpx.ReadError(str(exc) or type(exc).__name__) from None
        except BaseException:
            self._release()
            raise

    async def _sized(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while self._left > 0:
            if not conn.buffer:
                await conn.more(self._timeout)
            chunk = conn.take(min(self._left, _CHUNK))
            self._left -= len(chunk)
            if self._left == 0:
                self._done = True
            yield chunk

    async def _chunked(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while True:
            line = await conn.read_line(self._timeout, _CHUNK)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise httpx.RemoteProtocolError(f"bad chunk size {size_text[:20]!r}") from None
            if size < 0 or size_text[:1] in (b"-", b"+"):
                raise httpx.RemoteProtocolError(f"bad chunk size {size_text[:20]!r}")
            if size == 0:
                while await conn.read_line(self._timeout, _MAX_HEAD):
                    pass  # trailers: not used
                self._done = True
                return
            while size > 0:
                if not conn.buffer:
                    await conn.more(self._timeout)
                chunk = conn.take(min(size, _CHUNK))
                size -= len(chunk)
                yield chunk
            if await conn.read_exactly(2, self._timeout) != b"\r\n":
                raise httpx.RemoteProtocolError("chunk data not followed by CRLF")

    async def _to_close(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while True:
            if conn.buffer:
                yield conn.take(_CHUNK)
                continue
            try:
                await conn.more(self._timeout)
            except _Closed:
                self._done = True
                return

    def _release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._done and self._keep:
            self._transport._put(self._key, self._conn)
        else:
            self._conn.close()

    async def aclose(self) -> None:
        self._release()


class PlainHTTPTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 over plain TCP, connections kept alive per origin; see the module's docstring."""

    def __init__(self) -> None:
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._closed = False

    def _put(self, key: tuple[str, int], conn: _Connection) -> None:
        idle = self._idle.setdefault(key, [])
        if self._closed or len(idle) >= _MAX_IDLE or not conn.reusable():
            conn.close()
        else:
            idle.append(conn)

    async def _connection(self, key: tuple[str, int], timeout: float | None) -> _Connection:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.reusable():
                return conn
            log.debug("idle connection to %s:%d closed by the server; dropped", key[0], key[1])
            conn.close()
        log.debug("connecting to %s:%d", key[0], key[1])
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                _, protocol = await loop.create_connection(_Connection, key[0], key[1])
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {key[0]}:{key[1]} within {timeout:g} s") from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
        return protocol

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx.UnsupportedProtocol(
                f"this transport speaks plain HTTP only, not {url.scheme!r} ({url.host})"
            )
        if self._closed:
            raise RuntimeError("the transport is closed")
        connect_timeout, read_timeout, write_timeout = _timeouts(request)
        key = (url.host, url.port or 80)
        data, close = _request_bytes(request, await request.aread())
        while True:
            conn = await self._connection(key, connect_timeout)
            try:
                version, status, reason, headers = await self._exchange(
                    conn, data, read_timeout, write_timeout
                )
                framing, length, keep = _framing(request.method, status, version, headers, close)
                log.debug("%s answered %d (%s body)", request.method, status, framing)
                break
            except _Closed:
                conn.close()
                if conn.requests > 1 and request.method in ("GET", "HEAD"):
                    # a kept-alive connection the server closed as we reused it: nothing was
                    # answered, and asking again on a fresh one is what the idle check would have done
                    continue
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.") from None
            except TimeoutError:
                conn.close()
                raise httpx.ReadTimeout("no answer within the read timeout") from None
            except OSError as exc:
                conn.close()
                raise httpx.ReadError(str(exc) or type(exc).__name__) from None
            except BaseException:
                conn.close()
                raise
        stream = _Body(self, key, conn, framing, length, keep, read_timeout)
        if stream._done:
            stream._release()
        extensions: dict[str, Any] = {"http_version": version, "reason_phrase": reason}
        return httpx.Response(status, headers=headers, stream=stream, extensions=extensions)

    async def _exchange(
        self, conn: _Connection, data: bytes, read_timeout: float | None, write_timeout: float | None
    ) -> tuple[bytes, int, bytes, list[tuple[bytes, bytes]]]:
        """Send the request; read the head of its final answer (``_Closed`` if none came)."""
        conn.requests += 1
        await conn.write(data, write_timeout)
        while True:
            head = await self._read_head(conn, read_timeout)
            version, status, reason, headers = _parse_head(head)
            if status == 101:
                raise httpx.RemoteProtocolError(
                    "the server switched protocols (101), which was not asked for"
                )
            if status >= 200:
                return version, status, reason, headers
            # 1xx: an interim answer, the real one follows

    @staticmethod
    async def _read_head(conn: _Connection, timeout: float | None) -> bytes:
        start = 0
        while True:
            end = conn.buffer.find(b"\r\n\r\n", start)
            if end >= 0:
                head = conn.take(end + 4)
                return head[:-4]
            if len(conn.buffer) > _MAX_HEAD:
                raise httpx.RemoteProtocolError(f"the response head is over {_MAX_HEAD} bytes")
            start = max(0, len(conn.buffer) - 3)
            await conn.more(timeout)

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
