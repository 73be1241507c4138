"""The old name of :mod:`lineage.operate.rerun` (re-running a view and what is materialized downstream).

Kept so that scripts and notebooks importing ``lineage.ops`` go on working; new code imports
``lineage.operate.rerun``.
"""

from lineage.operate.rerun import RefreshResult, RefreshStep, refresh, refresh_async, refresh_plan

__all__ = ["RefreshResult", "RefreshStep", "refresh", "refresh_async", "refresh_plan"]
