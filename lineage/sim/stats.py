"""Request counters behind ``GET /_sim/stats``, the simulator's control endpoint for tests and benchmarks.

``by_route`` keys are ``"METHOD /api/<projects|environments>/{team_id}/<endpoint template>/"``, e.g.
``"POST /api/projects/{team_id}/warehouse_saved_queries/{id}/ancestors/"``; requests that match no route
count as ``"METHOD (unmatched)"``. ``throttled`` counts every 429 answer (real throttles and injected
storms); ``errors_injected`` counts every injected fault (5xx, storm 429, stall, truncated body).
Counters never hold a key, a query string or a body.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Stats:
    """Thread-safe request counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0
        self._by_route: Counter[str] = Counter()
        self._throttled = 0
        self._errors_injected = 0

    def record(self, route: str) -> None:
        with self._lock:
            self._total += 1
            self._by_route[route] += 1

    def add_throttled(self) -> None:
        with self._lock:
            self._throttled += 1

    def add_injected(self) -> None:
        with self._lock:
            self._errors_injected += 1

    def reset(self) -> None:
        with self._lock:
            self._total = 0
            self._by_route.clear()
            self._throttled = 0
            self._errors_injected = 0

    def snapshot(self) -> dict[str, Any]:
        """The ``/_sim/stats`` body, routes sorted."""
        with self._lock:
            return {
                "total": self._total,
                "by_route": dict(sorted(self._by_route.items())),
                "throttled": self._throttled,
                "errors_injected": self._errors_injected,
            }
