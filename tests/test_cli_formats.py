"""When --format is not given, commands take it from --out's extension (and a table on a terminal)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lineage.cli import main
from lineage.cli.common import format_for
from lineage.demo import run_demo


@pytest.fixture(scope="module")
def snap(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(run_demo(tmp_path_factory.mktemp("demo")).out / "snapshot.json")


def test_format_for_reads_the_extension() -> None:
    choices = ("md", "csv", "json", "html", "table")
    assert format_for("r.HTML", choices, terminal="table", other="md") == "html"
    assert format_for("r.markdown", choices, terminal="table", other="md") == "md"
    assert format_for("r.unknown", choices, terminal="table", other="md") == "md"
    assert format_for("noext", choices, terminal="table", other="md") == "md"
    assert format_for(None, choices, terminal="table", other="md") == "md"  # pytest's stdout is no terminal


@pytest.mark.parametrize(
    ("command", "out", "check"),
    [
        (["impact", "campaign_spend"], "i.json", lambda t: "affected" in json.loads(t)),
        (["impact", "campaign_spend"], "i.html", lambda t: t.lstrip().lower().startswith("<!doctype html")),
        (["impact", "campaign_spend"], "i.csv", lambda t: t.startswith("depth,") or "," in t.splitlines()[0]),
        (["render", "--select", "+campaign_spend"], "r.html", lambda t: "<!DOCTYPE html>" in t[:200]),
        (["render", "--select", "+campaign_spend"], "r.mmd", lambda t: t.startswith("flowchart")),
        (["render", "--select", "+campaign_spend"], "r.dot", lambda t: t.startswith("digraph")),
    ],
)
def test_out_extension_picks_the_format(
    command: list[str], out: str, check, snap: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    target = tmp_path / out
    result = CliRunner().invoke(main, [*command, "--snapshot", snap, "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert check(target.read_text(encoding="utf-8"))


def test_explicit_format_wins(snap: str, tmp_path: Path) -> None:
    target = tmp_path / "x.html"
    result = CliRunner().invoke(
        main, ["impact", "campaign_spend", "--snapshot", snap, "--format", "md", "--out", str(target)]
    )
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").startswith("# Impact of")
