"""The simulator's HTTP layer: PostHog's routes, auth, scopes, throttles, pagination and faults.

``create_app(warehouse)`` returns a Starlette app that answers like PostHog (spec posthog-api.md) for
every saved-query, folder, data-modeling-job, data_warehouse, warehouse-table and query endpoint
(HogQL over system tables, :mod:`lineage.sim.query`), and the consumers' insights, dashboards,
notebooks, endpoints and alerts routes (:mod:`lineage.sim.consumers`), under both
``/api/projects/{team}/`` and ``/api/environments/{team}/`` with an optional trailing slash. The state
(:class:`lineage.sim.state.Warehouse`) owns the data and the era-specific validation; this module owns
everything in front of it. Order per request, as DRF does it: route (unknown → 404) → authenticate
(401) → team (404 ``Project not found.`` / 403 project access) → method (405) → scope (403) →
throttle (429) → handler. Every answer of a matched route carries DRF's ``Allow`` header, every
answer a ``Date`` from the simulated clock; bodies over :data:`MAX_BODY_BYTES` get a proxy's 413.

In era E3 the data-modeling jobs list follows the newest PostHog (posthog-api-3.md section 2:
limit/offset, 10 a page, at most 100, ``count``, filters ``saved_query_id`` and ``status``), retrieve
adds ``sync_frequency_bounds``, ``POST .../:id/resume/`` un-suspends a view, and schedules start jobs
on the simulated clock (:mod:`lineage.sim.schedule`).

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
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import format_datetime
from typing import Any, cast
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from lineage.config import redact
from lineage.errors import InputError
from lineage.sim import auth
from lineage.sim.consumers import no_access as consumer_no_access
from lineage.sim.errors import AdHocError, HogError, SimError, method_not_allowed, not_found, server_error
from lineage.sim.faults import PROXY_BODIES, FaultConfig, FaultDecision, FaultInjector, truncate_body
from lineage.sim.pagination import cursor_page, limit_offset_page, page_number_page
from lineage.sim.query import QueryEngine, over_quota, parse_query_body, query_kind
from lineage.sim.state import MISSING, KeyInfo, Warehouse
from lineage.sim.stats import Stats
from lineage.sim.throttle import Throttler, buckets_for, throttled_detail

log = logging.getLogger("lineage.sim")

_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# DRF's default http_method_names, upper-cased, in its order ("trace" has no handler anywhere)
_DRF_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Bodies above this are refused the way a load balancer does, before the app reads them.
MAX_BODY_BYTES = 16 * 1024 * 1024
_TOO_LARGE = (
    b"<html><head><title>413 Request Entity Too Large</title></head>"
    b"<body><h1>413 Request Entity Too Large</h1></body></html>\n"
)
_PREFIX = re.compile(r"^/api/(?P<prefix>projects|environments)/(?P<team>[^/.]+)/(?P<rest>.*)$")


@dataclass
class SimContext:
    """Everything the app shares between requests; ``app.state.sim``."""

    warehouse: Warehouse
    faults: FaultInjector
    rate_limit: bool
    stats: Stats = field(default_factory=Stats)
    throttler: Throttler = field(default_factory=Throttler)
    queries: QueryEngine = field(init=False)

    def __post_init__(self) -> None:
        self.queries = QueryEngine(self.warehouse)


@dataclass
class Call:
    """One authenticated request as the handlers see it."""

    sim: SimContext
    request: Request
    body_raw: bytes
    params: dict[str, str]
    team_id: int
    user_id: int
    key: KeyInfo | None = None

    @property
    def wh(self) -> Warehouse:
        return self.sim.warehouse

    @property
    def query(self) -> Any:
        return self.request.query_params

    @property
    def url(self) -> str:
        return str(self.request.url)

    def json_body(self) -> Any:
        """DRF's ``request.data``: see :func:`request_data`."""
        return request_data(self.body_raw, self.request.headers.get("content-type", ""))

    def level(self) -> Any:
        """``request.data.get("level")`` for ancestors/descendants (MISSING when absent).

        A body that parses to something other than an object (``null``, a list) has no ``.get``:
        the AttributeError inside PostHog is a 500.
        """
        data = self.json_body()
        if not isinstance(data, dict):
            raise server_error()
        return data.get("level", MISSING)


def _strict_constant(name: str) -> Any:
    raise ValueError(f"Out of range float values are not JSON compliant: {name!r}")


