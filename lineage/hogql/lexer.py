"""A HogQL tokenizer (the tokens of PostHog's HogQLLexer grammar) that never raises anything but HogQLError.

It is deliberately independent of sqlglot: table extraction must work on text sqlglot cannot read.
Nested pieces (f-string interpolations, HogQLX attribute expressions) are lexed recursively and kept on
the owning token, so the main token stream only ever shows one token for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from lineage.errors import HogQLError

# Token kinds.
WORD: Final = "WORD"  # unquoted identifier or keyword
QIDENT: Final = "QIDENT"  # `quoted` or "quoted" identifier; value is the unescaped name
NUMBER: Final = "NUMBER"
STRING: Final = "STRING"  # 'string'; value is the unescaped text
FSTRING: Final = "FSTRING"  # f'..{expr}..'; parts hold literal text and interpolated token lists
TAG: Final = "TAG"  # a whole HogQLX element <Name attr={expr} />; parts hold attribute expressions
OP: Final = "OP"  # punctuation and operators
EOF: Final = "EOF"

MAX_NESTING: Final = 200

# Three-, two- then one-character operators; longest match wins.
_OPS3: Final = ("=~*", "!~*")
_OPS2: Final = ("==", "!=", "<>", "<=", ">=", "=~", "!~", "~*", "||", "??", "?.", "->", "::")
_OPS1: Final = "()[]{},.;+-*/%=<>~?:|"
#: The multi-character operators by first character, three-character ones first (longest match wins).
_OPS_LONG: Final[dict[str, tuple[str, ...]]] = {
    c: tuple(op for op in (*_OPS3, *_OPS2) if op[0] == c) for c in {op[0] for op in (*_OPS3, *_OPS2)}
}
# Runs the lexer skips or takes whole, matched in C rather than a character at a time (20,000 views'
# SQL is 4 MB of text): `\s` is str.isspace, and [A-Za-z0-9_$] is _is_ident_char.
_SPACE: Final = re.compile(r"\s*")
_IDENT_REST: Final = re.compile(r"[A-Za-z0-9_$]*")
#: Spaces and complete comments (what :meth:`_Lexer.skip_space` skips, an unterminated ``/*`` left
#: for it to report): the start of both fast paths below.
_SKIP: Final = r"(?:\s+|--[^\n]*|//[^\n]*|/\*.*?\*/)*"
#: What :data:`_SKIP` skips, then (optionally) a word or a punctuation character that never begins a
#: longer token.
_FAST: Final = re.compile(_SKIP + r"(?:([A-Za-z_$][A-Za-z0-9_$]*)|([()\[\],;+*%]))?", re.S)
_NO_TOKEN: Final = re.compile(r"(?:(?!)(x)|(?!)(x))?")  # takes no token: both groups unset
_IDENT_START: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_$")  # _is_ident_start

# Words after which an expression starts, so `<x` opens a HogQLX tag and `.5` is a number.
EXPR_START_WORDS: Final = frozenset(
    {
        "SELECT", "WHERE", "PREWHERE", "HAVING", "AND", "OR", "NOT", "WHEN", "THEN", "ELSE", "CASE",
        "ON", "BY", "IN", "LIKE", "ILIKE", "IS", "DISTINCT", "FROM", "JOIN", "AS", "RETURN", "LIMIT",
        "OFFSET", "BETWEEN", "INTERVAL", "TOP", "SETTINGS", "USING", "COHORT", "ALL", "UNION",
    }
)  # fmt: skip


@dataclass(slots=True, unsafe_hash=True)
class Token:
    """One lexical token; ``start``/``end`` are offsets into the text that was lexed."""

    kind: str
    value: str
    start: int
    end: int
    # FSTRING: alternating literal ``str`` parts and interpolated ``list[Token]`` parts.
    # TAG: the token lists of every ``{...}`` attribute or child expression.
    parts: tuple[str | tuple[Token, ...], ...] = field(default=(), compare=False)
    #: A WORD's value in capitals (keywords are matched on it, several times per word), else "".
    upper: str = field(default="", compare=False)

    def is_word(self, *words: str) -> bool:
        return self.kind == WORD and self.upper in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == OP and self.value in ops


def line_col(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of offset ``pos``."""
    pos = max(0, min(pos, len(text)))
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def snippet(text: str, pos: int, width: int = 30) -> str:
    """A one-line excerpt of ``text`` around ``pos`` for error messages."""
    lo, hi = max(0, pos - width), min(len(text), pos + width)
    piece = text[lo:hi].replace("\n", " ").replace("\r", " ").replace("\t", " ")
    return ("..." if lo else "") + piece + ("..." if hi < len(text) else "")


