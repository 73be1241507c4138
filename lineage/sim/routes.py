"""The simulator's routes: every PostHog endpoint it serves, as a template, a scope object and the
handlers of its methods, and the matching of a request path to one of them.

Routes sit below ``/api/projects/{team}/`` or ``/api/environments/{team}/`` with an optional trailing
slash. Collection actions come before the detail route, as in DRF's router.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lineage.sim import auth
from lineage.sim import handlers as h

__all__ = ["ENDPOINTS", "SAVED_QUERIES", "Endpoint", "RouteMatch", "match_route"]

# DRF's default http_method_names, upper-cased, in its order ("trace" has no handler anywhere)
_DRF_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_PREFIX = re.compile(r"^/api/(?P<prefix>projects|environments)/(?P<team>[^/.]+)/(?P<rest>.*)$")


@dataclass(frozen=True)
class Endpoint:
    """One route template below ``/api/<prefix>/{team_id}/`` and its method → (action, handler) map."""

    template: str
    scope_object: str
    methods: dict[str, tuple[str, h.Handler]]
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
    methods: dict[str, tuple[str, h.Handler]],
    *,
    http_method_names: tuple[str, ...] = _DRF_METHODS,
) -> Endpoint:
    pattern = re.escape(template.rstrip("/")).replace(r"\{id\}", r"(?P<id>[^/.]+)") + "/?"
    return Endpoint(template, scope_object, methods, re.compile(pattern), http_method_names)


SAVED_QUERIES = "warehouse_saved_queries"
_FOLDER_METHODS = ("GET", "POST", "PATCH", "DELETE")
# The scope object of every saved-query, folder and data-modeling-job route.
_WAREHOUSE_VIEW = "warehouse_view"


def _view_action(action: str, method: str, handler: h.Handler) -> Endpoint:
    """A saved query's detail action: ``METHOD .../warehouse_saved_queries/{id}/<action>/``."""
    return _endpoint(f"{SAVED_QUERIES}/{{id}}/{action}/", _WAREHOUSE_VIEW, {method: (action, handler)})


def _consumer_endpoints(path: str, resource: str, *, destroy: bool = False) -> tuple[Endpoint, Endpoint]:
    """The list/create and retrieve/update(/destroy) routes of a consumer resource (``insights``,
    ``insight``), served by the consumer store's ``list_insights``, ``create_insight``, ..."""
    detail: dict[str, tuple[str, h.Handler]] = {
        "GET": ("retrieve", h.consumer_call(resource, f"get_{resource}", write=False)),
        "PATCH": ("partial_update", h.consumer_call(resource, f"update_{resource}", write=True)),
    }
    if destroy:
        detail["DELETE"] = (
            "destroy",
            h.consumer_call(resource, f"delete_{resource}", write=True, status=204),
        )
    return (
        _endpoint(
            f"{path}/",
            resource,
            {
                "GET": ("list", h.consumer_list(resource, f"list_{path}")),
                "POST": ("create", h.consumer_call(resource, f"create_{resource}", write=True, status=201)),
            },
        ),
        _endpoint(f"{path}/{{id}}/", resource, detail),
    )


# Collection actions come before the detail route, as in DRF's router (``resume_schedules`` is no id).
ENDPOINTS: tuple[Endpoint, ...] = (
    _endpoint(
        f"{SAVED_QUERIES}/",
        _WAREHOUSE_VIEW,
        {"GET": ("list", h.saved_query_list), "POST": ("create", h.saved_query_create)},
    ),
    _endpoint(
        f"{SAVED_QUERIES}/resume_schedules/",
        _WAREHOUSE_VIEW,
        {"POST": ("resume_schedules", h.saved_query_resume)},
    ),
    _endpoint(
        f"{SAVED_QUERIES}/{{id}}/",
        _WAREHOUSE_VIEW,
        {
            "GET": ("retrieve", h.saved_query_retrieve),
            "PATCH": ("partial_update", h.saved_query_update),
            "PUT": ("update", h.saved_query_update),
            "DELETE": ("destroy", h.saved_query_destroy),
        },
    ),
    _view_action("ancestors", "POST", h.saved_query_ancestors),
    _view_action("descendants", "POST", h.saved_query_descendants),
    _view_action("dependencies", "GET", h.saved_query_dependencies),
    _view_action("run", "POST", h.saved_query_run),
    _view_action("materialize", "POST", h.saved_query_materialize),
    _view_action("revert_materialization", "POST", h.saved_query_revert),
    _view_action("cancel", "POST", h.saved_query_cancel),
    _view_action("run_history", "GET", h.saved_query_run_history),
    _view_action("resume", "POST", h.saved_query_resume_one),
    # newest PostHog: the view's edit history and the incremental check
    _view_action("activity", "GET", h.saved_query_activity),
    _view_action("check_incremental", "POST", h.saved_query_check_incremental),
    _endpoint(
        "warehouse_saved_query_folders/",
        _WAREHOUSE_VIEW,
        {"GET": ("list", h.folder_list), "POST": ("create", h.folder_create)},
        http_method_names=_FOLDER_METHODS,
    ),
    _endpoint(
        "warehouse_saved_query_folders/{id}/",
        _WAREHOUSE_VIEW,
        {
            "GET": ("retrieve", h.folder_retrieve),
            "PATCH": ("partial_update", h.folder_update),
            "DELETE": ("destroy", h.folder_destroy),
        },
        http_method_names=_FOLDER_METHODS,
    ),
    _endpoint("data_modeling_jobs/", _WAREHOUSE_VIEW, {"GET": ("list", h.jobs_list)}),
    _endpoint("data_modeling_jobs/recent/", _WAREHOUSE_VIEW, {"GET": ("recent", h.jobs_recent)}),
    _endpoint("data_modeling_jobs/running/", _WAREHOUSE_VIEW, {"GET": ("running", h.jobs_running)}),
    _endpoint("data_modeling_jobs/{id}/", _WAREHOUSE_VIEW, {"GET": ("retrieve", h.jobs_retrieve)}),
    _endpoint(
        "data_warehouse/check-database-name/",
        "data_warehouse",
        {"GET": ("check_database_name", h.data_warehouse_check_name)},
    ),
    _endpoint(
        "data_warehouse/completed_activity/",
        "data_warehouse",
        {"GET": ("completed_activity", h.data_warehouse_completed_activity)},
    ),
    _endpoint(
        "data_warehouse/data_health_issues/",
        "data_warehouse",
        {"GET": ("data_health_issues", h.data_warehouse_health)},
    ),
    _endpoint("warehouse_tables/", "warehouse_table", {"GET": ("list", h.tables_list)}),
    _endpoint("warehouse_tables/{id}/", "warehouse_table", {"GET": ("retrieve", h.tables_retrieve)}),
    _endpoint("warehouse_dag/", auth.INTERNAL, {"GET": ("list", h.warehouse_dag)}),
    *_consumer_endpoints("insights", "insight"),
    *_consumer_endpoints("dashboards", "dashboard"),
    *_consumer_endpoints("notebooks", "notebook"),
    *_consumer_endpoints("endpoints", "endpoint", destroy=True),
    _endpoint("alerts/", "alert", {"GET": ("list", h.consumer_list("alert", "list_alerts"))}),
    _endpoint("query/", "query", {"POST": ("create", h.query_create)}),
    _endpoint(
        "query/{id}/", "query", {"GET": ("retrieve", h.query_status), "DELETE": ("destroy", h.query_cancel)}
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
