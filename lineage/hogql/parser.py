"""A small recursive-descent pass over HogQL SELECT structure.

It builds no tree: it checks that the text has HogQL's shape, collects every FROM/JOIN target (as PostHog
joins a table chain with "."), honours CTE scoping, and records the role of identifier tokens so the
sqlglot bridge can quote them. Errors are always HogQLError with a line, column and reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from lineage.errors import HogQLError
from lineage.hogql.lexer import EOF, FSTRING, NUMBER, OP, QIDENT, STRING, TAG, WORD, Token, hogql_error

MAX_DEPTH: Final = 150

# Words that can never be identifiers unquoted: HogQLLexer makes them keywords (of the Hog language)
# that HogQLParser.g4's `keyword` rule, and so `identifier: IDENTIFIER | interval | keyword`, leaves out.
NOT_IDENTIFIER: Final = frozenset(
    {"CATCH", "EXCEPT", "FINALLY", "FN", "FUN", "INTERSECT", "LET", "THROW", "TRY", "WHILE"}
)
LITERAL_WORDS: Final = frozenset({"NULL", "TRUE", "FALSE", "INF", "NAN"})
INTERVAL_UNITS: Final = frozenset(
    {"SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"}
    | {"SECONDS", "MINUTES", "HOURS", "DAYS", "WEEKS", "MONTHS", "QUARTERS", "YEARS"}
    | {"MILLISECOND", "MICROSECOND", "NANOSECOND"}
)
# HogQL's `keyword` rule: usable as identifiers, but never as an implicit (AS-less) table alias.
KEYWORDS: Final = frozenset(
    {
        "ALL", "AND", "ANTI", "ANY", "ARRAY", "AS", "ASC", "ASCENDING", "ASOF", "BETWEEN", "BOTH", "BY",
        "CASE", "CAST", "COHORT", "COLLATE", "CROSS", "CUBE", "CURRENT", "DATE", "DESC", "DESCENDING",
        "DISTINCT", "ELSE", "END", "EXTRACT", "FINAL", "FIRST", "FOLLOWING", "FOR", "FROM", "FULL",
        "GROUP", "HAVING", "ID", "IF", "ILIKE", "IN", "INNER", "INTERVAL", "IS", "JOIN", "KEY", "LAST",
        "LEADING", "LEFT", "LIKE", "LIMIT", "NOT", "NULLS", "OFFSET", "ON", "OR", "ORDER", "OUTER", "OVER",
        "PARTITION", "PRECEDING", "PREWHERE", "RANGE", "RETURN", "RIGHT", "ROLLUP", "ROW", "ROWS",
        "SAMPLE", "SELECT", "SEMI", "SETTINGS", "SUBSTRING", "THEN", "TIES", "TIMESTAMP", "TO", "TOP",
        "TOTALS", "TRAILING", "TRIM", "TRUNCATE", "UNBOUNDED", "UNION", "USING", "WHEN", "WHERE",
        "WINDOW", "WITH", "GLOBAL", "LOCAL", "PASTE", "QUALIFY",
    }
)  # fmt: skip
_ALIAS_KEYWORDS: Final = frozenset({"DATE", "FIRST", "ID", "KEY"})
_NOT_IMPLICIT_ALIAS: Final = (
    KEYWORDS | NOT_IDENTIFIER | LITERAL_WORDS | INTERVAL_UNITS | {"PIVOT", "UNPIVOT"}
) - _ALIAS_KEYWORDS
# Words after an expression that never start an implicit alias (`expr alias` without AS, which
# PostHog's grammar permits: test_printer.py test_alias_keywords, "event makes little sense").
_NO_IMPLICIT_COLUMN_ALIAS: Final = _NOT_IMPLICIT_ALIAS | {
    "STEP", "FILL", "IGNORE", "RESPECT", "GROUPING", "SETS", "EXCLUDE", "REPLACE", "FORMAT",
    "REGEXP", "DIV", "MOD", "GLOBAL", "INTERPOLATE",
}  # fmt: skip
_JOIN_MODIFIERS: Final = frozenset(
    {"GLOBAL", "LOCAL", "ALL", "ANY", "ASOF", "SEMI", "ANTI", "INNER", "LEFT", "RIGHT", "FULL", "OUTER"}
    | {"CROSS", "PASTE"}
)
_BINARY_OPS: Final = frozenset(
    {"+", "-", "*", "/", "%", "||", "=", "==", "!=", "<>", "<", "<=", ">", ">=", "~", "=~", "!~", "~*"}
    | {"=~*", "!~*", "??", "->"}
)
_WORD_INFIX: Final = frozenset({"AND", "OR", "IN", "LIKE", "ILIKE", "BETWEEN", "REGEXP", "DIV", "MOD"})
_WINDOW_WORDS: Final = frozenset(
    {"PARTITION", "BY", "ORDER", "ASC", "DESC", "ASCENDING", "DESCENDING", "NULLS", "FIRST", "LAST"}
    | {"ROWS", "RANGE", "BETWEEN", "UNBOUNDED", "PRECEDING", "FOLLOWING", "CURRENT", "ROW", "AND"}
)
# Function names that are SQL keywords: the sqlglot bridge must quote them (`in(x, [..])`).
# CAST/EXTRACT/TRIM/SUBSTRING keep their special argument syntax there, so they stay bare.
KEYWORD_FUNCTIONS: Final = (KEYWORDS | frozenset({"REGEXP", "MOD", "DIV", "EXISTS"})) - frozenset(
    {"CAST", "EXTRACT", "TRIM", "SUBSTRING"}
)

# Token roles recorded for the sqlglot bridge.
ROLE_IDENT: Final = "ident"
ROLE_FUNC: Final = "func"
ROLE_TABLE: Final = "table"
ROLE_SKIP: Final = "skip"  # tokens from start to end that the sqlglot bridge leaves out
ROLE_COHORT: Final = "cohort"  # `IN COHORT x`: the bridge drops COHORT and parenthesises x (up to end)
ROLE_WRAP: Final = "wrap"  # the bridge puts tokens from start to end in parentheses
ROLE_TAGQUERY: Final = "tagquery"  # a `<HogQLQuery query='...'/>` table: name holds the inner query

# Clause keywords that end a column list after a trailing comma (PostHog's columnExprList takes
# `COMMA?`; a clause keyword followed by a body starts the clause: test_parser_regressions.py
# test_clause_keyword_after_comma_in_select_columns).
_CLAUSE_WORDS: Final = frozenset({"WHERE", "PREWHERE", "HAVING", "QUALIFY", "LIMIT", "OFFSET", "SETTINGS"})


class _Backtrack(Exception):
    """Internal: a speculative parse did not fit."""


#: The operators :meth:`Parser.postfix` takes after a primary.
_POSTFIX_OPS: Final = frozenset({".", "?.", "[", "(", "::"})


class _TooDeep(HogQLError):
    """Nesting over MAX_DEPTH: final, never retried by backtracking."""


class Parser:
    """Parses one token list; nested token lists (f-strings, tags) get a child parser sharing state."""

    def __init__(self, text: str, tokens: Sequence[Token], parent: Parser | None = None) -> None:
        self.text = text
        self.toks = tokens
        self.n = len(tokens)
        self.i = 0
        self.cast_args = False
        self.alias_span: tuple[int, int] | None = None
        self.no_implicit_alias = False  # `TOP n x`: x is a column, not n's alias
        if parent is None:
            self.tables: list[str] = []
            self.ctes: list[str] = []
            # (token start offset, role, table chain end offset, table name) in parse order
            self.roles: list[tuple[int, str, int, str]] = []
            self.depth = 0
        else:
            self.tables = parent.tables
            self.ctes = parent.ctes
            self.roles = parent.roles
            self.depth = parent.depth

    # -- token helpers -------------------------------------------------------------------------

    def peek(self, k: int = 0) -> Token:
        j = self.i + k
        return self.toks[j] if j < self.n else self.toks[-1]  # past the end: the EOF token

    def next(self) -> Token:
        toks, j = self.toks, self.i
        tok = toks[j] if j < self.n else toks[-1]
        if tok.kind != EOF:
            self.i = j + 1
        return tok

    def err(self, reason: str, tok: Token | None = None) -> HogQLError:
        return hogql_error(self.text, (tok or self.peek()).start, reason)

    def describe(self, tok: Token) -> str:
        return "end of query" if tok.kind == EOF else repr(self.text[tok.start : tok.end][:40])

    def expect_op(self, op: str, context: str) -> Token:
        tok = self.peek()
        if not tok.is_op(op):
            raise self.err(f"expected '{op}' {context}, found {self.describe(tok)}")
        return self.next()

    def expect_word(self, word: str, context: str) -> Token:
        tok = self.peek()
        if not tok.is_word(word):
            raise self.err(f"expected {word} {context}, found {self.describe(tok)}")
        return self.next()

    def accept_word(self, *words: str) -> bool:
        if self.peek().is_word(*words):
            self.next()
            return True
        return False

    def accept_op(self, *ops: str) -> bool:
        if self.peek().is_op(*ops):
            self.next()
            return True
        return False

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            err = self.err(f"the query nests deeper than {MAX_DEPTH} levels; simplify the view's SQL")
            raise _TooDeep(err.message, **err.context)

    def leave(self) -> None:
        self.depth -= 1

    def mark(self, tok: Token, role: str) -> None:
        self.roles.append((tok.start, role, tok.end, ""))

    def state(self) -> tuple[int, int, int, int, int]:
        return self.i, len(self.tables), len(self.roles), len(self.ctes), self.depth

    def restore(self, st: tuple[int, int, int, int, int]) -> None:
        self.i = st[0]
        del self.tables[st[1] :]
        del self.roles[st[2] :]
        del self.ctes[st[3] :]
        self.depth = st[4]

    def starts_select(self, k: int = 0) -> bool:
        j = k
        while self.peek(j).is_op("("):
            j += 1
        return self.peek(j).is_word("SELECT", "WITH")

    def is_identifier(self, tok: Token) -> bool:
        return tok.kind == QIDENT or (
            tok.kind == WORD and tok.upper not in NOT_IDENTIFIER and tok.upper not in LITERAL_WORDS
        )

    # -- statements ----------------------------------------------------------------------------

    def parse_statement(self) -> None:
        if self.peek().kind == EOF:
            raise self.err("the query is empty; a view needs a SELECT")
        if self.peek().kind == TAG and self.peek(1).kind == EOF:
            # `select: (selectSetStmt | selectStmt | hogqlxTagElement)`: a bare tag is a query
            self.table_tag(self.next())
        else:
            self.select_set()
        # One trailing ';' is fine: PostHog's own SQL docs end queries with one
        # (posthog.com contents/docs/_snippets/optimal-queries.mdx) and issue 12 reports PostHog runs them.
        if self.peek().is_op(";") and self.peek(1).kind == EOF:
            self.roles.append((self.peek().start, ROLE_SKIP, self.peek().end, ""))
            self.next()
        tok = self.peek()
        if tok.is_op(";"):
            raise self.err("only one statement is allowed; remove what follows the ';'")
        if tok.kind != EOF:
            raise self.err(f"unexpected {self.describe(tok)} after the end of the query")

    def select_set(self) -> None:
        self.enter()
        saved, self.cast_args = self.cast_args, False
        # A CTE is visible to later members of its UNION/INTERSECT/EXCEPT and to every nested
        # subquery, never outside the set: PostHog's test_resolver.py test_ctes_with_union_all prints
        # `WITH cte1 AS (...) SELECT ... UNION ALL ... SELECT * FROM cte1` as cte1's own subquery.
        scope = len(self.ctes)
        try:
            self.select_set_body()
        finally:
            self.cast_args = saved
            del self.ctes[scope:]
        self.leave()

    def select_set_body(self) -> None:
        self.select_with_parens()
        while True:
            tok = self.peek()
            if tok.is_word("UNION"):
                self.next()
                self.accept_word("ALL", "DISTINCT")
            elif tok.is_word("INTERSECT"):
                self.next()
                self.accept_word("DISTINCT")
            elif tok.is_word("EXCEPT"):
                self.next()
            else:
                break
            self.select_with_parens()
        # Set-level ORDER BY / LIMIT / OFFSET after a parenthesised member: `(SELECT ...) OFFSET n`.
        if self.peek().is_word("ORDER", "LIMIT", "OFFSET") and self.toks[self.i - 1].is_op(")"):
            self.clauses()

    def select_with_parens(self) -> None:
        tok = self.peek()
        if tok.is_op("("):
            self.next()
            self.select_set()
            self.expect_op(")", "to close the parenthesised SELECT")
        elif tok.is_op("{"):
            raise self.err("placeholders are not allowed in views")
        else:
            self.select_stmt()

    def select_stmt(self) -> None:
        # CTEs stay in scope until the enclosing select set ends (see select_set).
        if self.accept_word("WITH"):
            self.with_list()
        self.expect_word("SELECT", "to start a query")
        if self.accept_word("DISTINCT") and self.peek().is_word("ON") and self.peek(1).is_op("("):
            self.next()
            self.paren_expr_list()
        if self.accept_word("TOP"):
            self.no_implicit_alias = True
            try:
                self.parse_expr()
            finally:
                self.no_implicit_alias = False
            if self.peek().is_word("WITH") and self.peek(1).is_word("TIES"):
                self.i += 2
        self.expr_list(allow_trailing=True)
        if self.accept_word("FROM"):
            self.join_expr()
        self.clauses()

    def with_list(self) -> None:
        while True:
            tok = self.peek()
            if (
                self.is_identifier(tok)
                and self.peek(1).is_word("AS")
                and self.peek(2).is_op("(")
                and self.starts_select(3)
            ):
                self.mark(tok, ROLE_IDENT)
                self.i += 3
                self.select_set()
                self.expect_op(")", f"to close the CTE {tok.value!r}")
                name = tok.value
            else:
                alias = self.parse_expr()
                if alias is None:
                    raise self.err(
                        "a WITH expression needs a name: `WITH <expr> AS name` or `name AS (SELECT ...)`"
                    )
                name = alias
            # Visible to later CTEs and the query body, not to its own definition.
            self.ctes.append(name)
            if not self.accept_op(","):
                return
            if self.peek().is_word("SELECT"):  # withExprList: ... COMMA?
                return

    def clauses(self) -> None:
        if self.accept_word("PREWHERE"):
            self.parse_expr()
        if self.accept_word("WHERE"):
            self.parse_expr()
        if self.peek().is_word("GROUP"):
            self.next()
            self.expect_word("BY", "after GROUP")
            if self.peek().is_word("GROUPING") and self.peek(1).is_word("SETS"):
                # `GROUP BY GROUPING SETS ((a), (a, b), ())` (issue 12; ClickHouse syntax)
                self.i += 2
                self.paren_expr_list()
            else:
                self.expr_list(allow_trailing=True)
            while self.peek().is_word("WITH") and self.peek(1).is_word("ROLLUP", "CUBE", "TOTALS"):
                self.i += 2
        if self.accept_word("HAVING"):
            self.parse_expr()
        if self.accept_word("WINDOW"):
            while True:
                name = self.next()
                if not self.is_identifier(name):
                    raise self.err("expected a window name after WINDOW", name)
                self.expect_word("AS", "after the window name")
                self.window_spec()
                if not self.accept_op(","):
                    break
        if self.accept_word("QUALIFY"):
            self.parse_expr()
        if self.peek().is_word("ORDER"):
            self.next()
            self.expect_word("BY", "after ORDER")
            self.order_list()
        limit_by: tuple[int, int] | None = None
        while self.peek().is_word("LIMIT", "OFFSET"):
            start = self.peek()
            if limit_by is not None:
                # sqlglot reads one LIMIT only: the bridge leaves the LIMIT ... BY out (no lineage in it)
                self.roles.append((limit_by[0], ROLE_SKIP, limit_by[1], ""))
                limit_by = None
            if self.next().is_word("LIMIT"):
                self.limit_body()
                if self.accept_op(",") or self.accept_word("OFFSET"):
                    self.limit_body()
                if self.accept_word("BY"):
                    self.expr_list(allow_trailing=True)
                    limit_by = (start.start, self.toks[self.i - 1].end)
                if self.peek().is_word("WITH") and self.peek(1).is_word("TIES"):
                    ties = self.peek()
                    self.i += 2
                    # sqlglot refuses `LIMIT n, m WITH TIES`; ties change no lineage
                    self.roles.append((ties.start, ROLE_SKIP, self.toks[self.i - 1].end, ""))
            else:
                self.limit_body()
                self.accept_word("ROW", "ROWS")
        if self.accept_word("SETTINGS"):
            self.expr_list()

    def limit_body(self) -> None:
        first = self.peek()
        self.parse_expr()
        if self.toks[self.i - 1] is not first:
            # sqlglot reads only a bare LIMIT/OFFSET value: `LIMIT c AND d` becomes `LIMIT (c AND d)`
            self.roles.append((first.start, ROLE_WRAP, self.toks[self.i - 1].end, ""))
        if self.peek().is_op("%"):  # `LIMIT n %`: a percentage (PostHog's newer grammar)
            self.roles.append((self.peek().start, ROLE_SKIP, self.peek().end, ""))
            self.next()

    def order_list(self) -> None:
        while True:
            self.parse_expr()
            self.accept_word("ASC", "DESC", "ASCENDING", "DESCENDING")
            if self.accept_word("NULLS") and not self.accept_word("FIRST", "LAST"):
                raise self.err("expected FIRST or LAST after NULLS")
            if self.accept_word("COLLATE"):
                if self.peek().kind != STRING:
                    raise self.err("expected a string after COLLATE")
                self.next()
            if self.peek().is_word("WITH") and self.peek(1).is_word("FILL"):
                self.i += 2
                while self.accept_word("FROM", "TO", "STEP"):
                    self.parse_expr()
            if not self.accept_op(","):
                return

    # -- FROM and JOIN -------------------------------------------------------------------------

    def join_expr(self) -> None:
        self.table_expr()
        while True:
            tok = self.peek()
            if tok.is_op(","):
                self.next()
                self.table_expr()
                continue
            if tok.is_word("ARRAY") or (tok.is_word("LEFT", "INNER") and self.peek(1).is_word("ARRAY")):
                self.i += 1 if tok.is_word("ARRAY") else 2
                self.expect_word("JOIN", "after ARRAY")
                self.expr_list()
                continue
            k = 0
            while k < 4 and self.peek(k).is_word(*_JOIN_MODIFIERS):
                k += 1
            if not self.peek(k).is_word("JOIN"):
                return
            self.i += k + 1
            self.table_expr()
            if self.accept_word("ON"):
                self.expr_list()
            elif self.accept_word("USING"):
                if self.peek().is_op("("):
                    self.paren_expr_list()
                else:
                    self.expr_list()
            while self.peek().is_word("PIVOT", "UNPIVOT") and self.peek(1).is_op("("):
                self.next()  # a PIVOT after the join constraint pivots the whole chain
                self.pivot()

    def table_expr(self) -> None:
        self.enter()
        tok = self.peek()
        if tok.is_op("("):
            if not self.paren_subquery():
                self.next()
                self.join_expr()
                self.expect_op(")", "to close the parenthesised FROM clause")
        elif tok.kind == TAG:
            self.table_tag(self.next())
        elif tok.is_op("{"):
            raise self.err("placeholders are not allowed in views")
        elif self.is_identifier(tok):
            chain = [self.next()]
            while self.peek().is_op(".") and self.is_identifier(self.peek(1)):
                self.next()
                chain.append(self.next())
            if self.peek().is_op("("):
                self.mark(chain[0], ROLE_FUNC)
                self.call_args()
            else:
                name = ".".join(t.value for t in chain)
                self.roles.append((chain[0].start, ROLE_TABLE, chain[-1].end, name))
                if name not in self.ctes:
                    self.tables.append(name)
        else:
            raise self.err(f"expected a table name or a subquery, found {self.describe(tok)}")
        self.table_modifiers()
        self.leave()

    def table_tag(self, tok: Token) -> None:
        """A HogQLX tag used as a table. Only `<HogQLQuery query='...'/>` says what it reads (its query
        is parsed in turn, as PostHog's test_visit_hogqlx_tag does); any other tag's tables are
        unknowable here, so it is an error, never an empty table list."""
        attrs = dict(p.split("\0", 1) for p in tok.parts if isinstance(p, str))
        exprs = [p for p in tok.parts if not isinstance(p, str)]
        if tok.value != "HogQLQuery" or "query" not in attrs or exprs:
            raise self.err(
                f"HogQLX tag <{tok.value}> used as a table: what it reads cannot be known "
                "(only <HogQLQuery query='...'/> can be read); the view's lineage is unparseable",
                tok,
            )
        inner_text = attrs["query"]
        from lineage.hogql.lexer import tokenize

        inner = Parser(inner_text, tokenize(inner_text))
        inner.depth = self.depth
        try:
            inner.parse_statement()
        except HogQLError as exc:
            reason = exc.context.get("reason", exc)
            raise self.err(f"the query of <HogQLQuery> does not parse: {reason}", tok) from None
        self.tables.extend(t for t in inner.tables if t not in self.ctes)
        self.roles.append((tok.start, ROLE_TAGQUERY, tok.end, inner_text))

    def pivot(self) -> None:
        """`PIVOT (aggregates FOR operand IN (values) ...)` / `UNPIVOT (values FOR name IN (columns))`."""
        self.expect_op("(", "after PIVOT/UNPIVOT")
        self.expr_list(allow_trailing=True)
        while self.accept_word("FOR"):
            self.parse_expr()  # `b IN (c)` reads as one IN comparison: operand and values
        if self.peek().is_word("GROUP") and self.peek(1).is_word("BY"):
            self.i += 2
            self.expr_list()
        self.expect_op(")", "to close PIVOT/UNPIVOT")

    def table_modifiers(self) -> None:
        while True:
            tok = self.peek()
            if tok.is_word("PIVOT", "UNPIVOT") and self.peek(1).is_op("("):
                self.next()
                self.pivot()
            elif tok.is_word("FINAL"):
                self.next()
            elif tok.is_word("SAMPLE"):
                self.next()
                self.parse_expr()
                if self.accept_word("OFFSET"):
                    self.parse_expr()
            elif tok.is_word("AS"):
                self.next()
                alias = self.next()
                if not self.is_identifier(alias):
                    raise self.err(f"expected a table alias after AS, found {self.describe(alias)}", alias)
                self.mark(alias, ROLE_IDENT)
            elif tok.kind == QIDENT or (tok.kind == WORD and tok.upper not in _NOT_IMPLICIT_ALIAS):
                self.next()
                self.mark(tok, ROLE_IDENT)
            else:
                return

    # -- expressions ---------------------------------------------------------------------------

    def expr_list(self, *, allow_trailing: bool = False) -> None:
        while True:
            self.parse_expr()
            if not self.peek().is_op(","):
                return
            comma = self.next()
            if allow_trailing and self.list_ends_here():
                self.roles.append((comma.start, ROLE_SKIP, comma.end, ""))
                return

    def starts_expr(self, k: int) -> bool:
        """Whether token ``k`` ahead can begin an expression (a clause body)."""
        tok = self.peek(k)
        if tok.is_op("*"):
            # `where * r` is the column `where` times r; `qualify * ?. q` a clause on `*`
            nxt = self.peek(k + 1)
            return not (nxt.kind in (WORD, QIDENT, NUMBER, STRING, FSTRING) or nxt.is_op("("))
        if tok.kind in (WORD, QIDENT, NUMBER, STRING, FSTRING, TAG):
            return not tok.is_word(*_CLAUSE_WORDS, "FROM", "GROUP", "ORDER", "UNION", "WINDOW")
        return tok.is_op("(", "[", "{", "-", "+", "*")

    def list_ends_here(self) -> bool:
        """After a trailing comma: does a clause (or the end) follow rather than another item?"""
        tok = self.peek()
        if tok.kind == EOF or tok.is_op(")", ";"):
            return True
        if tok.is_word("FROM"):
            nxt = self.peek(1)  # `select q, from()` is a call on the column `from`
            return nxt.kind in (WORD, QIDENT, TAG) or (nxt.is_op("(", "{") and not self.peek(2).is_op(")"))
        if tok.is_word("GROUP", "ORDER") and self.peek(1).is_word("BY"):
            return True
        if tok.is_word("UNION", "INTERSECT", "EXCEPT"):
            return True
        if tok.is_word("ARRAY") and self.peek(1).is_word("JOIN"):
            return True
        if tok.is_word("LEFT", "INNER") and self.peek(1).is_word("ARRAY"):
            return True
        if tok.is_word("WINDOW"):
            return self.is_identifier(self.peek(1)) and self.peek(2).is_word("AS")
        if tok.is_word(*_CLAUSE_WORDS):
            return self.starts_expr(1)
        return False

    def paren_expr_list(self) -> None:
        self.expect_op("(", "to open a list")
        if not self.accept_op(")"):
            while True:
                self.parse_expr()
                if not self.accept_op(",") or self.peek().is_op(")"):
                    break
            self.expect_op(")", "to close the list")

    def parse_expr(self) -> str | None:
        """One column expression; returns its top-level alias (`expr AS name`) if any."""
        self.enter()
        alias: str | None = None
        pending_ternary = 0
        self.unary()
        while True:
            tok = self.peek()
            if tok.kind == OP:
                if tok.value == "%" and (
                    self.peek(1).kind == EOF
                    or self.peek(1).is_word("WITH", "OFFSET", "BY", "LIMIT")
                    or self.peek(1).is_op(")", ";")
                ):
                    break  # `LIMIT n % WITH TIES`: the percent marker, left to limit_body
                if tok.value in _BINARY_OPS:
                    self.next()
                elif tok.value == "?":
                    pending_ternary += 1
                    self.next()
                elif tok.value == ":" and pending_ternary:
                    pending_ternary -= 1
                    self.next()
                else:
                    break
                self.unary()
                continue
            if tok.kind == QIDENT and not self.no_implicit_alias:
                self.next()  # `1 "team_id"`: an implicit alias (test_parser_regressions.py)
                self.mark(tok, ROLE_IDENT)
                alias = tok.value
                continue
            if tok.kind != WORD:
                break
            word = tok.upper
            if word == "NOT" and self.peek(1).is_word("IN", "LIKE", "ILIKE", "BETWEEN", "REGEXP"):
                self.i += 1
                word = self.next().upper
            elif word == "GLOBAL" and self.peek(1).is_word("IN", "NOT"):
                self.i += 1
                if self.accept_word("NOT"):
                    self.expect_word("IN", "after GLOBAL NOT")
                else:
                    self.next()
                word = "IN"
            elif word in _WORD_INFIX:
                self.next()
            elif word == "IS":
                self.next()
                self.accept_word("NOT")
                if self.accept_word("DISTINCT"):
                    self.expect_word("FROM", "after IS DISTINCT")
                    self.unary()
                elif not self.accept_word("NULL"):
                    raise self.err("expected NULL after IS")
                continue
            elif word == "AS":
                as_tok = self.next()
                name = self.next()
                if not (self.is_identifier(name) or name.kind == STRING):
                    raise self.err(f"expected an alias after AS, found {self.describe(name)}", name)
                if self.cast_args:
                    # CAST(x AS Nullable(String)): a type, not an alias
                    if self.peek().is_op("("):
                        self.skip_balanced()
                    continue
                if name.kind != STRING:
                    self.mark(name, ROLE_IDENT)
                alias = name.value
                self.alias_span = (as_tok.start, name.end)
                continue
            elif word in ("IGNORE", "RESPECT") and self.peek(1).is_word("NULLS"):
                # `any(x) IGNORE NULLS` (test_parser_regressions.py): no lineage; the bridge drops it
                self.roles.append((tok.start, ROLE_SKIP, self.peek(1).end, ""))
                self.i += 2
                continue
            elif (
                word not in _NO_IMPLICIT_COLUMN_ALIAS
                and not self.no_implicit_alias
                and not self.cast_args
                and not self.peek(1).is_op("(", ".")
            ):
                self.next()
                self.mark(tok, ROLE_IDENT)
                alias = tok.value
                continue
            else:
                break
            if word == "IN" and self.peek().is_word("COHORT"):
                cohort = self.next()
                self.unary()
                self.roles.append((cohort.start, ROLE_COHORT, self.toks[self.i - 1].end, ""))
                continue
            self.unary()
        if pending_ternary:
            raise self.err("'?' without a matching ':'")
        self.leave()
        return alias

    def unary(self) -> None:
        self.enter()
        while True:
            tok = self.peek()
            if tok.is_op("-", "+") or tok.is_word("NOT"):
                self.next()
            else:
                break
        callable_ = self.primary()
        self.postfix(callable_)
        self.leave()

    def primary(self) -> bool:
        """Parses one primary; True if a call may follow (it was an identifier or a call)."""
        tok = self.peek()
        kind = tok.kind
        if kind in (NUMBER, STRING):
            self.next()
            return False
        if kind in (FSTRING, TAG):
            self.next()
            self.nested(tok)
            return False
        if tok.is_op("*"):
            self.next()
            self.star_modifiers()
            return False
        if tok.is_op("("):
            self.paren_primary()
            return True
        if tok.is_op("["):
            self.next()
            if not self.accept_op("]"):
                while True:
                    self.parse_expr()
                    if not self.accept_op(",") or self.peek().is_op("]"):
                        break
                self.expect_op("]", "to close the array")
            return False
        if tok.is_op("{"):
            self.dict_literal()
            return False
        if kind == QIDENT:
            self.next()
            self.mark(tok, ROLE_IDENT)
            return True
        if kind != WORD:
            raise self.err(f"expected an expression, found {self.describe(tok)}")
        word = tok.upper
        if word == "CASE":
            self.case()
            return False
        if word == "INTERVAL" and (
            self.peek(1).kind in (NUMBER, STRING) or self.peek(2).is_word(*INTERVAL_UNITS)
        ):
            self.next()
            if self.peek().kind == STRING:
                self.next()
            else:
                self.unary()
            self.accept_word(*INTERVAL_UNITS)
            return False
        if word in LITERAL_WORDS:
            self.next()
            return False
        if word in ("DATE", "TIMESTAMP") and self.peek(1).kind == STRING:
            self.i += 2
            return False
        if word in NOT_IDENTIFIER:
            raise self.err(f"{tok.value} cannot be used as an identifier; quote it with backticks")
        self.next()
        self.mark(tok, ROLE_IDENT)
        return True

    def postfix(self, callable_: bool) -> None:
        last = self.toks[self.i - 1] if self.i else self.peek()
        while True:
            tok = self.peek()
            if tok.kind != OP or tok.value not in _POSTFIX_OPS:
                return  # most expressions end here: no postfix operator follows
            if tok.is_op(".", "?."):
                self.next()
                nxt = self.peek()
                if tok.value == "?." and nxt.is_op("["):
                    continue
                if self.is_identifier(nxt) or nxt.kind == WORD:
                    self.next()
                    self.mark(nxt, ROLE_IDENT)
                    last, callable_ = nxt, True
                elif nxt.kind == NUMBER or nxt.is_op("*"):
                    self.next()
                    if nxt.is_op("*"):
                        self.star_modifiers()
                    callable_ = False
                else:
                    raise self.err(f"expected a name after '.', found {self.describe(nxt)}")
            elif tok.is_op("["):
                self.next()
                self.parse_expr()
                self.expect_op("]", "to close the index")
                callable_ = False
            elif tok.is_op("(") and callable_:
                if last.kind in (WORD, QIDENT) and self.roles and self.roles[-1][0] == last.start:
                    self.roles[-1] = (last.start, ROLE_FUNC, last.end, "")
                self.call_args(cast=last.kind == WORD and last.upper in ("CAST", "_CAST", "ACCURATECAST"))
                if self.accept_word("OVER"):
                    if self.peek().is_op("("):
                        self.window_spec()
                    elif self.is_identifier(self.peek()):
                        self.mark(self.next(), ROLE_IDENT)
                    else:
                        raise self.err("expected a window name or (...) after OVER")
                last = self.toks[self.i - 1]
            elif tok.is_op("::"):
                self.next()
                type_name = self.next()
                if type_name.kind != WORD:
                    raise self.err("expected a type name after '::'", type_name)
                if self.peek().is_op("("):
                    self.skip_balanced()
                callable_ = False
            else:
                return

    def star_modifiers(self) -> None:
        """`* EXCLUDE (a, b)`, `* EXCEPT (a)`, `t.* REPLACE (x + 1 AS x)` (PostHog's newer grammar)."""
        while (
            self.peek().is_word("EXCLUDE", "EXCEPT", "REPLACE")
            and self.peek(1).is_op("(")
            and not self.starts_select(1)
        ):
            self.next()
            self.paren_expr_list()

    def paren_subquery(self) -> bool:
        """At ``(``: read ``( SELECT ... )`` whole and say True, or put everything back and say False
        so that the caller reads what else a parenthesis holds there (a join, a tuple, a lambda)."""
        if not self.starts_select(1):
            return False
        st = self.state()
        try:
            self.next()
            self.select_set()
            if not self.peek().is_op(")"):
                raise _Backtrack
            self.next()
            return True
        except _TooDeep:
            raise
        except (_Backtrack, HogQLError):
            self.restore(st)
            return False

    def paren_primary(self) -> None:
        if self.paren_subquery():
            return
        self.next()
        if self.accept_op(")"):
            return  # `() -> expr` or an empty tuple
        while True:
            self.parse_expr()
            if not self.accept_op(",") or self.peek().is_op(")"):
                break
        self.expect_op(")", "to close the parenthesis")

    def dict_literal(self) -> None:
        open_tok = self.next()
        if self.accept_op("}"):
            return
        while True:
            self.parse_expr()
            if not self.peek().is_op(":"):
                raise self.err("placeholders are not allowed in views", open_tok)
            self.next()
            self.parse_expr()
            if not self.accept_op(",") or self.peek().is_op("}"):
                break
        self.expect_op("}", "to close the map literal")

    def case(self) -> None:
        self.next()
        if not self.peek().is_word("WHEN"):
            self.parse_expr()
        if not self.peek().is_word("WHEN"):
            raise self.err("expected WHEN in CASE")
        while self.accept_word("WHEN"):
            self.parse_expr()
            self.expect_word("THEN", "after the WHEN condition")
            self.parse_expr()
        if self.accept_word("ELSE"):
            self.parse_expr()
        self.expect_word("END", "to close CASE")

    def skip_balanced(self) -> None:
        """Skip a parenthesised type argument list such as `(3, 'UTC')`."""
        depth = 0
        while True:
            tok = self.next()
            if tok.kind == EOF:
                raise self.err("expected ')' to close the type arguments", tok)
            if tok.is_op("("):
                depth += 1
            elif tok.is_op(")"):
                depth -= 1
                if depth == 0:
                    return

    def call_args(self, *, cast: bool = False) -> None:
        self.expect_op("(", "to open the argument list")
        if self.accept_op(")"):
            return
        saved, self.cast_args = self.cast_args, cast
        try:
            self.call_arg_list()
        finally:
            self.cast_args = saved

    def call_arg_list(self) -> None:
        self.accept_word("DISTINCT")
        while True:
            tok = self.peek()
            if tok.is_word("BOTH", "LEADING", "TRAILING") and not self.peek(1).is_op(",", ")"):
                self.next()
            if self.peek().is_word("SELECT", "WITH"):
                self.select_set()
            else:
                self.alias_span = None
                alias = self.parse_expr()
                span = self.taken_alias_span()
                if alias is not None and span is not None:
                    # `sum(x AS y)`: sqlglot refuses an alias in an argument; the bridge drops it
                    self.roles.append((span[0], ROLE_SKIP, span[1], ""))
            while self.accept_word("FROM", "FOR"):
                self.parse_expr()
            if not self.accept_op(",") or self.peek().is_op(")"):
                break
        self.expect_op(")", "to close the argument list")

    def taken_alias_span(self) -> tuple[int, int] | None:
        """The (AS start, alias end) of the last top-level `expr AS alias` parsed."""
        return self.alias_span

    def window_spec(self) -> None:
        self.expect_op("(", "to open the window")
        while not self.accept_op(")"):
            tok = self.peek()
            if tok.kind == EOF:
                raise self.err("expected ')' to close the window")
            if tok.is_word(*_WINDOW_WORDS) or tok.is_op(","):
                self.next()
            else:
                self.parse_expr()

    def nested(self, tok: Token) -> None:
        """Parse the expressions embedded in an f-string or HogQLX tag."""
        for part in tok.parts:
            if isinstance(part, str):
                continue
            child = Parser(self.text, (*part, Token(EOF, "", tok.end, tok.end)), self)
            child.parse_expr()
            if child.peek().kind != EOF:
                raise child.err(f"unexpected {child.describe(child.peek())} in an embedded expression")