def hogql_error(text: str, pos: int, reason: str) -> HogQLError:
    """A HogQLError naming the line, column and reason, with an excerpt; says what to do."""
    line, col = line_col(text, pos)
    return HogQLError(
        f"HogQL parse error at line {line}, column {col}: {reason} (near: {snippet(text, pos)!r}). "
        "Fix the view's SQL at that position.",
        position=pos,
        line=line,
        column=col,
        reason=reason,
    )


def _is_ident_start(c: str) -> bool:
    return c.isascii() and (c.isalpha() or c in "_$")


def _is_ident_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c in "_$")


_ESCAPES: Final = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "f": "\f", "a": "\a", "v": "\v"}


class _Lexer:
    """``fast``: take the common tokens through :data:`_FAST` (off only to test it against the rest)."""

    def __init__(self, text: str, *, fast: bool = True) -> None:
        self.text = text
        self.n = len(text)
        self.fast = fast

    def err(self, pos: int, reason: str) -> HogQLError:
        return hogql_error(self.text, pos, reason)

    def lex(self, pos: int, *, until_brace: bool, depth: int) -> tuple[list[Token], int]:
        """Tokens from ``pos``; with ``until_brace`` stop at the unmatched ``}`` (returned position is
        just past it)."""
        if depth > MAX_NESTING:
            raise self.err(pos, "nesting is too deep")
        text, n = self.text, self.n
        out: list[Token] = []
        append = out.append
        fast = _FAST.match if self.fast else _NO_TOKEN.match
        braces = 0
        while True:
            # The common tokens (a word, a one-character punctuation) after spaces and comments, in
            # one regular expression; everything else takes the dispatch below.
            m = fast(text, pos)
            word, punct = m.groups()  # type: ignore[union-attr]  # every group is optional
            if word is not None:
                end = m.end()  # type: ignore[union-attr]
                if not (end < n and text[end] == "'" and word in ("f", "F")):
                    append(Token(WORD, word, end - len(word), end, (), word.upper()))
                    pos = end
                    continue
                pos = end - 1
            elif punct is not None:
                pos = m.end()  # type: ignore[union-attr]
                append(Token(OP, punct, pos - 1, pos))
                continue
            else:
                pos = m.end()  # type: ignore[union-attr]
            pos = self.skip_space(pos)
            if pos >= n:
                if until_brace:
                    raise self.err(n, "missing '}' to close an embedded expression")
                out.append(Token(EOF, "", n, n))
                return out, n
            c = text[pos]
            if c == "}" and until_brace and braces == 0:
                return out, pos + 1
            if c in "fF" and text.startswith("'", pos + 1) and not self.word_before(pos):
                tok, pos = self.fstring(pos, depth)
            elif c in _IDENT_START:
                end = _IDENT_REST.match(text, pos + 1).end()  # type: ignore[union-attr]  # matches ""
                value = text[pos:end]
                tok, pos = Token(WORD, value, pos, end, (), value.upper()), end
            elif c.isdigit() or (
                c == "." and pos + 1 < n and text[pos + 1].isdigit() and not _ends_value(out)
            ):
                tok, pos = self.number(pos)
            elif c == "'":
                value, end = self.quoted(pos, "'", "string")
                tok, pos = Token(STRING, value, pos, end), end
            elif c in '`"':
                value, end = self.quoted(pos, c, "quoted identifier")
                tok, pos = Token(QIDENT, value, pos, end), end
            elif c == "<" and pos + 1 < n and _is_ident_start(text[pos + 1]) and not _ends_value(out):
                tag = self.tag(pos, depth)
                if tag is None:
                    tok, pos = Token(OP, "<", pos, pos + 1), pos + 1
                else:
                    tok, pos = tag, tag.end
            else:
                tok, pos = self.operator(pos)
                if tok.value == "{":
                    braces += 1
                elif tok.value == "}":
                    braces -= 1
            append(tok)

    def word_before(self, pos: int) -> bool:
        return pos > 0 and _is_ident_char(self.text[pos - 1])

    def skip_space(self, pos: int) -> int:
        text, n = self.text, self.n
        space = _SPACE.match
        while True:
            pos = space(text, pos).end()  # type: ignore[union-attr]  # matches ""
            if pos >= n or text[pos] not in "-/":
                return pos
            if text.startswith("--", pos) or text.startswith("//", pos):
                nl = text.find("\n", pos)
                pos = n if nl < 0 else nl + 1
            elif text.startswith("/*", pos):
                end = text.find("*/", pos + 2)
                if end < 0:
                    raise self.err(pos, "unterminated /* comment")
                pos = end + 2
            else:
                return pos

    def number(self, pos: int) -> tuple[Token, int]:
        text, n = self.text, self.n
        end = pos
        if text.startswith(("0x", "0X"), pos):
            end = pos + 2
            while end < n and text[end] in "0123456789abcdefABCDEF":
                end += 1
        else:
            while end < n and text[end].isdigit():
                end += 1
            if end < n and text[end] == "." and not (end + 1 < n and _is_ident_start(text[end + 1])):
                end += 1
                while end < n and text[end].isdigit():
                    end += 1
            if end < n and text[end] in "eE":
                exp_end = end + 1
                if exp_end < n and text[exp_end] in "+-":
                    exp_end += 1
                if exp_end < n and text[exp_end].isdigit():
                    end = exp_end
                    while end < n and text[end].isdigit():
                        end += 1
        if end < n and _is_ident_char(text[end]):
            raise self.err(end, f"unexpected character {text[end]!r} after a number")
        return Token(NUMBER, text[pos:end], pos, end), end

    def quoted(self, pos: int, quote: str, what: str) -> tuple[str, int]:
        """Unescape a quoted run: backslash escapes and doubled quotes."""
        text, n = self.text, self.n
        buf: list[str] = []
        i = pos + 1
        while i < n:
            c = text[i]
            if c == "\\":
                if i + 1 >= n:
                    break
                nxt = text[i + 1]
                buf.append(_ESCAPES.get(nxt, nxt))
                i += 2
            elif c == quote:
                if i + 1 < n and text[i + 1] == quote:
                    buf.append(quote)
                    i += 2
                else:
                    return "".join(buf), i + 1
            else:
                buf.append(c)
                i += 1
        raise self.err(pos, f"unterminated {what} (missing closing {quote})")

    def fstring(self, pos: int, depth: int) -> tuple[Token, int]:
        text, n = self.text, self.n
        parts: list[str | tuple[Token, ...]] = []
        buf: list[str] = []
        i = pos + 2
        while i < n:
            c = text[i]
            if c == "\\" and i + 1 < n:
                buf.append(_ESCAPES.get(text[i + 1], text[i + 1]))
                i += 2
            elif c == "'":
                if i + 1 < n and text[i + 1] == "'":
                    buf.append("'")
                    i += 2
                    continue
                parts.append("".join(buf))
                return Token(FSTRING, text[pos : i + 1], pos, i + 1, tuple(parts)), i + 1
            elif c == "{":
                parts.append("".join(buf))
                buf = []
                inner, i = self.lex(i + 1, until_brace=True, depth=depth + 1)
                if not inner:
                    raise self.err(i - 1, "empty {} in an f-string")
                parts.append(tuple(inner))
            else:
                buf.append(c)
                i += 1
        raise self.err(pos, "unterminated f-string (missing closing ')")

    def tag(self, pos: int, depth: int) -> Token | None:
        """A whole HogQLX element, or None when the ``<`` is really a comparison."""
        try:
            exprs: list[tuple[Token, ...]] = []
            attrs: list[str] = []
            end = self.tag_element(pos, exprs, depth + 1, attrs)
        except HogQLError:
            return None
        name_end = pos + 1
        while name_end < self.n and _is_ident_char(self.text[name_end]):
            name_end += 1
        # String parts of a TAG are its own string attributes as "name\0value".
        return Token(TAG, self.text[pos + 1 : name_end], pos, end, (*attrs, *exprs))

    def tag_element(
        self, pos: int, exprs: list[tuple[Token, ...]], depth: int, attrs: list[str] | None = None
    ) -> int:
        if depth > MAX_NESTING:
            raise self.err(pos, "nesting is too deep")
        text, n = self.text, self.n
        i = pos + 1
        start = i
        while i < n and _is_ident_char(text[i]):
            i += 1
        name = text[start:i]
        if not name:
            raise self.err(pos, "HogQLX tag without a name")
        while True:
            i = self.skip_space(i)
            if text.startswith("/>", i):
                return i + 2
            if text.startswith(">", i):
                i += 1
                break
            if i >= n or not _is_ident_start(text[i]):
                raise self.err(i, f"bad attribute in HogQLX tag <{name}>")
            attr_start = i
            while i < n and _is_ident_char(text[i]):
                i += 1
            attr = text[attr_start:i]
            i = self.skip_space(i)
            if text.startswith("=", i):
                i = self.skip_space(i + 1)
                if text.startswith("{", i):
                    inner, i = self.lex(i + 1, until_brace=True, depth=depth + 1)
                    exprs.append(tuple(inner))
                elif i < n and text[i] in "'\"":
                    value, i = self.quoted(i, text[i], "string")
                    if attrs is not None:
                        attrs.append(f"{attr}\0{value}")
                else:
                    raise self.err(i, f"attribute value in HogQLX tag <{name}> must be a string or {{...}}")
        # Children: nested elements, {expr} and plain text, up to </name>.
        while True:
            if i >= n:
                raise self.err(pos, f"HogQLX tag <{name}> is never closed")
            if text.startswith("</", i):
                j = i + 2
                close_start = j
                while j < n and _is_ident_char(text[j]):
                    j += 1
                if text[close_start:j] != name:
                    raise self.err(i, f"closing tag does not match <{name}>")
                j = self.skip_space(j)
                if not text.startswith(">", j):
                    raise self.err(j, f"missing '>' after </{name}")
                return j + 1
            if text[i] == "<":
                i = self.tag_element(i, exprs, depth + 1)
            elif text[i] == "{":
                inner, i = self.lex(i + 1, until_brace=True, depth=depth + 1)
                exprs.append(tuple(inner))
            else:
                i += 1

    def operator(self, pos: int) -> tuple[Token, int]:
        text = self.text
        c = text[pos]
        for op in _OPS_LONG.get(c, ()):
            if text.startswith(op, pos):
                # `a?.1` is a nullish tuple access, as PostHog's lexer takes the longest token
                # (_test_parser.py test_null_tuple)
                return Token(OP, op, pos, pos + len(op)), pos + len(op)
        if c in _OPS1:
            return Token(OP, c, pos, pos + 1), pos + 1
        raise self.err(pos, f"unexpected character {c!r}")


