"""Low-level file helpers shared by the library and the command line (no click, no pandas)."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lineage.errors import InputError, param
from lineage.fastjson import loads, try_fast_loads

# A spreadsheet treats a cell starting with one of these as a formula (CSV injection, OWASP);
# tab, carriage return and newline are on the list because some spreadsheets strip them before parsing.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")

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


def write_atomic(path: str | Path, data: str | bytes | Iterable[bytes]) -> Path:
    """Write a file through a temporary sibling and a rename, so readers never see half a file.
    ``data`` may come in pieces (bytes), written as they come; an exception from them leaves
    nothing behind but what was there before.

    A symlink is followed (the link stays), an existing file keeps its permissions, and a device or
    pipe (``/dev/stdout``) is written in place. Any OS failure is an InputError naming the path. A
    read-only file is refused, not replaced; temporary files that a killed write left beside the
    target are removed.
    """
    shown = os.fspath(path)
    if not shown:
        raise InputError(f"the output path is empty; pass {param('out', 'FILE')}, or '-' for standard output")
    target = Path(path)
    payload: bytes | Iterable[bytes] = data.encode("utf-8") if isinstance(data, str) else data
    try:
        info = _stat(target)
        if info is not None and stat.S_ISDIR(info.st_mode):
            raise InputError(f"cannot write {shown!r}: it is a directory; pass a file path inside it")
        if (info is not None and not stat.S_ISREG(info.st_mode)) or shown.startswith(_SPECIAL_ROOTS):
            whole = payload if isinstance(payload, bytes) else b"".join(payload)  # all, or nothing
            with open(target, "wb") as fh:
                fh.write(whole)
            return target
        if info is not None and not info.st_mode & 0o222:
            # checked on the mode bits, not os.access: root may write anything, and would
            # otherwise replace a file its owner marked read-only
            raise InputError(
                f"cannot write {shown!r}: the file is read-only; make it writable (chmod u+w) "
                "or pass another path"
            )
        real = Path(os.path.realpath(target))
        made = _make_parent(real.parent, shown)
        _clean_stale_temps(real)
        mode = stat.S_IMODE(info.st_mode) if info is not None else 0o666 & ~_umask()
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(real), suffix=".tmp", dir=real.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                if isinstance(payload, bytes):
                    fh.write(payload)
                else:
                    for piece in payload:
                        fh.write(piece)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, real)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            for directory in made:  # the ones this write made, deepest first
                with contextlib.suppress(OSError):
                    directory.rmdir()
            raise
    except OSError as exc:
        raise InputError(
            f"cannot write {shown!r}: {exc.strerror or exc}; pass {param('out')} a path in a writable "
            "directory"
        ) from None
    return target


def _temp_prefix(real: Path) -> str:
    # the writer's pid is in the name, so a later write can tell a dead writer's leftover
    return f".{real.name[:64]}.{os.getpid()}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return pid > 0  # another user's process (or a nonsense number: treat as gone)
    return True


STALE_TEMP_SECONDS = 3600.0


def _clean_stale_temps(real: Path) -> None:
    """Remove ``.NAME.PID.xxxx.tmp`` files of writers that died mid-write (kill -9, power loss).

    A temp file whose writer still runs is left alone (it is about to be renamed); one without a
    pid in its name (an older lineage) is removed once it is an hour old.
    """
    head = f".{real.name[:64]}."
    try:
        entries = list(os.scandir(real.parent))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not (name.startswith(head) and name.endswith(".tmp")):
            continue
        middle = name[len(head) : -len(".tmp")]
        pid_text = middle.split(".", 1)[0]
        try:
            if pid_text.isdigit() and "." in middle:
                stale = int(pid_text) != os.getpid() and not _pid_alive(int(pid_text))
            else:
                stale = entry.stat(follow_symlinks=False).st_mtime < time.time() - STALE_TEMP_SECONDS
            if stale and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
        except OSError:
            continue


def check_writable(path: str | Path, *, what: str) -> None:
    """Refuse, before any work, a path :func:`write_atomic` could not write: a directory, a read-only
    file, a directory we may not create files in (checked by creating and removing one)."""
    shown = os.fspath(path)
    target = Path(path)
    info = _stat(target)
    if info is not None and stat.S_ISDIR(info.st_mode):
        example = target / "snapshot.json"
        raise InputError(f"{what} {shown} is a directory; give a file name such as {example}")
    if info is not None and not stat.S_ISREG(info.st_mode):
        return  # a device or pipe is written in place
    if info is not None and not info.st_mode & 0o222:
        raise InputError(f"{what} {shown} is read-only; make it writable (chmod u+w) or choose another file")
    real = Path(os.path.realpath(target))
    _make_parent(real.parent, shown)
    try:
        fd, probe = tempfile.mkstemp(prefix=_temp_prefix(real), suffix=".tmp", dir=real.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise InputError(
            f"{what} {shown}: cannot create files in {real.parent} ({exc.strerror or exc}); "
            "choose a writable place"
        ) from None


def scrub_surrogates(value: Any, _depth: int = 0) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) replaced by U+FFFD.

    JSON may spell one (``"\\ud800"``) and Python decodes it, but no UTF-8 file can hold it: a
    view name carrying one would fail the snapshot's save after a whole crawl.
    """
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if _depth > 5000:
        return value
    if isinstance(value, list):
        return [scrub_surrogates(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        return {scrub_surrogates(k, _depth + 1): scrub_surrogates(v, _depth + 1) for k, v in value.items()}
    return value


_SURROGATE = re.compile("[\ud800-\udfff]")


class FileLock:
    """An exclusive, non-blocking lock beside ``path`` (``.NAME.lock`` holding the owner's pid).

    The lock is ``flock``'s: the kernel releases it when the process dies, kill -9 included, so a
    stale lock file never blocks anyone. A second holder is refused with an InputError naming the
    process that holds it.
    """

    def __init__(self, path: str | Path, *, what: str) -> None:
        self.path = Path(path)
        self.lock_path = self.path.parent / f".{self.path.name}.lock"
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> FileLock:
        """Take the lock, or raise InputError naming its holder. A device or pipe (``/dev/stdout``)
        is not locked: there is no file to share, and no lock file could sit beside it."""
        import fcntl

        info = _stat(self.path)
        if (info is not None and not stat.S_ISREG(info.st_mode)) or os.fspath(self.path).startswith(
            _SPECIAL_ROOTS
        ):
            return self
        _make_parent(self.lock_path.parent, os.fspath(self.path))
        for _ in range(10):
            try:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise InputError(
                    f"cannot lock {self.what} {os.fspath(self.path)} ({exc.strerror or exc}); "
                    "choose a writable place"
                ) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read_pid(fd)
                os.close(fd)
                who = f"process {holder}" if holder else "another process"
                raise InputError(
                    f"{self.what} {os.fspath(self.path)} is in use by {who} (another lineage run); "
                    "wait for it to finish or use another path"
                ) from None
            # the file may have been removed by its previous holder between our open and flock:
            # a lock on an unlinked file guards nothing, so start over
            try:
                same = os.fstat(fd).st_ino == os.stat(self.lock_path).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._fd = fd
            return self
        raise InputError(f"cannot lock {self.what} {os.fspath(self.path)}: its lock file keeps changing")

    def held_by(self) -> int | None:
        """The pid of another live process holding the lock (0 if it wrote none), else None."""
        import fcntl

        try:
            fd = os.open(self.lock_path, os.O_RDONLY)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _read_pid(fd) or 0
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.lock_path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None


def _make_parent(parent: Path, shown: str) -> list[Path]:
    """Make ``parent`` and its missing ancestors; the directories made, deepest first."""
    missing = []
    at = parent
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise InputError(
            f"cannot write {shown!r}: part of its directory path is a file, not a directory; "
            f"pass {param('out')} a path in a directory"
        ) from None
    return missing


def csv_cell(value: object) -> str:
    """One CSV cell as text, defused against formula injection (``=cmd()`` becomes ``'=cmd()``).

    Control characters are shown as escapes (a CSV printed to a terminal must not drive it); a tuple or
    list (a path) is its items joined by `` > ``; numbers stay numbers, a negative one included.

    >>> csv_cell("=HYPERLINK(1)"), csv_cell(None), csv_cell(True), csv_cell(-3), csv_cell(("a", "b"))
    ("'=HYPERLINK(1)", '', 'true', '-3', 'a > b')
    """
    if value is None:
        return ""
    kind = type(value)
    if kind is str:  # the common case first (700,000 cells in a 20,000-view export): visible() inlined
        text: str = value  # type: ignore[assignment]
        if text.startswith(_FORMULA_START):
            text = "'" + text
        return text if text.isprintable() else _UNSAFE.sub(_escape_char, text)
    if kind is int:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is float:
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        # Numbers are data, not formulas: a negative count must stay a number for the reader.
        return repr(value) if isinstance(value, float) else str(value)
    text = " > ".join(map(str, value)) if isinstance(value, tuple | list) else str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return visible(text)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]], *, defused: bool = False) -> str:
    """A whole CSV document (RFC 4180 quoting, ``\\n`` line ends) with every cell defused.

    ``defused=True``: every cell of ``rows`` is already what :func:`csv_cell` made of it (a caller
    that repeats cells, such as the node names of an edge list, defuses each once), and is written
    as it is.

    The text is what ``csv.writer(lineterminator="\\n")`` writes (minimal quoting: a cell holding a
    comma, a double quote or a line break is quoted, its quotes doubled; a row of one empty cell is
    ``""``), joined here: the C writer copies every character of a cell one at a time, and a
    20,000-view export's cells hold 26 MB, most of it JSON run records, where ``str.replace`` is 2.5x faster.
    """
    lines = [_csv_line(list(map(csv_cell, header)))]
    if defused:
        lines.extend(map(_csv_line, rows))
    else:
        lines.extend(_csv_line(list(map(csv_cell, row))) for row in rows)
    lines.append("")
    return "\n".join(lines)


