"""The old name of :mod:`lineage.frames` (pandas DataFrames of a LineageGraph, for notebooks).

Kept so that notebooks importing ``lineage.tables`` go on working; new code imports ``lineage.frames``.
"""

from lineage.frames import (
    CONSUMER_COLUMNS,
    EDGE_COLUMNS,
    JOB_COLUMNS,
    NODE_COLUMNS,
    consumers_frame,
    edges_frame,
    jobs_frame,
    nodes_frame,
)

__all__ = [
    "CONSUMER_COLUMNS",
    "EDGE_COLUMNS",
    "JOB_COLUMNS",
    "NODE_COLUMNS",
    "consumers_frame",
    "edges_frame",
    "jobs_frame",
    "nodes_frame",
]
