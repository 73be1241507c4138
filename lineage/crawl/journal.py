"""The crawl's journal: every finished request, appended as it lands, so a crawl killed at any point
continues with ``resume=True`` without repeating what it finished.

Each line is ``{"c": crawl, "k": key, "v": value, "t": server time}``: ``c`` names the crawl (a hash
of its identity: host, project, options), so a line another crawl wrote is never taken for this
one's; ``t`` is the server's clock (from its ``Date`` header) when the answer landed, so a resumed
crawl measures job windows and staleness on the same clock as the one it continues. The journal is
locked while a crawl uses it: a second crawl on it is refused, naming the process that holds it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from lineage.errors import InputError, param
from lineage.fastjson import dumps_line
from lineage.io import FileLock

__all__ = ["Journal", "crawl_id", "default_journal"]

IDENTITY = "__crawl__"


def crawl_id(identity: dict[str, Any] | None) -> str | None:
    """A short, stable name for a crawl's identity (sorted JSON, hashed)."""
    if identity is None:
        return None
    text = json.dumps(identity, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


class Journal:
    """Append-only record of finished requests, one JSON object per line.

    A line cut short by a kill (or NUL bytes a crashed filesystem left) is ignored on reading; every
    write is flushed so at most the request in flight is lost. An answer written to the file is not
    kept in memory: asked for again (a source that starts over), it is read back from its line, so
    the rows a source has done with (20,000 views' at 20,000 views) are freed.
    """

    def __init__(self, path: Path | None, *, resume: bool, identity: dict[str, Any] | None = None) -> None:
        """``identity`` says which crawl this is (host, project, options); a journal written by
        another crawl is refused on resume instead of mixing two warehouses into one snapshot."""
        self.path = path
        self._done: dict[str, Any] = {}  # answers kept in memory: resumed ones, or all without a file
        self._written: dict[str, int] = {}  # answers this crawl wrote: where their line starts
        self._lock = threading.Lock()
        self._fh: Any = None
        self._reader: Any = None
        self._loaded = 0
        self._file_lock: FileLock | None = None
        self.missing = False
        self.server_time: datetime | None = None
        """The latest server time the journal recorded (None for a fresh crawl)."""
        self._id = crawl_id(identity)
        if path is None:
            return
        self._file_lock = FileLock(path, what="the crawl journal").acquire()
        try:
            self._open(path, resume=resume, identity=identity)
        except BaseException:
            self._file_lock.release()
            raise

    def _open(self, path: Path, *, resume: bool, identity: dict[str, Any] | None) -> None:
        torn = False
        if resume and path.exists():
            try:
                with path.open("r", encoding="utf-8", errors="replace") as fh:
                    text = fh.read()
            except OSError as exc:
                why = exc.strerror or exc
                raise InputError(f"cannot read the journal {path} ({why}); check it") from None
            torn = bool(text) and not text.endswith("\n")
            # split on line feeds alone: str.splitlines would also cut a record at a U+2028 (or
            # \x85, \x1c...) inside a string, which orjson writes as it is
            for line in text.split("\n"):
                self._load_line(line.replace("\x00", ""), path, identity)
        elif resume:
            self.missing = True
        self._loaded = len(self._done)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = path.open("ab" if resume else "wb")
            if torn:
                self._fh.write(b"\n")  # end the line a kill cut short, so the next record starts clean
            if identity is not None:
                self._write({"c": self._id, "k": IDENTITY, "v": identity})
        except OSError as exc:
            raise self._write_error(exc) from None

    def _load_line(self, line: str, path: Path, identity: dict[str, Any] | None) -> None:
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            return  # the line a kill cut short
        if not isinstance(record, dict) or "k" not in record:
            return
        key = str(record["k"])
        theirs = record.get("c")
        if key == IDENTITY and identity is not None and isinstance(record.get("v"), dict):
            found = record["v"]
            if found != identity:
                diff = sorted(k for k in set(found) | set(identity) if found.get(k) != identity.get(k))
                raise InputError(
                    f"the journal {path} is from another crawl (its {', '.join(diff)} differ); "
                    f"run without {param('resume')} to start afresh, or give the options of the "
                    "interrupted crawl"
                )
            return
        if self._id is not None and theirs is not None and theirs != self._id:
            # every line is checked, not only the identity line: lines of two crawls in one file
            raise InputError(
                f"the journal {path} holds records of another crawl (crawl {str(theirs)[:16]!r}, this "
                f"is {self._id}); run without {param('resume')} to start afresh"
            )
        if key == IDENTITY:
            return
        self._done[key] = record.get("v")
        moment = _parse_time(record.get("t"))
        if moment is not None and (self.server_time is None or moment > self.server_time):
            self.server_time = moment

    @property
    def resumed(self) -> int:
        """How many finished requests the journal held when the crawl started."""
        return self._loaded

    def get(self, key: str) -> tuple[bool, Any]:
        with self._lock:
            if key in self._written:
                return True, self._read_back(self._written[key])
            if key in self._done:
                return True, self._done[key]
        return False, None

    def put(self, key: str, value: Any, *, server_time: datetime | None = None) -> None:
        """Record a finished request; ``server_time`` is the server's clock when its answer landed."""
        with self._lock:
            if self._fh is None:
                self._done[key] = value
                return
            self._done.pop(key, None)
            record: dict[str, Any] = {"c": self._id, "k": key, "v": value}
            if server_time is not None:
                record["t"] = server_time.isoformat()
            try:
                self._written[key] = self._write(record)
            except OSError as exc:
                raise self._write_error(exc) from None

    def _write(self, record: dict[str, Any]) -> int:
        """Append ``record``'s line; where it starts."""
        at: int = self._fh.tell()
        self._fh.write(dumps_line(record))
        self._fh.write(b"\n")  # apart: a 25 MB line is not copied to add it
        self._fh.flush()
        return at

    def _read_back(self, at: int) -> Any:
        """The value of the record this crawl wrote at ``at``."""
        try:
            if self._reader is None:
                assert self.path is not None
                self._reader = self.path.open("rb")
            self._reader.seek(at)
            return json.loads(self._reader.readline())["v"]  # as a resumed crawl reads it
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"cannot read back the crawl journal {self.path} ({exc}); it changed while the crawl "
                f"ran: run the crawl again without {param('resume')}"
            ) from None

    def _write_error(self, exc: OSError) -> InputError:
        return InputError(
            f"cannot write the crawl journal {self.path} ({exc.strerror or exc}); free space there or "
            f"pass {param('out')} a path on another disk"
        )

    def close(self, *, remove: bool) -> None:
        """Close; ``remove`` deletes the file (a finished crawl). A journal of no finished request is
        deleted too: there is nothing to resume, and it would only warn the next crawl."""
        try:
            for handle in (self._fh, self._reader):
                if handle is not None:
                    with contextlib.suppress(OSError):
                        handle.close()
            self._fh = self._reader = None
            if self.path is not None and (remove or not (self._done or self._written)):
                self.path.unlink(missing_ok=True)
        finally:
            if self._file_lock is not None:
                self._file_lock.release()
                self._file_lock = None


def _parse_time(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def default_journal(out: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(out)}.journal.jsonl")
