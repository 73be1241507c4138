"""The simulator's consumers: insights, dashboards (and their tiles), notebooks, endpoints and alerts.

:class:`ConsumerStore` holds them (records of :mod:`lineage.sim.consumer_records`, loaded from the
fixture keys ``insights``, ``dashboards``, ``dashboard_tiles``, ``notebooks``, ``endpoints`` and
``alerts`` by :mod:`lineage.sim.consumer_fixture`), answers the REST shapes of ``/insights/``,
``/dashboards/``, ``/notebooks/``, ``/endpoints/`` and ``/alerts/``, and takes creates, edits and
soft deletes (``PATCH {"deleted": true}``) so that tests can change a workspace between two crawls.
The rows of their ``system.*`` tables come from :mod:`lineage.sim.consumer_tables`. The owning
:class:`~lineage.sim.state.Warehouse` serialises access.

Per-object access (PostHog's RBAC, resource level ``none``): a key's owner without access to a
resource gets, over the query API, 400 "You don't have access to table `system.x`." for every
system table of that resource (``posthog/hogql/database`` tracks denied tables and raises a
QueryError naming them; tested in PostHog's ``test_access_control`` "TestDeniedTableError"), and,
over REST, 403 "You do not have viewer access to this resource.".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, TypeVar

from lineage.sim import consumer_tables
from lineage.sim.consumer_fixture import load_consumers
from lineage.sim.consumer_records import (
    Alert,
    Dashboard,
    Endpoint,
    EndpointVersion,
    Insight,
    Notebook,
    Tile,
    consumer_uuid,
    short_id_for,
    text_of,
)
from lineage.sim.errors import HogError, invalid, not_found
from lineage.sim.validate import not_a_dict

__all__ = ["ACCESS_LEVELS", "RESOURCE_TABLES", "ConsumerStore", "no_access"]

# Which system tables each access resource guards (dashboard tiles inherit the dashboard's scope).
RESOURCE_TABLES: Final[dict[str, tuple[str, ...]]] = {
    "insight": ("system.insights",),
    "dashboard": ("system.dashboards", "system.dashboard_tiles"),
    "notebook": ("system.notebooks",),
    "endpoint": ("system.data_modeling_endpoints", "system.data_modeling_endpoint_versions"),
    "alert": ("system.alerts",),
}
ACCESS_LEVELS: Final = ("none", "viewer", "editor", "manager")


def no_access(action_is_write: bool) -> HogError:
    """PostHog's 403 for a resource the user's access level does not reach."""
    level = "editor" if action_is_write else "viewer"
    return HogError(
        403, "authentication_error", "permission_denied", f"You do not have {level} access to this resource."
    )


# A consumer a detail route finds: live, or PostHog's 404.
_Found = TypeVar("_Found", Insight, Dashboard, Notebook, Endpoint)


def _live(found: _Found | None) -> _Found:
    if found is None or found.deleted:
        raise not_found()
    return found


def _by_int_id(records: Mapping[int, _Found], raw: str) -> _Found | None:
    """The record whose integer id ``raw`` spells (None when it spells none)."""
    try:
        return records.get(int(raw))
    except ValueError:
        return None


@dataclass
class ConsumerStore:
    """Consumers of one simulated team; ``user`` renders a UserBasic, ``now`` is the clock."""

    user: Callable[[int | None], dict[str, Any] | None]
    now: Callable[[], datetime]
    render_time: Callable[[datetime | None], str | None]
    insights: dict[int, Insight] = field(default_factory=dict)
    dashboards: dict[int, Dashboard] = field(default_factory=dict)
    tiles: dict[int, Tile] = field(default_factory=dict)
    notebooks: dict[str, Notebook] = field(default_factory=dict)
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    _seq: int = 0

    # ------------------------------------------------------------------ fixture and system tables
    def load(
        self, fixture: Mapping[str, Any], *, default_user: int, parse_time: Callable[[Any, str], datetime]
    ) -> None:
        """Add the fixture's consumers (checked; an error names the offending item)."""
        load_consumers(self, fixture, default_user=default_user, parse_time=parse_time)

    def system_records(self, table: str) -> list[dict[str, Any]] | None:
        """Rows of ``system.<table>`` for the consumer tables (deleted rows included); None otherwise."""
        rows = consumer_tables.ROWS.get(table)
        return None if rows is None else rows(self)

    # ------------------------------------------------------------------ REST shapes
    def _insight_shape(self, x: Insight) -> dict[str, Any]:
        tiles = [t for t in self.tiles.values() if t.insight_id == x.id and not t.deleted]
        live_tiles = [t for t in tiles if not self.dashboards[t.dashboard_id].deleted]
        return {
            "id": x.id,
            "short_id": x.short_id,
            "name": x.name,
            "derived_name": None,
            "query": x.query,
            "filters": x.filters or {},
            "description": x.description,
            "deleted": x.deleted,
            "saved": x.saved,
            "created_at": self.render_time(x.created_at),
            "created_by": self.user(x.created_by),
            "last_modified_at": self.render_time(x.last_modified_at),
            "dashboards": sorted({t.dashboard_id for t in live_tiles}),
            "dashboard_tiles": [
                {"id": t.id, "dashboard_id": t.dashboard_id, "deleted": t.deleted}
                for t in sorted(live_tiles, key=lambda t: t.id)
            ],
        }

    def _dashboard_shape(self, d: Dashboard, *, tiles: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": d.id,
            "name": d.name,
            "description": d.description,
            "deleted": d.deleted,
            "created_at": self.render_time(d.created_at),
            "created_by": self.user(d.created_by),
        }
        if tiles:
            out["tiles"] = [
                {
                    "id": t.id,
                    "insight": None
                    if t.insight_id is None
                    else {
                        "id": t.insight_id,
                        "short_id": self.insights[t.insight_id].short_id,
                        "name": self.insights[t.insight_id].name,
                    },
                    "text": None if t.text_id is None else {"id": t.text_id},
                    "deleted": t.deleted,
                }
                for t in sorted(self.tiles.values(), key=lambda t: t.id)
                if t.dashboard_id == d.id and not t.deleted
            ]
        return out

    def _notebook_shape(self, n: Notebook, *, content: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": n.id,
            "short_id": n.short_id,
            "title": n.title,
            "deleted": n.deleted,
            "created_at": self.render_time(n.created_at),
            "created_by": self.user(n.created_by),
            "last_modified_at": self.render_time(n.last_modified_at),
        }
        if content:
            out["content"] = n.content
            out["text_content"] = text_of(n.content)
        return out

    def _endpoint_shape(self, e: Endpoint) -> dict[str, Any]:
        return {
            "id": e.id,
            "name": e.name,
            "is_active": e.is_active,
            "current_version": e.current_version,
            "created_at": self.render_time(e.created_at),
            "created_by": self.user(e.created_by),
            "versions": [
                {"version": v.version, "query": v.query, "is_active": v.is_active} for v in e.versions
            ],
        }

    def _alert_shape(self, a: Alert) -> dict[str, Any]:
        x = self.insights[a.insight_id]
        return {
            "id": a.id,
            "name": a.name,
            "enabled": a.enabled,
            "state": a.state,
            "insight": {"id": x.id, "short_id": x.short_id, "name": x.name},
        }

    # Lists: newest first as PostHog orders them (``-last_modified_at`` / ``-created_at``), deleted excluded.
    def list_insights(self) -> list[dict[str, Any]]:
        rows = [x for x in self.insights.values() if not x.deleted and x.saved]
        rows.sort(key=lambda x: (x.last_modified_at, x.id), reverse=True)
        return [self._insight_shape(x) for x in rows]

    def list_dashboards(self) -> list[dict[str, Any]]:
        rows = sorted(
            (d for d in self.dashboards.values() if not d.deleted), key=lambda d: (d.name or "", d.id)
        )
        return [self._dashboard_shape(d, tiles=False) for d in rows]

    def list_notebooks(self) -> list[dict[str, Any]]:
        rows = [n for n in self.notebooks.values() if not n.deleted]
        rows.sort(key=lambda n: (n.last_modified_at, n.id), reverse=True)
        return [self._notebook_shape(n, content=False) for n in rows]

    def list_endpoints(self) -> list[dict[str, Any]]:
        rows = sorted(
            (e for e in self.endpoints.values() if not e.deleted),
            key=lambda e: (e.created_at, e.id),
            reverse=True,
        )
        return [self._endpoint_shape(e) for e in rows]

    def list_alerts(self) -> list[dict[str, Any]]:
        return [self._alert_shape(a) for a in sorted(self.alerts.values(), key=lambda a: a.id)]

    # Detail routes.
    def _insight(self, raw: str) -> Insight:
        return _live(_by_int_id(self.insights, raw))

    def get_insight(self, raw: str) -> dict[str, Any]:
        return self._insight_shape(self._insight(raw))

    def _dashboard(self, raw: str) -> Dashboard:
        return _live(_by_int_id(self.dashboards, raw))

    def get_dashboard(self, raw: str) -> dict[str, Any]:
        return self._dashboard_shape(self._dashboard(raw), tiles=True)

    def _notebook(self, short_id: str) -> Notebook:
        return _live(
            next((n for n in self.notebooks.values() if n.short_id == short_id and not n.deleted), None)
        )

    def get_notebook(self, short_id: str) -> dict[str, Any]:
        return self._notebook_shape(self._notebook(short_id), content=True)

    def _endpoint(self, name: str) -> Endpoint:
        return _live(next((e for e in self.endpoints.values() if e.name == name and not e.deleted), None))

    def get_endpoint(self, name: str) -> dict[str, Any]:
        return self._endpoint_shape(self._endpoint(name))

    # ------------------------------------------------------------------ writes
    def _next_int(self, taken: Mapping[int, Any]) -> int:
        return max(taken, default=0) + 1

    def create_insight(self, body: Any, *, user_id: int) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise not_a_dict(body)
        query = body.get("query")
        if query is not None and not isinstance(query, dict):
            raise invalid("Must be a valid JSON object.", "query")
        iid = self._next_int(self.insights)
        now = self.now()
        x = Insight(
            id=iid,
            short_id=short_id_for("insight", iid, now.isoformat()),
            name=body.get("name"),
            query=query,
            filters=body.get("filters") or {},
            deleted=False,
            saved=bool(body.get("saved", True)),
            created_by=user_id,
            created_at=now,
            last_modified_at=now,
            description=body.get("description"),
        )
        self.insights[iid] = x
        for dash in body.get("dashboards") or []:
            self._add_tile(int(dash), iid)
        return self._insight_shape(x)

    def _add_tile(self, dashboard_id: int, insight_id: int) -> None:
        if dashboard_id not in self.dashboards or self.dashboards[dashboard_id].deleted:
            raise invalid(
                f'Invalid pk "{dashboard_id}" - object does not exist.', "dashboards", code="does_not_exist"
            )
        if any(
            t.dashboard_id == dashboard_id and t.insight_id == insight_id and not t.deleted
            for t in self.tiles.values()
        ):
            return
        tid = self._next_int(self.tiles)
        self.tiles[tid] = Tile(tid, dashboard_id, insight_id, None, False)

    def update_insight(self, raw: str, body: Any) -> dict[str, Any]:
        x = self._insight(raw)
        if not isinstance(body, dict):
            raise not_a_dict(body)
        if "query" in body:
            if body["query"] is not None and not isinstance(body["query"], dict):
                raise invalid("Must be a valid JSON object.", "query")
            x.query = body["query"]
        for key in ("name", "description"):
            if key in body:
                setattr(x, key, body[key])
        if "filters" in body:
            x.filters = body["filters"] or {}
        if "dashboards" in body:
            wanted = {int(d) for d in body["dashboards"] or []}
            for t in self.tiles.values():
                if t.insight_id == x.id and t.dashboard_id not in wanted:
                    t.deleted = True
            for dash in sorted(wanted):
                self._add_tile(dash, x.id)
        if body.get("deleted") is True:
            x.deleted = True
        x.last_modified_at = self.now()
        return self._insight_shape(x)

    def create_dashboard(self, body: Any, *, user_id: int) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise not_a_dict(body)
        did = self._next_int(self.dashboards)
        d = Dashboard(did, body.get("name"), False, user_id, self.now(), body.get("description"))
        self.dashboards[did] = d
        return self._dashboard_shape(d, tiles=True)

    def update_dashboard(self, raw: str, body: Any) -> dict[str, Any]:
        d = self._dashboard(raw)
        if not isinstance(body, dict):
            raise not_a_dict(body)
        for key in ("name", "description"):
            if key in body:
                setattr(d, key, body[key])
        if body.get("deleted") is True:
            d.deleted = True
        return self._dashboard_shape(d, tiles=True)

    def create_notebook(self, body: Any, *, user_id: int) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise not_a_dict(body)
        self._seq += 1
        nid = consumer_uuid("notebook-created", self._seq, self.now().isoformat())
        now = self.now()
        n = Notebook(
            nid,
            short_id_for("notebook", nid),
            body.get("title"),
            body.get("content"),
            False,
            user_id,
            now,
            now,
        )
        self.notebooks[nid] = n
        return self._notebook_shape(n, content=True)

    def update_notebook(self, short_id: str, body: Any) -> dict[str, Any]:
        n = self._notebook(short_id)
        if not isinstance(body, dict):
            raise not_a_dict(body)
        if "title" in body:
            n.title = body["title"]
        if "content" in body:
            n.content = body["content"]
        if body.get("deleted") is True:
            n.deleted = True
        n.last_modified_at = self.now()
        return self._notebook_shape(n, content=True)

    def create_endpoint(self, body: Any, *, user_id: int) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            raise invalid("This field is required.", "name", code="required")
        if any(e.name == body["name"] and not e.deleted for e in self.endpoints.values()):
            raise invalid(f"An endpoint named '{body['name']}' already exists.", "name")
        if not isinstance(body.get("query"), dict):
            raise invalid("This field is required.", "query", code="required")
        self._seq += 1
        eid = consumer_uuid("endpoint-created", self._seq, body["name"])
        e = Endpoint(
            eid,
            body["name"],
            bool(body.get("is_active", True)),
            1,
            [EndpointVersion(1, body["query"], True)],
            False,
            user_id,
            self.now(),
        )
        self.endpoints[eid] = e
        return self._endpoint_shape(e)

    def update_endpoint(self, name: str, body: Any) -> dict[str, Any]:
        """A new query makes a new version that becomes current (PostHog versions endpoint queries)."""
        e = self._endpoint(name)
        if not isinstance(body, dict):
            raise not_a_dict(body)
        if isinstance(body.get("query"), dict):
            number = max((v.version for v in e.versions), default=0) + 1
            e.versions.append(EndpointVersion(number, body["query"], True))
            e.current_version = number
        if "is_active" in body:
            e.is_active = bool(body["is_active"])
        return self._endpoint_shape(e)

    def delete_endpoint(self, name: str) -> None:
        self._endpoint(name).deleted = True

    # ------------------------------------------------------------------ for the warehouse
    def live_insights(self) -> list[tuple[str, Any, Any]]:
        """(name, query, filters) of every live insight: the E3 view-delete check reads them."""
        return [
            (x.name or x.short_id, x.query, x.filters)
            for x in sorted(self.insights.values(), key=lambda x: x.id)
            if not x.deleted
        ]
