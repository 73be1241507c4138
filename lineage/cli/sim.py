"""``lineage sim``: run the PostHog API simulator, and make fixtures for it from real graphs or from a
snapshot of a crawled workspace."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

import click

from lineage.cli.common import (
    clean_errors,
    emit,
    json_text,
    out_option,
)
from lineage.errors import InputError
from lineage.io import read_json


@click.group(name="sim")
def sim() -> None:
    """The offline PostHog API simulator.

    \b
    Examples:
      lineage sim serve --fixture warehouse.json --port 0
      lineage sim fixture --from-graph dbt_gitlab.json --seed 1 --out gitlab.fixture.json
      lineage sim fixture --from-graph snapshot.json --out mine.fixture.json
    """


@sim.command(name="serve")
@click.option(
    "--fixture", "fixture_path", required=True, metavar="PATH", help="lineage-sim-fixture/1 JSON file"
)
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option(
    "--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="0 = a free port"
)
@click.option(
    "--era", type=click.Choice(["e2", "e3"]), default="e3", show_default=True, help="PostHog code era"
)
@click.option(
    "--latency-ms", default=0.0, show_default=True, type=click.FloatRange(0), help="added per request"
)
@click.option(
    "--error-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1), help="share of 5xx answers"
)
@click.option("--seed", default=0, show_default=True, type=int, help="seed of the fault generator")
@click.option("--no-rate-limit", is_flag=True, help="turn PostHog's throttles off")
@clean_errors
def serve(
    fixture_path: str,
    host: str,
    port: int,
    era: str,
    latency_ms: float,
    error_rate: float,
    seed: int,
    no_rate_limit: bool,
) -> None:
    """Serve FIXTURE like PostHog's API until interrupted.

    Prints exactly one line, ``Listening on http://HOST:PORT``, once connections are accepted.
    Control endpoints: GET /_sim/stats, POST /_sim/reset, POST /_sim/clock, GET|POST /_sim/faults.

    \b
    Example:
      lineage sim serve --fixture lineage/sim/data/demo.json --port 0 --latency-ms 20 --error-rate 0.05
    """
    from lineage.sim.app import create_app
    from lineage.sim.faults import FaultConfig
    from lineage.sim.server import build_warehouse, run_blocking

    warehouse = build_warehouse(Path(fixture_path), era=era)
    faults = FaultConfig(seed=seed, latency_ms=latency_ms, error_rate=error_rate)
    app = create_app(warehouse, faults=faults, rate_limit=not no_rate_limit)

    def announce(url: str) -> None:
        print(f"Listening on {url}", flush=True)

    # uvicorn turns SIGINT into a clean shutdown; a second Ctrl-C must not print a traceback either
    with contextlib.suppress(KeyboardInterrupt):
        run_blocking(app, host=host, port=port, announce=announce)


@sim.command(name="fixture")
@click.option(
    "--from-graph",
    "graph_path",
    required=True,
    metavar="FILE.json",
    help="a real_graphs graph, or a lineage-snapshot/1 file from `lineage crawl`",
)
@click.option("--seed", default=0, show_default=True, type=int, help="seed for ids and generated details")
@out_option()
@click.option("--break-cycles", is_flag=True, help="drop the edges that close cycles instead of refusing")
@clean_errors
def fixture(graph_path: str, seed: int, out: str | None, break_cycles: bool) -> None:
    """Turn a lineage graph into a simulator fixture, the same for the same seed.

    --from-graph takes either format. A real_graphs graph ({"nodes": [{"name", "kind"}], "edges":
    [[up, down]]}) gets generated ids, folders, owners and job history. A snapshot written by
    `lineage crawl` is replayed as it was: its ids, names, folders, owners, materialization, cadence,
    status, columns, HogQL and job history, with deleted views (ghosts) still feeding their readers
    and the clock at the crawl's time, so that crawling `lineage sim serve` of the result gives the
    same lineage back. Keys: phx_demo_read and phx_demo_write.

    \b
    Examples:
      lineage sim fixture --from-graph ../shared/data/real_graphs/dbt_jaffle_shop.json --out jaffle.json
      lineage crawl --out snapshot.json && lineage sim fixture --from-graph snapshot.json --out mine.json
      lineage sim serve --fixture mine.json --port 8010
    """
    from lineage.sim.generate import fixture_from_graph

    graph = _read_graph(Path(graph_path))
    document = fixture_from_graph(graph, seed=seed, break_cycles=break_cycles)
    emit(json_text(document, sort_keys=True), out)


def _read_graph(path: Path) -> dict[str, Any]:
    data = read_json(path, what=f"graph file {path}", missing_hint="pass --from-graph PATH")
    if not isinstance(data, dict):
        raise InputError(
            f"graph file {path} must hold a JSON object: a real_graphs graph with 'nodes' and 'edges', "
            "or a lineage-snapshot/1 file written by `lineage crawl`"
        )
    return data


if __name__ == "__main__":  # pragma: no cover
    sys.exit(sim())
