from __future__ import annotations

import fnmatch

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.errors import InputError, SelectorError
from lineage.graph import LineageGraph
from lineage.select import Atom, parse, select

MRR = "0190c1f2-0000-7000-8000-0000000000aa"


def sample() -> LineageGraph:
    """stripe_charge -> stripe.stripe_test.revenue_item_revenue_view -> stripe.stripe_test.mrr_revenue_view
    events -> orders (matview, Finance) -> report (view, Data team, Failed); events -> ghosty (ghost)."""
    g = LineageGraph()
    g.add_node("stripe-uuid", name="stripe_charge", kind="table", table_kind="warehouse")
    g.add_node("events", name="events", kind="table", table_kind="posthog")
    g.add_node(
        "ri-uuid", name="stripe.stripe_test.revenue_item_revenue_view", kind="view", is_materialized=False
    )
    g.add_node(MRR, name="stripe.stripe_test.mrr_revenue_view", kind="matview", is_materialized=True)
    g.add_node(
        "o-uuid", name="orders", kind="matview", is_materialized=True, folder="Finance", status="Completed"
    )
    g.add_node(
        "r-uuid", name="report", kind="view", is_materialized=False, folder="Data team", status="Failed"
    )
    g.add_node("g-uuid", name="ghosty", kind="view", ghost=True)
    for u, v in [
        ("stripe-uuid", "ri-uuid"),
        ("ri-uuid", MRR),
        ("events", "o-uuid"),
        ("o-uuid", "r-uuid"),
        ("events", "g-uuid"),
    ]:
        g.add_edge(u, v)
    return g


def names(g: LineageGraph, ids: list[str]) -> list[str]:
    return sorted(g.name_of(i) for i in ids)


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("orders", ["orders"]),
        ("+orders", ["events", "orders"]),
        ("orders+", ["orders", "report"]),
        ("+report", ["events", "orders", "report"]),
        ("1+report", ["orders", "report"]),
        ("events+1", ["events", "ghosty", "orders"]),
        ("@orders", ["events", "orders", "report"]),
        ("stripe.stripe_test.mrr_revenue_view", ["stripe.stripe_test.mrr_revenue_view"]),
        (
            "+stripe.stripe_test.mrr_revenue_view",
            [
                "stripe.stripe_test.mrr_revenue_view",
                "stripe.stripe_test.revenue_item_revenue_view",
                "stripe_charge",
            ],
        ),
        (f"{MRR}", ["stripe.stripe_test.mrr_revenue_view"]),
        (
            f"1+{MRR.upper()}",
            ["stripe.stripe_test.mrr_revenue_view", "stripe.stripe_test.revenue_item_revenue_view"],
        ),
        ("stripe.*", ["stripe.stripe_test.mrr_revenue_view", "stripe.stripe_test.revenue_item_revenue_view"]),
        ("stripe?charge", ["stripe_charge"]),
        ("orders report", ["orders", "report"]),
        ("+report,orders+", ["orders", "report"]),
        ("folder:Finance", ["orders"]),
        ("folder:'Data team'", ["report"]),
        ('folder:"Data *"', ["report"]),
        ("+folder:Finance+", ["events", "orders", "report"]),
        ("kind:table", ["events", "stripe_charge"]),
        ("kind:matview", ["orders", "stripe.stripe_test.mrr_revenue_view"]),
        ("status:failed", ["report"]),
        ("status:COMPLETED", ["orders"]),
        ("materialized:true", ["orders", "stripe.stripe_test.mrr_revenue_view"]),
        ("materialized:False", ["report", "stripe.stripe_test.revenue_item_revenue_view"]),
        ("ghost:true", ["ghosty"]),
        ("ghost:false,kind:view", ["report", "stripe.stripe_test.revenue_item_revenue_view"]),
        ("id:o-uuid", ["orders"]),
        ("id:*-uuid,kind:table", ["stripe_charge"]),
        ("name:orders", ["orders"]),
        ("events+,kind:view", ["ghosty", "report"]),
        ("  orders \t report  ", ["orders", "report"]),
        ("orders orders", ["orders"]),
        ("0+orders+0", ["orders"]),
    ],
)
def test_selectors(selector: str, expected: list[str]) -> None:
    g = sample()
    assert names(g, select(g, selector)) == expected


def test_result_is_sorted_ids() -> None:
    g = sample()
    assert select(g, "*") == sorted(g.nodes())
    assert select(g, "+report") == ["events", "o-uuid", "r-uuid"]


def test_exclude() -> None:
    g = sample()
    assert names(g, select(g, "+report", exclude="events")) == ["orders", "report"]
    assert names(g, select(g, "*", exclude="kind:table stripe.*")) == ["ghosty", "orders", "report"]


