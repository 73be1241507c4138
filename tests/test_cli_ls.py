from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from lineage.cli import main
from lineage.graph import LineageGraph

ORDERS = "0190c1f2-0000-7000-8000-0000000000a1"
REPORT = "0190c1f2-0000-7000-8000-0000000000b2"
EVIL = "0190c1f2-0000-7000-8000-0000000000c3"


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    g = LineageGraph(host="https://us.posthog.com", project="1", crawled_at="2026-11-26T00:00:00Z")
    g.add_node("events", name="events", kind="table", table_kind="posthog")
    g.add_node(
        ORDERS,
        name="orders_daily",
        kind="matview",
        is_materialized=True,
        status="Completed",
        folder="Revenue",
    )
    g.add_node(REPORT, name="revenue.report", kind="view", is_materialized=False, status=None, folder=None)
    g.add_node(EVIL, name="=cmd|' /C calc'!A0", kind="view", is_materialized=False, folder="\x1b[31mred")
    g.add_edge("events", ORDERS)
    g.add_edge(ORDERS, REPORT)
    path = tmp_path / "snap.json"
    g.save(path)
    return path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["ls", *args])


def test_text_table(snapshot: Path) -> None:
    result = run("--select", "+revenue.report", "--snapshot", str(snapshot))
    assert result.exit_code == 0, result.output
    # by name, name first (issue 14, items 2-3)
    assert result.stdout == (
        "name            id                                    kind     materialized  status     folder\n"
        "events          events                                table    -             -          -\n"
        f"orders_daily    {ORDERS}  matview  yes           Completed  Revenue\n"
        f"revenue.report  {REPORT}  view     no            -          -\n"
    )
    assert result.stderr == ""


def test_text_escapes_control_characters(snapshot: Path) -> None:
    result = run("--select", EVIL, "--snapshot", str(snapshot))
    assert result.exit_code == 0
    assert "\x1b" not in result.stdout
    assert "\\x1b[31mred" in result.stdout


def test_json(snapshot: Path) -> None:
    result = run(
        "--select",
        "orders_daily+",
        "--exclude",
        "kind:table",
        "--snapshot",
        str(snapshot),
        "--format",
        "json",
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {
            "id": ORDERS,
            "name": "orders_daily",
            "kind": "matview",
            "is_materialized": True,
            "status": "Completed",
            "folder": "Revenue",
        },
        {
            "id": REPORT,
            "name": "revenue.report",
            "kind": "view",
            "is_materialized": False,
            "status": None,
            "folder": None,
        },
    ]


def test_csv_defuses_formulas(snapshot: Path) -> None:
    result = run("--select", "kind:view", "--snapshot", str(snapshot), "--format", "csv")
    assert result.exit_code == 0
    assert result.stdout == (
        "name,id,kind,materialized,status,folder\n"
        # the folder's ANSI escape is shown, not sent: on a terminal it would recolour the screen
        f"'=cmd|' /C calc'!A0,{EVIL},view,false,,\\x1b[31mred\n"
        f"revenue.report,{REPORT},view,false,,\n"
    )
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_empty_selection(snapshot: Path) -> None:
    text = run("--select", "folder:Nowh*", "--snapshot", str(snapshot))
    assert (text.exit_code, text.stdout, text.stderr) == (0, "", "lineage: no nodes match 'folder:Nowh*'\n")
    as_json = run("--select", "folder:Nowh*", "--snapshot", str(snapshot), "--format", "json")
    assert (as_json.exit_code, as_json.stdout) == (0, "[]\n")
    as_csv = run("--select", "folder:Nowh*", "--snapshot", str(snapshot), "--format", "csv")
    assert (as_csv.exit_code, as_csv.stdout) == (0, "name,id,kind,materialized,status,folder\n")


def test_unknown_name_is_a_clean_error(snapshot: Path) -> None:
    result = run("--select", "+order_daily", "--snapshot", str(snapshot))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "lineage: bad selector '+order_daily': unknown view or table 'order_daily'; "
        "did you mean 'orders_daily'?\n"
        "  +order_daily\n"
        "   ^^^^^^^^^^^\n"
    )


def test_bad_exclude_is_a_clean_error(snapshot: Path) -> None:
    result = run("--select", "*", "--exclude", "kind:model", "--snapshot", str(snapshot))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "lineage: bad --exclude selector 'kind:model': "
        "kind 'model' is not one of view, matview, table, unknown, "
        "insight, dashboard, notebook, endpoint, alert"
    )


def test_missing_snapshot(tmp_path: Path) -> None:
    missing = tmp_path / "none.json"
    result = run("--select", "*", "--snapshot", str(missing))
    assert result.exit_code == 2
    assert result.stderr == (
        f"lineage: snapshot {str(missing)!r} does not exist; run 'lineage crawl' to make one, "
        "or pass --snapshot PATH\n"
    )


def test_default_snapshot_path(snapshot: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "snapshot.json").write_bytes(snapshot.read_bytes())
    monkeypatch.chdir(tmp_path)
    result = run("--select", "events", "--format", "json")
    assert result.exit_code == 0
    assert [r["id"] for r in json.loads(result.stdout)] == ["events"]


def test_newer_snapshot_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.json"
    path.write_text(
        json.dumps({"directed": True, "graph": {"format": "lineage-snapshot/3"}}), encoding="utf-8"
    )
    result = run("--select", "*", "--snapshot", str(path))
    assert result.exit_code == 2
    assert "has format 'lineage-snapshot/3', newer than this lineage reads" in result.stderr
    assert "Traceback" not in result.output


def test_truncated_snapshot_refused(tmp_path: Path, snapshot: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_text(snapshot.read_text(encoding="utf-8")[:100], encoding="utf-8")
    result = run("--select", "*", "--snapshot", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"lineage: snapshot {str(path)!r} is not valid JSON (line ")


def test_usage_errors_exit_2(snapshot: Path) -> None:
    everything = run("--snapshot", str(snapshot), "--format", "json")  # no --select: all, as dbt ls
    assert everything.exit_code == 0, everything.output
    names = [r["name"] for r in json.loads(everything.stdout)]
    assert names == sorted(names) and len(names) == 4
    bad_format = run("--select", "*", "--snapshot", str(snapshot), "--format", "xml")
    assert bad_format.exit_code == 2 and "'xml' is not one of 'text', 'json', 'csv'" in bad_format.stderr


def test_help_has_an_example() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "lineage ls --select '+mrr_by_month'" in result.stdout
    assert "--exclude SEL" in result.stdout and "output/snapshot.json" in result.stdout


def test_rich_table_does_not_read_names_as_markup(capsys: pytest.CaptureFixture[str]) -> None:
    from lineage.cli.ls import _print_rich

    _print_rich(
        [
            {
                "id": "x",
                "name": "[bold]x[/bold]",
                "kind": "view",
                "is_materialized": None,
                "status": "ok",
                "folder": None,
            }
        ]
    )
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "id", "kind", "materialized", "status", "folder"]
    assert lines[1].split() == ["[bold]x[/bold]", "x", "view", "-", "ok", "-"]
