"""The self-contained HTML explorer: structure, escaping, no network, and behaviour in headless Chromium.

The whole-workspace explorer (overview, focus, selectors, paths) on the real dbt_gitlab graph is
tested in test_render_html_explorer.py; this file covers the page itself and the pre-drawn picture
that small workspaces keep.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import networkx as nx
import pytest

from lineage.errors import RenderError
from lineage.render import to_html
from lineage.render.common import build_scene

GOLDEN = Path(__file__).parent / "golden" / "render"

# Every element the page may contain: its own markup plus what Graphviz's SVG uses.
ALLOWED_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "input", "span", "button",
    "main", "div", "aside", "pre", "script", "label",
    "svg", "g", "polygon", "path", "ellipse", "polyline", "text", "a",
}  # fmt: skip


PERMITTED_URLS = ("http://www.w3.org/", "https://us.posthog.com/project/")


def load_graph(name: str) -> nx.DiGraph:
    data = json.loads((GOLDEN / f"{name}.graph.json").read_text(encoding="utf-8"))
    return nx.node_link_graph(data, edges="edges")


class Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def collect(page: str) -> Collector:
    c = Collector()
    c.feed(page)
    c.close()
    return c


def assert_no_injection(page: str) -> Collector:
    c = collect(page)
    tags = {t for t, _ in c.tags}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    assert [a.get("type") for t, a in c.tags if t == "script"] == ["application/json", None]
    for tag, attrs in c.tags:
        assert not [k for k in attrs if k.startswith("on")], (tag, attrs)
        assert "src" not in attrs, (tag, attrs)
    # the only absolute URLs: SVG namespaces, the host in the header, and links to views in PostHog
    for url in re.findall(r"""https?://[^\s"'<>)]+""", page):
        assert url == "https://us.posthog.com" or url.startswith(PERMITTED_URLS), url
    return c


def payload(page: str) -> tuple[str, Any]:
    m = re.search(r'<script type="application/json" id="lineage-data">(.*?)</script>', page, re.S)
    assert m is not None
    return m.group(1), json.loads(m.group(1))


ENGINES = ("graphviz", "python")


@pytest.mark.parametrize("engine", ENGINES)
def test_page_is_self_contained_and_consistent(engine: str) -> None:
    g = load_graph("folders")
    g.graph["host"] = "https://us.posthog.com"
    page = to_html(g, title="Folders <demo>", engine=engine)
    c = assert_no_injection(page)
    assert "<title>Folders &lt;demo&gt;</title>" in page
    assert not [t for t, a in c.tags if t == "link" or (t == "a" and "href" in a)]
    # the script's hash is the only one the Content-Security-Policy lets run; it allows no fetches
    script = c.scripts[-1]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    csp = next(
        a["content"] for t, a in c.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
    )
    assert csp is not None and f"'sha256-{digest}'" in csp and "default-src 'none'" in csp
    _, everything = payload(page)
    data = everything["picture"]
    scene = build_scene(g)
    assert [n["key"] for n in data["nodes"]] == [sn.key for sn in scene.nodes]
    assert data["edges"] == [[e.tail, e.head] for e in scene.edges]
    # the explorer's own data: every node and edge of the graph, by id
    ids = [n["i"] for n in everything["nodes"]]
    assert ids == sorted(g.nodes)
    assert sorted((ids[a], ids[b]) for a, b in everything["edges"]) == sorted(g.edges)
    svg_nodes = [str(a["id"]) for t, a in c.tags if t == "g" and a.get("class") == "node"]
    assert sorted(svg_nodes) == sorted(sn.key for sn in scene.nodes)  # no legend inside the SVG
    assert len([1 for t, a in c.tags if t == "g" and a.get("class") == "edge"]) == g.number_of_edges()
    assert 'id="legend"' in page and "last job Failed" in page


@pytest.mark.parametrize("engine", ENGINES)
def test_hostile_text_stays_text(engine: str) -> None:
    g = load_graph("hostile")
    page = to_html(g, engine=engine)
    assert_no_injection(page)
    raw, data = payload(page)
    assert not set(raw) & {"<", ">", "&", "\u2028", "\u2029"}
    names = sorted(n["name"] for n in data["picture"]["nodes"] if n["role"] == "node")
    assert '<img src=x onerror="alert(1)">' in names
    assert '<img src=x onerror="alert(1)">' in {n["n"] for n in data["nodes"]}
    error = next(v for n in data["nodes"] for k, v in n["d"] if k == "latest error")
    assert len(error) <= 300 and error.startswith("EEEE")
    assert "<img" not in page and "</script><script>" not in page.split('<script type="application/json"')[0]


