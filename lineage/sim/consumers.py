"""The simulator's consumers: insights, dashboards (and their tiles), notebooks, endpoints and alerts
(interfaces.md section 6, posthog-api-3.md section 1).

:class:`ConsumerStore` loads the fixture keys ``insights``, ``dashboards``, ``dashboard_tiles``,
``notebooks``, ``endpoints`` and ``alerts`` (validated: an error names the offending item), answers
the rows of their ``system.*`` tables (JSON columns as JSON text, as PostHog stores them) and the
REST shapes of ``/insights/``, ``/dashboards/``, ``/notebooks/``, ``/endpoints/`` and ``/alerts/``,
and takes creates, edits and soft deletes (``PATCH {"deleted": true}``) so that tests can change a
workspace between two crawls. The owning :class:`~lineage.sim.state.Warehouse` serialises access.

Per-object access (PostHog's RBAC, resource level ``none``): a key's owner without access to a
resource gets, over the query API, 400 "You don't have access to table `system.x`." for every
system table of that resource (``posthog/hogql/database`` tracks denied tables and raises a
QueryError naming them; tested in PostHog's ``test_access_control`` "TestDeniedTableError"), and,
over REST, 403 "You do not have viewer access to this resource.".
"""

from __future__ import annotations

import json
import string
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from lineage.errors import FixtureError
from lineage.sim.errors import HogError, invalid, not_found
from lineage.sim.fixture_values import as_dict, as_list

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
_SHORT_ALPHABET: Final = string.ascii_letters + string.digits
_NS: Final = uuid.UUID("0c2b8f0e-7d6a-4e59-b2a4-3f1e9d8c7b6a")


def no_access(action_is_write: bool) -> HogError:
    """PostHog's 403 for a resource the user's access level does not reach."""
    level = "editor" if action_is_write else "viewer"
    return HogError(
        403, "authentication_error", "permission_denied", f"You do not have {level} access to this resource."
    )


def _det_uuid(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "\x1f".join(str(p) for p in parts)))


def _short_id(*parts: object) -> str:
    digest = uuid.uuid5(_NS, "\x1f".join(str(p) for p in parts)).int
    out = []
    for _ in range(8):
        digest, rem = divmod(digest, len(_SHORT_ALPHABET))
        out.append(_SHORT_ALPHABET[rem])
    return "".join(out)