def test_glob_and_method_matching_nothing_is_empty() -> None:
    g = sample()
    assert select(g, "nothing_*") == []
    assert select(g, "folder:Nowhere*") == []
    assert select(g, "+status:Run*+") == []
    # A PostHog status no view has right now is a fair question, not a typo.
    assert select(g, "+status:Running+") == []
    assert select(g, "status:cancelled") == []
    assert names(g, select(g, "*", exclude="status:Modified kind:table")) == [
        "ghosty",
        "orders",
        "report",
        "stripe.stripe_test.mrr_revenue_view",
        "stripe.stripe_test.revenue_item_revenue_view",
    ]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("folder:finance", ["orders"]),
        ("folder:FINANCE", ["orders"]),
        ("folder:'data TEAM'", ["report"]),
        ("folder:data*", ["report"]),
        ("folder:[fd]*", ["orders", "report"]),
    ],
)
def test_folder_matching_ignores_case(selector: str, expected: list[str]) -> None:
    g = sample()
    assert names(g, select(g, selector)) == expected


def _folders() -> LineageGraph:
    g = LineageGraph()
    for i, folder in enumerate(["Marketing", "Finance", "Product analytics", "Finance"]):
        g.add_node(f"v{i}", name=f"view{i}", kind="view", folder=folder, status="Completed")
    g.add_node("t", name="events", kind="table")
    return g


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (
            "folder:Finanse",
            "bad selector 'folder:Finanse': unknown folder 'Finanse'; did you mean 'Finance'? "
            "(folders: Finance, Marketing, Product analytics)\n"
            "  folder:Finanse\n"
            "         ^^^^^^^",
        ),
        (
            "+folder:'product analytic',kind:view",
            "bad selector \"+folder:'product analytic',kind:view\": unknown folder 'product analytic'; "
            "did you mean 'Product analytics'? (folders: Finance, Marketing, Product analytics)\n"
            "  +folder:'product analytic',kind:view\n"
            "           ^^^^^^^^^^^^^^^^",
        ),
        (
            "view0 folder:Sales",
            "bad selector 'view0 folder:Sales': unknown folder 'Sales' "
            "(folders: Finance, Marketing, Product analytics); pick one of these, or use a glob\n"
            "  view0 folder:Sales\n"
            "               ^^^^^",
        ),
        (
            "status:Failing",
            "bad selector 'status:Failing': unknown status 'Failing'; did you mean 'Failed'? "
            "(statuses: Completed)\n"
            "  status:Failing\n"
            "         ^^^^^^^",
        ),
        (
            "status:complete",
            "bad selector 'status:complete': unknown status 'complete'; did you mean 'Completed'? "
            "(statuses: Completed)\n"
            "  status:complete\n"
            "         ^^^^^^^^",
        ),
        (
            "status:broken",
            "bad selector 'status:broken': unknown status 'broken' (statuses: Completed); "
            "pick one of these, or use a glob\n"
            "  status:broken\n"
            "         ^^^^^^",
        ),
    ],
)
def test_unknown_folder_or_status_is_an_error(selector: str, message: str) -> None:
    with pytest.raises(SelectorError) as info:
        select(_folders(), selector)
    assert info.value.exit_code == 2
    assert str(info.value) == message


def test_unknown_folder_in_exclude_names_the_exclude() -> None:
    with pytest.raises(SelectorError) as info:
        select(_folders(), "*", exclude="folder:Marketting")
    assert str(info.value) == (
        "bad exclude= selector 'folder:Marketting': unknown folder 'Marketting'; did you mean "
        "'Marketing'? (folders: Finance, Marketing, Product analytics)\n"
        "  folder:Marketting\n"
        "         ^^^^^^^^^^"
    )


def test_folder_in_a_graph_without_folders() -> None:
    g = LineageGraph()
    g.add_node("t", name="events", kind="table")
    with pytest.raises(SelectorError) as info:
        select(g, "folder:Finance")
    assert str(info.value).splitlines()[0] == (
        "bad selector 'folder:Finance': unknown folder 'Finance': no node in the snapshot has a folder; "
        "drop the 'folder:' term"
    )
    assert select(g, "folder:*") == []


def test_long_folder_lists_are_cut_and_control_characters_shown() -> None:
    g = LineageGraph()
    for i in range(25):
        g.add_node(f"v{i}", name=f"view{i}", kind="view", folder=f"F{i:02d}")
    g.add_node("evil", name="evil", kind="view", folder="A\x1b[31m")
    with pytest.raises(SelectorError) as info:
        select(g, "folder:nowhere")
    first = str(info.value).splitlines()[0]
    assert "(folders: A\\x1b[31m, F00, F01," in first and "\x1b" not in first
    assert first.endswith("F18, ... (6 more)); pick one of these, or use a glob")


