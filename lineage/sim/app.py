"""The simulator's HTTP face: the request pipeline in front of the warehouse, and the control endpoints.

``create_app(warehouse)`` returns a Starlette app that answers like PostHog for every route of
:mod:`lineage.sim.routes` (saved queries, folders, data-modeling jobs, data_warehouse, warehouse
tables, HogQL queries over system tables, and the consumers' insights, dashboards, notebooks,
endpoints and alerts), under both ``/api/projects/{team}/`` and ``/api/environments/{team}/`` with an
optional trailing slash. The warehouse (:class:`lineage.sim.state.Warehouse`) owns the data and the
era-specific validation, the handlers (:mod:`lineage.sim.handlers`) read each action's parameters;
this module owns the pipeline in front of them, with :mod:`lineage.sim.auth`,
:mod:`lineage.sim.throttle`, :mod:`lineage.sim.faults` and :mod:`lineage.sim.stats`. Order per
request, as DRF does it: route (unknown → 404) → authenticate (401) → team (404 ``Project not
found.`` / 403 project access) → method (405) → scope (403) → throttle (429) → handler. Every answer
of a matched route carries DRF's ``Allow`` header, every answer a ``Date`` from the simulated clock;
bodies over :data:`MAX_BODY_BYTES` get a proxy's 413.

Control endpoints (loopback clients only, no auth, never faulted, never counted):

* ``GET /_sim/stats`` → ``{"total", "by_route": {"METHOD /route/template/": n}, "throttled",
  "errors_injected"}`` (see :mod:`lineage.sim.stats` for the route keys);
* ``POST /_sim/reset`` → zeroes the counters; a body ``{"throttles": true}`` also empties the throttle
  windows. Answers the zeroed stats;
* ``POST /_sim/clock`` ``{"advance": seconds}`` → moves the warehouse clock (and the throttle windows)
  forward; answers ``{"now": iso}``;
* ``GET /_sim/faults`` → the fault settings; ``POST /_sim/faults`` ``{"error_rate": 0.1, ...}`` → changes
  some of them at run time (names of :class:`lineage.sim.faults.FaultConfig`; a new ``seed`` restarts
  the generator); answers the settings, or 400 ``{"error": ...}`` for an unknown name or bad value.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, cast

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lineage.config import redact
from lineage.errors import InputError
from lineage.sim import auth
from lineage.sim.errors import HogError, SimError, method_not_allowed, not_found, server_error
from lineage.sim.faults import PROXY_BODIES, FaultConfig, FaultDecision, FaultInjector, truncate_body
from lineage.sim.handlers import Call, json_response, request_data
from lineage.sim.query import QueryEngine, query_kind
from lineage.sim.routes import RouteMatch, match_route
from lineage.sim.state import Warehouse
from lineage.sim.stats import Stats
from lineage.sim.throttle import Throttler, buckets_for, throttled_detail

log = logging.getLogger("lineage.sim")

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Bodies above this are refused the way a load balancer does, before the app reads them.
MAX_BODY_BYTES = 16 * 1024 * 1024
_TOO_LARGE = (
    b"<html><head><title>413 Request Entity Too Large</title></head>"
    b"<body><h1>413 Request Entity Too Large</h1></body></html>\n"
)


@dataclass
class SimContext:
    """Everything the app shares between requests; ``app.state.sim``."""

    warehouse: Warehouse
    faults: FaultInjector
    rate_limit: bool
    stats: Stats = field(default_factory=Stats)
    throttler: Throttler = field(default_factory=Throttler)
    queries: QueryEngine = field(init=False)
    date_header: tuple[datetime, str] | None = field(default=None, init=False)
    """The last ``Date`` header, with the second it tells."""

    def __post_init__(self) -> None:
        self.queries = QueryEngine(self.warehouse)


# --- request pipeline -------------------------------------------------------------------------------


def _error(err: SimError, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(err.body(), status_code=err.status, headers=headers)


def _throttled(wait: int) -> Response:
    err = HogError(429, "throttled_error", "throttled", throttled_detail(wait))
    return _error(err, {"Retry-After": str(wait)})


class _BodyTooLarge(Exception):
    """The request body is over :data:`MAX_BODY_BYTES`."""


async def _read_body(request: Request) -> bytes:
    """The whole body, refusing one over the cap without buffering it (ClientDisconnect propagates)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> Response:
    return Response(_TOO_LARGE, 413, media_type="text/html", headers={"Connection": "close"})


