"""The PostHog API layer: the only part of lineage that talks HTTP.

The async client (:mod:`~lineage.api.client`) is made of one resource mixin per part of the API
(:mod:`lineage.api.resources`) over one sender (:mod:`~lineage.api.transport`); the blocking client
(:mod:`~lineage.api.blocking`) forwards to it. The records they return are :mod:`~lineage.api.models`
and :mod:`~lineage.api.consumer_models`.

>>> from lineage.api import PostHogClient, AsyncPostHogClient, SavedQuery
"""

from lineage.api.blocking import PostHogClient
from lineage.api.client import SYNC_FREQUENCIES, UNSET, AsyncPostHogClient
from lineage.api.limits import SlidingWindowLimiter, VirtualClock
from lineage.api.models import (
    ActivityRow,
    Column,
    DatabaseNameCheck,
    Dependencies,
    Folder,
    Job,
    RunHistoryEntry,
    SavedQuery,
    Table,
    UserBasic,
    parse_datetime,
)
from lineage.api.options import ClientOptions
from lineage.api.query import QueryResult
from lineage.api.retry import ClientStats, StatsSnapshot

__all__ = [
    "SYNC_FREQUENCIES",
    "UNSET",
    "ActivityRow",
    "AsyncPostHogClient",
    "ClientOptions",
    "ClientStats",
    "Column",
    "DatabaseNameCheck",
    "Dependencies",
    "Folder",
    "Job",
    "PostHogClient",
    "QueryResult",
    "RunHistoryEntry",
    "SavedQuery",
    "SlidingWindowLimiter",
    "StatsSnapshot",
    "Table",
    "UserBasic",
    "VirtualClock",
    "parse_datetime",
]