def request_data(raw: bytes, content_type: str) -> Any:
    """What DRF's ``request.data`` holds for this body, with PostHog's default parsers.

    An empty body is ``{}`` whatever its type; JSON is parsed strictly (``NaN`` refused) and a
    broken one is 400 ``parse_error``; a urlencoded form is a dict of its last values; any other
    media type (or none, with a body) is 415. Multipart forms are not modelled (read as ``{}``).
    """
    if not raw:
        return {}
    media, _, params = content_type.partition(";")
    media = media.strip().lower()
    charset = "utf-8"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    if media == "application/json":
        try:
            return json.loads(raw.decode(charset), parse_constant=_strict_constant)
        except (ValueError, LookupError) as exc:
            raise HogError(400, "invalid_request", "parse_error", f"JSON parse error - {exc}") from None
    if media == "application/x-www-form-urlencoded":
        return dict(parse_qsl(raw.decode("utf-8", errors="replace"), keep_blank_values=True))
    if media == "multipart/form-data":
        return {}
    raise HogError(
        415,
        "invalid_request",
        "unsupported_media_type",
        f'Unsupported media type "{content_type}" in request.',
    )


Handler = Callable[[Call], Response]


def _json(data: Any, status: int = 200) -> Response:
    return JSONResponse(data, status_code=status)


def _empty(status: int) -> Response:
    return Response(status_code=status)


# --- handlers ---------------------------------------------------------------------------------------


def _sq_list(c: Call) -> Response:
    include_columns = not (c.wh.era == "e3" and c.query.get("include_columns", "").lower() == "false")
    views = c.wh.list_views(search=c.query.get("search"), include_columns=include_columns)
    return _json(page_number_page(views, url=c.url, page=c.query.get("page")))


def _sq_create(c: Call) -> Response:
    view, created = c.wh.create_view(c.json_body(), user_id=c.user_id)
    return _json(view, 201 if created else 200)


def _sq_retrieve(c: Call) -> Response:
    view = c.wh.get_view(c.params["id"])
    if c.wh.era == "e3":
        # the newest PostHog adds the cadence bounds on retrieve (posthog-api-3.md section 5)
        view["sync_frequency_bounds"] = c.wh.sync_frequency_bounds(c.params["id"])
    return _json(view)


def _sq_update(c: Call) -> Response:
    return _json(c.wh.update_view(c.params["id"], c.json_body(), user_id=c.user_id))


def _sq_destroy(c: Call) -> Response:
    c.wh.delete_view(c.params["id"])
    return _empty(204)


def _sq_ancestors(c: Call) -> Response:
    return _json({"ancestors": c.wh.ancestors(c.params["id"], c.level())})


def _sq_descendants(c: Call) -> Response:
    return _json({"descendants": c.wh.descendants(c.params["id"], c.level())})


def _sq_dependencies(c: Call) -> Response:
    return _json(c.wh.dependencies(c.params["id"]))


def _e3_body(c: Call) -> Any:
    """E3's run/materialize read a body; E2's never touch ``request.data`` (a broken body is fine)."""
    return c.json_body() if c.wh.era == "e3" else None


def _sq_run(c: Call) -> Response:
    c.wh.run(c.params["id"], _e3_body(c))
    return _empty(200)


def _sq_materialize(c: Call) -> Response:
    c.wh.materialize(c.params["id"], _e3_body(c))
    return _empty(200)


def _sq_revert(c: Call) -> Response:
    c.wh.revert_materialization(c.params["id"])
    return _empty(200)


def _sq_cancel(c: Call) -> Response:
    c.wh.cancel(c.params["id"])
    return _empty(200)


def _sq_run_history(c: Call) -> Response:
    return _json(c.wh.run_history(c.params["id"]))


def _sq_resume(c: Call) -> Response:
    c.wh.resume_schedules(c.json_body())
    return _empty(202)


def _folder_list(c: Call) -> Response:
    return _json(c.wh.list_folders())


def _folder_create(c: Call) -> Response:
    return _json(c.wh.create_folder(c.json_body(), user_id=c.user_id), 201)


def _folder_retrieve(c: Call) -> Response:
    return _json(c.wh.get_folder(c.params["id"]))


def _folder_update(c: Call) -> Response:
    return _json(c.wh.update_folder(c.params["id"], c.json_body()))


