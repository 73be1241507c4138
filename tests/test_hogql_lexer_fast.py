"""The lexer's fast path (one regular expression for spaces, comments, words and plain punctuation)
gives exactly the tokens, or the error, that the character-by-character dispatch gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.errors import HogQLError
from lineage.hogql.lexer import Token, _Lexer
from lineage.sim.generate import fixture_from_graph
from lineage.sim.synthetic import warehouse

CORPUS = Path(__file__).parent / "data" / "hogql_corpus" / "posthog_tests.json"


def _deep(tokens: list[Token] | tuple[Token, ...]) -> list[Any]:
    """Tokens with their nested parts (which Token equality leaves out)."""
    return [
        (t.kind, t.value, t.start, t.end, [p if isinstance(p, str) else _deep(p) for p in t.parts])
        for t in tokens
    ]


def _lex(text: str, *, fast: bool) -> Any:
    try:
        tokens, _ = _Lexer(text, fast=fast).lex(0, until_brace=False, depth=0)
    except HogQLError as exc:
        return ("error", str(exc))
    return _deep(tokens)


def _same(text: str) -> None:
    assert _lex(text, fast=True) == _lex(text, fast=False), text


PIECES = [
    " ", "\n", "\t", "  ", "--c\n", "-- c", "//x\n", "/* a */", "/* open", "/*", "*/", "-", "/", "--",
    "SELECT", "select", "FROM", "f", "F", "fF", "ff", "f'", "F'a'", "f'{x}'", "'s'", "'it''s'",
    "'\\n'", "`q`", '"d"', "x1", "_a", "$b", "é", "1", "1.5", ".5", "0x1F", "1e3", "1f", "(", ")",
    "[", "]", ",", ";", "+", "*", "%", "{", "}", "<", "<a/>", "<b x={1}></b>", "<=", "==", "!=", "?.",
    "->", "::", "=~*", "|", "||", "?", ":", "~", ".", "=",
]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=25))
def test_fast_path_matches_the_dispatch_on_odd_text(pieces: list[str]) -> None:
    _same("".join(pieces))


def test_fast_path_matches_on_posthogs_corpus_and_generated_views() -> None:
    queries = [q["sql"] for q in json.loads(CORPUS.read_text(encoding="utf-8"))["queries"]]
    fixture = fixture_from_graph(warehouse(300, 20), seed=1)
    queries += [str(v["query"]) for v in fixture["views"]]
    assert len(queries) > 400
    for text in queries:
        _same(text)
