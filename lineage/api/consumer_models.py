"""Typed, tolerant records of PostHog's consumers: insights, dashboards, notebooks, endpoints and
alerts, as their REST lists and PostHog's ``system.*`` tables give them.

Each ``from_api`` takes the REST shape and the ``system.*`` row alike: JSON columns that arrive as
text (system tables) are parsed, unknown fields are kept in ``raw``, missing optional fields become
``None``. Only a body that is not an object, or one without its identifying field, is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Self

from lineage.api.fields import (
    as_flag,
    as_int,
    as_str,
    json_value,
    need,
    raw_field,
    ref_id,
    require_object,
)
from lineage.api.models import UserBasic

__all__ = ["Alert", "Dashboard", "Endpoint", "Insight", "Notebook", "json_value", "owner_of"]


def owner_of(data: Mapping[str, Any]) -> str | None:
    """The creator's name or email from a REST ``created_by``; None when absent."""
    user = UserBasic.from_api(data.get("created_by"))
    return (user.display_name or None) if user is not None else None


def _shared(d: Mapping[str, Any]) -> dict[str, Any]:
    """The fields every insight, dashboard, notebook and endpoint has: deleted, owner and raw."""
    return {"deleted": bool(as_flag(d.get("deleted"))), "owner": owner_of(d), "raw": dict(d)}


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
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = require_object(data, "an insight")
        dashboards = d.get("dashboards")
        return cls(
            id=need(as_int(d.get("id")), "an insight", "id"),
            short_id=need(as_str(d.get("short_id")), "an insight", "short_id"),
            name=as_str(d.get("name")) or as_str(d.get("derived_name")),
            query=json_value(d.get("query")),
            filters=json_value(d.get("filters")),
            dashboards=tuple(
                sorted({i for i in (as_int(x) for x in dashboards) if i is not None})
                if isinstance(dashboards, list)
                else ()
            ),
            **_shared(d),
        )


@dataclass(frozen=True)
class Dashboard:
    id: int
    name: str | None = None
    deleted: bool = False
    # insight ids of the live tiles, where the answer carries tiles (the detail route does)
    insight_ids: tuple[int, ...] | None = None
    owner: str | None = None
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = require_object(data, "a dashboard")
        tiles = d.get("tiles")
        ids: tuple[int, ...] | None = None
        if isinstance(tiles, list):
            found = set()
            for tile in tiles:
                if not isinstance(tile, Mapping) or as_flag(tile.get("deleted")):
                    continue
                ident = ref_id(tile.get("insight"))
                if ident is not None:
                    found.add(ident)
            ids = tuple(sorted(found))
        return cls(
            id=need(as_int(d.get("id")), "a dashboard", "id"),
            name=as_str(d.get("name")),
            insight_ids=ids,
            **_shared(d),
        )


@dataclass(frozen=True)
class Notebook:
    id: str
    short_id: str
    title: str | None = None
    content: Any = field(default=None, compare=False, hash=False)
    deleted: bool = False
    owner: str | None = None
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = require_object(data, "a notebook")
        return cls(
            id=need(as_str(d.get("id")), "a notebook", "id"),
            short_id=need(as_str(d.get("short_id")), "a notebook", "short_id"),
            title=as_str(d.get("title")),
            content=json_value(d.get("content")),
            **_shared(d),
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
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = require_object(data, "an endpoint")
        versions = d.get("versions")
        rows = []
        for v in versions if isinstance(versions, list) else []:
            if isinstance(v, Mapping):
                rows.append({**v, "query": json_value(v.get("query")), "version": as_int(v.get("version"))})
        active = as_flag(d.get("is_active"))
        return cls(
            id=as_str(d.get("id")) or need(as_str(d.get("name")), "an endpoint", "name"),
            name=need(as_str(d.get("name")), "an endpoint", "name"),
            is_active=True if active is None else active,
            current_version=as_int(d.get("current_version")),
            versions=tuple(rows),
            **_shared(d),
        )


@dataclass(frozen=True)
class Alert:
    id: str
    name: str | None = None
    insight_id: int | None = None
    enabled: bool = True
    state: str | None = None
    raw: Mapping[str, Any] = raw_field()

    @classmethod
    def from_api(cls, data: Any) -> Self:
        d = require_object(data, "an alert")
        insight_id = ref_id(d.get("insight"))
        if insight_id is None:
            insight_id = as_int(d.get("insight_id"))
        enabled = as_flag(d.get("enabled"))
        return cls(
            id=need(as_str(d.get("id")), "an alert", "id"),
            name=as_str(d.get("name")),
            insight_id=insight_id,
            enabled=True if enabled is None else enabled,
            state=as_str(d.get("state")),
            raw=dict(d),
        )
