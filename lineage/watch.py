"""Watching a workspace: each cycle refreshes the snapshot, runs the checks and announces what changed.

A cycle (:func:`run_cycle`)

1. refreshes the snapshot with an incremental crawl (a full one when there is no snapshot yet), within
   a budget of HogQL queries an hour (PostHog allows a key 120, shared with the user's other tools);
2. runs :func:`lineage.analysis.check` and keeps the findings at or above ``min_severity``;
3. compares them with the findings already announced (kept in the state file, keyed by rule and node):
   new ones are announced once, findings that cleared are announced once as resolved;
4. delivers the announcement to a webhook (Slack-compatible ``text`` plus structured ``findings`` and
   ``resolved``) or to a printer.

Nothing is lost: an announcement is put in the state file's outbox (written atomically) before it is
sent, and leaves the outbox only once the webhook accepted it, so a webhook that answers 500 or a
process killed between two steps delivers it on a later cycle. A cycle whose crawl fails (network, 5xx,
budget) is reported once and tried again on the next cycle; the previous snapshot stays in place.

>>> options = WatchOptions(snapshot=Path("output/snapshot.json"))        # doctest: +SKIP
>>> result = run_cycle(settings, options)                                # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import networkx as nx

from lineage.aio import run_sync
from lineage.analysis.checks import RULES, Finding, check
from lineage.analysis.health import node_name, ui_link
from lineage.api import AsyncPostHogClient
from lineage.config import Settings, redact
from lineage.crawl import CrawlOptions, crawl_async
from lineage.crawl.options import EdgeSource
from lineage.durations import WATCH_EVERY, DurationError, parse_seconds
from lineage.errors import InputError, LineageError, param
from lineage.graph import CONSUMER_KINDS, LineageGraph
from lineage.io import write_atomic

__all__ = [
    "DEFAULT_HOGQL_BUDGET",
    "SEVERITIES",
    "CycleResult",
    "WatchOptions",
    "WatchState",
    "budget_plan",
    "deliver_outbox",
    "format_message",
    "parse_every",
    "run_cycle",
]

STATE_FORMAT = "lineage-watch-state/1"
#: A third of PostHog's 120 HogQL queries an hour per key: the rest stays for the user's other tools.
DEFAULT_HOGQL_BUDGET = 40
#: What one incremental cycle over the system tables costs before a cycle has been measured, and what
#: reading the consumers (insights, dashboards, notebooks, endpoints, alerts) adds to it.
ESTIMATED_CYCLE_QUERIES = 4
ESTIMATED_CONSUMER_QUERIES = 5
#: Consumers change slowly: they are read again every this many cycles, and carried over in between.
DEFAULT_CONSUMERS_EVERY = 6
SEVERITIES = ("error", "warning", "info")
_RANK = {s: i for i, s in enumerate(SEVERITIES)}
_ICON = {"error": ":red_circle:", "warning": ":large_orange_circle:", "info": ":large_blue_circle:"}
_DOWNSTREAM_NAMED = 5
_OUTBOX_KEPT = 200
_HOUR = 3600.0
_QUERY_ROUTE = "POST /api/projects/{project}/query/"


def parse_every(text: str) -> float:
    """``every``: ``30s``, ``15m``, ``2h`` or ``1d`` as seconds (:data:`~lineage.durations.WATCH_EVERY`);
    a clear error otherwise."""
    try:
        return parse_seconds(text, WATCH_EVERY)
    except DurationError:
        raise InputError(
            f"{param('every', repr(text))}: give a whole number and a unit s, m, h or d, such as 15m"
        ) from None


@dataclass(frozen=True)
class WatchOptions:
    """What to watch and where to say it.

    ``state`` defaults to ``<snapshot>.watch.json``; ``webhook`` ``None`` prints instead of posting;
    ``hogql_budget`` is the HogQL queries an hour the watcher allows itself (of PostHog's 120).
    """

    snapshot: Path
    state: Path | None = None
    webhook: str | None = None
    min_severity: str = "warning"
    edges: EdgeSource = "auto"
    hogql_budget: int = DEFAULT_HOGQL_BUDGET
    concurrency: int = 8
    retries: int = 5
    consumers_every: int = DEFAULT_CONSUMERS_EVERY

    def __post_init__(self) -> None:
        if self.min_severity not in _RANK:
            raise InputError(
                f"{param('min_severity', repr(self.min_severity))} is not a severity; use one of "
                f"{', '.join(SEVERITIES)}"
            )
        if self.consumers_every < 1:
            raise InputError(
                f"{param('consumers_every', str(self.consumers_every))} must be at least 1 cycle"
            )
        if self.hogql_budget < 1:
            raise InputError(
                f"{param('hogql_budget', str(self.hogql_budget))} must be at least 1 query an hour"
            )
        if self.webhook is not None and not self.webhook.startswith(("http://", "https://")):
            raise InputError(f"{param('webhook', repr(self.webhook))} is not an http(s) URL")

    @property
    def state_path(self) -> Path:
        """Where the watcher remembers what it announced."""
        return self.state or self.snapshot.with_name(self.snapshot.name + ".watch.json")


@dataclass
class WatchState:
    """What survives between cycles (and restarts): announced findings, the outbox, the budget's log."""

    announced: dict[str, dict[str, Any]] = field(default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    queries: list[list[float]] = field(default_factory=list)  # [wall time, HogQL queries] per cycle
    last_error: str | None = None
    cycle_cost: int | None = None
    consumer_cost: int | None = None
    consumers_at: int | None = None  # the cycle that last read the consumers
    cycles: int = 0
    identity: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> WatchState:
        """The state at ``path``, or a fresh one when the file does not exist yet."""
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls()
        except OSError as exc:
            raise InputError(f"cannot read the watch state {path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            raise InputError(
                f"the watch state {path} is not JSON; move it away to start afresh (every current "
                "finding is then announced again)"
            ) from None
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise InputError(
                f"{path} is not a lineage watch state ({STATE_FORMAT}); pass another {param('state')}"
            )
        return cls(
            announced={str(k): dict(v) for k, v in dict(data.get("announced") or {}).items()},
            outbox=[dict(m) for m in data.get("outbox") or []],
            queries=[[float(t), float(n)] for t, n in data.get("queries") or []],
            last_error=data.get("last_error"),
            cycle_cost=data.get("cycle_cost"),
            consumer_cost=data.get("consumer_cost"),
            consumers_at=data.get("consumers_at"),
            cycles=int(data.get("cycles") or 0),
            identity={str(k): str(v) for k, v in dict(data.get("identity") or {}).items()},
        )

    def save(self, path: Path) -> None:
        """Write atomically: a kill at any moment leaves the old state or the new one."""
        data = {
            "format": STATE_FORMAT,
            "identity": self.identity,
            "cycles": self.cycles,
            "cycle_cost": self.cycle_cost,
            "consumer_cost": self.consumer_cost,
            "consumers_at": self.consumers_at,
            "last_error": self.last_error,
            "queries": self.queries,
            "announced": dict(sorted(self.announced.items())),
            "outbox": self.outbox,
        }
        write_atomic(path, json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n")

    def queries_last_hour(self, now: float) -> int:
        """HogQL queries spent by the cycles of the last hour."""
        self.queries = [entry for entry in self.queries if now - entry[0] < _HOUR]
        return int(sum(n for _, n in self.queries))


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did."""

    new: tuple[dict[str, Any], ...]
    resolved: tuple[dict[str, Any], ...]
    delivered: int
    undelivered: int
    requests: int
    hogql_queries: int
    crawled: bool
    error: str | None = None
    skipped: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the crawl succeeded (or was skipped for the budget) and nothing is left undelivered."""
        return self.error is None and self.undelivered == 0


def budget_plan(
    budget: int,
    cycle_cost: int | None,
    consumer_cost: int | None = None,
    consumers_every: int = DEFAULT_CONSUMERS_EVERY,
) -> tuple[int, float]:
    """``(queries an ordinary cycle costs, shortest interval in seconds the budget allows)``; the
    consumers' queries, read every ``consumers_every`` cycles, are spread over the cycles."""
    cost = max(1, cycle_cost if cycle_cost is not None else ESTIMATED_CYCLE_QUERIES)
    extra = consumer_cost if consumer_cost is not None else ESTIMATED_CONSUMER_QUERIES
    average = cost + extra / consumers_every
    cycles_an_hour = max(1, math.floor(budget / average))
    return cost, math.ceil(_HOUR / cycles_an_hour)


def _key(finding: Mapping[str, Any]) -> str:
    return f"{finding['rule']}|{finding['node_id']}"


def _slack(text: str) -> str:
    # Slack's mrkdwn treats &, < and > as control characters; API names are untrusted.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _since(g: nx.DiGraph, finding: Finding, first_seen: str) -> str:
    """When the problem began, as well as the snapshot tells: the first failure of the current streak,
    the last success of a stale view, else when the watcher first saw it."""
    attrs = g.nodes[finding.node_id] if finding.node_id in g else {}
    raw_jobs = attrs.get("jobs")
    jobs: dict[str, Any] = raw_jobs if isinstance(raw_jobs, dict) else {}
    if finding.rule in {"failing", "failure-streak"}:
        history = [j for j in jobs.get("history") or [] if isinstance(j, dict)]
        history.sort(key=lambda j: str(j.get("created_at") or j.get("last_run_at") or ""), reverse=True)
        first: str | None = None
        for job in history:
            if job.get("status") != "Failed":
                break
            first = job.get("created_at") or job.get("last_run_at")
        if first:
            return str(first)
    if finding.rule == "stale" and jobs.get("last_success_at"):
        return f"last success {jobs['last_success_at']}"
    return first_seen


def _downstream(g: nx.DiGraph, node: str) -> dict[str, list[str]]:
    """Names downstream of ``node``, by kind: views and tables under ``views``, consumers by their kind."""
    if node not in g:
        return {}
    out: dict[str, list[str]] = {}
    for d in nx.descendants(g, node):
        kind = str(g.nodes[d].get("kind") or "unknown")
        out.setdefault(kind if kind in CONSUMER_KINDS else "views", []).append(node_name(g, d))
    return {k: sorted(v) for k, v in sorted(out.items())}


def _enrich(g: nx.DiGraph, finding: Finding, first_seen: str) -> dict[str, Any]:
    item = finding.to_dict()
    item["severity"] = finding.severity
    item["since"] = _since(g, finding, first_seen)
    item["downstream"] = _downstream(g, finding.node_id)
    item["url"] = ui_link(g, finding.node_id) if finding.node_id in g else None
    return item


def _line(item: Mapping[str, Any], *, resolved: bool) -> str:
    name = _slack(str(item.get("node", item.get("node_id"))))
    if resolved:
        return f":white_check_mark: resolved {item['rule']}: {name} (was: {_slack(str(item['message']))})"
    parts = [
        f"{_ICON.get(str(item['severity']), '')} {item['rule']}: *{name}* {_slack(str(item['message']))}",
        f"since {_slack(str(item['since']))}",
    ]
    down = item.get("downstream") or {}
    if down:
        said = []
        for kind, names in down.items():
            shown = ", ".join(_slack(n) for n in names[:_DOWNSTREAM_NAMED])
            more = f" and {len(names) - _DOWNSTREAM_NAMED} more" if len(names) > _DOWNSTREAM_NAMED else ""
            said.append(f"{len(names)} {kind} ({shown}{more})")
        parts.append("downstream: " + "; ".join(said))
    if item.get("url"):
        parts.append(f"<{item['url']}|open in PostHog>")
    return " — ".join(parts)


def format_message(new: Sequence[Mapping[str, Any]], resolved: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The webhook's JSON: one readable Slack-compatible line per finding, plus the structured lists."""
    lines = [_line(item, resolved=False) for item in new] + [_line(item, resolved=True) for item in resolved]
    return {"text": "\n".join(lines), "findings": list(new), "resolved": list(resolved)}


def _order(item: Mapping[str, Any]) -> tuple[int, int, str, str]:
    rule = str(item.get("rule"))
    rank = list(RULES).index(rule) if rule in RULES else len(RULES)
    return (_RANK.get(str(item.get("severity")), 9), rank, str(item.get("node")), str(item.get("node_id")))


def deliver_outbox(
    state: WatchState,
    state_path: Path,
    *,
    webhook: str | None,
    printer: Callable[[str], None],
    transport: httpx.BaseTransport | None = None,
    timeout: float = 30.0,
) -> tuple[int, list[str]]:
    """Send the outbox in order, dropping each message once delivered; stop at the first failure.

    Returns ``(delivered, problems)``. Without a webhook every message is printed (as one JSON line).
    """
    delivered = 0
    problems: list[str] = []
    if not state.outbox:
        return 0, problems
    if webhook is None:
        while state.outbox:
            printer(json.dumps(state.outbox[0], sort_keys=True, ensure_ascii=False))
            state.outbox.pop(0)
            state.save(state_path)
            delivered += 1
        return delivered, problems
    with httpx.Client(transport=transport, timeout=timeout, follow_redirects=False) as http:
        while state.outbox:
            try:
                response = http.post(webhook, json=state.outbox[0])
            except httpx.HTTPError as exc:
                problems.append(f"the webhook did not answer ({type(exc).__name__}); kept for the next cycle")
                break
            if not 200 <= response.status_code < 300:
                problems.append(f"the webhook answered {response.status_code}; kept for the next cycle")
                break
            state.outbox.pop(0)
            state.save(state_path)
            delivered += 1
    return delivered, problems


async def _crawl(
    settings: Settings,
    options: WatchOptions,
    base: LineageGraph | None,
    transport: httpx.AsyncBaseTransport | None,
    consumers: bool,
) -> tuple[LineageGraph, int, int, tuple[str, ...]]:
    client = AsyncPostHogClient(
        settings,
        transport=transport,
        concurrency=options.concurrency,
        retries=options.retries,
        hogql_per_hour=options.hogql_budget,
    )
    try:
        crawl_options = CrawlOptions(
            strategy="all",
            edges=options.edges,
            refresh=base,
            out=options.snapshot,
            concurrency=options.concurrency,
            consumers=consumers,
        )
        result = await crawl_async(settings, crawl_options, client=client)
        if not consumers and base is not None and carry_consumers(base, result.graph):
            result.graph.save(options.snapshot)
        queries = client.stats.requests.get(_QUERY_ROUTE, 0)
    finally:
        await client.aclose()
    return result.graph, result.requests, queries, result.notes


def carry_consumers(base: LineageGraph, graph: LineageGraph) -> bool:
    """Copy ``base``'s consumers (and the unresolved names they read) into ``graph``, crawled without
    them, with every edge whose two ends exist there; True when ``base`` had consumers to carry."""
    old, new = base.nx, graph.nx
    if "consumers_not_read" not in old.graph:
        return False
    carried = [
        n
        for n, attrs in old.nodes(data=True)
        if attrs.get("kind") in CONSUMER_KINDS or (attrs.get("unresolved") and n not in new)
    ]
    for n in carried:
        new.add_node(n, **old.nodes[n])
    for n in carried:
        for u, v, attrs in [*old.in_edges(n, data=True), *old.out_edges(n, data=True)]:
            if u in new and v in new:
                new.add_edge(u, v, **attrs)
    new.graph["consumers_not_read"] = list(old.graph["consumers_not_read"])
    return True


def _load_base(options: WatchOptions, settings: Settings) -> LineageGraph | None:
    if not options.snapshot.exists():
        return None
    base = LineageGraph.load(options.snapshot)
    theirs = (base.nx.graph.get("host"), str(base.nx.graph.get("project")))
    if theirs != (settings.host, str(settings.project)):
        raise InputError(
            f"snapshot {options.snapshot} was crawled from {theirs[0]} project {theirs[1]}, not "
            f"{settings.host} project {settings.project}; watch another {param('snapshot')}"
        )
    return base


def run_cycle(
    settings: Settings,
    options: WatchOptions,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    webhook_transport: httpx.BaseTransport | None = None,
    printer: Callable[[str], None] = print,
    wall_clock: Callable[[], float] = time.time,
) -> CycleResult:
    """One watch cycle: refresh, check, announce what is new or resolved, deliver. Never raises for a
    failed crawl or webhook (it says so in the result); raises InputError for unusable options or files."""
    state_path = options.state_path
    state = WatchState.load(state_path)
    identity = {"host": settings.host, "project": str(settings.project)}
    if state.identity and state.identity != identity:
        raise InputError(
            f"the watch state {state_path} belongs to {state.identity.get('host')} project "
            f"{state.identity.get('project')}; pass another {param('state')}"
        )
    state.identity = identity
    notes: list[str] = []
    # What an earlier cycle could not deliver goes first, so messages arrive in order.
    delivered, problems = deliver_outbox(
        state, state_path, webhook=options.webhook, printer=printer, transport=webhook_transport
    )
    base = _load_base(options, settings)
    now = wall_clock()
    spent = state.queries_last_hour(now)
    cost, _interval = budget_plan(options.hogql_budget, state.cycle_cost)
    consumer_cost = state.consumer_cost if state.consumer_cost is not None else ESTIMATED_CONSUMER_QUERIES
    due = (
        base is None
        or "consumers_not_read" not in base.nx.graph
        or state.consumers_at is None
        or state.cycles - state.consumers_at >= options.consumers_every
    )
    read_consumers = due and spent + cost + consumer_cost <= options.hogql_budget
    if due and not read_consumers:
        notes.append("consumers not refreshed this cycle (HogQL budget); carried over from the last snapshot")
    if spent + cost > options.hogql_budget:
        state.save(state_path)
        reason = (
            f"HogQL budget spent: {spent} of {options.hogql_budget} queries in the last hour, a cycle costs "
            f"about {cost}; the snapshot was not refreshed"
        )
        return CycleResult(
            (), (), delivered, len(state.outbox), 0, 0, False, skipped=reason, notes=tuple(notes + problems)
        )
    try:
        graph, requests, queries, crawl_notes = run_sync(
            _crawl(settings, options, base, transport, read_consumers)
        )
    except LineageError as exc:
        message = redact(str(exc))
        fresh = message != state.last_error
        state.last_error = message
        state.cycles += 1
        state.save(state_path)
        reported = message if fresh else None
        return CycleResult(
            (),
            (),
            delivered,
            len(state.outbox),
            0,
            0,
            False,
            error=reported or message,
            notes=("the same failure as the last cycle; not reported again",) if not fresh else (),
        )
    notes += crawl_notes
    if state.last_error is not None:
        notes.append(f"the crawl works again (last failure: {state.last_error})")
    state.last_error = None
    state.queries.append([now, float(queries)])
    if read_consumers:
        state.consumers_at = state.cycles
        if queries and state.cycle_cost is not None:
            state.consumer_cost = max(0, queries - state.cycle_cost)
    elif queries:
        state.cycle_cost = queries
    state.cycles += 1

    g = graph.nx
    floor = _RANK[options.min_severity]
    report = check(graph)
    current = {f"{f.rule}|{f.node_id}": f for f in report.findings if _RANK[f.severity] <= floor}
    seen_at = str(g.graph.get("crawled_at") or datetime.now(UTC).isoformat())
    new = [_enrich(g, f, seen_at) for key, f in current.items() if key not in state.announced]
    resolved = [dict(item) for key, item in state.announced.items() if key not in current]
    new.sort(key=_order)
    resolved.sort(key=_order)
    if new or resolved:
        state.outbox.append(format_message(new, resolved))
        del state.outbox[:-_OUTBOX_KEPT]
        for item in new:
            state.announced[_key(item)] = {
                k: item[k] for k in ("rule", "severity", "node_id", "node", "message", "since")
            }
        for item in resolved:
            state.announced.pop(_key(item), None)
    state.save(state_path)  # the announcement is in the outbox before anything is sent
    more, problems2 = deliver_outbox(
        state, state_path, webhook=options.webhook, printer=printer, transport=webhook_transport
    )
    return CycleResult(
        new=tuple(new),
        resolved=tuple(resolved),
        delivered=delivered + more,
        undelivered=len(state.outbox),
        requests=requests,
        hogql_queries=queries,
        crawled=True,
        notes=tuple(notes + problems + problems2),
    )
