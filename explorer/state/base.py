"""What every tab's state shares: the run's history (metrics and snapshots, live or recorded, one path), the
snapshot on show, and the evented signal views follow. No Qt and no torch here: snapshots and configs are read
by their attributes."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from psygnal import Signal

from ..figures.figure import Figure

_MIN_CAPACITY = 256


class MetricHistory:
    """Metric columns (step, loss, ...) that grow row by row; missing values are NaN."""

    def __init__(self) -> None:
        self._cols: dict[str, np.ndarray] = {}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def clear(self) -> None:
        self._cols, self._n = {}, 0

    def append(self, rows: Mapping[str, Any]) -> None:
        """Add rows given as columns of equal length (scalars count as one row)."""
        arrays = {k: np.atleast_1d(np.asarray(v, dtype=np.float64)).ravel() for k, v in rows.items()
                  if _numeric(v)}
        if not arrays:
            return
        k = max(a.size for a in arrays.values())
        if k == 0:
            return
        need = self._n + k
        for name in list(self._cols) + [n for n in arrays if n not in self._cols]:
            col = self._cols.get(name)
            if col is None:
                col = np.full(max(_MIN_CAPACITY, need), np.nan)
                self._cols[name] = col
            if col.size < need:
                grown = np.full(max(2 * col.size, need), np.nan)
                grown[: self._n] = col[: self._n]
                self._cols[name] = col = grown
            values = arrays.get(name)
            if values is None or values.size not in (1, k):
                col[self._n: need] = np.nan
            else:
                col[self._n: need] = values
        self._n = need

    def column(self, name: str) -> np.ndarray:
        """A read-only view of one column (empty if it was never given)."""
        col = self._cols.get(name)
        if col is None:
            return np.empty(0)
        view = col[: self._n]
        view.flags.writeable = False
        return view

    def __contains__(self, name: str) -> bool:
        return name in self._cols

    def names(self) -> list[str]:
        return list(self._cols)

    def curve(self, name: str, up_to_step: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(step, value) of one metric without NaN, up to a step if given."""
        x, y = self.column("step"), self.column(name)
        if x.size != y.size or y.size == 0:
            return np.empty(0), np.empty(0)
        keep = np.isfinite(y) & np.isfinite(x)
        if up_to_step is not None:
            keep &= x <= up_to_step
        return x[keep], y[keep]


def _numeric(value: Any) -> bool:
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001
        return False
    return arr.dtype.kind in "biuf"


@dataclasses.dataclass
class RunSource:
    """A recorded run as the state reads it: config, metrics, snapshot steps and a loader for one snapshot."""

    config: Any
    metrics: Mapping[str, np.ndarray]
    steps: Sequence[int]
    load: Callable[[int], Any]
    kind: str = ""
    info: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class TabState:
    """A tab's Qt-free state. Subclasses set `kinds` and `figure_names`, and implement `figure(name)`.

    Snapshots reach `take_snapshot` from a live job or from a recorded run through the same path; the state
    reduces what it needs into its history (`reduce`) and keeps the newest one on show unless a recorded
    snapshot was chosen on the timeline. `changed` is emitted with the names of the figures to redraw.
    """

    kinds: ClassVar[tuple[str, ...]] = ()
    figure_names: ClassVar[tuple[str, ...]] = ()
    changed = Signal(object)  # a tuple of figure names (empty: all)
    message = Signal(str)  # something the user should read (e.g. a damaged snapshot)

    def __init__(self) -> None:
        self.config: Any = None
        self.metrics = MetricHistory()
        self.snapshot: Any = None  # the snapshot on show
        self.latest: Any = None  # the newest snapshot taken
        self.steps: list[int] = []  # steps of the snapshots taken, in order
        self.source: RunSource | None = None  # the recorded run on show, if any
        self.index: int | None = None  # its snapshot chosen on the timeline

    # ----- the one path for live and recorded runs
    def reset(self, config: Any = None) -> None:
        """Forget the run on show (a new run, a new corpus, an opened run starts here)."""
        self.config = config
        self.metrics.clear()
        self.snapshot = self.latest = None
        self.steps = []
        self.source = None
        self.index = None
        self.clear_history()
        self.changed.emit(())

    def take_metrics(self, rows: Mapping[str, Any]) -> None:
        """Add metric rows (columns of equal length, with a 'step' column)."""
        self.metrics.append(rows)
        self.changed.emit(self.metric_figures())

    def take_snapshot(self, snap: Any) -> None:
        """A new snapshot: reduce it into the history and show it."""
        if self.steps and snap.step < self.steps[-1]:
            return
        if not self.steps or snap.step > self.steps[-1]:
            self.steps.append(int(snap.step))
            self.reduce(snap)
        self.latest = snap
        self.snapshot = snap
        self.changed.emit(())

    def load_run(self, run: RunSource) -> None:
        """Show a recorded run: its config, metrics and every snapshot through `take_snapshot`."""
        self.reset(run.config)
        self.source = run
        self.metrics.append(dict(run.metrics))
        for i in range(len(run.steps)):
            snap = self._load(i)
            if snap is not None:
                self.take_snapshot(snap)
        self.index = len(run.steps) - 1 if run.steps else None
        self.changed.emit(())

    def attach_run(self, run: RunSource) -> None:
        """The live run just shown was recorded as `run`: keep what is on screen, make its snapshots selectable."""
        self.source = run
        self.index = len(run.steps) - 1 if run.steps else None

    def select(self, index: int) -> None:
        """Show recorded snapshot `index` (the timeline)."""
        if self.source is None or not self.source.steps:
            return
        index = max(0, min(int(index), len(self.source.steps) - 1))
        snap = self._load(index)
        if snap is not None:
            self.index = index
            self.snapshot = snap
            self.changed.emit(())

    def _load(self, index: int) -> Any:
        try:
            return self.source.load(index)
        except Exception as exc:  # noqa: BLE001 - a damaged file is a message, never a traceback
            self.message.emit(str(exc))
            return None

    @property
    def shown_step(self) -> float | None:
        """The step of the snapshot on show (history figures show what happened up to it)."""
        return None if self.snapshot is None else float(self.snapshot.step)

    # ----- for subclasses
    def clear_history(self) -> None:
        """Hook: forget what `reduce` gathered."""

    def reduce(self, snap: Any) -> None:
        """Hook: gather from a snapshot what history figures need (called once per snapshot, in step order)."""

    def metric_figures(self) -> tuple[str, ...]:
        """Names of the figures drawn from metrics alone (redrawn when metric rows arrive)."""
        return ()

    def figure(self, name: str) -> Figure:
        raise NotImplementedError

    def figures(self) -> dict[str, Figure]:
        """Every figure of the tab, by name."""
        return {name: self.figure(name) for name in self.figure_names}
