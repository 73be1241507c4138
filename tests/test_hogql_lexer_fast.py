"""The lexer's fast paths give exactly the tokens, or the error, that the character-by-character
dispatch gives: the whole-text scan (``_scan``, for text without context-dependent tokens) and the
one regular expression for spaces, comments, words and plain punctuation inside ``_Lexer``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.errors import HogQLError
from lineage.hogql.lexer import Token, _Lexer, _scan, tokenize
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


def _tokenize(text: str) -> Any:
    try:
        return _deep(tokenize(text))
    except HogQLError as exc:
        return ("error", str(exc))


def _same(text: str) -> None:
    slow = _lex(text, fast=False)
    assert _lex(text, fast=True) == slow, text
    assert _tokenize(text) == slow, text


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


# Pieces without the context-dependent ones, so that the whole-text scan takes most texts.
PLAIN = [p for p in PIECES if not any(c in p for c in "{}\\<") and "f'" not in p and "F'" not in p]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([*PLAIN, "<", " <b", "a<b"]), max_size=25))
def test_whole_text_scan_matches_the_dispatch(pieces: list[str]) -> None:
    _same("".join(pieces))


def test_whole_text_scan_takes_plain_sql_and_leaves_contextual_text() -> None:
    assert _scan("SELECT a.b, 'x' AS `y` FROM t -- c\nWHERE n >= 15e3") is not None
    contextual = ["SELECT {x}", "SELECT f'a'", "SELECT <A/>", "SELECT a.1", "SELECT 'a\\'b'"]
    for text in [*contextual, "SELECT 'it''s'"]:
        assert _scan(text) is None, text


def test_fast_path_matches_on_posthogs_corpus_and_generated_views() -> None:
    queries = [q["sql"] for q in json.loads(CORPUS.read_text(encoding="utf-8"))["queries"]]
    fixture = fixture_from_graph(warehouse(300, 20), seed=1)
    queries += [str(v["query"]) for v in fixture["views"]]
    assert len(queries) > 400
    for text in queries:
        _same(text)
