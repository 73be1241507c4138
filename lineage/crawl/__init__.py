"""Crawl PostHog's saved-query API into a :class:`~lineage.graph.LineageGraph`.

A crawl reads one project's saved queries (views and materialized views), the warehouse tables they
read and the edges between them, each view's recent jobs, and the consumers that read the views, and
builds one snapshot graph of it all. What costs is requests, not CPU: PostHog rate-limits them, so a
crawl asks each question once, counts what it spent (``CrawlResult.requests``) and waits out 429s.

Strategies (``strategy``)
-------------------------
``all``     every view: the list (1 request per 1,000 views), the warehouse tables (to name table
            UUIDs), then the edges of every view.
``select``  a focused crawl around the views a selector picks, within ``upstream``/``downstream``
            depths; where the closure stops, boundary nodes record "+k more".

Edge sources (``edges``)
------------------------
Where the edges come from; one :class:`~lineage.crawl.sources.EdgeStrategy` each
(:mod:`lineage.crawl.sources`), chosen once per crawl.

``api``     the lineage endpoints: one ``ancestors(level=1)`` per view gives its edges exactly; a
            focused crawl asks ``ancestors``/``descendants`` once per seed and direction for the
            closure, then the members' edges, and ``dependencies`` for the "+k more" below it.
``sql``     GET every view and parse its HogQL (for keys the lineage endpoints refuse: personal keys
            on the newest PostHog). The whole graph is read even for a focused crawl.
``system``  views, SQL, tables and jobs from a handful of HogQL queries over PostHog's system tables,
            edges parsed from the SQL: the same few requests whatever the warehouse's size.
``auto``    ``system`` where the key may use the query API, else ``api``, falling back to ``sql`` by
            itself when the endpoints refuse the key. Every fallback is a note in the result.

Journal and resume
------------------
Every finished request is journaled (``<out>.journal.jsonl``, append-only, one JSON object a line,
with the server's clock) so that a crawl killed at any point continues with ``resume=True`` without
repeating what it finished, and measures time on the clock the first run did. A crawl that completes
(its snapshot written) removes its journal.

Refresh (``refresh``)
---------------------
An incremental crawl from an earlier snapshot of the same project (not to be confused with
re-running views): with ``system`` edges only the views changed since the base was crawled are read
in full, and one light query of every live view catches deletions and status changes; otherwise a
view whose list entry shows no sign of an edit keeps the base's SQL. Jobs are read only from the
newest one a whole-warehouse base holds (:mod:`lineage.crawl.refresh`).

Consumers
---------
Insights, dashboards, notebooks, endpoints and alerts come with every crawl unless
``consumers=False``: five HogQL queries over the system tables with ``system`` edges, else the REST
lists the key's scopes allow (:mod:`~lineage.crawl.consumers`, :mod:`lineage.consumers`); kinds that
could not be read are listed in the graph's ``consumers_not_read``. ``activity=True`` also reads each
view's activity log: who last changed its SQL, and when.

Modules: :mod:`~lineage.crawl.options` (what to crawl, what comes back), :mod:`~lineage.crawl.crawler`
(one crawl, start to end), :mod:`~lineage.crawl.sources` (the edge sources, one module each, and the
choice between them), :mod:`~lineage.crawl.session` (journaled requests and the reads the sources
share), :mod:`~lineage.crawl.journal`, :mod:`~lineage.crawl.system` (the system-table queries),
:mod:`~lineage.crawl.consumers`, :mod:`~lineage.crawl.focus`, :mod:`~lineage.crawl.resolve`,
:mod:`~lineage.crawl.jobs`, :mod:`~lineage.crawl.refresh`, :mod:`~lineage.crawl.state` (everything a
crawl learns) and :mod:`~lineage.crawl.build` (state into the graph).

>>> opts = CrawlOptions(strategy="all")          # doctest: +SKIP
>>> graph = crawl(settings, opts)                # doctest: +SKIP
"""

from __future__ import annotations

from lineage.crawl.crawler import crawl, crawl_async
from lineage.crawl.jobs import job_summary
from lineage.crawl.journal import Journal, default_journal
from lineage.crawl.options import CrawlOptions, CrawlResult, parse_since

__all__ = [
    "CrawlOptions",
    "CrawlResult",
    "Journal",
    "crawl",
    "crawl_async",
    "default_journal",
    "job_summary",
    "parse_since",
]