def _folder_destroy(c: Call) -> Response:
    c.wh.delete_folder(c.params["id"])
    return _empty(204)


def _jobs_list(c: Call) -> Response:
    if c.wh.era == "e3":
        # The newest PostHog (posthog-api-3.md section 2): limit/offset, 10 by default, at most 100,
        # with ``count``; filters ``saved_query_id`` and ``status``.
        jobs = c.wh.list_jobs(
            saved_query_id=c.query.get("saved_query_id") or None, status=c.query.get("status") or None
        )
        return _json(
            limit_offset_page(
                jobs,
                url=c.url,
                limit=c.query.get("limit"),
                offset=c.query.get("offset"),
                default_limit=JOBS_PAGE_E3,
                max_limit=JOBS_MAX_E3,
            )
        )
    jobs = c.wh.list_jobs(saved_query_id=c.query.get("saved_query_id") or None)
    return _json(cursor_page(jobs, url=c.url, cursor=c.query.get("cursor"), limit=c.query.get("limit")))


JOBS_PAGE_E3 = 10
JOBS_MAX_E3 = 100


def _sq_resume_one(c: Call) -> Response:
    c.wh.resume(c.params["id"])
    return _empty(200)


def _jobs_retrieve(c: Call) -> Response:
    return _json(c.wh.get_job(c.params["id"]))


def _jobs_recent(c: Call) -> Response:
    return _json(c.wh.recent_jobs())


def _jobs_running(c: Call) -> Response:
    return _json(c.wh.running_jobs())


def _dw_check_name(c: Call) -> Response:
    return _json(c.wh.check_database_name(c.query.get("name")))


def _dw_completed_activity(c: Call) -> Response:
    try:
        limit = min(int(c.query.get("limit", "20")), 50)
        offset = int(c.query.get("offset", "0"))
        cutoff_days = int(c.query.get("cutoff_days", "30"))
    except ValueError:
        raise AdHocError(400, "Invalid limit, offset, or cutoff_days parameter") from None
    if limit < 0 or offset < 0:
        # PostgreSQL refuses a negative LIMIT/OFFSET; PostHog reports it as a database error
        raise AdHocError(500, "Database error occurred")
    kind, outcome = c.query.get("kind"), c.query.get("outcome")
    if c.wh.era == "e3":
        if kind not in (None, "sync", "materialization"):
            raise AdHocError(400, "kind must be 'sync' or 'materialization'")
        if outcome not in (None, "completed", "failed"):
            raise AdHocError(400, "outcome must be 'completed' or 'failed'")
    rows = c.wh.completed_activity(cutoff_days=cutoff_days, kind=kind, outcome=outcome)
    link = "?limit={}&offset={}&cutoff_days={}"
    # limit=0 keeps the offset where it is, so `next` never moves: PostHog's own quirk
    next_link = link.format(limit, offset + limit, cutoff_days) if len(rows) > offset + limit else None
    previous = link.format(limit, max(0, offset - limit), cutoff_days) if offset > 0 else None
    return _json({"results": rows[offset : offset + limit], "next": next_link, "previous": previous})


def _sq_activity(c: Call) -> Response:
    """PostHog's activity_page_response: ``{results, next, previous, total_count}`` (limit, page)."""
    try:
        limit = int(c.query.get("limit", "10"))
        page = int(c.query.get("page", "1"))
    except ValueError:
        raise AdHocError(500, "A server error occurred.") from None  # int() of the param raises
    rows = c.wh.activity(c.params["id"])
    limit, page = max(limit, 1), max(page, 1)
    start = (page - 1) * limit
    base = c.url.split("?", 1)[0]
    more = len(rows) > start + limit
    return _json(
        {
            "results": rows[start : start + limit],
            "next": f"{base}?limit={limit}&page={page + 1}" if more else None,
            "previous": f"{base}?limit={limit}&page={page - 1}" if page > 1 else None,
            "total_count": len(rows),
        }
    )


def _sq_check_incremental(c: Call) -> Response:
    return _json(c.wh.check_incremental(c.params["id"], c.json_body()))


def _dw_health(c: Call) -> Response:
    return _json({"results": c.wh.data_health_issues()})


def _tables_list(c: Call) -> Response:
    tables = c.wh.list_tables(search=c.query.get("search"))
    return _json(
        limit_offset_page(tables, url=c.url, limit=c.query.get("limit"), offset=c.query.get("offset"))
    )


