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
    write is flushed so at most the request in flight is lost.
    """

    def __init__(self, path: Path | None, *, resume: bool, identity: dict[str, Any] | None = None) -> None:
        """``identity`` says which crawl this is (host, project, options); a journal written by
        another crawl is refused on resume instead of mixing two warehouses into one snapshot."""
        self.path = path
        self._done: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._fh: Any = None
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
            for line in text.splitlines():
                self._load_line(line.replace("\x00", ""), path, identity)
        elif resume:
            self.missing = True
        self._loaded = len(self._done)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = path.open("a" if resume else "w", encoding="utf-8")
            if torn:
                self._fh.write("\n")  # end the line a kill cut short, so the next record starts clean
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
            if key in self._done:
                return True, self._done[key]
        return False, None

    def put(self, key: str, value: Any, *, server_time: datetime | None = None) -> None:
        """Record a finished request; ``server_time`` is the server's clock when its answer landed."""
        with self._lock:
            self._done[key] = value
            if self._fh is not None:
                record: dict[str, Any] = {"c": self._id, "k": key, "v": value}
                if server_time is not None:
                    record["t"] = server_time.isoformat()
                try:
                    self._write(record)
                except OSError as exc:
                    raise self._write_error(exc) from None

    def _write(self, record: dict[str, Any]) -> None:
        self._fh.write(dumps_line(record) + "\n")
        self._fh.flush()

    def _write_error(self, exc: OSError) -> InputError:
        return InputError(
            f"cannot write the crawl journal {self.path} ({exc.strerror or exc}); free space there or "
            f"pass {param('out')} a path on another disk"
        )

    def close(self, *, remove: bool) -> None:
        """Close; ``remove`` deletes the file (a finished crawl). A journal of no finished request is
        deleted too: there is nothing to resume, and it would only warn the next crawl."""
        try:
            if self._fh is not None:
                with contextlib.suppress(OSError):
                    self._fh.close()
                self._fh = None
            if self.path is not None and (remove or not self._done):
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