def _int_id(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise FixtureError(f"{where}: 'id' must be an integer, got {value!r}")
    return value


def _json_obj(value: Any, where: str) -> Any:
    """A JSON column given as an object or as JSON text (system-table style)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise FixtureError(f"{where}: not valid JSON text; give an object") from None
    if value is not None and not isinstance(value, dict | list):
        raise FixtureError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


@dataclass
class _Insight:
    id: int
    short_id: str
    name: str | None
    query: Any
    filters: Any
    deleted: bool
    saved: bool
    created_by: int | None
    created_at: datetime
    last_modified_at: datetime
    description: str | None = None


@dataclass
class _Dashboard:
    id: int
    name: str | None
    deleted: bool
    created_by: int | None
    created_at: datetime
    description: str | None = None


@dataclass
class _Tile:
    id: int
    dashboard_id: int
    insight_id: int | None
    text_id: int | None
    deleted: bool | None


@dataclass
class _Notebook:
    id: str
    short_id: str
    title: str | None
    content: Any
    deleted: bool
    created_by: int | None
    created_at: datetime
    last_modified_at: datetime


@dataclass
class _Version:
    version: int
    query: Any
    is_active: bool


@dataclass
class _Endpoint:
    id: str
    name: str
    is_active: bool
    current_version: int | None
    versions: list[_Version]
    deleted: bool
    created_by: int | None
    created_at: datetime


@dataclass
class _Alert:
    id: str
    name: str | None
    insight_id: int
    enabled: bool
    state: str


def _text_of(content: Any) -> str:
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text" and isinstance(node.get("text"), str):
                parts.append(node["text"])
            walk(node.get("content"))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(content)
    return " ".join(parts)


@dataclass
class ConsumerStore:
    """Consumers of one simulated team; ``user`` renders a UserBasic, ``now`` is the clock."""

    user: Callable[[int | None], dict[str, Any] | None]
    now: Callable[[], datetime]
    render_time: Callable[[datetime | None], str | None]
    insights: dict[int, _Insight] = field(default_factory=dict)
    dashboards: dict[int, _Dashboard] = field(default_factory=dict)
    tiles: dict[int, _Tile] = field(default_factory=dict)
    notebooks: dict[str, _Notebook] = field(default_factory=dict)
    endpoints: dict[str, _Endpoint] = field(default_factory=dict)
    alerts: dict[str, _Alert] = field(default_factory=dict)
    _seq: int = 0

    # ------------------------------------------------------------------ fixture
    def load(
        self, fixture: Mapping[str, Any], *, default_user: int, parse_time: Callable[[Any, str], datetime]
    ) -> None:
        now = self.now()

        def when(row: Mapping[str, Any], key: str, where: str) -> datetime:
            return parse_time(row[key], f"{where}.{key}") if row.get(key) is not None else now

        for i, raw in enumerate(as_list(fixture.get("insights"), "insights")):
            where = f"insights[{i}]"
            row = as_dict(raw, where)
            iid = _int_id(row.get("id", i + 1), where)
            if iid in self.insights:
                raise FixtureError(f"{where}: duplicate insight id {iid}")
            short = row.get("short_id") or _short_id("insight", iid)
            if not isinstance(short, str):
                raise FixtureError(f"{where}: 'short_id' must be a string")
            if any(x.short_id == short for x in self.insights.values()):
                raise FixtureError(f"{where}: duplicate insight short_id {short!r}")
            created = when(row, "created_at", where)
            self.insights[iid] = _Insight(
                id=iid,
                short_id=short,
                name=None if row.get("name") is None else str(row["name"]),
                query=_json_obj(row.get("query"), f"{where}.query"),
                filters=_json_obj(row.get("filters"), f"{where}.filters") or {},
                deleted=bool(row.get("deleted", False)),
                saved=bool(row.get("saved", True)),
                created_by=row.get("created_by", default_user),
                created_at=created,
                last_modified_at=when(row, "last_modified_at", where)
                if row.get("last_modified_at")
                else created,
                description=row.get("description"),
            )
        for i, raw in enumerate(as_list(fixture.get("dashboards"), "dashboards")):
            where = f"dashboards[{i}]"
            row = as_dict(raw, where)
            did = _int_id(row.get("id", i + 1), where)
            if did in self.dashboards:
                raise FixtureError(f"{where}: duplicate dashboard id {did}")
            self.dashboards[did] = _Dashboard(
                id=did,
                name=None if row.get("name") is None else str(row["name"]),
                deleted=bool(row.get("deleted", False)),
                created_by=row.get("created_by", default_user),
                created_at=when(row, "created_at", where),
                description=row.get("description"),
            )
        for i, raw in enumerate(as_list(fixture.get("dashboard_tiles"), "dashboard_tiles")):
            where = f"dashboard_tiles[{i}]"
            row = as_dict(raw, where)
            tid = _int_id(row.get("id", i + 1), where)
            if tid in self.tiles:
                raise FixtureError(f"{where}: duplicate tile id {tid}")
            dash = row.get("dashboard_id")
            if dash not in self.dashboards:
                raise FixtureError(f"{where}: dashboard_id {dash!r} names no dashboard in 'dashboards'")
            insight = row.get("insight_id")
            if insight is not None and insight not in self.insights:
                raise FixtureError(f"{where}: insight_id {insight!r} names no insight in 'insights'")
            deleted = row.get("deleted", False)
            self.tiles[tid] = _Tile(
                tid, int(dash), insight, row.get("text_id"), None if deleted is None else bool(deleted)
            )
        for i, raw in enumerate(as_list(fixture.get("notebooks"), "notebooks")):
            where = f"notebooks[{i}]"
            row = as_dict(raw, where)
            nid = str(row.get("id") or _det_uuid("notebook", i))
            try:
                nid = str(uuid.UUID(nid))
            except ValueError:
                raise FixtureError(f"{where}: id {row.get('id')!r} is not a UUID") from None
            short = row.get("short_id") or _short_id("notebook", nid)
            if nid in self.notebooks or any(n.short_id == short for n in self.notebooks.values()):
                raise FixtureError(f"{where}: duplicate notebook id or short_id")
            created = when(row, "created_at", where)
            self.notebooks[nid] = _Notebook(
                id=nid,
                short_id=str(short),
                title=None if row.get("title") is None else str(row["title"]),
                content=_json_obj(row.get("content"), f"{where}.content"),
                deleted=bool(row.get("deleted", False)),
                created_by=row.get("created_by", default_user),
                created_at=created,
                last_modified_at=created,
            )
        for i, raw in enumerate(as_list(fixture.get("endpoints"), "endpoints")):
            where = f"endpoints[{i}]"
            row = as_dict(raw, where)
            name = row.get("name")
            if not isinstance(name, str) or not name:
                raise FixtureError(f"{where}: 'name' must be a non-empty string")
            if any(e.name == name and not e.deleted for e in self.endpoints.values()):
                raise FixtureError(f"{where}: duplicate endpoint name {name!r}")
            eid = str(row.get("id") or _det_uuid("endpoint", name, i))
            self.endpoints[eid] = self._endpoint_from(
                row, eid, where, when(row, "created_at", where), default_user
            )
        for i, raw in enumerate(as_list(fixture.get("alerts"), "alerts")):
            where = f"alerts[{i}]"
            row = as_dict(raw, where)
            insight = row.get("insight_id")
            if insight not in self.insights:
                raise FixtureError(f"{where}: insight_id {insight!r} names no insight in 'insights'")
            aid = str(row.get("id") or _det_uuid("alert", i))
            if aid in self.alerts:
                raise FixtureError(f"{where}: duplicate alert id {aid}")
            self.alerts[aid] = _Alert(
                aid,
                None if row.get("name") is None else str(row["name"]),
                int(insight),
                bool(row.get("enabled", True)),
                str(row.get("state", "Not firing")),
            )

    def _endpoint_from(
        self, row: Mapping[str, Any], eid: str, where: str, created: datetime, default_user: int | None
    ) -> _Endpoint:
        versions: list[_Version] = []
        for j, vraw in enumerate(as_list(row.get("versions"), f"{where}.versions")):
            vrow = as_dict(vraw, f"{where}.versions[{j}]")
            number = vrow.get("version", j + 1)
            if not isinstance(number, int) or isinstance(number, bool):
                raise FixtureError(f"{where}.versions[{j}]: 'version' must be an integer")
            versions.append(
                _Version(
                    number,
                    _json_obj(vrow.get("query"), f"{where}.versions[{j}].query"),
                    bool(vrow.get("is_active", True)),
                )
            )
        if not versions and row.get("query") is not None:
            versions.append(_Version(1, _json_obj(row.get("query"), f"{where}.query"), True))
        current = row.get("current_version")
        if current is None and versions:
            active = [v.version for v in versions if v.is_active]
            current = max(active or [v.version for v in versions])
        return _Endpoint(
            id=eid,
            name=str(row["name"]),
            is_active=bool(row.get("is_active", True)),
            current_version=current,
            versions=versions,
            deleted=bool(row.get("deleted", False)),
            created_by=row.get("created_by", default_user),
            created_at=created,
        )

    # ------------------------------------------------------------------ system tables
    def system_records(self, table: str) -> list[dict[str, Any]] | None:
        """Rows of ``system.<table>`` for the consumer tables (deleted rows included); None otherwise."""
        if table == "insights":
            return [
                {
                    "id": x.id,
                    "short_id": x.short_id,
                    "name": x.name,
                    "query": None if x.query is None else json.dumps(x.query),
                    "filters": json.dumps(x.filters or {}),
                    "deleted": x.deleted,
                    "saved": x.saved,
                    "last_modified_at": x.last_modified_at,
                    "updated_at": x.last_modified_at,
                    "created_by_id": x.created_by,
                }
                for x in sorted(self.insights.values(), key=lambda x: x.id)
            ]
        if table == "dashboards":
            return [
                {"id": d.id, "name": d.name, "deleted": d.deleted, "created_by_id": d.created_by}
                for d in sorted(self.dashboards.values(), key=lambda d: d.id)
            ]
        if table == "dashboard_tiles":
            return [
                {
                    "id": t.id,
                    "dashboard_id": t.dashboard_id,
                    "insight_id": t.insight_id,
                    "text_id": t.text_id,
                    "deleted": t.deleted,
                }
                for t in sorted(self.tiles.values(), key=lambda t: t.id)
            ]
        if table == "notebooks":
            return [
                {
                    "id": n.id,
                    "short_id": n.short_id,
                    "title": n.title,
                    "content": None if n.content is None else json.dumps(n.content),
                    "text_content": _text_of(n.content),
                    "deleted": n.deleted,
                    "created_by_id": n.created_by,
                }
                for n in sorted(self.notebooks.values(), key=lambda n: n.id)
            ]
        if table == "data_modeling_endpoints":
            return [
                {
                    "id": e.id,
                    "name": e.name,
                    "is_active": e.is_active,
                    "current_version": e.current_version,
                    "deleted": e.deleted,
                    "created_by_id": e.created_by,
                }
                for e in sorted(self.endpoints.values(), key=lambda e: e.id)
            ]
        if table == "data_modeling_endpoint_versions":
            return [
                {
                    "endpoint_id": e.id,
                    "version": v.version,
                    "query": None if v.query is None else json.dumps(v.query),
                    "is_active": v.is_active,
                }
                for e in sorted(self.endpoints.values(), key=lambda e: e.id)
                for v in e.versions
            ]
        if table == "alerts":
            return [
                {
                    "id": a.id,
                    "name": a.name,
                    "insight_id": a.insight_id,
                    "state": a.state,
                    "enabled": a.enabled,
                }
                for a in sorted(self.alerts.values(), key=lambda a: a.id)
            ]
        return None

    # ------------------------------------------------------------------ REST shapes
    def _insight_shape(self, x: _Insight) -> dict[str, Any]:
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

    def _dashboard_shape(self, d: _Dashboard, *, tiles: bool) -> dict[str, Any]:
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

    def _notebook_shape(self, n: _Notebook, *, content: bool) -> dict[str, Any]:
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
            out["text_content"] = _text_of(n.content)
        return out

    def _endpoint_shape(self, e: _Endpoint) -> dict[str, Any]:
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

    def _alert_shape(self, a: _Alert) -> dict[str, Any]:
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
    def _insight(self, raw: str) -> _Insight:
        try:
            found = self.insights.get(int(raw))
        except ValueError:
            found = None
        if found is None or found.deleted:
            raise not_found()
        return found

    def get_insight(self, raw: str) -> dict[str, Any]:
        return self._insight_shape(self._insight(raw))

    def _dashboard(self, raw: str) -> _Dashboard:
        try:
            found = self.dashboards.get(int(raw))
        except ValueError:
            found = None
        if found is None or found.deleted:
            raise not_found()
        return found

    def get_dashboard(self, raw: str) -> dict[str, Any]:
        return self._dashboard_shape(self._dashboard(raw), tiles=True)

    def _notebook(self, short_id: str) -> _Notebook:
        found = next((n for n in self.notebooks.values() if n.short_id == short_id and not n.deleted), None)
        if found is None:
            raise not_found()
        return found

    def get_notebook(self, short_id: str) -> dict[str, Any]:
        return self._notebook_shape(self._notebook(short_id), content=True)

    def _endpoint(self, name: str) -> _Endpoint:
        found = next((e for e in self.endpoints.values() if e.name == name and not e.deleted), None)
        if found is None:
            raise not_found()
        return found

    def get_endpoint(self, name: str) -> dict[str, Any]:
        return self._endpoint_shape(self._endpoint(name))

    # ------------------------------------------------------------------ writes
    def _next_int(self, taken: Mapping[int, Any]) -> int:
        return max(taken, default=0) + 1

    def create_insight(self, body: Any, *, user_id: int) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid(f"Invalid data. Expected a dictionary, but got {type(body).__name__}.")
        query = body.get("query")
        if query is not None and not isinstance(query, dict):
            raise invalid("Must be a valid JSON object.", "query")
        iid = self._next_int(self.insights)
        now = self.now()
        x = _Insight(
            id=iid,
            short_id=_short_id("insight", iid, now.isoformat()),
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
        self.tiles[tid] = _Tile(tid, dashboard_id, insight_id, None, False)

    def update_insight(self, raw: str, body: Any) -> dict[str, Any]:
        x = self._insight(raw)
        if not isinstance(body, dict):
            raise invalid(f"Invalid data. Expected a dictionary, but got {type(body).__name__}.")
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
            raise invalid(f"Invalid data. Expected a dictionary, but got {type(body).__name__}.")
        did = self._next_int(self.dashboards)
        d = _Dashboard(did, body.get("name"), False, user_id, self.now(), body.get("description"))
        self.dashboards[did] = d
        return self._dashboard_shape(d, tiles=True)

    def update_dashboard(self, raw: str, body: Any) -> dict[str, Any]:
        d = self._dashboard(raw)
        if not isinstance(body, dict):
            raise invalid(f"Invalid data. Expected a dictionary, but got {type(body).__name__}.")
        for key in ("name", "description"):
            if key in body:
                setattr(d, key, body[key])
        if body.get("deleted") is True:
            d.deleted = True
        return self._dashboard_shape(d, tiles=True)

    def create_notebook(self, body: Any, *, user_id: int) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid(f"Invalid data. Expected a dictionary, but got {type(body).__name__}.")
        self._seq += 1
        nid = _det_uuid("notebook-created", self._seq, self.now().isoformat())
        now = self.now()
        n = _Notebook(
            nid, _short_id("notebook", nid), body.get("title"), body.get("content"), False, user_id, now, now
        )
        self.notebooks[nid] = n
        return self._notebook_shape(n, content=True)

    def update_notebook(self, short_id: str, body: Any) -> dict[str, Any]:
        n = self._notebook(short_id)
        if not isinstance(body, dict):
            raise invalid(f"Invalid data. Expected a dictionary, but got {type(body).__name__}.")
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
        eid = _det_uuid("endpoint-created", self._seq, body["name"])
        e = _Endpoint(
            eid,
            body["name"],
            bool(body.get("is_active", True)),
            1,
            [_Version(1, body["query"], True)],
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
            raise invalid(f"Invalid data. Expected a dictionary, but got {type(body).__name__}.")
        if isinstance(body.get("query"), dict):
            number = max((v.version for v in e.versions), default=0) + 1
            e.versions.append(_Version(number, body["query"], True))
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
