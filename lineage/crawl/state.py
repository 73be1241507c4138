"""What a crawl has learnt so far (:class:`CrawlState`: views, tables, edges, SQL, jobs, boundaries,
notes), which the crawler fills and :mod:`lineage.crawl.build` turns into a graph, plus the two
small helpers every stage shares: :func:`is_uuid` and :func:`iso`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lineage.api import SavedQuery, Table

__all__ = ["CrawlState", "is_uuid", "iso"]

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(text: str) -> bool:
    return bool(_UUID_RE.match(text))


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    text = moment.isoformat(timespec="microseconds" if moment.microsecond else "seconds")
    return text.replace("+00:00", "Z")


@dataclass
class CrawlState:
    views: dict[str, SavedQuery] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    tables: dict[str, Table] | None = None
    parents: dict[str, list[str]] = field(default_factory=dict)
    sql: dict[str, str | None] = field(default_factory=dict)
    hidden_views: dict[str, SavedQuery] = field(default_factory=dict)
    ghosts: set[str] = field(default_factory=set)
    jobs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    jobs_read: bool = False
    more_upstream: dict[str, int] = field(default_factory=dict)
    more_downstream: dict[str, int] = field(default_factory=dict)
    deps: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