def csv_columns_text(header: Sequence[str], columns: Sequence[Sequence[str]]) -> str:
    """``csv_text(header, zip(*columns), defused=True)``, byte for byte, built a column at a time:
    each column is looked at once for a cell that needs quoting (most columns hold none), and each
    line is then one join. The cells are defused already, as for ``defused=True``; the columns are
    equally long."""
    if len(header) < 2 or len(columns) != len(header):  # a row of one empty cell is '""'
        return csv_text(header, zip(*columns, strict=True), defused=True)
    lines = [_csv_line(list(map(csv_cell, header)))]
    lines.extend(map(",".join, zip(*map(_csv_column, columns), strict=True)))
    lines.append("")
    return "\n".join(lines)


def _csv_column(cells: Sequence[str]) -> Sequence[str]:
    """Each cell as a line of more than one cell writes it: quoted when it holds a comma, a double
    quote or a line break."""
    text = "".join(cells)
    if '"' in text or "," in text or "\n" in text or "\r" in text:
        return [
            '"' + c.replace('"', '""') + '"' if ('"' in c or "," in c or "\n" in c or "\r" in c) else c
            for c in cells
        ]
    return cells


def _csv_line(cells: Sequence[Any]) -> str:
    line = ",".join(cells)
    # Most rows need no quoting (every edge row: ids and names): one test of the joined line.
    if not line or '"' in line or "\n" in line or "\r" in line or line.count(",") != len(cells) - 1:
        return _csv_line_quoted(cells)
    return line


