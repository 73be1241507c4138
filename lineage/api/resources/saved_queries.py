"""Saved queries (views): list, get, create, update, delete, their lineage (ancestors, descendants,
dependencies) and their activity log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Mapping
from enum import Enum
from typing import Any, Final

from lineage.api.models import Dependencies, SavedQuery, ViewActivity
from lineage.api.resources.base import SAVED_QUERIES, SAVED_QUERY, Resource, collect, segment
from lineage.errors import ProtocolError, param
from lineage.posthog import SYNC_FREQUENCY_WRITE

__all__ = ["MAX_ID_CHARS", "SYNC_FREQUENCIES", "UNSET", "SavedQueries", "check_level"]

SYNC_FREQUENCIES: Final = SYNC_FREQUENCY_WRITE

# an id in a lineage answer longer than this is not a UUID or a table name
MAX_ID_CHARS: Final = 1000


class _Unset(Enum):
    UNSET = "UNSET"


UNSET: Final = _Unset.UNSET
"""Marks an optional PATCH field as "leave unchanged" where ``None`` means "clear it"."""


def check_level(level: Any) -> int | None:
    """A lineage ``level`` (hops, >= 1) or None for all; refused before any request is sent."""
    if level is None:
        return None
    if isinstance(level, bool) or not isinstance(level, int):
        raise ValueError(f"level must be a whole number >= 1 or None (meaning all), got {level!r}")
    if level < 1:
        raise ValueError(
            f"level must be >= 1 or None (meaning all), got {level}: PostHog answers [] for 0 and "
            "slices oddly for negative levels"
        )
    return level


class SavedQueries(Resource):
    """The endpoint methods of ``warehouse_saved_queries``: the views themselves and their lineage."""

    async def iter_views(self, search: str | None = None) -> AsyncGenerator[SavedQuery, None]:
        """Every saved query (listing shape: no SQL), across all pages, newest first."""
        async for view in self._iter(SavedQuery.from_api, SAVED_QUERIES, {"search": search}):
            yield view

    async def list_views(self, search: str | None = None) -> list[SavedQuery]:
        """All saved queries (``search`` filters names, case-insensitively); ``sql`` is not included."""
        return await collect(self.iter_views(search))

    async def get_view(self, view_id: str | uuid.UUID) -> SavedQuery:
        """One saved query with its SQL; NotFoundError if it is deleted or not in this project."""
        return await self._get_one(
            SavedQuery.from_api, SAVED_QUERY, segment(view_id, "view_id"), "saved query"
        )

    async def create_view(
        self,
        name: str,
        sql: str,
        *,
        folder_id: str | None = None,
        types: list[tuple[str, str]] | None = None,
        soft_update: bool | None = None,
    ) -> SavedQuery:
        """Create a saved query; PostHog upserts by name (an existing view of that name is updated)."""
        if not isinstance(name, str) or not name or not isinstance(sql, str) or not sql.strip():
            raise ValueError("create_view needs a non-empty name and SQL text")
        payload: dict[str, Any] = {"name": name, "query": {"kind": "HogQLQuery", "query": sql}}
        if folder_id is not None:
            payload["folder_id"] = folder_id
        if types is not None:
            payload["types"] = [list(t) for t in types]
        if soft_update is not None:
            payload["soft_update"] = soft_update
        url = self._sender.url(SAVED_QUERIES)
        body = await self._sender.request("POST", SAVED_QUERIES, url, body=payload, read_only=False)
        return self._parse(SavedQuery.from_api, body, self._sender.display("POST", url))

    async def update_view(
        self,
        view_id: str | uuid.UUID,
        *,
        name: str | None = None,
        sql: str | None = None,
        sync_frequency: str | None = None,
        folder_id: str | _Unset | None = UNSET,
        description: str | None = None,
        edited_history_id: int | str | None = None,
        soft_update: bool | None = None,
    ) -> SavedQuery:
        """PATCH a saved query. Changing ``sql`` needs ``edited_history_id`` (the view's
        ``latest_history_id``: a UUID string in the newest PostHog, an integer in older ones, sent back
        as given) unless ``soft_update``; ``folder_id=None`` removes it from its folder. PostHog
        stores a ``sync_frequency`` of ``1min`` or ``5min`` as ``15min``: read the answer's."""
        vid = segment(view_id, "view_id")
        payload: dict[str, Any] = {}
        if name is not None:
            payload["name"] = name
        if sql is not None:
            payload["query"] = {"kind": "HogQLQuery", "query": sql}
        if sync_frequency is not None:
            if sync_frequency not in SYNC_FREQUENCIES:
                raise ValueError(
                    f"sync_frequency must be one of {', '.join(sorted(SYNC_FREQUENCIES))}, "
                    f"got {sync_frequency!r}"
                )
            payload["sync_frequency"] = sync_frequency
        if folder_id is not UNSET:
            payload["folder_id"] = folder_id
        if description is not None:
            payload["description"] = description
        if edited_history_id is not None:
            payload["edited_history_id"] = edited_history_id
        if soft_update is not None:
            payload["soft_update"] = soft_update
        if not payload:
            raise ValueError("update_view needs at least one field to change")
        url = self._sender.url(SAVED_QUERY, id=vid)
        body = await self._sender.request(
            "PATCH", SAVED_QUERY, url, body=payload, read_only=False, what=f"saved query {vid}"
        )
        return self._parse(SavedQuery.from_api, body, self._sender.display("PATCH", url))

    async def delete_view(self, view_id: str | uuid.UUID) -> None:
        """Soft-delete a saved query (PostHog refuses while other views depend on it)."""
        vid = segment(view_id, "view_id")
        await self._sender.request(
            "DELETE",
            SAVED_QUERY,
            self._sender.url(SAVED_QUERY, id=vid),
            read_only=False,
            what=f"saved query {vid}",
        )

    async def _lineage(self, direction: str, view_id: str | uuid.UUID, level: int | None) -> list[str]:
        lvl = check_level(level)
        vid = segment(view_id, "view_id")
        template = SAVED_QUERY + direction + "/"
        url = self._sender.url(template, id=vid)
        payload = {} if lvl is None else {"level": lvl}
        # ancestors/descendants are POSTs that change nothing: safe to retry
        body = await self._sender.request(
            "POST", template, url, body=payload, read_only=True, what=f"saved query {vid}"
        )
        display = self._sender.display("POST", url)
        ids = body.get(direction) if isinstance(body, Mapping) else None
        if isinstance(ids, list) and any(isinstance(i, str) and len(i) > MAX_ID_CHARS for i in ids):
            raise ProtocolError(
                f"{display}: an id of more than {MAX_ID_CHARS} characters in the answer; PostHog names "
                f"views and tables by UUIDs and short names: check {param('host')} / POSTHOG_HOST points at "
                "PostHog",
                path=display,
            )
        if not isinstance(ids, list) or not all(
            isinstance(i, str | int) and not isinstance(i, bool) for i in ids
        ):
            raise ProtocolError(
                f"{display}: expected {{{direction!r}: [ids...]}}; the API answered in an undocumented shape",
                path=display,
            )
        return sorted({str(i) for i in ids})

    async def ancestors(self, view_id: str | uuid.UUID, level: int | None = None) -> list[str]:
        """Ids upstream of the view within ``level`` hops (None = all), sorted and deduplicated.

        Ids mix view UUIDs, warehouse-table UUIDs and PostHog table names (dotted ones split in parts).
        """
        return await self._lineage("ancestors", view_id, level)

    async def descendants(self, view_id: str | uuid.UUID, level: int | None = None) -> list[str]:
        """Ids downstream of the view within ``level`` hops (None = all), sorted and deduplicated."""
        return await self._lineage("descendants", view_id, level)

    async def dependencies(self, view_id: str | uuid.UUID) -> Dependencies:
        """Counts of distinct direct parents and children."""
        vid = segment(view_id, "view_id")
        return await self._get_one(Dependencies.from_api, SAVED_QUERY + "dependencies/", vid, "saved query")

    async def view_activity(
        self, view_id: str | uuid.UUID, *, max_items: int | None = None
    ) -> list[ViewActivity]:
        """The view's activity log, newest first: who created or changed it, and what (its SQL's
        before and after). Needs the scope ``activity_log:read``; pages follow ``next``."""
        vid = segment(view_id, "view_id")
        rows = self._iter(
            ViewActivity.from_api,
            SAVED_QUERY + "activity/",
            {"limit": 100},
            stop_on_empty=True,
            max_items=max_items,
            id=vid,
        )
        return await collect(rows)
