"""Where a crawl's edges come from: one :class:`EdgeStrategy` per edge source, chosen once per crawl
by :func:`choose_source`.

==========  ==============================================================================================
``api``     :class:`ApiSource`: the lineage endpoints (``ancestors``, ``descendants``, ``dependencies``)
``sql``     :class:`SqlSource`: GET every view and parse its HogQL
``system``  :class:`SystemSource`: HogQL queries over PostHog's system tables, edges parsed from SQL
==========  ==============================================================================================

``auto`` is not a source of its own but a choice: ``system`` where the key may use the query API,
else ``api``, else ``sql`` when the lineage endpoints refuse the key.
"""

from __future__ import annotations

from lineage.crawl.session import CrawlSession
from lineage.crawl.sources.api import ApiSource
from lineage.crawl.sources.base import EdgeStrategy, SourceName
from lineage.crawl.sources.sql import SqlSource
from lineage.crawl.sources.system import SYSTEM_REFUSED, SystemSource
from lineage.errors import PermissionDeniedError

__all__ = ["ApiSource", "EdgeStrategy", "SourceName", "SqlSource", "SystemSource", "choose_source"]


async def choose_source(session: CrawlSession, *, complete_list: bool) -> EdgeStrategy:
    """Read the views and choose the edge source for ``session.opts.edges``, once.

    ``system`` (and ``auto`` first) reads everything over the system tables; where the query API
    refuses the key, ``auto`` says so, forgets what it read and goes on as below. ``api`` and ``sql``
    read the REST list of views (twice over with ``complete_list``: a focused crawl matches its
    selector against every view); ``auto`` then asks one ``ancestors`` and takes ``api`` if the
    lineage endpoints answer, else ``sql``.
    """
    wanted = session.opts.edges
    if wanted in ("system", "auto"):
        system = SystemSource(session)
        try:
            await system.read_views()
            return system
        except SYSTEM_REFUSED as exc:
            if wanted == "system":
                raise
            session.restart(f"the query API is not usable with this key ({exc}); using the REST API")
    await session.list_views()
    if complete_list:
        await session.relist_views()
    if wanted == "sql":
        return SqlSource(session)
    api = ApiSource(session)
    probe = next(iter(sorted(session.state.views)), None)
    if wanted == "api" or probe is None:
        return api
    try:
        await api.read_parents(probe)
    except PermissionDeniedError as exc:
        session.state.notes.append(
            f"the lineage endpoints refuse this key ({exc}); rebuilt lineage from each view's HogQL instead"
        )
        return SqlSource(session)
    return api
