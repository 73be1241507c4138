"""The PostHog API layer: the only part of lineage that talks HTTP.

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