def test_parse_builds_ast() -> None:
    tree = parse("2+orders+1 @report,folder:Finance")
    assert [len(p.atoms) for p in tree.parts] == [1, 2]
    atom = tree.parts[0].atoms[0]
    assert atom == Atom(
        value="orders",
        parents=True,
        parents_depth=2,
        children=True,
        children_depth=1,
        start=0,
        end=10,
        value_start=2,
    )
    assert tree.parts[1].atoms[0].at and tree.parts[1].atoms[0].value == "report"
    method_atom = tree.parts[1].atoms[1]
    assert (method_atom.method, method_atom.value, method_atom.start) == ("folder", "Finance", 19)
    numeric = parse("2024_orders+").parts[0].atoms[0]
    assert (numeric.value, numeric.parents, numeric.children) == ("2024_orders", False, True)


def _error(selector: str, exclude: str | None = None) -> str:
    with pytest.raises(SelectorError) as info:
        select(sample(), selector, exclude=exclude)
    assert isinstance(info.value, InputError) and info.value.exit_code == 2
    return str(info.value)


def test_unknown_name_suggests_and_points() -> None:
    assert _error("+ordres+ report") == (
        "bad selector '+ordres+ report': unknown view or table 'ordres'; did you mean 'orders'?\n"
        "  +ordres+ report\n"
        "   ^^^^^^"
    )


def test_unknown_name_without_suggestions() -> None:
    assert _error("events qqqqqqq") == (
        "bad selector 'events qqqqqqq': unknown view or table 'qqqqqqq'; "
        "run \"lineage ls --select '*'\" to list the names in the snapshot\n"
        "  events qqqqqqq\n"
        "         ^^^^^^^"
    )


def test_unknown_method_lists_known_ones() -> None:
    assert _error("orders,foldr:Finance") == (
        "bad selector 'orders,foldr:Finance': unknown selector method 'foldr'; "
        "known methods: consumers, folder, ghost, id, kind, materialized, name, status\n"
        "  orders,foldr:Finance\n"
        "         ^^^^^"
    )


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        (
            "kind:model",
            "bad selector 'kind:model': kind 'model' is not one of view, matview, table, unknown, "
            "insight, dashboard, notebook, endpoint, alert\n"
            "  kind:model\n       ^^^^^",
        ),
        (
            "materialized:yes",
            "bad selector 'materialized:yes': materialized:yes must be materialized:true or "
            "materialized:false\n  materialized:yes\n               ^^^",
        ),
        (
            "ghost:1",
            "bad selector 'ghost:1': ghost:1 must be ghost:true or ghost:false\n  ghost:1\n        ^",
        ),
        (
            "folder:",
            "bad selector 'folder:': method 'folder' needs a value, e.g. 'folder:Finance'\n"
            "  folder:\n  ^^^^^^^",
        ),
        (
            "orders,,report",
            "bad selector 'orders,,report': an empty term around ','; write 'a,b' with a term "
            "on each side\n  orders,,report\n         ^",
        ),
        (
            "orders,",
            "bad selector 'orders,': an empty term around ','; write 'a,b' with a term on each side\n"
            "  orders,\n         ^",
        ),
        (
            "2+",
            "bad selector '2+': a term has graph operators but no name; write e.g. '+orders' or "
            "'2+orders+1'\n  2+\n  ^^",
        ),
        (
            "@",
            "bad selector '@': a term has graph operators but no name; write e.g. '+orders' or "
            "'2+orders+1'\n  @\n  ^",
        ),
        (
            "@+orders",
            "bad selector '@+orders': '@' cannot be combined with a '+' prefix; '@x' already adds its "
            "descendants' ancestors\n  @+orders\n  ^^^^^^^^",
        ),
        (
            "@orders+1",
            "bad selector '@orders+1': '@' cannot be combined with a '+' suffix; '@x' already includes "
            "all of x's descendants\n  @orders+1\n  ^^^^^^^^^",
        ),
        (
            "a+b",
            "bad selector 'a+b': cannot read 'a+b': operators go around a name ('2+name+1', '@name'); "
            "methods read 'folder:X'\n  a+b\n  ^^^",
        ),
        (
            "folder:'Data team",
            "bad selector \"folder:'Data team\": the quote ' is never closed; close it or drop "
            "it\n  folder:'Data team\n         ^^^^^^^^^^",
        ),
    ],
)
def test_bad_selectors(selector: str, message: str) -> None:
    assert _error(selector) == message


