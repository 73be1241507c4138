"""What a crawl is asked to do (:class:`CrawlOptions`, with ``jobs_since`` parsed by
:func:`parse_since`) and what it hands back (:class:`CrawlResult`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

from lineage.durations import JOBS_WINDOW, DurationError, parse_timedelta
from lineage.errors import InputError, param
from lineage.graph import LineageGraph

__all__ = ["CrawlOptions", "CrawlResult", "EdgeSource", "Strategy", "parse_since"]

Strategy = Literal["all", "select"]
EdgeSource = Literal["api", "sql", "system", "auto"]


def parse_since(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m`` or ``2w`` as a timedelta (:data:`~lineage.durations.JOBS_WINDOW`);
    a clear error otherwise."""
    try:
        return parse_timedelta(text, JOBS_WINDOW)
    except DurationError as exc:
        if exc.too_long:
            raise InputError(
                f"{param('jobs_since', repr(text))} reaches back more than ten years; give a shorter window"
            ) from None
        raise InputError(
            f"{param('jobs_since', repr(text))}: give a number and a unit m, h, d or w, such as 30d"
        ) from None


@dataclass(frozen=True)
class CrawlOptions:
    """What to crawl and how. ``upstream``/``downstream`` ``None`` means unlimited."""

    strategy: Strategy = "all"
    select: str | None = None
    upstream: int | None = None
    downstream: int | None = None
    edges: EdgeSource = "auto"
    jobs: bool = True
    jobs_since: timedelta = timedelta(days=30)
    verify: bool = False
    verify_sample: int = 0
    with_sql: bool = False
    consumers: bool = True  # insights, dashboards, notebooks, endpoints and alerts that read views
    # read each view's activity log (one request per view, scope activity_log:read): who last
    # changed its SQL and when, for impact and diff
    activity: bool = False
    concurrency: int = 8
    journal: Path | None = None
    out: Path | None = None
    resume: bool = False
    refresh: LineageGraph | None = field(default=None, repr=False)
    progress: Callable[[str, int, int], None] | None = field(default=None, repr=False)
    on_throttle: Callable[[float, float, float], None] | None = field(default=None, repr=False)
    """Told ``(wait, spent, budget)`` in seconds whenever PostHog's 429s hold the crawl back."""


@dataclass(frozen=True)
class CrawlResult:
    graph: LineageGraph
    requests: int
    seconds: float
    waited_seconds: float
    retries: int
    edge_source: str
    notes: tuple[str, ...] = ()
    verify_mismatches: tuple[str, ...] = ()

    def summary(self) -> str:
        g = self.graph.nx
        return (
            f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges, {self.requests} requests, "
            f"{self.seconds:.1f} s, {self.waited_seconds:.1f} s waiting on rate limits "
            f"(edges from {self.edge_source})"
        )