def _tables_retrieve(c: Call) -> Response:
    return _json(c.wh.get_table(c.params["id"]))


def _dag(c: Call) -> Response:
    return _json(c.wh.warehouse_dag())


def _query_create(c: Call) -> Response:
    sql, values, run_async = parse_query_body(c.json_body())
    if c.key is not None and c.key.over_quota:
        raise over_quota()
    engine = c.sim.queries
    if run_async:
        return _json(engine.submit(sql, values, key=c.key, team_id=c.team_id), 202)
    return _json(engine.execute(sql, values, key=c.key))


def _query_status(c: Call) -> Response:
    return _json(c.sim.queries.status(c.params["id"]))


def _query_cancel(c: Call) -> Response:
    c.sim.queries.cancel(c.params["id"])
    return _empty(204)


# --- consumers (interfaces.md section 6): insights, dashboards, notebooks, endpoints, alerts ----------


def _consumers(c: Call, resource: str, *, write: bool = False) -> Any:
    """The consumer store after PostHog's object-access check (resource level ``none`` → 403)."""
    if c.key is not None and resource in c.key.no_access:
        raise consumer_no_access(write)
    return c.wh.consumers


def _consumer_list(resource: str, lister: str) -> Handler:
    def handler(c: Call) -> Response:
        with c.wh.lock:
            rows = getattr(_consumers(c, resource), lister)()
        return _json(
            limit_offset_page(rows, url=c.url, limit=c.query.get("limit"), offset=c.query.get("offset"))
        )

    return handler


def _consumer_call(
    resource: str, method: str, *, write: bool, status: int = 200, with_id: bool = True
) -> Handler:
    def handler(c: Call) -> Response:
        with c.wh.lock:
            store = _consumers(c, resource, write=write)
            fn = getattr(store, method)
            if method.startswith("create_"):
                result = fn(c.json_body(), user_id=c.user_id)
            elif method.startswith("update_"):
                result = fn(c.params["id"], c.json_body())
            else:
                result = fn(c.params["id"]) if with_id else fn()
        return _empty(status) if result is None else _json(result, status)

    return handler


# --- routes -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One route template below ``/api/<prefix>/{team_id}/`` and its method → (action, handler) map."""

    template: str
    scope_object: str
    methods: dict[str, tuple[str, Handler]]
    regex: re.Pattern[str]
    # DRF's http_method_names when a viewset narrows it (folders: no PUT, HEAD or OPTIONS)
    http_method_names: tuple[str, ...] = _DRF_METHODS

    @property
    def allow(self) -> str:
        """DRF's ``Allow`` header: the viewset's methods in ``http_method_names`` order.

        Django's View answers HEAD with GET; APIView always has OPTIONS.
        """
        present = set(self.methods)
        if "GET" in present:
            present.add("HEAD")
        present.add("OPTIONS")
        return ", ".join(m for m in self.http_method_names if m in present)


def _endpoint(
    template: str,
    scope_object: str,
    methods: dict[str, tuple[str, Handler]],
    *,
    http_method_names: tuple[str, ...] = _DRF_METHODS,
) -> Endpoint:
    pattern = re.escape(template.rstrip("/")).replace(r"\{id\}", r"(?P<id>[^/.]+)") + "/?"
    return Endpoint(template, scope_object, methods, re.compile(pattern), http_method_names)


_SQ = "warehouse_saved_queries"
_FOLDER_METHODS = ("GET", "POST", "PATCH", "DELETE")
_VIEW = "warehouse_view"

