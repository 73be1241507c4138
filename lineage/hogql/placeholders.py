"""Finding `{...}` placeholders at token level, so braces in strings and comments never count."""

from __future__ import annotations

from collections.abc import Sequence

from lineage.errors import HogQLError
from lineage.hogql.lexer import FSTRING, OP, TAG, Token, hogql_error


def _matching_brace(text: str, tokens: Sequence[Token], i: int) -> int:
    depth = 0
    for j in range(i, len(tokens)):
        tok = tokens[j]
        if tok.is_op("{"):
            depth += 1
        elif tok.is_op("}"):
            depth -= 1
            if depth == 0:
                return j
    raise hogql_error(text, tokens[i].start, "'{' is never closed")


def _is_dict_body(tokens: Sequence[Token]) -> bool:
    """`{}` and `{k: v, ...}` are map literals; `{expr}` (incl. `{a ? b : c}`) is a placeholder."""
    if not tokens:
        return True
    depth = 0
    pending_ternary = 0
    for tok in tokens:
        if tok.kind != OP:
            continue
        if tok.value in "([{":
            depth += 1
        elif tok.value in ")]}":
            depth -= 1
        elif depth == 0:
            if tok.value == ",":
                return True
            if tok.value == "?":
                pending_ternary += 1
            elif tok.value == ":":
                if pending_ternary == 0:
                    return True
                pending_ternary -= 1
    return False


def placeholders_in(text: str, tokens: Sequence[Token]) -> list[tuple[int, str]]:
    """(offset, expression text) of every placeholder in ``tokens`` (and nested f-strings/tags), in order."""
    if "{" not in text and "}" not in text:
        return []  # no brace token anywhere, nested ones included: every token is a piece of ``text``
    found: list[tuple[int, str]] = []
    open_maps = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.kind in (FSTRING, TAG):
            for part in tok.parts:
                if not isinstance(part, str):
                    found.extend(placeholders_in(text, part))
        elif tok.is_op("{"):
            j = _matching_brace(text, tokens, i)
            body = tokens[i + 1 : j]
            if not _is_dict_body(body):
                found.append((tok.start, " ".join(text[tok.end : tokens[j].start].split())))
                i = j + 1
                continue
            open_maps += 1
        elif tok.is_op("}"):
            if not open_maps:
                raise hogql_error(text, tok.start, "'}' without a matching '{'")
            open_maps -= 1
        i += 1
    found.sort()
    return found


def placeholder_error(text: str, found: list[tuple[int, str]]) -> HogQLError:
    """The error PostHog gives for placeholders in a view, with where the first one is."""
    pos, expr = found[0]
    for p, e in found:
        if e.startswith("variables."):
            pos, expr = p, e
            err = hogql_error(text, pos, f"Variables like {{{expr}}} are not allowed in views")
            break
    else:
        err = hogql_error(
            text, pos, f"Filters and placeholder expressions are not allowed in views ({{{expr}}})"
        )
    err.context["placeholders"] = [e for _, e in found]
    return err
