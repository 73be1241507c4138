"""The client as its parts: AsyncPostHogClient is made of the resource mixins of lineage.api.resources,
and the blocking PostHogClient offers every endpoint method of it."""

from __future__ import annotations

import inspect

import pytest

from lineage.api import AsyncPostHogClient, PostHogClient
from lineage.api.resources import base
from lineage.api.resources.base import Resource, segment


def _resources() -> list[type[Resource]]:
    return [
        c
        for c in AsyncPostHogClient.__mro__
        if issubclass(c, Resource) and c not in (Resource, AsyncPostHogClient)
    ]


def _endpoints() -> dict[str, object]:
    """Every public endpoint method of the async client (a coroutine or an async generator function)."""
    return {
        name: member
        for name, member in inspect.getmembers(AsyncPostHogClient)
        if not name.startswith("_")
        and (inspect.iscoroutinefunction(member) or inspect.isasyncgenfunction(member))
        and name != "aclose"
    }


def test_no_two_resources_define_the_same_method() -> None:
    # with mixins a name defined twice is not an error: the first in the MRO silently wins
    seen: dict[str, str] = {}
    clashes = []
    for resource in _resources():
        for name, value in vars(resource).items():
            if callable(value) and not name.startswith("__"):
                if name in seen:
                    clashes.append(f"{name}: {seen[name]} and {resource.__name__}")
                seen[name] = resource.__name__
    assert clashes == []
    assert len(_resources()) == 8


def test_every_endpoint_method_comes_from_a_resource_and_has_a_blocking_twin() -> None:
    endpoints = _endpoints()
    assert {
        "list_views",
        "run",
        "list_folders",
        "iter_jobs",
        "failed_activity",
        "get_table",
        "list_alerts",
    } <= set(endpoints)
    for name, method in endpoints.items():
        owner = next(c for c in AsyncPostHogClient.__mro__ if name in vars(c))
        assert owner in _resources(), f"{name} is defined on {owner.__name__}, not on a resource"
        twin = getattr(PostHogClient, name, None)
        assert twin is not None, f"PostHogClient has no {name}"
        async_params = list(inspect.signature(method).parameters)
        assert list(inspect.signature(twin).parameters) == async_params, name


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc", "abc"), (" a/b ", "a%2Fb"), ("a?b#c", "a%3Fb%23c")],
)
def test_segment_quotes_an_id_into_one_path_segment(value: str, expected: str) -> None:
    assert segment(value, "view_id") == expected


@pytest.mark.parametrize("value", ["", "  ", ".", "..", None, 3])
def test_segment_refuses_what_would_change_the_path(value: object) -> None:
    with pytest.raises(ValueError, match="view_id must be a non-empty id string"):
        segment(value, "view_id")  # type: ignore[arg-type]


def test_routes_sit_under_the_project() -> None:
    routes = [v for k, v in vars(base).items() if k.isupper() and isinstance(v, str)]
    assert routes and all(r.startswith("/api/projects/{project}/") and r.endswith("/") for r in routes)
