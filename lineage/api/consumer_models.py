"""Typed, tolerant records of PostHog's consumers: insights, dashboards, notebooks, endpoints and
alerts (posthog-api-3.md section 1).

Each ``from_api`` takes the REST shape and the ``system.*`` row alike: JSON columns that arrive as
text (system tables) are parsed, unknown fields are kept in ``raw``, missing optional fields become
``None``. Only a body that is not an object, or one without its identifying field, is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from lineage.api.models import UserBasic, _bool, _int, _mapping, _need, _raw, _str

__all__ = ["Alert", "Dashboard", "Endpoint", "Insight", "Notebook", "json_value", "owner_of"]


def json_value(value: Any) -> Any:
    """A JSON column: parsed when it is JSON text (system tables), else as given."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


def owner_of(data: Mapping[str, Any]) -> str | None:
    """The creator's name or email from a REST ``created_by``; None when absent."""
    user = UserBasic.from_api(data.get("created_by"))
    return (user.display_name or None) if user is not None else None


def _flag(value: Any) -> bool | None:
    """A boolean as JSON, as text, or as ClickHouse's 0/1."""
    if isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    return _bool(value)


def _ref_id(value: Any) -> int | None:
    """A referenced record's id, given as a nested object (``{"id": 3, ...}``) or bare (``3``)."""
    return _int(value.get("id")) if isinstance(value, Mapping) else _int(value)


@dataclass(frozen=True)
class Insight:
    id: int
    short_id: str
    name: str | None = None
    query: Any = field(default=None, compare=False, hash=False)
    filters: Any = field(default=None, compare=False, hash=False)
    deleted: bool = False
    dashboards: tuple[int, ...] = ()
    owner: str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "an insight")
        dashboards = d.get("dashboards")
        return cls(
            id=_need(_int(d.get("id")), "an insight", "id"),
            short_id=_need(_str(d.get("short_id")), "an insight", "short_id"),
            name=_str(d.get("name")) or _str(d.get("derived_name")),
            query=json_value(d.get("query")),
            filters=json_value(d.get("filters")),
            deleted=bool(_flag(d.get("deleted"))),
            dashboards=tuple(
                sorted({i for i in (_int(x) for x in dashboards) if i is not None})
                if isinstance(dashboards, list)
                else ()
            ),
            owner=owner_of(d),
            raw=dict(d),
        )


@dataclass(frozen=True)
class Dashboard:
    id: int
    name: str | None = None
    deleted: bool = False
    # insight ids of the live tiles, where the answer carries tiles (the detail route does)
    insight_ids: tuple[int, ...] | None = None
    owner: str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "a dashboard")
        tiles = d.get("tiles")
        ids: tuple[int, ...] | None = None
        if isinstance(tiles, list):
            found = set()
            for tile in tiles:
                if not isinstance(tile, Mapping) or _flag(tile.get("deleted")):
                    continue
                ident = _ref_id(tile.get("insight"))
                if ident is not None:
                    found.add(ident)
            ids = tuple(sorted(found))
        return cls(
            id=_need(_int(d.get("id")), "a dashboard", "id"),
            name=_str(d.get("name")),
            deleted=bool(_flag(d.get("deleted"))),
            insight_ids=ids,
            owner=owner_of(d),
            raw=dict(d),
        )


@dataclass(frozen=True)
class Notebook:
    id: str
    short_id: str
    title: str | None = None
    content: Any = field(default=None, compare=False, hash=False)
    deleted: bool = False
    owner: str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "a notebook")
        return cls(
            id=_need(_str(d.get("id")), "a notebook", "id"),
            short_id=_need(_str(d.get("short_id")), "a notebook", "short_id"),
            title=_str(d.get("title")),
            content=json_value(d.get("content")),
            deleted=bool(_flag(d.get("deleted"))),
            owner=owner_of(d),
            raw=dict(d),
        )


@dataclass(frozen=True)
class Endpoint:
    id: str
    name: str
    is_active: bool = True
    current_version: int | None = None
    versions: tuple[Mapping[str, Any], ...] = field(default=(), compare=False, hash=False)
    deleted: bool = False
    owner: str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "an endpoint")
        versions = d.get("versions")
        rows = []
        for v in versions if isinstance(versions, list) else []:
            if isinstance(v, Mapping):
                rows.append({**v, "query": json_value(v.get("query")), "version": _int(v.get("version"))})
        active = _flag(d.get("is_active"))
        return cls(
            id=_str(d.get("id")) or _need(_str(d.get("name")), "an endpoint", "name"),
            name=_need(_str(d.get("name")), "an endpoint", "name"),
            is_active=True if active is None else active,
            current_version=_int(d.get("current_version")),
            versions=tuple(rows),
            deleted=bool(_flag(d.get("deleted"))),
            owner=owner_of(d),
            raw=dict(d),
        )


@dataclass(frozen=True)
class Alert:
    id: str
    name: str | None = None
    insight_id: int | None = None
    enabled: bool = True
    state: str | None = None
    raw: Mapping[str, Any] = _raw()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = _mapping(data, "an alert")
        insight_id = _ref_id(d.get("insight"))
        if insight_id is None:
            insight_id = _int(d.get("insight_id"))
        enabled = _flag(d.get("enabled"))
        return cls(
            id=_need(_str(d.get("id")), "an alert", "id"),
            name=_str(d.get("name")),
            insight_id=insight_id,
            enabled=True if enabled is None else enabled,
            state=_str(d.get("state")),
            raw=dict(d),
        )
