"""A persistent cache of :func:`lineage.hogql.extract_tables` results, keyed by a hash of the SQL.

``lineage check`` compares every view's SQL with its lineage edges; parsing 20,000 views' HogQL takes
seconds, and the same snapshot (or the next crawl of the same warehouse, where most SQL is unchanged)
is checked again and again. Each SQL text is parsed once: the tables it reads (or the parse error)
are kept in memory for the run and in one JSON file under the user's cache directory for the next.

The file is keyed by the parser's own source code too: a new lineage version that parses differently
starts a fresh cache, so a cached answer is always the one ``extract_tables`` would give now. The
cache is best effort: an unreadable, damaged or unwritable file only means parsing again.

Location: ``$LINEAGE_CACHE_DIR``, else ``$XDG_CACHE_HOME/lineage``, else ``~/.cache/lineage``;
``LINEAGE_CACHE_DIR=off`` keeps the cache in memory only.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lineage.errors import HogQLError, LineageError
from lineage.fastjson import dumps_indented, loads
from lineage.hogql import extract_tables
from lineage.io import write_atomic

__all__ = ["ENV_CACHE_DIR", "TableCache", "cache_dir", "entry", "shared"]

ENV_CACHE_DIR = "LINEAGE_CACHE_DIR"
FORMAT = "lineage-hogql-tables/1"
FILE_NAME = "hogql-tables.json"
#: Entries kept on disk at most: those used by the last run first, then older ones.
MAX_ENTRIES = 500_000


def cache_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """Where the cache file lives, or None when the cache is off."""
    env = os.environ if env is None else env
    explicit = env.get(ENV_CACHE_DIR)
    if explicit is not None:
        return None if explicit.strip().lower() in ("", "off", "0", "none") else Path(explicit)
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "lineage"


def _parser_version() -> str:
    """A hash of the HogQL parser's source: any change to it invalidates every cached answer."""
    digest = hashlib.blake2b(digest_size=16)
    here = Path(__file__).resolve().parent
    for name in sorted(p.name for p in here.glob("*.py") if p.name != "cache.py"):
        digest.update(name.encode())
        digest.update((here / name).read_bytes())
    return digest.hexdigest()


def _key(sql: str) -> str:
    return hashlib.blake2b(sql.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


class TableCache:
    """``extract_tables`` with memory: call it like the function, then :meth:`save`.

    >>> cache = TableCache(None)          # memory only
    >>> cache("SELECT 1 FROM events"), cache.parsed
    (['events'], 1)
    """

    def __init__(self, directory: Path | None) -> None:
        self.path = directory / FILE_NAME if directory is not None else None
        self.version = _parser_version() if self.path is not None else ""
        self.entries: dict[str, Any] = self._read()
        self.used: dict[str, Any] = {}
        #: ``used`` by the SQL text itself: a crawl asks for each view's SQL three times (parsing
        #: ahead, its edges, its ``sql_state``), and hashing 20,000 texts each time cost more than
        #: looking them up.
        self.by_text: dict[str, Any] = {}
        self.parsed = 0

    @classmethod
    def default(cls) -> TableCache:
        """The cache in the user's cache directory (see the module's docstring)."""
        return cls(cache_dir())

    def _read(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        try:
            data = loads(self.path.read_bytes())
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("parser") != self.version:
            return {}
        entries = data.get("entries")
        return entries if isinstance(entries, dict) else {}

    def __call__(self, sql: str) -> list[str]:
        hit: Any = self.by_text.get(sql)
        if hit is None:
            hit = self._lookup(sql)
            self.by_text[sql] = hit
        if isinstance(hit, dict):
            raise HogQLError(hit["error"])
        return list(hit)

    def missing(self, sqls: Iterable[str]) -> list[str]:
        """The distinct texts of ``sqls`` that this cache has no answer for, in order of appearance:
        what a call would parse."""
        out: dict[str, None] = {}
        for sql in sqls:
            if sql in self.by_text or sql in out:
                continue
            hit = self._known(_key(sql))
            if hit is None:
                out[sql] = None
            else:
                self.by_text[sql] = hit  # found: the calls to come need not hash it again
        return list(out)

    def put(self, sql: str, entry: Any) -> None:
        """Keep an answer parsed elsewhere (:mod:`lineage.hogql.workers`): the sorted tables, or
        ``{"error": message}``; an entry of any other shape is ignored (the text is parsed here)."""
        if _valid(entry):
            self.parsed += 1
            self.used[_key(sql)] = entry
            self.by_text[sql] = entry

    def _known(self, key: str) -> Any:
        """This run's entry for ``key``, else the file's (kept as used from now on); None if neither."""
        hit = self.used.get(key)
        if hit is None:
            hit = self.entries.get(key)
            if not _valid(hit):
                return None
            self.used[key] = hit
        return hit

    def _lookup(self, sql: str) -> Any:
        """The entry for ``sql``: this run's, the file's, or a new parse (kept as used)."""
        key = _key(sql)
        hit = self._known(key)
        if hit is None:
            self.parsed += 1
            hit = self.used[key] = entry(sql)
        return hit

    def save(self) -> None:
        """Write the entries used by this run (and older ones, up to a cap) when anything was parsed."""
        if self.path is None or not self.parsed:
            return
        merged = dict(self.used)
        for key, value in self.entries.items():
            if len(merged) >= MAX_ENTRIES:
                break
            merged.setdefault(key, value)
        document = {"format": FORMAT, "parser": self.version, "entries": merged}
        # A cache that cannot be written costs a parse next time, nothing more.
        with contextlib.suppress(LineageError, OSError):
            write_atomic(self.path, dumps_indented(document, indent=1, finite=True) + "\n")


def entry(sql: str) -> list[str] | dict[str, str]:
    """A cache entry for ``sql``, parsed now: its sorted tables, or ``{"error": message}``."""
    try:
        return extract_tables(sql)
    except HogQLError as exc:
        return {"error": str(exc)}


_SHARED: list[TableCache] = []


def shared() -> TableCache:
    """The process's one cache in the user's cache directory (the crawler's; ``lineage crawl`` saves it)."""
    if not _SHARED:
        _SHARED.append(TableCache.default())
    return _SHARED[0]


def _valid(entry: Any) -> bool:
    if isinstance(entry, list):
        return all(isinstance(t, str) for t in entry)
    return isinstance(entry, dict) and isinstance(entry.get("error"), str)
