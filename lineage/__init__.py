"""lineage: who reads what in a PostHog data warehouse, what breaks if a view changes, and how
healthy each materialization is."""

from __future__ import annotations

from lineage.graph import LineageGraph, load
from lineage.select import select

__version__ = "0.1.0"

__all__ = ["LineageGraph", "__version__", "load", "select"]
