"""What a crawl has learnt so far (:class:`CrawlState`: views, tables, edges, SQL, jobs, boundaries,
notes), which the crawler fills and :mod:`lineage.crawl.build` turns into a graph, plus the two
small helpers every stage shares: :func:`is_uuid` and :func:`iso`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lineage.api import SavedQuery, Table
from lineage.consumers.build import ConsumerData

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
    """Everything one crawl learns and keeps track of, declared in one place: a step that has not run
    leaves its field at the default shown here (``None`` where "not read" differs from "empty")."""

    # -- what PostHog said: views, tables, edges, SQL, jobs
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
    # old name -> id of views deleted before the crawl (SQL may still name them)
    deleted_by_name: dict[str, str] = field(default_factory=dict)
    # id -> old name of deleted views, as the system tables or a refresh base tell them
    ghost_names: dict[str, str] = field(default_factory=dict)
    # the job listing's records, newest first; None: refused (run history is read instead); empty
    # when job_compacted holds the listing instead
    job_listing: list[dict[str, Any]] | None = None
    job_listing_read: bool = False  # whether the listing was asked for (it may still be None)
    # compact_row of each listing row, made as the rows came (the system source keeps these alone;
    # None: made from job_listing when the jobs are grouped)
    job_compacted: list[tuple[str | None, dict[str, Any]]] | None = None
    consumers: ConsumerData | None = None  # None: consumers were not read
    edits: dict[str, tuple[str, str | None]] = field(
        default_factory=dict
    )  # id -> (who, when) of the last SQL edit
    # -- bookkeeping of the crawl itself
    # a view's snapshot attributes but its jobs, made while the job listing was on its way
    # (lineage.crawl.build.base_view_attrs); the build takes them instead of making them again
    ready_attrs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # a view's job summary (lineage.crawl.jobs.job_summary of state.jobs), made while the views' SQL
    # was still being parsed; the build takes it instead of making it again
    job_summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)  # views that answered 404 mid-crawl, not yet dropped
    probed: set[str] = field(default_factory=set)  # UUIDs already asked about as hidden views
    tables_unreadable: bool = False  # the table list was refused: a 404 may be a table, not a ghost
    sample_mismatches: list[str] = field(default_factory=list)  # the spot check's disagreements
    # -- a focused crawl: the node ids it keeps (None: the whole warehouse) and the views at its
    # downstream edge, whose children beyond it are counted
    focus: set[str] | None = None
    boundary: set[str] = field(default_factory=set)
