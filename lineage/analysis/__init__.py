"""Analyses over a lineage graph: impact (down to columns), health checks and snapshot diffs.

Every function accepts a ``LineageGraph`` or a bare ``networkx.DiGraph`` and returns a frozen dataclass
with ``to_dict()`` and ``to_frame()``.
"""

from __future__ import annotations

from lineage.analysis.checks import RULES, CheckReport, Finding, check, parse_rules
from lineage.analysis.columns import ColumnImpact, ColumnUsage, DerivedColumn, UnknownImpact, column_impact
from lineage.analysis.diff import SnapshotDiff, diff
from lineage.analysis.health import NodeHealth, graph_health, node_health
from lineage.analysis.impact import ImpactNode, ImpactReport, ImpactSummary, impact

__all__ = [
    "RULES",
    "CheckReport",
    "ColumnImpact",
    "ColumnUsage",
    "DerivedColumn",
    "Finding",
    "ImpactNode",
    "ImpactReport",
    "ImpactSummary",
    "NodeHealth",
    "SnapshotDiff",
    "UnknownImpact",
    "check",
    "column_impact",
    "diff",
    "graph_health",
    "impact",
    "node_health",
    "parse_rules",
]
