"""Low-level file helpers shared by the library and the command line (no click, no pandas)."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection, OWASP);
# tab and carriage return are on the list because some spreadsheets strip them before parsing.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write a file through a temporary sibling and a rename, so readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def csv_cell(value: object) -> str:
    """One CSV cell as text, defused against formula injection (``=cmd()`` becomes ``'=cmd()``).

    >>> csv_cell("=HYPERLINK(1)"), csv_cell(None), csv_cell(True), csv_cell(-3)
    ("'=HYPERLINK(1)", '', 'true', '-3')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        # Numbers are data, not formulas: a negative count must stay a number for the reader.
        return repr(value) if isinstance(value, float) else str(value)
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A whole CSV document (RFC 4180 quoting, ``\\n`` line ends) with every cell defused."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return buf.getvalue()
