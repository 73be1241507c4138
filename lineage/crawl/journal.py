"""The crawl's journal: every finished request, appended as it lands, so a crawl killed at any point
continues with ``resume=True`` without repeating what it finished."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["Journal", "default_journal"]


class Journal:
    """Append-only record of finished requests: ``{"k": key, "v": value}`` per line.

    A line cut short by a kill is ignored on reading; every write is flushed so at most the request
    in flight is lost.
    """

    def __init__(self, path: Path | None, *, resume: bool) -> None:
        self.path = path
        self._done: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._fh: Any = None
        self._loaded = 0
        if path is None:
            return
        if resume and path.exists():
            with path.open("r", encoding="utf-8") as fh:
                for line in fh:
                    try:
                        record = json.loads(line)
                    except ValueError:
                        continue  # the line a kill cut short
                    if isinstance(record, dict) and "k" in record:
                        self._done[str(record["k"])] = record.get("v")
        self._loaded = len(self._done)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a" if resume else "w", encoding="utf-8")

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
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if remove and self.path is not None:
            self.path.unlink(missing_ok=True)


def default_journal(out: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(out)}.journal.jsonl")
