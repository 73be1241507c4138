"""Run the simulator on loopback with uvicorn: blocking for the CLI, or in a thread for tests and the demo.

>>> with serve_in_thread(fixture) as server:            # doctest: +SKIP
...     httpx.get(f"{server.url}/_sim/stats").json()["total"]
0

The listening socket is bound before uvicorn starts, so ``--port 0`` yields the real port at once and
``Listening on http://HOST:PORT`` is printed only after the server accepts connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import select
import selectors
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from lineage.errors import FixtureError, InputError, LineageError
from lineage.io import read_json
from lineage.sim.app import SimContext, create_app
from lineage.sim.faults import FaultConfig
from lineage.sim.state import Warehouse


def load_fixture(path: str | Path) -> dict[str, Any]:
    """Read a fixture file; a missing, unreadable or non-JSON file is a FixtureError naming it."""
    target = Path(path)
    data = read_json(
        target,
        what=f"fixture file {target}",
        missing_hint="pass --fixture PATH to a JSON fixture (lineage/sim/data/demo.json is one)",
        error=FixtureError,
    )
    if not isinstance(data, dict):
        raise FixtureError(f"fixture file {target} must hold a JSON object (lineage-sim-fixture/1)")
    return data


def build_warehouse(source: Mapping[str, Any] | Warehouse | str | Path, *, era: str = "e3") -> Warehouse:
    """A Warehouse from a fixture dict, a fixture path, or an existing Warehouse (returned as is)."""
    if isinstance(source, Warehouse):
        return source
    fixture = load_fixture(source) if isinstance(source, str | Path) else source
    try:
        return Warehouse(fixture, era=era)
    except LineageError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # the state validates the format; anything it did not anticipate is still bad input, not a crash
        raise FixtureError(f"invalid simulator fixture: {exc.__class__.__name__}: {exc}") from None


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (0 = any free port)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InputError(f"cannot resolve host {host!r}: {exc}") from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise InputError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port"
        ) from None
    return sock


# select() takes descriptors below this (glibc's FD_SETSIZE)
_FD_SETSIZE = 1024

if sys.platform == "linux":

    class PreciseEpollSelector(selectors.EpollSelector):
        """epoll, with waits that end on time to the microsecond.

        ``epoll_wait`` counts its timeout in whole milliseconds, rounded up, so every timer of an
        asyncio loop on it fires up to 1 ms late: a request of the simulator slept its 20 ms of
        injected latency for 20.0-21.0 ms (0.5-0.7 ms more on average, 3% of an api crawl). Here
        epoll waits the whole milliseconds of a timeout, less a half (so its rounding cannot add
        one), and ``select()`` on the epoll descriptor itself waits the rest: it counts
        microseconds and still returns as soon as a socket is ready. A wait never ends before its
        timeout unless something is ready, so a request still takes at least the injected latency
        (asyncio runs a timer only once it is due).
        """

        def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
            epoll_fd = self.fileno()
            if timeout is None or timeout <= 0 or epoll_fd >= _FD_SETSIZE:
                return super().select(timeout)
            deadline = time.monotonic() + timeout
            whole_ms = math.floor(timeout * 1000)
            if whole_ms >= 1:
                ready = super().select((whole_ms - 0.5) / 1000)
                if ready:
                    return ready
            remaining = deadline - time.monotonic()
            if remaining > 0:
                with contextlib.suppress(InterruptedError):
                    select.select([epoll_fd], [], [], remaining)
            return super().select(0)

    def _event_loop() -> asyncio.AbstractEventLoop:
        """The simulator's event loop: on epoll, with timers that fire on time."""
        return asyncio.SelectorEventLoop(PreciseEpollSelector())

else:

    def _event_loop() -> asyncio.AbstractEventLoop:
        """The simulator's event loop: asyncio's default elsewhere than on Linux."""
        return asyncio.new_event_loop()


class _Server(uvicorn.Server):
    """uvicorn.Server that calls back once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None] | None) -> None:
        super().__init__(config)
        self._on_started = on_started

    def run(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve on :func:`_event_loop` (uvicorn's own ``run`` makes a default asyncio loop)."""
        with asyncio.Runner(loop_factory=_event_loop) as runner:
            runner.run(self.serve(sockets=sockets))

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self._on_started is not None:
            self._on_started()


def _uvicorn_server(app: Starlette, on_started: Callable[[], None] | None) -> _Server:
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,  # access lines would carry ?personal_api_key=... query strings
        date_header=False,  # the app sends the simulated clock's Date
        lifespan="off",
        loop="asyncio",
        ws="none",
        timeout_graceful_shutdown=1,
    )
    return _Server(config, on_started)


def url_of(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def run_blocking(
    app: Starlette, *, host: str = "127.0.0.1", port: int = 0, announce: Callable[[str], None]
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM; ``announce(url)`` runs once connections are accepted."""
    sock = bind_socket(host, port)
    url = url_of(host, sock)
    server = _uvicorn_server(app, lambda: announce(url))
    # The warehouse is loaded and lives as long as the process: kept out of the cyclic collector's
    # passes, which at 20,000 views cost more than the queries (issue 16).
    gc.freeze()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()


class ServerHandle:
    """A simulator running in a background thread. ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, *, app: Starlette, url: str, server: _Server, thread: threading.Thread) -> None:
        self.app = app
        self.url = url
        self._server = server
        self._thread = thread

    @property
    def sim(self) -> SimContext:
        return app_context(self.app)

    @property
    def warehouse(self) -> Warehouse:
        return self.sim.warehouse

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def stats(self) -> dict[str, Any]:
        """What ``GET /_sim/stats`` would answer, without a request."""
        return self.sim.stats.snapshot()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and join the thread (idempotent)."""
        if not self._thread.is_alive():
            return
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout)

    def __enter__(self) -> ServerHandle:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"ServerHandle(url={self.url!r}, running={self._thread.is_alive()})"


def app_context(app: Starlette) -> SimContext:
    sim: SimContext = app.state.sim
    return sim


def serve_in_thread(
    source: Mapping[str, Any] | Warehouse | str | Path,
    *,
    era: str = "e3",
    faults: FaultConfig | None = None,
    rate_limit: bool = True,
    host: str = "127.0.0.1",
    port: int = 0,
    ready_timeout: float = 10.0,
) -> ServerHandle:
    """Start the simulator on ``host:port`` in a daemon thread; returns once it accepts connections."""
    warehouse = build_warehouse(source, era=era)
    app = create_app(warehouse, faults=faults, rate_limit=rate_limit)
    sock = bind_socket(host, port)
    url = url_of(host, sock)
    ready = threading.Event()
    server = _uvicorn_server(app, ready.set)
    failure: list[BaseException] = []

    def target() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # a thread has nobody to raise to: hand it to the starter
            failure.append(exc)
        finally:
            sock.close()
            ready.set()

    thread = threading.Thread(target=target, name=f"lineage-sim {url}", daemon=True)
    thread.start()
    if not ready.wait(ready_timeout) or failure or not server.started:
        server.should_exit = True
        thread.join(ready_timeout)
        detail = f": {failure[0]!r}" if failure else ""
        raise LineageError(f"the simulator did not start on {url}{detail}")
    return ServerHandle(app=app, url=url, server=server, thread=thread)
