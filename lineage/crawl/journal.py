"""The crawl's journal: every finished request, appended as it lands, so a crawl killed at any point
continues with ``resume=True`` without repeating what it finished."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from lineage.errors import InputError

__all__ = ["Journal", "default_journal"]

IDENTITY = "__crawl__"


class Journal:
    """Append-only record of finished requests: ``{"k": key, "v": value}`` per line.

    A line cut short by a kill is ignored on reading; every write is flushed so at most the request
    in flight is lost.
    """

    def __init__(self, path: Path | None, *, resume: bool, identity: dict[str, Any] | None = None) -> None:
        """``identity`` says which crawl this is (host, project, options); a journal written by
        another crawl is refused on resume instead of mixing two warehouses into one snapshot."""
        self.path = path
        self._done: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._fh: Any = None
        self._loaded = 0
        self.missing = False
        if path is None:
            return
        torn = False
        if resume and path.exists():
            with path.open("r", encoding="utf-8") as fh:
                text = fh.read()
            torn = bool(text) and not text.endswith("\n")
            for line in text.splitlines():
                try:
                    record = json.loads(line)
                except ValueError:
                    continue  # the line a kill cut short
                if isinstance(record, dict) and "k" in record:
                    self._done[str(record["k"])] = record.get("v")
            found = self._done.pop(IDENTITY, None)
            if identity is not None and found is not None and found != identity:
                diff = sorted(k for k in set(found) | set(identity) if found.get(k) != identity.get(k))
                raise InputError(
                    f"the journal {path} is from another crawl (its {', '.join(diff)} differ); "
                    "run without --resume to start afresh, or give the options of the interrupted crawl"
                )
        elif resume:
            self.missing = True
        self._loaded = len(self._done)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a" if resume else "w", encoding="utf-8")
        if torn:
            self._fh.write("\n")  # end the line a kill cut short, so the next record starts clean
        if identity is not None:
            self._fh.write(json.dumps({"k": IDENTITY, "v": identity}, sort_keys=True) + "\n")
            self._fh.flush()

    @property
    def resumed(self) -> int:
        """How many finished requests the journal held when the crawl started."""
        return self._loaded

    def get(self, key: str) -> tuple[bool, Any]:
        with self._lock:
            if key in self._done:
                return True, self._done[key]
        return False, None

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._done[key] = value
            if self._fh is not None:
                self._fh.write(json.dumps({"k": key, "v": value}, sort_keys=True) + "\n")
                self._fh.flush()

    def close(self, *, remove: bool) -> None:
        """Close; ``remove`` deletes the file (a finished crawl). A journal of no finished request is
        deleted too: there is nothing to resume, and it would only warn the next crawl."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self.path is not None and (remove or not self._done):
            self.path.unlink(missing_ok=True)


def default_journal(out: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(out)}.journal.jsonl")
