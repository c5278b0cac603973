"""What every tab's state shares: the run's history (metrics and snapshots, live or recorded, one path), the
snapshot on show, and the evented signal views follow. No Qt and no torch here: snapshots and configs are read
by their attributes."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from psygnal import Signal

from ..figures.decimate import ends, extremes_in_order
from ..figures.figure import Figure

_MIN_CAPACITY = 256
# Rows of a metric history kept in memory (an hour at 1,000 steps a second is 3.6 M rows), and how many of the
# newest always as they came: ~0.6 MB per metric column at most.
HISTORY_CAPACITY = 1 << 16
HISTORY_RECENT = 1 << 14


class MetricHistory:
    """Metric columns (step, loss, ...) that grow row by row; missing values are NaN.

    Memory stays bounded over a long run: past `capacity` rows, the rows before the newest `recent` are kept as
    runs of consecutive rows merged into two, each metric's smallest and largest value in the order they came
    (the step column: the run's first and last step), runs twice as long each time the merged part fills half of
    what is left. A curve keeps its shape, its spikes and its global extremes, its newest `recent` rows exactly,
    and its steps sorted. Only this in-memory history is thinned: a recorded run's metrics keep every row.
    """

    def __init__(self, capacity: int = HISTORY_CAPACITY, recent: int = HISTORY_RECENT) -> None:
        if recent < 2 or capacity < 2 * recent + 8:
            raise ValueError("a history needs recent >= 2 and capacity >= 2 * recent + 8")
        self._capacity, self._recent = capacity, recent
        self.clear()

    def __len__(self) -> int:
        return self._n

    @property
    def rows_seen(self) -> int:
        """How many rows were appended since the last clear (len() counts the rows kept)."""
        return self._seen

    def clear(self) -> None:
        self._cols: dict[str, np.ndarray] = {}
        self._n = 0
        self._merged = 0  # rows [0, _merged) are merged runs, two rows each
        self._span = 2  # rows per run merged next
        self._seen = 0

    def append(self, rows: Mapping[str, Any]) -> None:
        """Add rows given as columns of equal length (scalars count as one row)."""
        arrays = {k: np.atleast_1d(np.asarray(v, dtype=np.float64)).ravel() for k, v in rows.items()
                  if _numeric(v)}
        if not arrays:
            return
        k = max(a.size for a in arrays.values())
        for start in range(0, k, self._recent):  # in chunks: a recorded run's million rows never all at once
            stop = min(k, start + self._recent)
            self._append(stop - start, {name: a if a.size == 1 else a[start:stop] if a.size == k else None
                                        for name, a in arrays.items()})
            if self._n > self._capacity:
                self._compact()

    def _append(self, k: int, arrays: Mapping[str, np.ndarray | None]) -> None:
        need = self._n + k
        for name in list(self._cols) + [n for n in arrays if n not in self._cols]:
            col = self._cols.get(name)
            if col is None:
                col = np.full(max(_MIN_CAPACITY, need), np.nan)
                self._cols[name] = col
            if col.size < need:
                grown = np.full(max(min(2 * col.size, self._capacity + self._recent), need), np.nan)
                grown[: self._n] = col[: self._n]
                self._cols[name] = col = grown
            values = arrays.get(name)
            col[self._n: need] = np.nan if values is None else values
        self._n = need
        self._seen += k

    def _compact(self) -> None:
        """Merge all but the newest `recent` raw rows into runs; halve the merged part while it is too long."""
        move = self._n - self._merged - self._recent
        if move > 0:
            self._merged += self._merge(self._merged, move, self._span)
        while self._merged > (self._capacity - self._recent) // 2 and self._merged > 4:
            self._merged = self._merge(0, self._merged, 4)  # two runs of two rows each into one run
            self._span *= 2

    def _merge(self, start: int, length: int, group: int) -> int:
        """Rows [start, start + length) in groups of `group` (the last one may be shorter) become two rows each;
        later rows move up. Returns the number of rows that the groups became."""
        full = length // group * group
        out = 2 * (full // group) + (2 if length > full else 0)
        for name, col in self._cols.items():
            merge = ends if name == "step" else extremes_in_order
            merged = [merge(col[start:start + full].reshape(-1, group))]
            if length > full:
                merged.append(merge(col[start + full:start + length].reshape(1, -1)))
            col[start:start + out] = np.concatenate(merged).ravel()
            col[start + out:self._n - length + out] = col[start + length:self._n]
        self._n -= length - out
        return out

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
