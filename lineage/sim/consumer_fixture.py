"""Load a fixture's consumers into a :class:`~lineage.sim.consumers.ConsumerStore`.

The fixture keys ``insights``, ``dashboards``, ``dashboard_tiles``, ``notebooks``, ``endpoints`` and
``alerts`` are checked as they load: a bad one is a :class:`lineage.errors.FixtureError` naming the
offending item (``insights[2]: duplicate insight id 7``). JSON columns may be given as objects or as
JSON text, as ``system.*`` tables hold them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lineage.errors import FixtureError
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
)
from lineage.sim.fixture_values import as_dict, as_list

if TYPE_CHECKING:
    from lineage.sim.consumers import ConsumerStore

__all__ = ["load_consumers"]

# when(row, key, where): the row's time under ``key``, or the simulator's start when absent.
_When = Callable[[Mapping[str, Any], str, str], datetime]


def load_consumers(
    store: ConsumerStore,
    fixture: Mapping[str, Any],
    *,
    default_user: int,
    parse_time: Callable[[Any, str], datetime],
) -> None:
    """Add the fixture's consumers to ``store`` (its clock's ``now`` stands in for missing times)."""
    now = store.now()

    def when(row: Mapping[str, Any], key: str, where: str) -> datetime:
        return parse_time(row[key], f"{where}.{key}") if row.get(key) is not None else now

    # in this order: tiles and alerts name insights and dashboards loaded before them
    for load in (
        _load_insights,
        _load_dashboards,
        _load_dashboard_tiles,
        _load_notebooks,
        _load_endpoints,
        _load_alerts,
    ):
        load(store, fixture, when, default_user)


def _items(fixture: Mapping[str, Any], key: str) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(index, where, object) of each item under ``key``: ``where`` names it in errors (``insights[2]``)."""
    for i, raw in enumerate(as_list(fixture.get(key), key)):
        where = f"{key}[{i}]"
        yield i, where, as_dict(raw, where)


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


def _load_insights(store: ConsumerStore, fixture: Mapping[str, Any], when: _When, default_user: int) -> None:
    for i, where, row in _items(fixture, "insights"):
        iid = _int_id(row.get("id", i + 1), where)
        if iid in store.insights:
            raise FixtureError(f"{where}: duplicate insight id {iid}")
        short = row.get("short_id") or short_id_for("insight", iid)
        if not isinstance(short, str):
            raise FixtureError(f"{where}: 'short_id' must be a string")
        if any(x.short_id == short for x in store.insights.values()):
            raise FixtureError(f"{where}: duplicate insight short_id {short!r}")
        created = when(row, "created_at", where)
        store.insights[iid] = Insight(
            id=iid,
            short_id=short,
            name=None if row.get("name") is None else str(row["name"]),
            query=_json_obj(row.get("query"), f"{where}.query"),
            filters=_json_obj(row.get("filters"), f"{where}.filters") or {},
            deleted=bool(row.get("deleted", False)),
            saved=bool(row.get("saved", True)),
            created_by=row.get("created_by", default_user),
            created_at=created,
            last_modified_at=when(row, "last_modified_at", where) if row.get("last_modified_at") else created,
            description=row.get("description"),
        )


def _load_dashboards(
    store: ConsumerStore, fixture: Mapping[str, Any], when: _When, default_user: int
) -> None:
    for i, where, row in _items(fixture, "dashboards"):
        did = _int_id(row.get("id", i + 1), where)
        if did in store.dashboards:
            raise FixtureError(f"{where}: duplicate dashboard id {did}")
        store.dashboards[did] = Dashboard(
            id=did,
            name=None if row.get("name") is None else str(row["name"]),
            deleted=bool(row.get("deleted", False)),
            created_by=row.get("created_by", default_user),
            created_at=when(row, "created_at", where),
            description=row.get("description"),
        )


