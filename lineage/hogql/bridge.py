"""HogQL -> sqlglot: a token-level rewrite into SQL that sqlglot's ClickHouse dialect reads.

Identifiers are re-emitted backtick-quoted with their exact original names (so `$session_id`, `outer`,
`union` survive and column names are not corrupted); a table chain becomes one quoted identifier holding
the dotted name `extract_tables` reports, so sqlglot's table names map 1:1 back to HogQL parents.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from lineage.errors import HogQLError
from lineage.hogql.lexer import EOF, FSTRING, NUMBER, OP, QIDENT, TAG, WORD, Token, hogql_error, tokenize
from lineage.hogql.parser import (
    KEYWORD_FUNCTIONS,
    ROLE_COHORT,
    ROLE_FUNC,
    ROLE_IDENT,
    ROLE_SKIP,
    ROLE_TABLE,
    ROLE_TAGQUERY,
    ROLE_WRAP,
    Parser,
)

# HogQL operators that sqlglot's ClickHouse dialect spells differently. The regex family
# (`~ =~ ~* =~* !~ !~*`, HogQLParser.g4 ColumnExprPrecedence3) becomes REGEXP, which sqlglot reads as
# match(a, b): case sensitivity changes no lineage.
_OP_REWRITE = {
    "==": "=",
    "?.": ".",
    "~": " REGEXP ",
    "=~": " REGEXP ",
    "~*": " REGEXP ",
    "=~*": " REGEXP ",
    "!~": " NOT REGEXP ",
    "!~*": " NOT REGEXP ",
}


def quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Renderer:
    def __init__(
        self, text: str, roles: dict[int, tuple[str, int, str]], wraps: dict[int, list[int]]
    ) -> None:
        self.text = text
        self.roles = roles
        self.wraps = wraps  # token start -> ends of the parenthesised runs that begin there
        self.out: list[str] = []
        self.size = 0
        # (offset in rendered SQL, offset in the original HogQL) for mapping sqlglot errors back
        self.anchors: list[tuple[int, int]] = []
        self.skip_to = -1  # set by render_token: skip the tokens before this offset

    def emit(self, piece: str, origin: int) -> None:
        self.anchors.append((self.size, origin))
        self.out.append(piece)
        self.size += len(piece)

    def render(self, tokens: Sequence[Token]) -> None:
        prev_end: int | None = None
        skip_until = -1
        closes: list[int] = []  # ends of `IN COHORT x` operands still to close with ')'
        for idx, tok in enumerate(tokens):
            if tok.kind == EOF or tok.start < skip_until:
                continue
            if prev_end is not None and tok.start > prev_end:
                self.emit(" ", tok.start)
            prev_end = tok.end
            role = self.roles.get(tok.start)
            if role is not None and role[0] == ROLE_SKIP:
                skip_until = prev_end = role[1]
            elif role is not None and role[0] == ROLE_COHORT:
                self.emit("(", tok.start)  # `x IN COHORT 5` -> `x IN (5)`
                closes.append(role[1])
            else:
                for end in self.wraps.get(tok.start, ()):
                    self.emit("(", tok.start)
                    closes.append(end)
                self.skip_to = -1
                self.render_token(tokens, idx, tok, role)
                if self.skip_to >= 0:
                    skip_until = prev_end = self.skip_to
            while closes and closes[-1] <= prev_end:
                closes.pop()
                self.emit(")", prev_end)

    def render_token(
        self, tokens: Sequence[Token], idx: int, tok: Token, role: tuple[str, int, str] | None
    ) -> None:
        if role is not None and role[0] == ROLE_TAGQUERY:
            self.emit("(" + _render_inner(role[2]) + ")", tok.start)
        elif role is not None and role[0] == ROLE_TABLE:
            self.emit(quote_identifier(role[2]), tok.start)
            self.skip_to = role[1]
        elif role is not None and role[0] == ROLE_IDENT:
            self.emit(quote_identifier(tok.value), tok.start)
        elif role is not None and role[0] == ROLE_FUNC:
            keyword = tok.kind == QIDENT or tok.value.upper() in KEYWORD_FUNCTIONS
            self.emit(quote_identifier(tok.value) if keyword else tok.value, tok.start)
        elif tok.kind == QIDENT:
            self.emit(quote_identifier(tok.value), tok.start)
        elif tok.kind == FSTRING:
            self.fstring(tok)
        elif tok.kind == TAG:
            self.tag(tok)
        elif tok.kind == OP and tok.value == "?." and idx + 1 < len(tokens) and tokens[idx + 1].is_op("["):
            return
        elif (
            tok.kind == OP
            and tok.value in (".", "?.")
            and idx + 1 < len(tokens)
            and tokens[idx + 1].kind == NUMBER
        ):
            # tuple access `x.1.id.1`: sqlglot reads x[1].id[1]; `t.1.2` lexes as `t`, `.`, `1.2`
            num = tokens[idx + 1]
            self.emit("".join(f"[{part}]" for part in num.value.split(".") if part), tok.start)
            self.skip_to = num.end
        elif tok.kind == OP:
            self.emit(_OP_REWRITE.get(tok.value, tok.value), tok.start)
        elif tok.kind == WORD:
            self.emit(tok.value, tok.start)
        else:
            self.emit(self.text[tok.start : tok.end], tok.start)

    def tag(self, tok: Token) -> None:
        """A HogQLX tag in an expression: a tuple of its `{...}` expressions, so their columns count."""
        exprs = [p for p in tok.parts if not isinstance(p, str)]
        if not exprs:
            self.emit("NULL", tok.start)
            return
        self.emit("tuple(", tok.start)
        for i, part in enumerate(exprs):
            if i:
                self.emit(", ", tok.start)
            self.render(part)
        self.emit(")", tok.start)

    def fstring(self, tok: Token) -> None:
        self.emit("concat(", tok.start)
        first = True
        for part in tok.parts:
            if not first:
                self.emit(", ", tok.start)
            first = False
            if isinstance(part, str):
                self.emit(_quote_string(part), tok.start)
            else:
                self.emit("toString(", tok.start)
                self.render(part)
                self.emit(")", tok.start)
        if first:
            self.emit("''", tok.start)
        self.emit(")", tok.start)

    def origin_of(self, rendered_offset: int) -> int:
        i = bisect.bisect_right(self.anchors, (rendered_offset, len(self.text) + 1)) - 1
        return self.anchors[i][1] if i >= 0 else 0


def _render_inner(text: str) -> str:
    """The rendering of a `<HogQLQuery query='...'/>` table's own query (parsed by the parser)."""
    tokens = tokenize(text)
    parser = Parser(text, tokens)
    parser.parse_statement()
    rendered, _ = render_sql(text, tokens, parser.roles)
    return rendered


