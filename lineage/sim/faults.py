"""Seeded, reproducible faults for the simulator: latency, 5xx answers, 429 storms, stalls, truncation.

One ``random.Random(seed)`` is consumed in request order, exactly six draws per request while any
fault is enabled, so the same seed and the same request sequence give the same faults. Faults model
the network and the load balancer in front of PostHog: they are decided before authentication and
never touch ``/_sim/*``.

Per request, in order of precedence:

* an ongoing 429 storm answers 429 (``Retry-After: storm_retry_after``) until ``storm_length`` answers;
  or, with ``storm_seconds`` > 0, for that many seconds of wall time whatever the number of answers,
  as PostHog's time-window throttles do (``Retry-After`` then tells the whole seconds left, at least 1);
* with probability ``storm_rate`` a new storm starts with this request;
* with probability ``error_rate`` a 5xx: 500 (PostHog's JSON ``server_error`` body), 502 or 503 (HTML
  from the proxy, as a real load balancer sends);
* with probability ``stall_rate`` the answer waits ``stall_seconds`` (longer than a client timeout);
* with probability ``truncate_rate`` a JSON body is cut in half (Content-Length matches the cut body).

``latency_ms`` (+ uniform ``jitter_ms``) is added to every request.
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lineage.errors import InputError


@dataclass(frozen=True)
class FaultConfig:
    """What to inject; all rates are probabilities in [0, 1]."""

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    storm_rate: float = 0.0
    storm_length: int = 5
    storm_retry_after: int = 1
    storm_seconds: float = 0.0
    stall_rate: float = 0.0
    stall_seconds: float = 30.0
    truncate_rate: float = 0.0

    def __post_init__(self) -> None:
        for name in ("error_rate", "storm_rate", "stall_rate", "truncate_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(f"fault setting {name}={value!r} must be a probability between 0 and 1")
        for name in ("latency_ms", "jitter_ms", "stall_seconds", "storm_seconds"):
            if getattr(self, name) < 0:
                raise InputError(f"fault setting {name}={getattr(self, name)!r} must not be negative")
        if self.storm_length < 1 or self.storm_retry_after < 0:
            raise InputError("fault settings storm_length must be >= 1 and storm_retry_after >= 0")

    @property
    def active(self) -> bool:
        return any(
            (
                self.latency_ms,
                self.jitter_ms,
                self.error_rate,
                self.storm_rate,
                self.stall_rate,
                self.truncate_rate,
            )
        )

    def replace(self, changes: Mapping[str, Any]) -> FaultConfig:
        """A copy with ``changes`` applied; unknown names or wrong types are an InputError."""
        fields = {f.name: f for f in dataclasses.fields(self)}
        clean: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in fields:
                raise InputError(f"unknown fault setting {name!r}; known: {', '.join(sorted(fields))}")
            want = int if fields[name].type in ("int", int) else float
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InputError(f"fault setting {name} must be a number, got {value!r}")
            if want is int and not float(value).is_integer():
                raise InputError(f"fault setting {name} must be an integer, got {value!r}")
            clean[name] = want(value)
        return dataclasses.replace(self, **clean)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class FaultDecision:
    """What happens to one request."""

    delay_s: float = 0.0
    storm: bool = False
    retry_after: int = 0
    error_status: int | None = None
    stall_s: float = 0.0
    truncate: bool = False

    @property
    def injected(self) -> bool:
        return self.storm or self.error_status is not None or self.stall_s > 0 or self.truncate


NO_FAULT = FaultDecision()
_ERROR_STATUSES = (500, 502, 503)


class FaultInjector:
    """Draws a :class:`FaultDecision` per request from one seeded generator; thread-safe."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self._config = config or FaultConfig()
        self._rng = random.Random(self._config.seed)
        self._storm_left = 0
        self._storm_until = 0.0
        self.storms = 0
        """How many storms have started (each is many 429 answers)."""

    @property
    def config(self) -> FaultConfig:
        return self._config

    def reconfigure(self, changes: Mapping[str, Any]) -> FaultConfig:
        """Apply ``changes``; a new ``seed`` restarts the generator (and ends any storm)."""
        with self._lock:
            config = self._config.replace(changes)
            if "seed" in changes:
                self._rng = random.Random(config.seed)
                self._storm_left = 0
                self._storm_until = 0.0
            self._config = config
            return config

    def decide(self) -> FaultDecision:
        with self._lock:
            cfg = self._config
            now = time.monotonic()
            if not cfg.active and self._storm_left == 0 and now >= self._storm_until:
                return NO_FAULT
            u_jitter, u_storm, u_error, u_kind, u_stall, u_trunc = (self._rng.random() for _ in range(6))
            delay = (cfg.latency_ms + u_jitter * cfg.jitter_ms) / 1000.0
            if now < self._storm_until:
                left = max(1, math.ceil(self._storm_until - now))
                return FaultDecision(delay_s=delay, storm=True, retry_after=left)
            if self._storm_left > 0:
                self._storm_left -= 1
                return FaultDecision(delay_s=delay, storm=True, retry_after=cfg.storm_retry_after)
            if u_storm < cfg.storm_rate:
                self.storms += 1
                if cfg.storm_seconds > 0:
                    self._storm_until = now + cfg.storm_seconds
                    left = max(1, math.ceil(cfg.storm_seconds))
                    return FaultDecision(delay_s=delay, storm=True, retry_after=left)
                self._storm_left = cfg.storm_length - 1
                return FaultDecision(delay_s=delay, storm=True, retry_after=cfg.storm_retry_after)
            if u_error < cfg.error_rate:
                status = _ERROR_STATUSES[min(int(u_kind * len(_ERROR_STATUSES)), len(_ERROR_STATUSES) - 1)]
                return FaultDecision(delay_s=delay, error_status=status)
            if u_stall < cfg.stall_rate:
                return FaultDecision(delay_s=delay, stall_s=cfg.stall_seconds)
            return FaultDecision(delay_s=delay, truncate=u_trunc < cfg.truncate_rate)


PROXY_BODIES = {
    502: b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n",
    503: b"<html><head><title>503 Service Unavailable</title></head>"
    b"<body><h1>503 Service Unavailable</h1></body></html>\n",
}


def truncate_body(body: bytes) -> bytes:
    """Half of ``body`` (at least one byte gone), so that a JSON parser fails on it."""
    if len(body) <= 1:
        return b""
    return body[: len(body) // 2]
