"""Where the app finds its bundled resources and keeps its cache and runs."""
from __future__ import annotations

import os
from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def cache_dir() -> Path:
    """The per-user cache folder (override with SME_CACHE_DIR)."""
    base = os.environ.get("SME_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "sequence-model-explorer"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


def runs_dir() -> Path:
    """The default folder where training runs are recorded (override with SME_RUNS_DIR)."""
    base = os.environ.get("SME_RUNS_DIR") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share"),
        "sequence-model-explorer",
        "runs",
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path
