"""Consumers of the warehouse: the insights, dashboards, notebooks, endpoints and alerts that read
views. :mod:`lineage.consumers.extract` reads what each one reads, with no
HTTP; :mod:`lineage.consumers.build` turns crawled records into snapshot nodes and edges."""

from __future__ import annotations

# The package's face is the pure half: what each consumer reads (its names are extract's own list).
from lineage.consumers.extract import *  # noqa: F403
from lineage.consumers.extract import __all__ as __all__
