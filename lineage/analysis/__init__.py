"""Analyses over a lineage graph: impact (down to columns), health checks and snapshot diffs.

Every function accepts a ``LineageGraph`` or a bare ``networkx.DiGraph`` and returns a frozen dataclass
with ``to_dict()`` and ``to_frame()``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lineage.analysis.checks import RULES, CheckReport, Finding, check, parse_rules
from lineage.analysis.diff import SnapshotDiff, diff
from lineage.analysis.health import NodeHealth, graph_health, node_health
from lineage.analysis.impact import ImpactNode, ImpactReport, ImpactSummary, impact

if TYPE_CHECKING:
    from lineage.analysis.columns import (
        ColumnImpact,
        ColumnUsage,
        DerivedColumn,
        UnknownImpact,
        column_impact,
    )

# Column-level names are imported on first use (PEP 562): they need sqlglot, which costs more to import
# than ``lineage impact`` or ``check`` take at 20,000 views. ``from lineage.analysis import
# column_impact`` works as before.
_COLUMN_NAMES = frozenset({"ColumnImpact", "ColumnUsage", "DerivedColumn", "UnknownImpact", "column_impact"})


def __getattr__(name: str) -> Any:
    if name not in _COLUMN_NAMES:
        raise AttributeError(f"module 'lineage.analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module("lineage.analysis.columns"), name)
    globals()[name] = value
    return value


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