def _peek_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _resolve_team(raw: str, wh: Warehouse, projects: frozenset[int] | None) -> int:
    if raw == "@current":
        team = wh.team_id
    else:
        try:
            team = int(raw)
        except ValueError:
            raise not_found("Project not found.") from None
    if projects is not None and team not in projects:
        raise auth.permission_denied(f"API key does not have access to the requested project: ID {team}.")
    if team != wh.team_id:
        raise not_found("Project not found.")
    return team


async def _serve_api(sim: SimContext, request: Request, found: RouteMatch | None) -> Response:
    method = request.method
    try:
        if found is None:
            raise not_found()
        wh = sim.warehouse
        body_raw = await _read_body(request)
        # PostHog reads request.data for a key only when no Bearer header matched, so only then
        # can a broken or unsupported body fail the request before authentication.
        body_for_auth = None
        if not auth.has_bearer(request.headers):
            body_for_auth = request_data(body_raw, request.headers.get("content-type", ""))
        creds = auth.find_credentials(request.headers, body_for_auth, request.query_params)
        if creds is None:
            raise auth.not_authenticated()
        key = wh.api_keys.get(creds.key)
        if key is None:
            raise auth.not_authenticated() if creds.session else auth.invalid_key(creds.source)
        team_id = _resolve_team(found.team, wh, None if creds.session else key.projects)
        lookup = "GET" if method == "HEAD" else method
        if lookup not in found.endpoint.methods or method not in found.endpoint.http_method_names:
            raise method_not_allowed(method)
        action, handler = found.endpoint.methods[lookup]
        if not creds.session:
            denied = auth.check_scope(key.scopes, found.endpoint.scope_object, action, era=wh.era)
            if denied is not None:
                raise denied
            if sim.rate_limit:
                kind = None
                if found.endpoint.scope_object == "query" and action == "create":
                    kind = query_kind(_peek_json(body_raw))
                buckets = buckets_for(
                    action,
                    api_key=creds.key,
                    team_id=team_id,
                    view_id=found.params.get("id"),
                    query_kind=kind,
                )
                wait = sim.throttler.check(buckets)
                if wait is not None:
                    sim.stats.add_throttled()
                    return _throttled(wait)
        call = Call(sim, request, body_raw, found.params, team_id, key.user_id, key)
        return handler(call)
    except SimError as err:
        return _error(err)
    except _BodyTooLarge:
        return _too_large()
    except ClientDisconnect:
        # the client hung up while sending its body: nobody will read an answer, and it is no
        # server error (uvicorn drops whatever is returned here)
        log.debug("client disconnected during %s %s", method, found.stats_key if found else "(unmatched)")
        return Response(status_code=499)
    except Exception as exc:  # PostHog answers any uncaught exception with its generic 500
        where = f"{method} {found.stats_key}" if found else method
        log.error("simulator 500 on %s: %s: %s", where, type(exc).__name__, redact(str(exc)))
        return _error(server_error())


def _fault_response(decision: FaultDecision) -> Response | None:
    if decision.storm:
        return (
            _throttled(decision.retry_after)
            if decision.retry_after
            else _error(HogError(429, "throttled_error", "throttled", "Request was throttled."))
        )
    if decision.error_status == 500:
        return _error(server_error())
    if decision.error_status is not None:
        return Response(PROXY_BODIES[decision.error_status], decision.error_status, media_type="text/html")
    return None


def _date(sim: SimContext, response: Response) -> Response:
    """Stamp ``Date`` from the simulated clock.

    PostHog's Date header tells clients the server's time; here it is the simulated clock's, so a
    crawl of a fixture dated in the past measures staleness and job windows in fixture time. The
    header tells whole seconds: it is formatted once per second, not once per answer.
    """
    second = sim.warehouse.clock.now().astimezone(UTC).replace(microsecond=0)
    cached = sim.date_header
    if cached is None or cached[0] != second:
        cached = sim.date_header = (second, format_datetime(second, usegmt=True))
    response.headers["date"] = cached[1]
    return response


