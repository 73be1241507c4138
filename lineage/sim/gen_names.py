"""Names in a simulator fixture: how HogQL spells them, which PostHog accepts, and renaming graph nodes.

A real graph's node names (dbt paths, GCP ``project.dataset.table``) become valid, unique saved-query
names clear of HogQL's own tables (:func:`assign_names`); :func:`hogql_identifier` spells any name for
a FROM clause.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final

from lineage.posthog import POSTHOG_TABLES as POSTHOG_HOGQL_TABLES
from lineage.posthog import VIEW_NAME_MAX_LENGTH, VIEW_NAME_RE

NAME_RE: Final = VIEW_NAME_RE
MAX_NAME: Final = VIEW_NAME_MAX_LENGTH

#: Tables PostHog itself provides; a graph table with one of these names becomes ``kind: "posthog"``.
POSTHOG_TABLES: Final = frozenset({"events", "persons", "sessions"})
#: Other names the HogQL database already owns: a view or warehouse table may not take them.
HOGQL_RESERVED: Final = POSTHOG_HOGQL_TABLES | {"numbers", "system", "posthog"}

# Words a parser may take for syntax when they stand bare in FROM; such names get backticks.
_KEYWORDS: Final = frozenset(
    """all and anti any array as asc asof between both by case cast catch cohort collate cross current date
    day desc distinct else end except extract final finally first fn following for from full fun group
    having hour id if ilike in inf inner interval intersect is join key last leading left let like limit
    minute month nan natural not null nulls offset on or order outer over partition preceding prewhere
    quarter range return right rollup row rows sample second select semi settings table then throw ties
    to top trailing trim true false try unbounded union using week when where while window with
    year""".split()  # noqa: SIM905 -- a word list reads best as words
)
_PLAIN_IDENT: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def hogql_identifier(name: str, *, quote_dotted: bool = False) -> str:
    """Spell a table or view name for a HogQL FROM clause, adding backticks only where needed.

    A dotted name whose parts are plain identifiers may stand bare (HogQL reads it as one chain);
    ``quote_dotted`` backticks it anyway, as PostHog's printer does for dotted view names.
    """
    parts = name.split(".")
    plain = all(_PLAIN_IDENT.match(p) and p.lower() not in _KEYWORDS for p in parts)
    if plain and not (quote_dotted and len(parts) > 1):
        return name
    return "`" + name.replace("`", "``") + "`"


def is_valid_view_name(name: str) -> bool:
    """True when PostHog accepts ``name`` for a saved query (regex, length, not a HogQL table)."""
    return bool(NAME_RE.match(name)) and len(name) <= MAX_NAME and name.lower() not in HOGQL_RESERVED


def _sanitize(orig: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.$]", "_", orig)
    name = re.sub(r"\.{2,}", ".", name).strip(".") or "_"
    if not re.match(r"[A-Za-z_$]", name[0]):
        name = "_" + name
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(orig.encode(), usedforsecurity=False).hexdigest()[:8]
        name = name[: MAX_NAME - 9].rstrip(".") + "_" + digest
    return name


def assign_names(by_name: Mapping[str, Mapping[str, Any]], posthog: set[str]) -> dict[str, str]:
    """Original name → fixture name: valid, unique, clear of HogQL's own tables; sorted for stability."""
    out: dict[str, str] = {}
    taken: set[str] = set(posthog)
    for orig in sorted(posthog):
        out[orig] = orig
    rest = sorted(set(by_name) - posthog)
    # Names that are already valid keep them; only the mapped ones can collide, and they yield.
    for orig in rest:
        if _sanitize(orig) == orig and orig.lower() not in HOGQL_RESERVED:
            out[orig] = orig
            taken.add(orig)
    for orig in rest:
        if orig in out:
            continue
        base = _sanitize(orig)
        if base.lower() in HOGQL_RESERVED:
            base += "_view" if by_name[orig]["kind"] == "view" else "_table"
        name, n = base, 1
        while name in taken:
            n += 1
            suffix = f"_{n}"
            name = base[: MAX_NAME - len(suffix)] + suffix
        taken.add(name)
        out[orig] = name
    return out


def is_posthog_table(node: Mapping[str, Any]) -> bool:
    name = str(node["name"])
    return node["kind"] == "table" and (name in POSTHOG_TABLES or name.startswith("posthog."))
