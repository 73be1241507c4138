"""The old name of :mod:`lineage.frames` (pandas DataFrames of a LineageGraph, for notebooks).

Kept so that notebooks importing ``lineage.tables`` go on working; new code imports ``lineage.frames``.
"""

from lineage.frames import *  # noqa: F403  (every name of frames.__all__)
from lineage.frames import __all__ as __all__