def _ends_value(out: list[Token]) -> bool:
    """Whether the previous token ends a value (so `<` compares and `.` accesses)."""
    if not out:
        return False
    last = out[-1]
    if last.kind in (QIDENT, NUMBER, STRING, FSTRING, TAG):
        return True
    if last.kind == WORD:
        return last.value.upper() not in EXPR_START_WORDS
    return last.kind == OP and last.value in (")", "]", "}")


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text`` ending with an EOF token; raises HogQLError on unlexable text."""
    if not isinstance(text, str):
        raise HogQLError(f"HogQL must be a string, not {type(text).__name__}.")
    tokens = _scan(text)
    if tokens is None:
        tokens, _ = _Lexer(text).lex(0, until_brace=False, depth=0)
    return tokens


# Text whose tokens depend on what came before, or that nests: braces (placeholders, f-string and
# HogQLX expressions), backslash escapes, `<name` (a HogQLX tag or a comparison), `.5` (a number or a
# tuple access) and f-strings. Such text is lexed by :class:`_Lexer`; the rest by :func:`_scan`.
_CONTEXTUAL: Final = re.compile(r"[{}\\]|<[A-Za-z_$]|\.\d|(?<![A-Za-z0-9_$])[fF]'")
# Every token of the rest in one pass of one expression: each match is the spaces and complete
# comments before a token, then the token: a word, a plain number, a string or quoted name without
# escapes or doubled quotes, an operator (longest first; ``/*`` is an unterminated comment, never
# ``/``); anything else (``x``) sends the whole text
# to :class:`_Lexer`. The last match is the spaces before the end.
_SCAN: Final = re.compile(
    _SKIP
    + r"""(?:(?P<w>[A-Za-z_$][A-Za-z0-9_$]*)
    |(?P<n>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(?![A-Za-z0-9_$.])
    |(?P<s>'[^'\\]*'(?!'))
    |(?P<q>`[^`\\]*`(?!`)|"[^"\\]*"(?!"))
    |(?P<o>=~\*|!~\*|==|!=|<>|<=|>=|=~|!~|~\*|\|\||\?\?|\?\.|->|::|/(?!\*)|[()\[\],;+\-*%=<>~?:|.])
    |(?P<x>.)
    |\Z)""",
    re.S | re.X,
)


def _scan(text: str) -> list[Token] | None:
    """:class:`_Lexer`'s tokens of ``text``, or None where it must be asked (see :data:`_CONTEXTUAL`)."""
    if _CONTEXTUAL.search(text):
        return None
    out: list[Token] = []
    append = out.append
    for m in _SCAN.finditer(text):
        group = m.lastgroup
        if group == "w":
            start, end = m.span(1)
            value = text[start:end]
            append(Token(WORD, value, start, end, (), value.upper()))
        elif group == "o":
            start, end = m.span(5)
            append(Token(OP, text[start:end], start, end))
        elif group == "n":
            start, end = m.span(2)
            append(Token(NUMBER, text[start:end], start, end))
        elif group == "s" or group == "q":
            start, end = m.span(group)
            append(Token(STRING if group == "s" else QIDENT, text[start + 1 : end - 1], start, end))
        elif group == "x":
            return None
    n = len(text)
    append(Token(EOF, "", n, n))
    return out
