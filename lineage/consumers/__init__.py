"""Consumers of the warehouse: the insights, dashboards, notebooks, endpoints and alerts that read
views (interfaces.md section 6). :mod:`lineage.consumers.extract` reads what each one reads, with no
HTTP; :mod:`lineage.consumers.build` turns crawled records into snapshot nodes and edges."""

from __future__ import annotations

from lineage.consumers.extract import (
    CONSUMER_KINDS,
    Reads,
    endpoint_reads,
    hogql_reads,
    insight_reads,
    notebook_reads,
    query_reads,
)

__all__ = [
    "CONSUMER_KINDS",
    "Reads",
    "endpoint_reads",
    "hogql_reads",
    "insight_reads",
    "notebook_reads",
    "query_reads",
]
