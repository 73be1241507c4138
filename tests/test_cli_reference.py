"""docs/cli.md is what `scripts/cli_reference.py` generates, and every command's help has an example."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "cli_reference.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cli_reference", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("cli_reference", module)
    spec.loader.exec_module(module)
    return module


ref = _load()


def test_docs_cli_md_is_up_to_date() -> None:
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == ref.generate(), (
        "docs/cli.md is out of date with the commands' --help: run `python scripts/cli_reference.py` "
        "(or `make docs-cli`) and commit the result"
    )


def test_generation_ignores_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    first = ref.generate()
    monkeypatch.setenv("COLUMNS", "37")
    monkeypatch.setenv("LINES", "5")
    assert ref.generate() == first


def test_every_command_is_documented_with_an_example() -> None:
    text = ref.generate()
    entries = list(ref.commands())
    names = [" ".join(path) for path, _, _ in entries]
    assert {"lineage demo", "lineage crawl", "lineage sim serve"} <= set(names)
    for path, cmd, ctx in entries:
        name = " ".join(path)
        assert f"## `{name}`" in text
        help_text = ref.help_text(cmd, ctx)
        assert "Example" in help_text, f"`{name} --help` has no example"
        lines = [line.strip() for line in help_text.splitlines()]
        # the example must run this very command (the group's may run any of its commands)
        prefix = name if len(path) > 1 and not hasattr(cmd, "commands") else path[0]
        assert any(line.startswith(prefix + " ") or line == prefix for line in lines), (
            f"`{name} --help` shows no example of `{prefix}`"
        )


def test_check_mode_reports_a_stale_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "cli.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(ref, "TARGET", stale)
    assert ref.main(["--check"]) == 1
    assert "scripts/cli_reference.py" in capsys.readouterr().err
    assert ref.main([]) == 0
    assert ref.main(["--check"]) == 0
    assert stale.read_text(encoding="utf-8") == ref.generate()
