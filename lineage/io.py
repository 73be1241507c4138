"""Low-level file helpers shared by the library and the command line (no click, no pandas)."""

from __future__ import annotations

import csv
import functools
import io
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from lineage.errors import InputError
from lineage.fastjson import loads, try_fast_loads

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection, OWASP);
# tab and carriage return are on the list because some spreadsheets strip them before parsing.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# Characters that must never reach a terminal or a report raw: C0/C1 controls (terminal escape
# sequences, NUL) except tab and newline, the bidi embeddings/overrides/isolates of "Trojan Source"
# (they reorder what a reader sees), and lone surrogates (unencodable).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
# Device and process trees hold links and special files that a rename would destroy (as root,
# ``--out /dev/stdout`` must not replace the link with a regular file).
_SPECIAL_ROOTS = ("/dev/", "/proc/")


def visible(text: str) -> str:
    r"""``text`` with unsafe characters shown as escapes, so untrusted text cannot drive a terminal.

    >>> visible("a\x1b[31mb\u202ec\td")
    'a\\x1b[31mb\\u202ec\td'
    """
    if text.isprintable():  # no control, format (bidi) or surrogate character: nothing to escape
        return text
    return _UNSAFE.sub(_escape_char, text)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


@functools.cache
def _umask() -> int:
    # os.umask can only be read by setting it; done once, before any worker threads write files.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write a file through a temporary sibling and a rename, so readers never see half a file.

    A symlink is followed (the link stays), an existing file keeps its permissions, and a device or
    pipe (``/dev/stdout``) is written in place. Any OS failure is an InputError naming the path.
    """
    shown = os.fspath(path)
    if not shown:
        raise InputError("the output path is empty; pass --out FILE, or '-' for standard output")
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        info = _stat(target)
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise InputError(f"cannot write {shown!r}: it is a directory; pass a file path inside it")
        if (info is not None and not stat.S_ISREG(info.st_mode)) or shown.startswith(_SPECIAL_ROOTS):
            with open(target, "wb") as fh:
                fh.write(payload)
            return target
        real = Path(os.path.realpath(target))
        _make_parent(real.parent, shown)
        mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=f".{real.name[:64]}.", suffix=".tmp", dir=real.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, real)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputError(
            f"cannot write {shown!r}: {exc.strerror or exc}; pass --out a path in a writable directory"
        ) from None
    return target


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _make_parent(parent: Path, shown: str) -> None:
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(
            f"cannot write {shown!r}: part of its directory path is a file, not a directory; "
            "pass --out a path in a directory"
        ) from None


def csv_cell(value: object) -> str:
    """One CSV cell as text, defused against formula injection (``=cmd()`` becomes ``'=cmd()``).

    Control characters are shown as escapes (a CSV printed to a terminal must not drive it).

    >>> csv_cell("=HYPERLINK(1)"), csv_cell(None), csv_cell(True), csv_cell(-3)
    ("'=HYPERLINK(1)", '', 'true', '-3')
    """
    if value is None:
        return ""
    kind = type(value)
    if kind is str:  # the common case first (700,000 cells in a 20,000-view export)
        text = str(value)
        return visible("'" + text if text.startswith(_FORMULA_START) else text)
    if kind is int:
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        # Numbers are data, not formulas: a negative count must stay a number for the reader.
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return visible(text)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A whole CSV document (RFC 4180 quoting, ``\\n`` line ends) with every cell defused."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return buf.getvalue()


def read_json(
    path: str | Path,
    *,
    what: str,
    missing_hint: str,
    invalid_hint: str = "",
    error: type[InputError] = InputError,
) -> object:
    """Parse a JSON file; every way it can fail is ``error`` naming ``what`` and what to do.

    ``what`` reads like "snapshot 'out.json'"; ``missing_hint`` finishes "... does not exist; ".
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise error(f"{what} does not exist; {missing_hint}") from None
    except IsADirectoryError:
        raise error(f"{what} is a directory; pass the {what.split()[0]} JSON file") from None
    except OSError as exc:
        raise error(f"{what} cannot be read ({exc.strerror or exc}); check the path") from None
    # Valid UTF-8 JSON that orjson reads is read straight from the bytes (no 40 MB text copy for a
    # 20,000-view snapshot); anything else takes the text path below, with its errors as before.
    parsed, value = try_fast_loads(raw)
    if parsed:
        return value
    try:
        # As read_text did: UTF-8, universal newlines (they only move an error's line number).
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        raise error(f"{what} is not UTF-8 text; pass a JSON file") from None
    try:
        return loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        hint = f": {invalid_hint}" if invalid_hint else ""
        raise error(f"{what} is not valid JSON ({where}); it may be truncated{hint}") from None
    except RecursionError:
        raise error(f"{what} is nested too deeply to be read") from None
