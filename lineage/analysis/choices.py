"""A comma list of names picked from a fixed set (``fail_on="failing,stale"``), read one way for
every option that takes one: ``check``'s rules and ``diff``'s kinds of change."""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from lineage.errors import InputError, param

__all__ = ["parse_choices"]


def parse_choices(
    text: str, known: Sequence[str], *, one: str, some: str, name: str = "fail_on", suggest: bool = False
) -> frozenset[str]:
    """The names in ``text`` (``any`` means all of ``known``); an InputError names what is wrong.

    ``one`` and ``some`` are the words for a name ("rule", "rule(s)"); with ``suggest`` an unknown
    name gets the closest known one as a hint.
    """
    items = {part.strip() for part in text.split(",") if part.strip()}
    listed = ", ".join(known)
    if not items:
        raise InputError(f"{param(name, repr(text))} names no {one}; use `any` or some of: {listed}")
    if "any" in items:
        return frozenset(known)
    unknown = sorted(items - set(known))
    if unknown:
        hints = ""
        if suggest:
            close = {u: difflib.get_close_matches(u, list(known), n=1) for u in unknown}
            hints = "".join(f" (did you mean {c[0]!r} for {u!r}?)" for u, c in close.items() if c)
        raise InputError(
            f"{param(name)} names unknown {some} {', '.join(map(repr, unknown))}{hints}; known: any, {listed}"
        )
    return frozenset(items)
