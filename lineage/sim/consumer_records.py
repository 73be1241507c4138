"""The simulated team's consumers as plain records: insights, dashboards (and their tiles), notebooks,
endpoints (with their query versions) and alerts.

:mod:`lineage.sim.consumer_fixture` fills them from a fixture, :class:`lineage.sim.consumers.ConsumerStore`
keeps and changes them, :mod:`lineage.sim.consumer_tables` turns them into ``system.*`` rows. Ids
are deterministic (:func:`consumer_uuid`, :func:`short_id`), so a fixture served twice answers with
the same ids.
"""

from __future__ import annotations

import string
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from lineage.sim.records import det_uuid

__all__ = [
    "Alert",
    "Dashboard",
    "Endpoint",
    "EndpointVersion",
    "Insight",
    "Notebook",
    "Tile",
    "consumer_uuid",
    "short_id_for",
    "text_of",
]

_SHORT_ALPHABET: Final = string.ascii_letters + string.digits
_NS: Final = uuid.UUID("0c2b8f0e-7d6a-4e59-b2a4-3f1e9d8c7b6a")


def consumer_uuid(*parts: object) -> str:
    """A deterministic UUID for a consumer record (a namespace of its own)."""
    return det_uuid(*parts, namespace=_NS)


def short_id_for(*parts: object) -> str:
    """A deterministic 8-character short id (letters and digits), as PostHog gives insights and notebooks."""
    digest = uuid.UUID(consumer_uuid(*parts)).int
    out = []
    for _ in range(8):
        digest, rem = divmod(digest, len(_SHORT_ALPHABET))
        out.append(_SHORT_ALPHABET[rem])
    return "".join(out)


def text_of(content: Any) -> str:
    """A notebook's ``text_content``: the text of its ProseMirror document, space-joined."""
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
class Insight:
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
class Dashboard:
    id: int
    name: str | None
    deleted: bool
    created_by: int | None
    created_at: datetime
    description: str | None = None


@dataclass
class Tile:
    """An insight (or a text card) placed on a dashboard."""

    id: int
    dashboard_id: int
    insight_id: int | None
    text_id: int | None
    deleted: bool | None


@dataclass
class Notebook:
    id: str
    short_id: str
    title: str | None
    content: Any
    deleted: bool
    created_by: int | None
    created_at: datetime
    last_modified_at: datetime


@dataclass
class EndpointVersion:
    """One version of an endpoint's query (a new query makes a new version)."""

    version: int
    query: Any
    is_active: bool


@dataclass
class Endpoint:
    id: str
    name: str
    is_active: bool
    current_version: int | None
    versions: list[EndpointVersion]
    deleted: bool
    created_by: int | None
    created_at: datetime


@dataclass
class Alert:
    id: str
    name: str | None
    insight_id: int
    enabled: bool
    state: str