# Collection actions come before the detail route, as in DRF's router (``resume_schedules`` is no id).
ENDPOINTS: tuple[Endpoint, ...] = (
    _endpoint(f"{_SQ}/", _VIEW, {"GET": ("list", _sq_list), "POST": ("create", _sq_create)}),
    _endpoint(f"{_SQ}/resume_schedules/", _VIEW, {"POST": ("resume_schedules", _sq_resume)}),
    _endpoint(
        f"{_SQ}/{{id}}/",
        _VIEW,
        {
            "GET": ("retrieve", _sq_retrieve),
            "PATCH": ("partial_update", _sq_update),
            "PUT": ("update", _sq_update),
            "DELETE": ("destroy", _sq_destroy),
        },
    ),
    _endpoint(f"{_SQ}/{{id}}/ancestors/", _VIEW, {"POST": ("ancestors", _sq_ancestors)}),
    _endpoint(f"{_SQ}/{{id}}/descendants/", _VIEW, {"POST": ("descendants", _sq_descendants)}),
    _endpoint(f"{_SQ}/{{id}}/dependencies/", _VIEW, {"GET": ("dependencies", _sq_dependencies)}),
    _endpoint(f"{_SQ}/{{id}}/run/", _VIEW, {"POST": ("run", _sq_run)}),
    _endpoint(f"{_SQ}/{{id}}/materialize/", _VIEW, {"POST": ("materialize", _sq_materialize)}),
    _endpoint(
        f"{_SQ}/{{id}}/revert_materialization/", _VIEW, {"POST": ("revert_materialization", _sq_revert)}
    ),
    _endpoint(f"{_SQ}/{{id}}/cancel/", _VIEW, {"POST": ("cancel", _sq_cancel)}),
    _endpoint(f"{_SQ}/{{id}}/run_history/", _VIEW, {"GET": ("run_history", _sq_run_history)}),
    _endpoint(f"{_SQ}/{{id}}/resume/", _VIEW, {"POST": ("resume", _sq_resume_one)}),
    # newest PostHog (issue 19): the view's edit history and the incremental check
    _endpoint(f"{_SQ}/{{id}}/activity/", _VIEW, {"GET": ("activity", _sq_activity)}),
    _endpoint(
        f"{_SQ}/{{id}}/check_incremental/", _VIEW, {"POST": ("check_incremental", _sq_check_incremental)}
    ),
    _endpoint(
        "warehouse_saved_query_folders/",
        _VIEW,
        {"GET": ("list", _folder_list), "POST": ("create", _folder_create)},
        http_method_names=_FOLDER_METHODS,
    ),
    _endpoint(
        "warehouse_saved_query_folders/{id}/",
        _VIEW,
        {
            "GET": ("retrieve", _folder_retrieve),
            "PATCH": ("partial_update", _folder_update),
            "DELETE": ("destroy", _folder_destroy),
        },
        http_method_names=_FOLDER_METHODS,
    ),
    _endpoint("data_modeling_jobs/", _VIEW, {"GET": ("list", _jobs_list)}),
    _endpoint("data_modeling_jobs/recent/", _VIEW, {"GET": ("recent", _jobs_recent)}),
    _endpoint("data_modeling_jobs/running/", _VIEW, {"GET": ("running", _jobs_running)}),
    _endpoint("data_modeling_jobs/{id}/", _VIEW, {"GET": ("retrieve", _jobs_retrieve)}),
    _endpoint(
        "data_warehouse/check-database-name/",
        "data_warehouse",
        {"GET": ("check_database_name", _dw_check_name)},
    ),
    _endpoint(
        "data_warehouse/completed_activity/",
        "data_warehouse",
        {"GET": ("completed_activity", _dw_completed_activity)},
    ),
    _endpoint(
        "data_warehouse/data_health_issues/",
        "data_warehouse",
        {"GET": ("data_health_issues", _dw_health)},
    ),
    _endpoint("warehouse_tables/", "warehouse_table", {"GET": ("list", _tables_list)}),
    _endpoint("warehouse_tables/{id}/", "warehouse_table", {"GET": ("retrieve", _tables_retrieve)}),
    _endpoint("warehouse_dag/", auth.INTERNAL, {"GET": ("list", _dag)}),
    _endpoint(
        "insights/",
        "insight",
        {
            "GET": ("list", _consumer_list("insight", "list_insights")),
            "POST": ("create", _consumer_call("insight", "create_insight", write=True, status=201)),
        },
    ),
    _endpoint(
        "insights/{id}/",
        "insight",
        {
            "GET": ("retrieve", _consumer_call("insight", "get_insight", write=False)),
            "PATCH": ("partial_update", _consumer_call("insight", "update_insight", write=True)),
        },
    ),
    _endpoint(
        "dashboards/",
        "dashboard",
        {
            "GET": ("list", _consumer_list("dashboard", "list_dashboards")),
            "POST": ("create", _consumer_call("dashboard", "create_dashboard", write=True, status=201)),
        },
    ),
    _endpoint(
        "dashboards/{id}/",
        "dashboard",
        {
            "GET": ("retrieve", _consumer_call("dashboard", "get_dashboard", write=False)),
            "PATCH": ("partial_update", _consumer_call("dashboard", "update_dashboard", write=True)),
        },
    ),
    _endpoint(
        "notebooks/",
        "notebook",
        {
            "GET": ("list", _consumer_list("notebook", "list_notebooks")),
            "POST": ("create", _consumer_call("notebook", "create_notebook", write=True, status=201)),
        },
    ),
    _endpoint(
        "notebooks/{id}/",
        "notebook",
        {
            "GET": ("retrieve", _consumer_call("notebook", "get_notebook", write=False)),
            "PATCH": ("partial_update", _consumer_call("notebook", "update_notebook", write=True)),
        },
    ),
    _endpoint(
        "endpoints/",
        "endpoint",
        {
            "GET": ("list", _consumer_list("endpoint", "list_endpoints")),
            "POST": ("create", _consumer_call("endpoint", "create_endpoint", write=True, status=201)),
        },
    ),
    _endpoint(
        "endpoints/{id}/",
        "endpoint",
        {
            "GET": ("retrieve", _consumer_call("endpoint", "get_endpoint", write=False)),
            "PATCH": ("partial_update", _consumer_call("endpoint", "update_endpoint", write=True)),
            "DELETE": ("destroy", _consumer_call("endpoint", "delete_endpoint", write=True, status=204)),
        },
    ),
    _endpoint("alerts/", "alert", {"GET": ("list", _consumer_list("alert", "list_alerts"))}),
    _endpoint("query/", "query", {"POST": ("create", _query_create)}),
    _endpoint(
        "query/{id}/", "query", {"GET": ("retrieve", _query_status), "DELETE": ("destroy", _query_cancel)}
    ),
)


