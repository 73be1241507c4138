"""Crawl PostHog's saved-query API into a :class:`~lineage.graph.LineageGraph`.

Strategies
----------
``all``     list the views (1 request per 1,000), list the warehouse tables (to name table UUIDs), then
            one ``ancestors(level=1)`` per view: every edge exactly, in views + list pages requests.
``select``  a focused crawl around views chosen by a selector: one ``ancestors``/``descendants`` call
            per seed and direction gives the closure within the depth, then one ``ancestors(level=1)``
            per member gives the exact edges; boundary nodes record "+k more".

Edge sources (``edges``)
------------------------
``api``     the lineage endpoints, as above.
``sql``     GET every view and parse its HogQL (for keys the lineage endpoints refuse, as in E3).
``system``  views, SQL, tables and jobs from a handful of HogQL queries over PostHog's system tables.
``auto``    ``system`` where the key may use the query API, else ``api``, falling back to ``sql`` by
            itself when the endpoints refuse personal keys.

Consumers (insights, dashboards, notebooks, endpoints, alerts) come with every crawl unless
``consumers=False``: five HogQL queries over the system tables with ``system`` edges, else the REST
lists the key's scopes allow (:mod:`~lineage.crawl.consumers`, :mod:`lineage.consumers`); kinds that
could not be read are listed in the graph's ``consumers_not_read``.

Every finished request is journaled (``<out>.journal.jsonl``, append-only, one JSON object a line) so
that a crawl killed at any point continues with ``resume=True`` without repeating what it finished.

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
