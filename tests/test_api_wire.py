"""The lean plain-HTTP transport (lineage.api.wire) against httpx's own, on odd answers from a raw server.

Each case is the exact bytes a server writes; both transports must hand httpx the same status,
headers and body, or fail with the same kind of httpx exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from lineage.api.wire import PlainHTTPTransport

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def raw_server(script: Script) -> AsyncIterator[tuple[str, list[bytes]]]:
    """A server on loopback running ``script`` per connection; yields its URL and the request heads seen."""
    heads: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await script(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def recording(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        original = reader.readuntil

        async def readuntil(separator: bytes = b"\n") -> bytes:
            data = await original(separator)
            if separator == b"\r\n\r\n":
                heads.append(data)
            return data

        reader.readuntil = readuntil  # type: ignore[method-assign]
        await handle(reader, writer)

    server = await asyncio.start_server(recording, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", heads
    finally:
        server.close()


def answer(raw: bytes, *, requests: int = 1) -> Script:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(requests):
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                ),
                0,
            )
            if length:
                await reader.readexactly(length)
            writer.write(raw)
            await writer.drain()

    return script


async def fetch(transport: httpx.AsyncBaseTransport, url: str, method: str = "GET", **kw: object) -> object:
    """What httpx makes of one answer: (status, headers, body, reason), or the exception's type."""
    async with httpx.AsyncClient(transport=transport, timeout=2) as client:
        try:
            response = await client.request(method, f"{url}/x?a=1", **kw)  # type: ignore[arg-type]
        except httpx.HTTPError as exc:
            return type(exc)
        return (
            response.status_code,
            sorted(response.headers.multi_items()),
            response.content,
            response.reason_phrase,
        )


CASES = {
    "sized": b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n["a","b"]',
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b'4;ext=1\r\n["a"\r\n1\r\n]\r\n0\r\nX-Trailer: 1\r\n\r\n',
    "to close": b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end",
    "http/1.0": b"HTTP/1.0 200 OK\r\n\r\nold style",
    "interim": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}",
    "no content": b"HTTP/1.1 204 No Content\r\nAllow: GET\r\n\r\n",
    "no reason": b"HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
    "repeated headers": b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n"
    b"X-Odd:  spaced  \r\nContent-Length: 1\r\n\r\nx",
    "gzip passes through": b"HTTP/1.1 200 OK\r\nContent-Encoding: identity\r\nContent-Length: 2\r\n\r\nok",
    "empty body": b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "cut short": b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
    "no answer": b"",
    "bad status line": b"HTTP/1.1 OK\r\n\r\n",
    "not http": b"SSH-2.0-OpenSSH\r\n\r\n",
    "bad header": b"HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 0\r\n\r\n",
    "bad length": b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
    "bad chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_lean_transport_reads_every_answer_as_httpx_does(case: str) -> None:
    async def main() -> tuple[object, object]:
        async with raw_server(answer(CASES[case])) as (url, _):
            ours = await fetch(PlainHTTPTransport(), url)
            theirs = await fetch(httpx.AsyncHTTPTransport(), url)
        return ours, theirs

    ours, theirs = asyncio.run(main())
    if isinstance(theirs, type):
        # a broken answer is a transport error either way (h11 and this parser word it differently)
        assert isinstance(ours, type) and issubclass(ours, httpx.TransportError), (case, ours, theirs)
    else:
        assert ours == theirs, case


def test_a_head_answer_has_no_body_even_with_a_length() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"

    async def main() -> tuple[object, object]:
        async with raw_server(answer(raw, requests=2)) as (url, _):
            ours = await fetch(PlainHTTPTransport(), url, "HEAD")
            theirs = await fetch(httpx.AsyncHTTPTransport(), url, "HEAD")
        return ours, theirs

    ours, theirs = asyncio.run(main())
    assert ours == theirs and ours[2] == b""  # type: ignore[index]


def test_requests_go_out_as_httpx_builds_them_and_connections_are_reused() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    connections = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await answer(raw, requests=10)(reader, writer)

    async def main() -> list[bytes]:
        async with (
            raw_server(script) as (url, heads),
            httpx.AsyncClient(transport=PlainHTTPTransport(), headers={"Authorization": "Bearer k"}) as c,
        ):
            for _ in range(3):
                assert (await c.get(f"{url}/a/b?x=1&y=%20")).json() == {}
            posted = await c.post(f"{url}/q", json={"query": "select 1"})
            assert posted.status_code == 200
        return heads

    heads = asyncio.run(main())
    assert connections == 1  # one kept-alive connection carried all four
    first = heads[0].decode()
    assert first.startswith("GET /a/b?x=1&y=%20 HTTP/1.1\r\n")
    assert "\r\nHost: 127.0.0.1:" in first and "\r\nAuthorization: Bearer k\r\n" in first
    assert "\r\nContent-Length: " in heads[3].decode()


def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    connections = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await answer(raw, requests=1)(reader, writer)  # then closes: a keep-alive timeout

    async def main() -> None:
        async with raw_server(script) as (url, _), httpx.AsyncClient(transport=PlainHTTPTransport()) as c:
            for _ in range(3):
                assert (await c.get(f"{url}/")).status_code == 200
                await asyncio.sleep(0.05)

    asyncio.run(main())
    assert connections == 3


def test_failures_are_httpx_exceptions() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await asyncio.sleep(5)

    async def main() -> None:
        async with (
            raw_server(silent) as (url, _),
            httpx.AsyncClient(transport=PlainHTTPTransport(), timeout=0.2) as c,
        ):
            with pytest.raises(httpx.ReadTimeout):
                await c.get(f"{url}/")
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        async with httpx.AsyncClient(transport=PlainHTTPTransport()) as c:
            with pytest.raises(httpx.ConnectError):
                await c.get(f"http://127.0.0.1:{port}/")
            with pytest.raises(httpx.UnsupportedProtocol):
                await c.get("https://127.0.0.1:1/")

    asyncio.run(main())


def test_a_body_read_in_part_closes_its_connection() -> None:
    """The sender stops reading past its size cap: that connection must not carry another answer."""
    body = b"x" * 300_000
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    connections = 0

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await answer(raw, requests=2)(reader, writer)

    async def main() -> None:
        async with raw_server(script) as (url, _), httpx.AsyncClient(transport=PlainHTTPTransport()) as c:
            async with c.stream("GET", f"{url}/") as response:
                async for chunk in response.aiter_raw(1000):
                    assert chunk
                    break
            whole = await c.get(f"{url}/")
            assert whole.content == body

    asyncio.run(main())
    assert connections == 2


def test_a_transport_used_under_a_second_event_loop_opens_new_connections() -> None:
    """Connections belong to the loop that opened them: one kept from a finished loop is not reused."""
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"
    transport = PlainHTTPTransport()
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            accepted.append(conn)
            conn.recv(65536)
            conn.sendall(raw)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()

    async def one() -> int:
        client = httpx.AsyncClient(transport=transport)
        return (await client.get(f"http://127.0.0.1:{port}/")).status_code

    try:
        assert asyncio.run(one()) == 200
        assert asyncio.run(one()) == 200
        thread.join(5)
        assert len(accepted) == 2
    finally:
        for conn in accepted:
            conn.close()
        listener.close()