@dataclass(frozen=True)
class RouteMatch:
    endpoint: Endpoint
    prefix: str
    team: str
    params: dict[str, str]

    @property
    def stats_key(self) -> str:
        return f"/api/{self.prefix}/{{team_id}}/{self.endpoint.template}"


def match_route(path: str) -> RouteMatch | None:
    """The endpoint for ``path``, or None (an unknown route is a 404)."""
    head = _PREFIX.match(path)
    if head is None:
        return None
    rest = head.group("rest")
    for endpoint in ENDPOINTS:
        found = endpoint.regex.fullmatch(rest)
        if found is not None:
            return RouteMatch(endpoint, head.group("prefix"), head.group("team"), found.groupdict())
    return None


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
    crawl of a fixture dated in the past measures staleness and job windows in fixture time.
    """
    response.headers["date"] = format_datetime(sim.warehouse.clock.now().astimezone(UTC), usegmt=True)
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
        return _json({"error": "The simulator control endpoints answer loopback clients only."}, 403)
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
        return _json(sim.stats.snapshot())
    if path == "/_sim/reset":
        sim.stats.reset()
        if isinstance(body, dict) and body.get("throttles") is True:
            sim.throttler.reset()
        return _json(sim.stats.snapshot())
    if path == "/_sim/clock":
        seconds = body.get("advance") if isinstance(body, dict) else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds < 1e9:
            return _json({"error": 'POST /_sim/clock needs a JSON body {"advance": seconds >= 0}'}, 400)
        with sim.warehouse.lock:
            sim.warehouse.clock.advance(float(seconds))
            now = sim.warehouse.clock.now()
        sim.throttler.advance(float(seconds))
        return _json({"now": now.astimezone(UTC).isoformat().replace("+00:00", "Z")})
    if method == "POST":
        if not isinstance(body, dict):
            return _json({"error": "POST /_sim/faults needs a JSON object of fault settings"}, 400)
        try:
            sim.faults.reconfigure(body)
        except InputError as exc:
            return _json({"error": str(exc)}, 400)
    return _json(sim.faults.config.as_dict())


def create_app(
    warehouse: Warehouse, *, faults: FaultConfig | None = None, rate_limit: bool = True
) -> Starlette:
    """A Starlette app serving ``warehouse`` like PostHog; ``app.state.sim`` is its :class:`SimContext`."""
    app = Starlette(routes=[Route("/{path:path}", _dispatch, methods=_ALL_METHODS)])
    app.state.sim = SimContext(warehouse=warehouse, faults=FaultInjector(faults), rate_limit=rate_limit)
    return app