def _load_dashboard_tiles(
    store: ConsumerStore, fixture: Mapping[str, Any], when: _When, default_user: int
) -> None:
    for i, where, row in _items(fixture, "dashboard_tiles"):
        tid = _int_id(row.get("id", i + 1), where)
        if tid in store.tiles:
            raise FixtureError(f"{where}: duplicate tile id {tid}")
        dash = row.get("dashboard_id")
        if dash not in store.dashboards:
            raise FixtureError(f"{where}: dashboard_id {dash!r} names no dashboard in 'dashboards'")
        insight = row.get("insight_id")
        if insight is not None and insight not in store.insights:
            raise FixtureError(f"{where}: insight_id {insight!r} names no insight in 'insights'")
        deleted = row.get("deleted", False)
        store.tiles[tid] = Tile(
            tid, int(dash), insight, row.get("text_id"), None if deleted is None else bool(deleted)
        )


def _load_notebooks(store: ConsumerStore, fixture: Mapping[str, Any], when: _When, default_user: int) -> None:
    for i, where, row in _items(fixture, "notebooks"):
        nid = str(row.get("id") or consumer_uuid("notebook", i))
        try:
            nid = str(uuid.UUID(nid))
        except ValueError:
            raise FixtureError(f"{where}: id {row.get('id')!r} is not a UUID") from None
        short = row.get("short_id") or short_id_for("notebook", nid)
        if nid in store.notebooks or any(n.short_id == short for n in store.notebooks.values()):
            raise FixtureError(f"{where}: duplicate notebook id or short_id")
        created = when(row, "created_at", where)
        store.notebooks[nid] = Notebook(
            id=nid,
            short_id=str(short),
            title=None if row.get("title") is None else str(row["title"]),
            content=_json_obj(row.get("content"), f"{where}.content"),
            deleted=bool(row.get("deleted", False)),
            created_by=row.get("created_by", default_user),
            created_at=created,
            last_modified_at=created,
        )


def _load_endpoints(store: ConsumerStore, fixture: Mapping[str, Any], when: _When, default_user: int) -> None:
    for i, where, row in _items(fixture, "endpoints"):
        name = row.get("name")
        if not isinstance(name, str) or not name:
            raise FixtureError(f"{where}: 'name' must be a non-empty string")
        if any(e.name == name and not e.deleted for e in store.endpoints.values()):
            raise FixtureError(f"{where}: duplicate endpoint name {name!r}")
        eid = str(row.get("id") or consumer_uuid("endpoint", name, i))
        store.endpoints[eid] = _endpoint_from(row, eid, where, when(row, "created_at", where), default_user)


def _load_alerts(store: ConsumerStore, fixture: Mapping[str, Any], when: _When, default_user: int) -> None:
    for i, where, row in _items(fixture, "alerts"):
        insight = row.get("insight_id")
        if insight not in store.insights:
            raise FixtureError(f"{where}: insight_id {insight!r} names no insight in 'insights'")
        aid = str(row.get("id") or consumer_uuid("alert", i))
        if aid in store.alerts:
            raise FixtureError(f"{where}: duplicate alert id {aid}")
        store.alerts[aid] = Alert(
            aid,
            None if row.get("name") is None else str(row["name"]),
            int(insight),
            bool(row.get("enabled", True)),
            str(row.get("state", "Not firing")),
        )


def _endpoint_from(
    row: Mapping[str, Any], eid: str, where: str, created: datetime, default_user: int | None
) -> Endpoint:
    versions: list[EndpointVersion] = []
    for j, vraw in enumerate(as_list(row.get("versions"), f"{where}.versions")):
        vrow = as_dict(vraw, f"{where}.versions[{j}]")
        number = vrow.get("version", j + 1)
        if not isinstance(number, int) or isinstance(number, bool):
            raise FixtureError(f"{where}.versions[{j}]: 'version' must be an integer")
        versions.append(
            EndpointVersion(
                number,
                _json_obj(vrow.get("query"), f"{where}.versions[{j}].query"),
                bool(vrow.get("is_active", True)),
            )
        )
    if not versions and row.get("query") is not None:
        versions.append(EndpointVersion(1, _json_obj(row.get("query"), f"{where}.query"), True))
    current = row.get("current_version")
    if current is None and versions:
        active = [v.version for v in versions if v.is_active]
        current = max(active or [v.version for v in versions])
    return Endpoint(
        id=eid,
        name=str(row["name"]),
        is_active=bool(row.get("is_active", True)),
        current_version=current,
        versions=versions,
        deleted=bool(row.get("deleted", False)),
        created_by=row.get("created_by", default_user),
        created_at=created,
    )