async def _dispatch(request: Request) -> Response:
    path = request.url.path
    sim = cast(SimContext, request.app.state.sim)
    if path == "/_sim" or path.startswith("/_sim/"):
        return _date(sim, await _control(request))
    found = match_route(path)
    sim.stats.record(f"{request.method} {found.stats_key}" if found else f"{request.method} (unmatched)")
    decision = sim.faults.decide()
    if decision.delay_s > 0:
        await asyncio.sleep(decision.delay_s)
    if decision.injected:
        sim.stats.add_injected()
    faulted = _fault_response(decision)
    if faulted is not None:
        if decision.storm:
            sim.stats.add_throttled()
        return _date(sim, faulted)
    if decision.stall_s > 0:
        await asyncio.sleep(decision.stall_s)
    response = await _serve_api(sim, request, found)
    if found is not None and response.status_code not in (413, 499):
        # DRF's finalize_response puts Allow on every answer of a view, errors included
        response.headers["allow"] = found.endpoint.allow
    _date(sim, response)
    if decision.truncate and response.body:
        headers = {k: v for k, v in response.headers.items() if k not in ("content-length", "content-type")}
        return Response(
            truncate_body(bytes(response.body)), response.status_code, headers, response.media_type
        )
    return response


# --- control endpoints ------------------------------------------------------------------------------


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    return host.startswith("127.") or host in ("::1", "localhost")


async def _control(request: Request) -> Response:
    sim = cast(SimContext, request.app.state.sim)
    if not _is_loopback(request):
        return json_response({"error": "The simulator control endpoints answer loopback clients only."}, 403)
    path = request.url.path.rstrip("/")
    method = request.method
    routes: dict[str, set[str]] = {
        "/_sim/stats": {"GET"},
        "/_sim/reset": {"POST"},
        "/_sim/clock": {"POST"},
        "/_sim/faults": {"GET", "POST"},
    }
    if path not in routes:
        return _error(not_found())
    if method not in routes[path]:
        return _error(method_not_allowed(method), {"Allow": ", ".join(sorted(routes[path]))})
    try:
        body = _peek_json(await _read_body(request))
    except _BodyTooLarge:
        return _too_large()
    except ClientDisconnect:
        return Response(status_code=499)
    if path == "/_sim/stats":
        return json_response(sim.stats.snapshot())
    if path == "/_sim/reset":
        sim.stats.reset()
        if isinstance(body, dict) and body.get("throttles") is True:
            sim.throttler.reset()
        return json_response(sim.stats.snapshot())
    if path == "/_sim/clock":
        seconds = body.get("advance") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < 1e9:
            return json_response(
                {"error": 'POST /_sim/clock needs a JSON body {"advance": seconds >= 0}'}, 400
            )
        with sim.warehouse.lock:
            sim.warehouse.clock.advance(float(seconds))
            now = sim.warehouse.clock.now()
        sim.throttler.advance(float(seconds))
        return json_response({"now": now.astimezone(UTC).isoformat().replace("+00:00", "Z")})
    if method == "POST":
        if not isinstance(body, dict):
            return json_response({"error": "POST /_sim/faults needs a JSON object of fault settings"}, 400)
        try:
            sim.faults.reconfigure(body)
        except InputError as exc:
            return json_response({"error": str(exc)}, 400)
    return json_response(sim.faults.config.as_dict())


def create_app(
    warehouse: Warehouse, *, faults: FaultConfig | None = None, rate_limit: bool = True
) -> Starlette:
    """A Starlette app serving ``warehouse`` like PostHog; ``app.state.sim`` is its :class:`SimContext`."""
    app = Starlette(routes=[Route("/{path:path}", _dispatch, methods=_ALL_METHODS)])
    app.state.sim = SimContext(warehouse=warehouse, faults=FaultInjector(faults), rate_limit=rate_limit)
    return app