def test_empty_selector() -> None:
    assert _error("   ") == (
        "empty selector '   '; give a name, a glob like 'orders_*', or a method like 'folder:Finance'"
    )


def test_exclude_errors_name_the_exclude() -> None:
    assert _error("*", exclude="ordrs") == (
        "bad exclude= selector 'ordrs': unknown view or table 'ordrs'; did you mean 'orders'?\n"
        "  ordrs\n"
        "  ^^^^^"
    )


def test_caret_line_survives_control_characters() -> None:
    message = _error("orders\tordrs")
    assert message.splitlines()[1:] == ["  orders ordrs", "         ^^^^^"]


# -- laws against networkx on random DAGs --------------------------------------------------------


@st.composite
def dags(draw: st.DrawFn) -> LineageGraph:
    n = draw(st.integers(min_value=1, max_value=14))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=30)) if pairs else []
    g = LineageGraph()
    for i in range(n):
        g.add_node(
            f"id-{i}",
            name=f"m{i}.v",
            kind=draw(st.sampled_from(["view", "matview", "table"])),
            folder=draw(st.sampled_from(["A", "B"])),
        )
    for i, j in chosen:
        g.add_edge(f"id-{i}", f"id-{j}")
    return g


def _pick(data: st.DataObject, g: LineageGraph) -> str:
    return data.draw(st.sampled_from(g.nodes()))


def _ancestors_within(g: LineageGraph, node: str, depth: int | None) -> set[str]:
    return set(nx.single_source_shortest_path_length(g.nx.reverse(copy=False), node, cutoff=depth))


def _descendants_within(g: LineageGraph, node: str, depth: int | None) -> set[str]:
    return set(nx.single_source_shortest_path_length(g.nx, node, cutoff=depth))


@settings(max_examples=80, deadline=None)
@given(dags(), st.data())
def test_graph_operators_match_networkx(g: LineageGraph, data: st.DataObject) -> None:
    x = _pick(data, g)
    name = g.name_of(x)
    assert set(select(g, name)) == {x}
    assert set(select(g, x)) == {x}  # the id works wherever the name does
    assert set(select(g, f"+{name}")) == {x} | nx.ancestors(g.nx, x)
    assert set(select(g, f"{name}+")) == {x} | nx.descendants(g.nx, x)
    up, down = data.draw(st.integers(0, 4)), data.draw(st.integers(0, 4))
    assert set(select(g, f"{up}+{name}+{down}")) == _ancestors_within(g, x, up) | _descendants_within(
        g, x, down
    )
    below = {x} | nx.descendants(g.nx, x)
    expected_at = set(below)
    for node in below:
        expected_at |= nx.ancestors(g.nx, node)
    assert set(select(g, f"@{name}")) == expected_at


@settings(max_examples=80, deadline=None)
@given(dags(), st.data())
def test_set_laws(g: LineageGraph, data: st.DataObject) -> None:
    atoms = st.sampled_from(
        [
            "*",
            "kind:view",
            "kind:table",
            "folder:A*",
            "m1*",
            "+" + g.name_of(_pick(data, g)),
            g.name_of(_pick(data, g)) + "+",
        ]
    )
    a, b = data.draw(atoms), data.draw(atoms)
    sa, sb = set(select(g, a)), set(select(g, b))
    assert set(select(g, f"{a} {b}")) == sa | sb
    assert set(select(g, f"{a},{b}")) == sa & sb
    assert set(select(g, a, exclude=b)) == sa - sb
    assert set(select(g, f"{a},{a}")) == sa
    assert select(g, f"{a} {b}") == select(g, f"{b} {a}")
    assert set(select(g, "*")) == set(g.nodes())
    pattern = data.draw(st.sampled_from(["m1*", "m?.v", "*.v", "m[12].v"]))
    assert set(select(g, pattern)) == {n for n in g.nodes() if fnmatch.fnmatchcase(g.name_of(n), pattern)}


@settings(max_examples=60, deadline=None)
@given(dags(), st.sampled_from(["A", "a", "B", "b"]))
def test_literal_folder_selects_its_nodes_or_fails(g: LineageGraph, folder: str) -> None:
    members = {n for n in g.nodes() if g.nx.nodes[n]["folder"] == folder.upper()}
    if members:
        assert set(select(g, f"folder:{folder}")) == members
    else:
        with pytest.raises(SelectorError, match=f"unknown folder '{folder}'"):
            select(g, f"folder:{folder}")
    assert set(select(g, f"folder:{folder}*")) == members
