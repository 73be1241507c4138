"""Where the shared real lineage graphs live, for tests, benchmarks and rebuilding the demo fixture.

The project expects ``shared/`` beside its checkout (``<repo>/../shared/data/real_graphs``), as CI
lays it out; ``LINEAGE_REAL_GRAPHS`` points elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

from lineage.errors import InputError

ENV = "LINEAGE_REAL_GRAPHS"


def real_graphs_dir() -> Path:
    """The folder of real graphs; a clear error naming what was tried when it is missing."""
    tried: list[Path] = []
    if os.environ.get(ENV):
        tried.append(Path(os.environ[ENV]))
    repo = Path(__file__).resolve().parents[1]
    tried += [
        repo.parent / "shared" / "data" / "real_graphs",
        Path.cwd().parent / "shared" / "data" / "real_graphs",
    ]
    for candidate in tried:
        if (candidate / "README.md").is_file():
            return candidate
    shown = ", ".join(str(p) for p in tried)
    raise InputError(f"the real graphs folder was not found (tried {shown}); set {ENV} to its path")


def real_graph(name: str) -> Path:
    """``real_graph("dbt_tuva")`` → the path of ``dbt_tuva.json``."""
    return real_graphs_dir() / f"{name}.json"