def test_missing_dot_and_no_node_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    g = load_graph("chain")
    # over max_nodes the page still carries the whole graph; it only skips the pre-drawn picture
    small = to_html(g, max_nodes=3)
    _, data = payload(small)
    assert "picture" not in data and len(data["nodes"]) == g.number_of_nodes()
    assert 'id="picture"' not in small
    monkeypatch.setenv("PATH", str(tmp_path))
    page = to_html(g)  # no Graphviz: the built-in layout draws it
    assert_no_injection(page)
    assert page == to_html(g, engine="python")
    scene = build_scene(g)
    c = collect(page)
    svg_nodes = [str(a["id"]) for t, a in c.tags if t == "g" and a.get("class") == "node"]
    assert sorted(svg_nodes) == sorted(sn.key for sn in scene.nodes)
    edges = [str(a["id"]) for t, a in c.tags if t == "g" and a.get("class") == "edge"]
    assert sorted(edges) == sorted(f"e_{e.tail}_{e.head}" for e in scene.edges)
    with pytest.raises(RenderError, match="apt-get install graphviz"):
        to_html(g, engine="graphviz")


# -- headless Chromium ---------------------------------------------------------------------------


def chromium_dom(page: Path, fragment: str, profile: Path) -> str:
    return chromium_run(page, fragment, profile)[0]


def chromium_run(page: Path, fragment: str, profile: Path) -> tuple[str, str]:
    """The DOM after the page's script ran, and Chromium's log (console messages show as ':CONSOLE')."""
    exe = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if exe is None:
        pytest.fail(
            "chromium is not installed, so the HTML explorer cannot be tested: install it "
            "(Debian/Ubuntu: apt-get install chromium) and run again"
        )
    cmd = [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
        # a proxy that nothing listens on: any network request the page made would fail
        "--proxy-server=http://127.0.0.1:9", "--enable-logging=stderr", "--v=0", "--window-size=1280,800",
        "--dump-dom", page.as_uri() + "#" + fragment,
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout, proc.stderr


def hook_state(dom: str) -> Any:
    m = re.search(r'<pre id="lineage-test">(.*?)</pre>', dom, re.S)
    assert m is not None and m.group(1), "the page's script did not run"
    return json.loads(html.unescape(m.group(1)))


@pytest.mark.chromium
@pytest.mark.parametrize("graphviz", [True, False], ids=["graphviz", "no-graphviz"])
def test_explorer_search_and_click_in_chromium(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, graphviz: bool
) -> None:
    g = load_graph("folders")
    path = tmp_path / "lineage.html"
    with monkeypatch.context() as patch:
        if not graphviz:
            patch.setenv("PATH", str(tmp_path))
        page = to_html(g)
    # only the built-in layout tags a folder it could not box (Finance, here), and the legend says so
    assert ('class="folder-tag"' in page) == (not graphviz) == ("coloured underline" in page)
    path.write_text(page, encoding="utf-8")
    scene = build_scene(g)
    key = scene.key_of
    state = hook_state(chromium_dom(path, "search=VIEW_4&click=v4", tmp_path / "profile"))
    assert state["ready"] is True and state["errors"] == [] and state["mode"] == "picture"
    assert state["pictureSearch"]["matches"] == [key["v4"]]
    assert state["search"]["matches"] == ["v4"]
    # every drawn node of the picture is tagged with its node id
    assert state["drawn"] == sorted(g.nodes)
    click = state["click"]
    ups = nx.ancestors(g, "v4")
    downs = nx.descendants(g, "v4")
    assert click["found"] and click["id"] == "v4"
    assert click["upstream"] == sorted(key[n] for n in ups)
    assert click["downstream"] == sorted(key[n] for n in downs)
    assert click["highlighted"] == sorted(key[n] for n in ups | downs | {"v4"})
    want_edges = {
        f"e_{key[u]}_{key[v]}"
        for u, v in g.edges
        if (u in ups and v in ups | {"v4"}) or (u in downs | {"v4"} and v in downs)
    }
    assert click["highlighted_edges"] == sorted(want_edges)
    # persons -> view_7 is on neither path even though both ends are highlighted
    assert f"e_{key['persons']}_{key['v7']}" not in click["highlighted_edges"]


@pytest.mark.chromium
@pytest.mark.parametrize("engine", ENGINES)
def test_hostile_page_in_chromium(tmp_path: Path, engine: str) -> None:
    g = load_graph("hostile")
    path = tmp_path / "hostile.html"
    path.write_text(to_html(g, engine=engine), encoding="utf-8")
    dom = chromium_dom(path, "search=" + quote("<script>", safe="") + "&click=img", tmp_path / "profile")
    state = hook_state(dom)
    scene = build_scene(g)
    expected = sorted(sn.key for sn in scene.nodes if sn.role == "node" and "<script>" in sn.label.lower())
    assert state["pictureSearch"]["matches"] == expected and expected
    assert state["errors"] == []
    assert state["click"]["found"] and state["click"]["upstream"]
    tags = {t for t, _ in collect(dom).tags}
    assert "img" not in tags and tags <= ALLOWED_TAGS | {"table", "tr", "th", "td", "p", "a"}