def _csv_line_quoted(cells: Sequence[Any]) -> str:
    if len(cells) == 1 and not cells[0]:
        return '""'  # as csv.writer: an empty line would read back as no cell at all
    return ",".join(
        [
            '"' + c.replace('"', '""') + '"' if ('"' in c or "," in c or "\n" in c or "\r" in c) else c
            for c in cells
        ]
    )


def text_table(rows: Sequence[Sequence[str]], *, rule: bool = False) -> list[str]:
    """Rows of text cells as aligned lines (two spaces between columns, no trailing blanks).

    The first row is the header; ``rule=True`` puts a line of dashes under it. Cells are shown as
    given: the caller makes them one-line and visible.

    >>> text_table([["id", "name"], ["1", "orders"]], rule=True)
    ['id  name', '--  ------', '1   orders']
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    if rule:
        out.insert(1, "  ".join("-" * w for w in widths))
    return out


def iso(moment: datetime | None) -> str | None:
    """An aware time as ISO 8601 in UTC with ``Z`` (microseconds only when it has them); None stays None.

    >>> iso(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    '2026-01-02T03:04:05Z'
    """
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def read_json(
    path: str | Path,
    *,
    what: str,
    missing_hint: str,
    invalid_hint: str = "",
    error: type[InputError] = InputError,
    low_memory: bool = False,
) -> object:
    """Parse a JSON file; every way it can fail is ``error`` naming ``what`` and what to do.

    ``what`` reads like "snapshot 'out.json'"; ``missing_hint`` finishes "... does not exist; ".
    ``low_memory=True`` parses without orjson's working copy of the whole document, which at its
    peak holds about three times the file's size (what ``lineage diff`` needs when a first snapshot
    is loaded): a snapshot in lineage's own layout is parsed a piece of its node list at a time, and
    any other file with the standard library alone (slower: a 40 MB file takes 0.1-0.2 s more).
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
    parsed, value = _loads_in_pieces(raw) if low_memory else try_fast_loads(raw)
    if parsed:
        # orjson refuses lone surrogates and huge integers (they take the text path below), but
        # takes any nesting: the same depth limit holds on both paths.
        if _maybe_deep(raw) and _depth_of(value) > MAX_DEPTH:
            raise error(
                f"{what} nests values more than {MAX_DEPTH} levels deep; no lineage file does: "
                "pass the file lineage wrote"
            )
        return value
    try:
        # As read_text did: UTF-8, universal newlines (they only move an error's line number).
        text = raw.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        raise error(f"{what} is not UTF-8 text; pass a JSON file") from None
    # The bytes hold the text's brackets: looked at now, and dropped before the parse, one copy of
    # the file is in memory while it runs, not two.
    deep = _maybe_deep(raw)
    del raw
    try:
        loaded = json.loads(text) if low_memory else loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        hint = f": {invalid_hint}" if invalid_hint else ""
        raise error(f"{what} is not valid JSON ({where}); it may be truncated{hint}") from None
    except RecursionError:
        raise error(f"{what} is nested too deeply to be read") from None
    except ValueError as exc:
        # valid JSON Python will not take: an integer of more than 4,300 digits
        first = str(exc).split(";")[0][:120]
        raise error(f"{what} holds a value that cannot be read ({first}); it is not a lineage file") from None
    if deep and _depth_of(loaded) > MAX_DEPTH:
        raise error(
            f"{what} nests values more than {MAX_DEPTH} levels deep; no lineage file does: "
            "pass the file lineage wrote"
        )
    return scrub_surrogates(loaded) if _SURROGATE_ESCAPE.search(text) is not None else loaded