def render_sql(
    text: str, tokens: Sequence[Token], roles: list[tuple[int, str, int, str]]
) -> tuple[str, _Renderer]:
    """The sqlglot-readable SQL for parsed HogQL, and the renderer (for error position mapping)."""
    by_start = {start: (role, end, name) for start, role, end, name in roles if role != ROLE_WRAP}
    wraps: dict[int, list[int]] = {}
    for start, role, end, _ in roles:
        if role == ROLE_WRAP:
            wraps.setdefault(start, []).append(end)
    for ends in wraps.values():
        ends.sort(reverse=True)  # outermost first, so the innermost closes first
    renderer = _Renderer(text, by_start, wraps)
    renderer.render(tokens)
    return "".join(renderer.out), renderer


def _offset(rendered: str, line: int, col: int) -> int:
    lines = rendered.split("\n")
    line = max(1, min(line, len(lines)))
    return sum(len(x) + 1 for x in lines[: line - 1]) + max(0, col - 1)


def parse_rendered(text: str, rendered: str, renderer: _Renderer) -> exp.Expression:
    """sqlglot's parse of the rendered SQL; its failures become HogQLError at the original position."""
    try:
        tree = sqlglot.parse_one(rendered, read="clickhouse")
    except ParseError as e:
        info = e.errors[0] if e.errors else {}
        line, col = int(info.get("line") or 1), int(info.get("col") or 1)
        desc = str(info.get("description") or "sqlglot could not parse it")
        pos = renderer.origin_of(_offset(rendered, line, col))
        raise hogql_error(text, pos, f"sqlglot (ClickHouse dialect) cannot read this: {desc}") from None
    except TokenError as e:
        raise hogql_error(text, 0, f"sqlglot (ClickHouse dialect) cannot tokenize it: {e}") from None
    except (ValueError, RecursionError) as e:
        raise HogQLError(
            f"sqlglot failed on the query: {type(e).__name__}. Simplify the view's SQL."
        ) from None
    if not isinstance(tree, exp.Expression):
        raise hogql_error(text, 0, "sqlglot produced no expression")
    return tree
