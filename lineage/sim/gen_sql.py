"""HogQL for generated views: a realistic SELECT that reads exactly its parents, and its columns.

Also decides whether a graph node's own SQL can be kept (:func:`reads_exactly`).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence
from string import Template
from typing import Final

from lineage.errors import HogQLError
from lineage.hogql import extract_tables
from lineage.sim.gen_names import hogql_identifier

_JINJA: Final = ("{{", "{%", "{#")

ColumnSpec = list[dict[str, str]]


def _cols(*pairs: tuple[str, str]) -> ColumnSpec:
    return [{"name": n, "type": t} for n, t in pairs]


# HogQL shapes for generated views, as string.Template so that the SQL reads as SQL. $ref is a parent
# spelled by hogql_identifier; $cte a CTE name that no parent has.
_ONE_PARENT: Final = (
    Template(
        """SELECT
    src.id AS id,
    count() AS row_count,
    max(src.updated_at) AS updated_at
FROM $ref AS src
GROUP BY src.id"""
    ),
    Template(
        """WITH $cte AS (
    SELECT id, updated_at
    FROM $ref
    WHERE isNotNull(id)
)
SELECT
    toStartOfDay($cte.updated_at) AS day,
    uniq($cte.id) AS ids
FROM $cte
GROUP BY day
ORDER BY day DESC"""
    ),
    Template(
        """SELECT
    s.id AS id,
    s.n AS row_count
FROM (
    SELECT id, count() AS n
    FROM $ref
    GROUP BY id
) AS s
WHERE s.n > 0"""
    ),
)
_ONE_PARENT_COLUMNS: Final = (
    (("id", "string"), ("row_count", "integer"), ("updated_at", "datetime")),
    (("day", "datetime"), ("ids", "integer")),
    (("id", "string"), ("row_count", "integer")),
)
_JOIN_CTE: Final = Template("WITH $cte AS (\n    SELECT id, updated_at\n    FROM $ref\n)\n")
_UNION_ARM: Final = Template("    SELECT id, updated_at, '$label' AS source FROM $ref")
_UNION: Final = Template(
    """SELECT
    u.source AS source,
    count() AS row_count,
    max(u.updated_at) AS updated_at
FROM (
$arms
) AS u
GROUP BY u.source
ORDER BY u.source"""
)


def make_query(
    parents: Sequence[str], rng: random.Random, *, tables: Collection[str] = ()
) -> tuple[str, ColumnSpec]:
    """A realistic HogQL SELECT whose FROM/JOIN targets are exactly ``parents``, and its columns.

    The shape depends on the number of parents (none: an empty placeholder; one: an aggregate, a CTE
    or a subquery; a few: a join chain; many: a UNION ALL), with the variant drawn from ``rng``.
    Dotted view names get backticks as PostHog prints them; dotted ``tables`` stay bare chains.
    """
    refs = [hogql_identifier(p, quote_dotted=p not in tables) for p in parents]
    if not parents:
        return (
            "SELECT NULL AS id, NULL AS updated_at WHERE false",
            _cols(("id", "string"), ("updated_at", "datetime")),
        )
    if len(parents) == 1:
        variant = rng.randrange(len(_ONE_PARENT))
        sql = _ONE_PARENT[variant].substitute(ref=refs[0], cte=_cte_name(parents))
        return sql, _cols(*_ONE_PARENT_COLUMNS[variant])
    if len(parents) <= 6:
        cols = [("id", "string"), ("updated_at", "datetime")]
        select = ["t0.id AS id", "t0.updated_at AS updated_at"]
        lines = []
        for i, ref in enumerate(refs[1:], start=1):
            kind = "LEFT JOIN" if rng.random() < 0.7 else "INNER JOIN"
            lines.append(f"{kind} {ref} AS t{i} ON equals(t{i}.id, t0.id)")
            select.append(f"t{i}.updated_at AS updated_at_{i}")
            cols.append((f"updated_at_{i}", "datetime"))
        prefix, first = "", refs[0]
        if rng.random() < 0.4:
            cte = _cte_name(parents)
            prefix, first = _JOIN_CTE.substitute(cte=cte, ref=refs[0]), cte
        head = ["SELECT", "    " + ",\n    ".join(select), f"FROM {first} AS t0"]
        return prefix + "\n".join(head + lines), _cols(*cols)
    arms = "\n    UNION ALL\n".join(
        _UNION_ARM.substitute(label=p.split(".")[-1], ref=ref) for p, ref in zip(parents, refs, strict=True)
    )
    return _UNION.substitute(arms=arms), _cols(
        ("source", "string"), ("row_count", "integer"), ("updated_at", "datetime")
    )


def reads_exactly(sql: str, parents: Sequence[str]) -> bool:
    """True when ``sql`` is HogQL whose FROM/JOIN targets are exactly ``parents`` (so it can be kept)."""
    if not sql.strip() or any(mark in sql for mark in _JINJA):
        return False
    try:
        return extract_tables(sql) == sorted(parents)
    except HogQLError:
        return False


def _cte_name(parents: Sequence[str]) -> str:
    # A CTE named like a parent would hide that parent from a parser, so steer clear.
    taken = {p.lower() for p in parents}
    name, n = "base", 0
    while name in taken:
        n += 1
        name = f"base_{n}"
    return name