# The layout lineage writes its snapshots in (one-space indentation): the top-level "nodes" list,
# the line that closes a top-level list, and the seam between two of its objects. No JSON string
# holds a raw newline, so these byte sequences only occur as that layout's structure.
_NODES_OPEN = b'\n "nodes": [\n'
_LIST_CLOSE = b"\n ]"
_SEAM = b"\n  },\n  {"
_PIECE_BYTES = 1 << 21


def _loads_in_pieces(raw: bytes) -> tuple[bool, Any]:
    """What :func:`try_fast_loads` gives for a snapshot in lineage's own layout, with orjson's working
    copy held for a 2 MB piece of the node list at a time instead of for the whole file (at its
    peak, three times the file); ``(False, None)`` for any other layout or anything orjson refuses."""
    start = raw.find(_NODES_OPEN)
    if start < 0:
        return False, None
    begin = start + len(_NODES_OPEN)
    end = raw.find(_LIST_CLOSE, begin)
    if end < 0:
        return False, None
    # the document with an empty node list, then the node list piece by piece
    parsed, value = try_fast_loads(raw[: begin - 1] + b"]" + raw[end + len(_LIST_CLOSE) :])
    if not parsed or not isinstance(value, dict) or value.get("nodes") != []:
        return False, None
    nodes: list[Any] = []
    at = begin
    while at < end:
        seam = raw.find(_SEAM, min(at + _PIECE_BYTES, end), end)
        stop = end if seam < 0 else seam + 4  # the piece ends with its last object's "}"
        parsed, piece = try_fast_loads(b"[" + raw[at:stop] + b"]")
        if not parsed:
            return False, None
        nodes += piece
        at = stop + 1  # past the comma
    value["nodes"] = nodes
    return True, value


#: Deepest nesting of JSON values a lineage file may hold (its own files stay under ten levels).
MAX_DEPTH = 64
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def _maybe_deep(text: str | bytes) -> bool:
    """A cheap first look (in C, not per character in Python): keep only the brackets and peel
    innermost pairs, one level a round. Brackets inside strings may make it say yes wrongly;
    :func:`_depth_of` on the parsed value then decides."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    brackets = raw.translate(None, _NOT_BRACKETS)
    for _ in range(MAX_DEPTH):
        if not brackets:
            return False
        shorter = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if shorter == brackets:
            return True
        brackets = shorter
    return bool(brackets)


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _depth_of(value: Any) -> int:
    """How deeply lists and dicts nest in ``value`` (a scalar is 0); no recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        else:
            continue
        deepest = max(deepest, depth + 1)
    return deepest
