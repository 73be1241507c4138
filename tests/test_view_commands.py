"""`lineage delete` (issue 14: every write endpoint of the seed API is a command with a plan, --yes
and JSON output), against the simulator over loopback, era E3 (the newest PostHog) given explicitly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.test_operate import KEY, UUIDS, Env, fixture, make_env

DELETE_ROUTE = "DELETE /api/projects/{team_id}/warehouse_saved_queries/{id}/"


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    yield from make_env(tmp_path, fixture(), era="e3")


def _live(env: Env, name: str) -> bool:
    r = env.http.get(
        f"/api/projects/1/warehouse_saved_queries/{UUIDS[name]}/", headers={"Authorization": f"Bearer {KEY}"}
    )
    if r.status_code == 404:
        return False
    r.raise_for_status()
    return not r.json().get("deleted") and not str(r.json().get("name", "")).startswith("POSTHOG_DELETED_")


def test_delete_plan_lists_readers_and_changes_nothing(env: Env) -> None:
    result = env.cli("delete", "a", "--format", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["dry_run"] is True and plan["checked"] is True
    [step] = plan["steps"]
    assert step["name"] == "a" and step["read_by"] == ["b", "p"] and step["downstream"] == 3
    text = env.cli("delete", "a")
    assert "read by b, p; 3 downstream in all" in text.stdout
    assert "nothing changed: add --yes" in text.stdout
    assert env.writes() == {}
    assert _live(env, "a")


def test_delete_yes_deletes_exactly_the_plan_readers_first(env: Env) -> None:
    plan = json.loads(env.cli("delete", "x+", "--format", "json").stdout)
    assert [s["name"] for s in plan["steps"]] == ["y", "x"]  # the reader goes first
    result = env.cli("delete", "x+", "--yes", "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["ok"] is True and [s["name"] for s in out["steps"]] == ["y", "x"]
    assert env.writes() == {DELETE_ROUTE: 2}
    assert not _live(env, "x") and not _live(env, "y")
    assert all(_live(env, n) for n in "abcpq")


def test_delete_refused_while_read_is_one_line_exit_3(env: Env) -> None:
    # PostHog's saved-query destroy turns HasDependentsError into a 400 "Cannot delete this view
    # because other views depend on it. Delete or update those views first." (names no view; the
    # simulator's E3 names readers only when insights read the view too).
    result = env.cli("delete", "a", "--yes")
    assert result.exit_code == 3, result.output
    assert "refused" in result.stdout
    err = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(err) >= 1 and "PostHog refused 1 of 1 views; first: a:" in err[-1]
    assert "Traceback" not in result.output and KEY not in result.output
    assert _live(env, "a")


def test_delete_of_a_view_gone_since_the_crawl_is_an_input_error(env: Env) -> None:
    r = httpx.delete(
        f"{env.url}/api/projects/1/warehouse_saved_queries/{UUIDS['q']}/",
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert r.status_code in (200, 204)
    result = env.cli("delete", "q", "--yes")
    assert result.exit_code == 2, result.output
    assert "no longer exists" in result.output


def test_delete_unknown_selector_is_exit_2(env: Env) -> None:
    result = env.cli("delete", "nosuch")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_create_plan_changes_nothing_and_yes_creates_it(env: Env, tmp_path: Path) -> None:
    sql = tmp_path / "new.sql"
    sql.write_text("SELECT * FROM b JOIN events ON 1 = 1", encoding="utf-8")
    plan = env.cli("create", "fresh", "--sql", str(sql), "--folder", "Finance", "--format", "json")
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout) == {
        "name": "fresh",
        "reads": ["b", "events"],
        "folder": "Finance",
        "dry_run": True,
    }
    assert "reading b, events" in env.cli("create", "fresh", "--sql", str(sql)).stdout
    assert env.writes() == {}
    done = env.cli("create", "fresh", "--sql", str(sql), "--folder", "Finance", "--yes", "--format", "json")
    assert done.exit_code == 0, done.output
    new_id = json.loads(done.stdout)["id"]
    assert env.writes() == {"POST /api/projects/{team_id}/warehouse_saved_queries/": 1}
    view = env.get(f"warehouse_saved_queries/{new_id}/")
    assert view["name"] == "fresh" and view["query"]["query"] == sql.read_text(encoding="utf-8")
    assert view["folder_id"] == "0190c1f2-0000-7000-8000-00000000f001"


def test_create_refuses_a_name_in_the_snapshot(env: Env, tmp_path: Path) -> None:
    sql = tmp_path / "new.sql"
    sql.write_text("SELECT 1", encoding="utf-8")
    for name in ("a", "events"):
        result = env.cli("create", name, "--sql", str(sql), "--yes")
        assert result.exit_code == 2, result.output
        assert "already names" in result.output
    assert env.writes() == {}


def test_edit_plan_is_the_whatif_and_yes_patches_with_the_uuid_history_id(env: Env, tmp_path: Path) -> None:
    sql = tmp_path / "new.sql"
    sql.write_text("SELECT 1 AS only_col FROM stripe_charge", encoding="utf-8")
    before = env.view("a")
    plan = env.cli("edit", "a", "--sql", str(sql), "--format", "json")
    assert plan.exit_code == 0, plan.output
    data = json.loads(plan.stdout)
    assert data["dry_run"] is True and data["name"] == "a" and "only_col" in data["columns"]["added"]
    assert "plan: edit view a" in env.cli("edit", "a", "--sql", str(sql)).stdout
    assert env.writes() == {}
    done = env.cli("edit", "a", "--sql", str(sql), "--yes", "--format", "json")
    assert done.exit_code == 0, done.output
    assert env.writes() == {"PATCH /api/projects/{team_id}/warehouse_saved_queries/{id}/": 1}
    after = env.view("a")
    assert after["query"]["query"] == sql.read_text(encoding="utf-8")
    # E3: latest_history_id is a UUID string (None before the view's first edit), sent back as given
    new_id = after["latest_history_id"]
    assert isinstance(new_id, str) and len(new_id) == 36 and new_id != before["latest_history_id"]
    assert json.loads(done.stdout)["latest_history_id"] == new_id
    sql.write_text("SELECT 2 AS only_col FROM stripe_charge", encoding="utf-8")
    again = env.cli("edit", "a", "--sql", str(sql), "--yes")  # sends new_id back: accepted
    assert again.exit_code == 0, again.output
    assert (
        env.view("a")["query"]["query"].startswith("SELECT 2")
        and env.view("a")["latest_history_id"] != new_id
    )


def test_edit_refused_when_modified_by_someone_else(
    env: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from lineage.api import AsyncPostHogClient

    real = AsyncPostHogClient.get_view

    async def stale(self: AsyncPostHogClient, view_id: str) -> object:
        # the view as read before someone else's edit: an older history id
        return replace(await real(self, view_id), latest_history_id="00000000-0000-4000-8000-000000000000")

    monkeypatch.setattr(AsyncPostHogClient, "get_view", stale)
    sql = tmp_path / "new.sql"
    sql.write_text("SELECT 1 AS only_col", encoding="utf-8")
    result = env.cli("edit", "a", "--sql", str(sql), "--yes")
    assert result.exit_code == 3, result.output
    assert "modified by someone else" in result.stderr and "Traceback" not in result.output
    assert env.view("a")["query"]["query"] != "SELECT 1 AS only_col"
