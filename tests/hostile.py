"""A hostile server for tests: raw HTTP/1.1 on 127.0.0.1 in front of the simulator.

Each request is answered by the simulator (in process, through ASGI), then mangled the way a
broken proxy or a malicious server would: bodies, headers or chunks trickled a byte at a time
(every byte well inside any per-read timeout), gzip bombs, 10 MB ids, the key echoed back without
its ``phx_`` prefix, pagination links to another host, ``next`` links without end. ``mode`` can be
changed between requests; ``seen`` records the requests that reached it.

It is written on bare asyncio streams (not uvicorn) because the point is to break HTTP rules a
real server framework would not let us break.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

TRICKLE_GAP = 0.05  # seconds between trickled bytes: far inside the client's 30 s read timeout


def gzip_bomb(inflated_mb: int) -> bytes:
    """A gzip member inflating to about ``inflated_mb`` MiB of JSON text, ~1/1000 of that on the wire.

    One MiB of zeros is compressed once after a full flush (which forgets the history), so its
    deflate blocks can be repeated as they are; the trailer's CRC and size are those of the whole.
    """
    block = b"0" * (1024 * 1024)
    head = b'{"results": [], "next": null, "pad": "'
    tail = b'"}'
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    start = squeeze.compress(head) + squeeze.flush(zlib.Z_FULL_FLUSH)
    repeat = squeeze.compress(block) + squeeze.flush(zlib.Z_FULL_FLUSH)
    end = squeeze.compress(tail) + squeeze.flush()
    crc = zlib.crc32(head)
    for _ in range(inflated_mb):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    size = len(head) + inflated_mb * len(block) + len(tail)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)
    return header + start + repeat * inflated_mb + end + trailer


class Hostile:
    """Runs in a background thread with its own event loop; ``url`` is its base URL."""

    def __init__(self, app: Any, mode: str = "pass", *, bomb_mb: int = 200) -> None:
        self.app = app
        self.mode = mode
        self.bomb_mb = bomb_mb
        self.seen: list[tuple[str, str]] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None
        self._bomb: bytes | None = None
        self._page = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Hostile:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hostile server did not start")
        return self

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            await self._upstream.aclose()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._upstream = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://127.0.0.1"
        )
        self._ready.set()
        self._loop.run_forever()

    # -- one connection, one request -----------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
            self.seen.append((method, target))
            await self._answer(writer, method, target, headers, body)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            try:
                writer.close()
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def _upstream_answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        forward = {k: v for k, v in headers.items() if k in ("authorization", "content-type", "accept")}
        response = await self._upstream.request(method, target, headers=forward, content=body)
        keep = {
            k: v
            for k, v in response.headers.items()
            if k not in ("content-length", "content-encoding", "transfer-encoding", "connection")
        }
        return response.status_code, keep, response.content

    async def _answer(
        self, writer: asyncio.StreamWriter, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> None:
        mode = self.mode
        # a server with endless pages ignores the page asked for: the first one, again and again
        upstream_target = target.split("?")[0] if mode.startswith("endless") else target
        status, out_headers, content = await self._upstream_answer(method, upstream_target, headers, body)
        if mode == "gzip_bomb":
            if self._bomb is None:
                self._bomb = gzip_bomb(self.bomb_mb)
            out_headers["content-encoding"] = "gzip"
            status, content = 200, self._bomb
        elif mode == "gzip_ok":
            out_headers["content-encoding"] = "gzip"
            content = gzip.compress(content)
        elif mode == "surrogate" and status == 200:
            # a lone surrogate, escaped as JSON allows, in a view's name
            content = content.replace(b'"name": "orders"', b'"name": "ord\\ud800ers"')
            content = content.replace(b'"name":"orders"', b'"name":"ord\\ud800ers"')
        elif mode == "json_flood":
            # 15 MB of empty objects: under a 16 MB cap on the wire, ~350 MB once parsed
            content = b'{"results": [' + b"{}," * (5 * 1024 * 1024) + b'{}], "next": null}'
            status = 200
        elif mode == "huge_id" and target.split("?")[0].endswith("/ancestors/"):
            content = json.dumps({"ancestors": ["x" * (10 * 1024 * 1024)]}).encode()
        elif mode == "echo_key":
            key = headers.get("authorization", "").removeprefix("Bearer ").removeprefix("phx_")
            status = 401
            content = json.dumps(
                {"type": "authentication_error", "code": "authentication_failed", "detail": f"bad key {key}"}
            ).encode()
        elif mode == "cross_host" and status == 200:
            data = json.loads(content)
            if isinstance(data, dict) and "next" in data:
                data["next"] = "http://attacker.invalid/api/projects/1/warehouse_saved_queries/?page=2"
                content = json.dumps(data).encode()
        elif mode == "endless_next" and status == 200:
            data = json.loads(content)
            if isinstance(data, dict) and "results" in data:
                self._page += 1
                data["next"] = f"{self.url}{target.split('?')[0]}?page={self._page + 1}"
                content = json.dumps(data).encode()
        elif mode == "endless_fresh" and status == 200:
            # every page invents new items: only the count the server itself announced ends it
            data = json.loads(content)
            if isinstance(data, dict) and "results" in data:
                self._page += 1
                template = data["results"][0] if data["results"] else {"name": "v"}
                data["results"] = [
                    {**template, "id": f"00000000-0000-4000-8000-{self._page:06d}{i:06d}", "name": f"v{i}"}
                    for i in range(100)
                ]
                data["count"] = 150
                data["next"] = f"{self.url}{target.split('?')[0]}?page={self._page + 1}"
                content = json.dumps(data).encode()
        await self._send(writer, mode, status, out_headers, content)

    async def _send(
        self, writer: asyncio.StreamWriter, mode: str, status: int, headers: dict[str, str], content: bytes
    ) -> None:
        chunked = mode == "trickle_chunks"
        head_lines = [f"HTTP/1.1 {status} X"]
        head_lines += [f"{k}: {v}" for k, v in headers.items()]
        head_lines.append("transfer-encoding: chunked" if chunked else f"content-length: {len(content)}")
        head_lines.append("connection: close")
        head = ("\r\n".join(head_lines) + "\r\n\r\n").encode("latin-1")
        if mode == "trickle_headers":
            for i in range(len(head)):
                writer.write(head[i : i + 1])
                await writer.drain()
                await asyncio.sleep(TRICKLE_GAP)
            writer.write(content)
        elif mode == "trickle_body":
            writer.write(head)
            for i in range(len(content)):
                writer.write(content[i : i + 1])
                await writer.drain()
                await asyncio.sleep(TRICKLE_GAP)
        elif chunked:
            writer.write(head)
            for i in range(len(content)):
                writer.write(b"1\r\n" + content[i : i + 1] + b"\r\n")
                await writer.drain()
                await asyncio.sleep(TRICKLE_GAP)
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(head + content)
        await writer.drain()


@contextmanager
def hostile_server(app: Any, mode: str = "pass", **kw: Any) -> Iterator[Hostile]:
    server = Hostile(app, mode, **kw).start()
    try:
        yield server
    finally:
        server.stop()
