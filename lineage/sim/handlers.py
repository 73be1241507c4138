"""The simulator's route handlers: one function per PostHog action, from a :class:`Call` to a response.

A handler runs after the request pipeline (:mod:`lineage.sim.app`) has matched the route
(:mod:`lineage.sim.routes`), authenticated the key, checked the team, method, scope and throttles; it
reads the parameters PostHog reads, asks the :class:`~lineage.sim.state.Warehouse` (or the query
engine, or the consumer store) and pages the answer (:mod:`lineage.sim.pagination`).

In era E3 the data-modeling jobs list follows the newest PostHog (limit/offset, 10 a page, at most
100, ``count``, filters ``saved_query_id`` and ``status``), retrieve adds ``sync_frequency_bounds``,
and ``POST .../:id/resume/`` un-suspends a view.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from lineage.fastjson import dumps_compact
from lineage.sim.consumers import no_access as consumer_no_access
from lineage.sim.errors import AdHocError, HogError, server_error
from lineage.sim.pagination import cursor_page, limit_offset_page, page_number_page
from lineage.sim.query import over_quota, parse_query_body
from lineage.sim.state import MISSING, KeyInfo, Warehouse

if TYPE_CHECKING:
    from lineage.sim.app import SimContext


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


def json_response(data: Any, status: int = 200) -> Response:
    """A JSON answer: JSONResponse's bytes, through orjson where they are the same
    (:func:`lineage.fastjson.dumps_compact`; a page of 50,000 job rows is 17 MB)."""
    return Response(dumps_compact(data), status_code=status, media_type="application/json")


def empty_response(status: int) -> Response:
    """An answer with no body."""
    return Response(status_code=status)


# --- handlers ---------------------------------------------------------------------------------------


def saved_query_list(c: Call) -> Response:
    include_columns = not (
        c.wh.rules.honours_include_columns and c.query.get("include_columns", "").lower() == "false"
    )
    views = c.wh.list_views(search=c.query.get("search"), include_columns=include_columns, lazy=True)
    return json_response(page_number_page(views, url=c.url, page=c.query.get("page")))


def saved_query_create(c: Call) -> Response:
    view, created = c.wh.create_view(c.json_body(), user_id=c.user_id)
    return json_response(view, 201 if created else 200)


def saved_query_retrieve(c: Call) -> Response:
    view = c.wh.get_view(c.params["id"])
    if c.wh.rules.reports_cadence_bounds:
        view["sync_frequency_bounds"] = c.wh.sync_frequency_bounds(c.params["id"])
    return json_response(view)


def saved_query_update(c: Call) -> Response:
    return json_response(c.wh.update_view(c.params["id"], c.json_body(), user_id=c.user_id))


def saved_query_destroy(c: Call) -> Response:
    c.wh.delete_view(c.params["id"])
    return empty_response(204)


def saved_query_ancestors(c: Call) -> Response:
    return json_response({"ancestors": c.wh.ancestors(c.params["id"], c.level())})


def saved_query_descendants(c: Call) -> Response:
    return json_response({"descendants": c.wh.descendants(c.params["id"], c.level())})


def saved_query_dependencies(c: Call) -> Response:
    return json_response(c.wh.dependencies(c.params["id"]))


def _action_body(c: Call) -> Any:
    """run/materialize's body when the era reads one (E2's never touch ``request.data``, so a
    broken body is fine there)."""
    return c.json_body() if c.wh.rules.reads_action_bodies else None


def saved_query_run(c: Call) -> Response:
    c.wh.run(c.params["id"], _action_body(c))
    return empty_response(200)


def saved_query_materialize(c: Call) -> Response:
    c.wh.materialize(c.params["id"], _action_body(c))
    return empty_response(200)


def saved_query_revert(c: Call) -> Response:
    c.wh.revert_materialization(c.params["id"])
    return empty_response(200)


def saved_query_cancel(c: Call) -> Response:
    c.wh.cancel(c.params["id"])
    return empty_response(200)


def saved_query_run_history(c: Call) -> Response:
    return json_response(c.wh.run_history(c.params["id"]))


def saved_query_resume(c: Call) -> Response:
    c.wh.resume_schedules(c.json_body())
    return empty_response(202)


def folder_list(c: Call) -> Response:
    return json_response(c.wh.list_folders())


def folder_create(c: Call) -> Response:
    return json_response(c.wh.create_folder(c.json_body(), user_id=c.user_id), 201)


def folder_retrieve(c: Call) -> Response:
    return json_response(c.wh.get_folder(c.params["id"]))


def folder_update(c: Call) -> Response:
    return json_response(c.wh.update_folder(c.params["id"], c.json_body()))


def folder_destroy(c: Call) -> Response:
    c.wh.delete_folder(c.params["id"])
    return empty_response(204)


def jobs_list(c: Call) -> Response:
    if c.wh.rules.jobs_page is not None:
        # limit/offset pages with ``count``; filters ``saved_query_id`` and ``status``
        default_limit, max_limit = c.wh.rules.jobs_page
        jobs = c.wh.list_jobs(
            saved_query_id=c.query.get("saved_query_id") or None,
            status=c.query.get("status") or None,
            lazy=True,
        )
        return json_response(
            limit_offset_page(
                jobs,
                url=c.url,
                limit=c.query.get("limit"),
                offset=c.query.get("offset"),
                default_limit=default_limit,
                max_limit=max_limit,
            )
        )
    jobs = c.wh.list_jobs(saved_query_id=c.query.get("saved_query_id") or None, lazy=True)
    return json_response(
        cursor_page(jobs, url=c.url, cursor=c.query.get("cursor"), limit=c.query.get("limit"))
    )


def saved_query_resume_one(c: Call) -> Response:
    c.wh.resume(c.params["id"])
    return empty_response(200)


def jobs_retrieve(c: Call) -> Response:
    return json_response(c.wh.get_job(c.params["id"]))


def jobs_recent(c: Call) -> Response:
    return json_response(c.wh.recent_jobs())


def jobs_running(c: Call) -> Response:
    return json_response(c.wh.running_jobs())


def data_warehouse_check_name(c: Call) -> Response:
    return json_response(c.wh.check_database_name(c.query.get("name")))


def data_warehouse_completed_activity(c: Call) -> Response:
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
    c.wh.rules.check_activity_params(kind, outcome)
    rows = c.wh.completed_activity(cutoff_days=cutoff_days, kind=kind, outcome=outcome)
    link = "?limit={}&offset={}&cutoff_days={}"
    # limit=0 keeps the offset where it is, so `next` never moves: PostHog's own quirk
    next_link = link.format(limit, offset + limit, cutoff_days) if len(rows) > offset + limit else None
    previous = link.format(limit, max(0, offset - limit), cutoff_days) if offset > 0 else None
    return json_response({"results": rows[offset : offset + limit], "next": next_link, "previous": previous})


def saved_query_activity(c: Call) -> Response:
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
    return json_response(
        {
            "results": rows[start : start + limit],
            "next": f"{base}?limit={limit}&page={page + 1}" if more else None,
            "previous": f"{base}?limit={limit}&page={page - 1}" if page > 1 else None,
            "total_count": len(rows),
        }
    )


def saved_query_check_incremental(c: Call) -> Response:
    return json_response(c.wh.check_incremental(c.params["id"], c.json_body()))


def data_warehouse_health(c: Call) -> Response:
    return json_response({"results": c.wh.data_health_issues()})


def tables_list(c: Call) -> Response:
    tables = c.wh.list_tables(search=c.query.get("search"), lazy=True)
    return json_response(
        limit_offset_page(tables, url=c.url, limit=c.query.get("limit"), offset=c.query.get("offset"))
    )


def tables_retrieve(c: Call) -> Response:
    return json_response(c.wh.get_table(c.params["id"]))


def warehouse_dag(c: Call) -> Response:
    return json_response(c.wh.warehouse_dag())


def query_create(c: Call) -> Response:
    sql, values, run_async = parse_query_body(c.json_body())
    if c.key is not None and c.key.over_quota:
        raise over_quota()
    engine = c.sim.queries
    if run_async:
        return json_response(engine.submit(sql, values, key=c.key, team_id=c.team_id), 202)
    return json_response(engine.execute(sql, values, key=c.key))


def query_status(c: Call) -> Response:
    return json_response(c.sim.queries.status(c.params["id"]))


def query_cancel(c: Call) -> Response:
    c.sim.queries.cancel(c.params["id"])
    return empty_response(204)


# --- consumers: insights, dashboards, notebooks, endpoints, alerts ----------


def _consumers(c: Call, resource: str, *, write: bool = False) -> Any:
    """The consumer store after PostHog's object-access check (resource level ``none`` → 403)."""
    if c.key is not None and resource in c.key.no_access:
        raise consumer_no_access(write)
    return c.wh.consumers


def consumer_list(resource: str, lister: str) -> Handler:
    def handler(c: Call) -> Response:
        with c.wh.lock:
            rows = getattr(_consumers(c, resource), lister)()
        return json_response(
            limit_offset_page(rows, url=c.url, limit=c.query.get("limit"), offset=c.query.get("offset"))
        )

    return handler


def consumer_call(
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
        return empty_response(status) if result is None else json_response(result, status)

    return handler
