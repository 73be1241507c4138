"""Library messages name parameters (``host=``, ``max_depth=0``); only the command line names flags.

A notebook user who calls the library reads advice in the words they call it with; the same
message on the command line says ``--host`` and ``--max-depth 0`` (lineage.errors.param).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner

from lineage.analysis import impact
from lineage.analysis.checks import check, parse_rules
from lineage.analysis.diff import parse_diff_kinds
from lineage.cli import main
from lineage.cli.common import flag_for
from lineage.config import Settings
from lineage.crawl import parse_since as parse_jobs_since
from lineage.demo import run_demo
from lineage.errors import InputError, LineageError, naming_flags, param, render_params
from lineage.graph import LineageGraph
from lineage.io import write_atomic
from lineage.operate.actions import parse_since
from lineage.render.common import check_size_count
from lineage.select import select
from lineage.watch import WatchOptions, parse_every


def _graph() -> nx.DiGraph:
    g = nx.DiGraph(host="https://eu.posthog.com", project=42, crawled_at="2026-11-26T00:00:00Z")
    g.add_node("orders", name="orders", kind="view")
    g.add_node("daily", name="daily", kind="view")
    g.add_edge("orders", "daily")
    return g


def test_param_reads_as_the_parameter_in_python_and_as_the_flag_on_the_command_line() -> None:
    text = f"check {param('host')} and {param('max_depth', '0')}; {param('collapse_folders', 'NAME')}"
    assert render_params(text) == "check host= and max_depth=0; collapse_folders=NAME"
    with naming_flags(flag_for):
        assert render_params(text) == "check --host and --max-depth 0; --collapse-folder NAME"
    assert render_params(text) == "check host= and max_depth=0; collapse_folders=NAME"  # restored after


def test_an_error_is_spelled_when_it_is_read_also_inside_another_message() -> None:
    inner = LineageError(f"refused; check {param('project')}")
    assert str(inner) == inner.message == "refused; check project="
    with naming_flags(flag_for):
        assert str(inner) == "refused; check --project"
        # a crawl note quoting a refused request, built while the command line runs, says the flag
        assert f"not readable ({inner})" == "not readable (refused; check --project)"
    assert "\ue000" not in repr(str(inner))


# (call, what the library says, what the command line says of the same call)
LIBRARY_CALLS: list[tuple[Callable[[], Any], str, str]] = [
    (
        lambda: Settings.resolve(host="ftp://x", env={}),
        "host= / POSTHOG_HOST must be a URL",
        "--host / POSTHOG_HOST",
    ),
    (
        lambda: Settings.resolve(project="abc", env={}),
        "project= / POSTHOG_PROJECT_ID",
        "--project / POSTHOG_PROJECT_ID",
    ),
    (
        lambda: Settings.resolve(api_key="phx x", env={}),
        "api_key= / POSTHOG_PERSONAL_API_KEY",
        "--api-key / ",
    ),
    (
        lambda: Settings.resolve(max_rpm=0, env={}),
        "max_rpm= / LINEAGE_MAX_RPM",
        "--max-rpm / LINEAGE_MAX_RPM",
    ),
    (
        lambda: Settings.resolve(throttle_budget="-1", env={}),
        "throttle_budget= / LINEAGE_THROTTLE_BUDGET must be a number",
        "--throttle-budget / LINEAGE_THROTTLE_BUDGET",
    ),
    (lambda: Settings.resolve(env={}).require_api(), "no project: pass project= or set", "pass --project or"),
    (lambda: impact(_graph(), "orders", max_depth=0), "max_depth=0 must be 1 or more", "--max-depth 0 must"),
    (
        lambda: check(_graph(), now="yesterday"),
        "now='yesterday' is not an ISO 8601 time",
        "--now 'yesterday'",
    ),
    (lambda: parse_rules("nope"), "fail_on= names unknown rule(s) 'nope'", "--fail-on names unknown rule(s)"),
    (lambda: parse_diff_kinds(","), "fail_on=',' names no kind of change", "--fail-on ',' names no kind"),
    (
        lambda: select(LineageGraph(_graph()), "*", exclude="ordrs"),
        "bad exclude= selector 'ordrs'",
        "--exclude ",
    ),
    (lambda: parse_jobs_since("soon"), "jobs_since='soon': give a number", "--jobs-since 'soon': give"),
    (lambda: parse_since("soon"), "since='soon' is not a duration", "--since 'soon' is not"),
    (lambda: parse_every("1y"), "every='1y': give a whole number", "--every '1y': give"),
    (
        lambda: WatchOptions(Path("s.json"), webhook="ftp://x"),
        "webhook='ftp://x' is not",
        "--webhook 'ftp://x'",
    ),
    (
        lambda: WatchOptions(Path("s.json"), hogql_budget=0),
        "hogql_budget=0 must be at least",
        "--hogql-budget 0",
    ),
    (lambda: write_atomic("", "x"), "pass out=FILE, or '-'", "pass --out FILE, or '-'"),
    (
        lambda: check_size_count(12, 10),
        "with a selector (e.g. select='+mrr_by_month+' or select='folder:Finance'), collapse folders with "
        "collapse_folders=NAME, or raise the limit with max_nodes=N",
        "(e.g. --select '+mrr_by_month+' or --select 'folder:Finance'), collapse folders with "
        "--collapse-folder NAME, or raise the limit with --max-nodes N",
    ),
]


@pytest.mark.parametrize(("call", "python", "flags"), LIBRARY_CALLS)
def test_library_messages_name_parameters_and_the_cli_names_flags(
    call: Callable[[], Any], python: str, flags: str
) -> None:
    with pytest.raises(LineageError) as info:
        call()
    said = str(info.value)
    assert python in said and " --" not in said and not said.startswith("--"), said
    with naming_flags(flag_for):
        assert flags in str(info.value), str(info.value)


def test_demo_out_that_is_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "f"
    afile.write_text("x")
    with pytest.raises(InputError, match=f"^out={afile} is a file; give a directory"):
        run_demo(afile)
    result = CliRunner().invoke(main, ["demo", "--out", str(afile)])
    assert result.exit_code == 2 and f"lineage: --out {afile} is a file; give a directory" in result.stderr


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["crawl", "--all", "--host", "ftp://x"], "lineage: --host / POSTHOG_HOST must be a URL"),
        (
            ["render", "--collapse-folder", "Nope", "--format", "dot"],
            "lineage: --collapse-folder 'Nope' names no folder of the drawn nodes",
        ),
        (["check", "--now", "yesterday"], "lineage: --now 'yesterday' is not an ISO 8601 time"),
        (["ls", "--exclude", "ordrs"], "lineage: bad --exclude selector 'ordrs'"),
        (["crawl", "--all", "--jobs-since", "soon", "--project", "1"], "lineage: --jobs-since 'soon': give"),
        (
            ["jobs", "--since", "soon", "--project", "1", "--api-key", "phx_x"],
            "lineage: --since 'soon' is not",
        ),
        (
            ["watch", "--once", "--project", "1", "--api-key", "phx_x", "--webhook", "ftp://x"],
            "lineage: --webhook 'ftp://x' is not an http(s) URL",
        ),
    ],
)
def test_the_command_line_says_flags(argv: list[str], line: str, tmp_path: Path) -> None:
    snap = LineageGraph(_graph()).save(tmp_path / "snap.json")
    env = {"POSTHOG_PERSONAL_API_KEY": "phx_x", "LINEAGE_SNAPSHOT": str(snap)}
    result = CliRunner(env=env).invoke(main, argv)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith(line), result.stderr
    assert "\ue000" not in result.stderr and "\ue002" not in result.stderr
