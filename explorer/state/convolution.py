"""Convolution tab state: the stack's settings and chosen output, the run's history, and the tab's figures."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..analysis import receptive_field as rf
from ..figures import Axis, Figure, Heatmap, Points, RefLine, Segments, Series, Table
from ..figures.palette import curve_color
from . import register_state
from .base import TabState

DIAGRAM_MAX = 96  # positions drawn in the connection diagram


def default_output(cfg: Any) -> int:
    """The output shown first: the middle one, so that there are future inputs for the leak check to test."""
    return cfg.seq_len // 2


def leak_text(erf: np.ndarray, t: int) -> str:
    """What the measured gradient of output t says about future inputs."""
    future = np.asarray(erf)[t + 1:]
    leaks = int((future > 0).sum())
    if not future.size:
        return "no future inputs after the last position: choose an earlier t to test for leakage"
    if leaks == 0:
        return f"no leakage: the gradient is exactly 0 for all {future.size} future inputs (s > t)"
    return f"leakage: {leaks} future inputs (s > t) change output t"


@register_state
class ConvolutionState(TabState):
    """The architecture figures follow `config` and `output` at once; the training figures follow the run."""

    kinds = ("conv",)
    figure_names = ("connections", "depth", "field", "loss", "erf", "accuracy")

    def __init__(self) -> None:
        super().__init__()
        self.output = 0  # the output position t whose receptive field is shown
        self.initial_erf: np.ndarray | None = None  # |∂y_t/∂x_s| of a fresh stack for (config, output)
        self._erf_rows: list[np.ndarray] = []
        self._erf_steps: list[int] = []
        self._erf_t = 0

    # ----- selection
    def set_config(self, cfg: Any, output: int | None = None) -> None:
        """New stack settings (the form): the architecture figures follow; the measured field is stale."""
        self.config = cfg
        self.output = default_output(cfg) if output is None else max(0, min(int(output), cfg.seq_len - 1))
        self.initial_erf = None
        self.changed.emit(("connections", "depth", "field"))

    def set_output(self, t: int) -> None:
        """Choose the output position (a click on the diagram's top row)."""
        if self.config is None:
            return
        self.output = max(0, min(int(t), self.config.seq_len - 1))
        self.initial_erf = None
        self.changed.emit(("connections", "field"))

    def set_initial_erf(self, cfg: Any, t: int, erf: np.ndarray) -> None:
        """The measured gradient field of a fresh stack; ignored when it is for other settings than shown."""
        if cfg != self.config or t != self.output:
            return
        self.initial_erf = np.asarray(erf, dtype=np.float64)
        self.changed.emit(("field",))

    # ----- history
    def reset(self, config: Any = None) -> None:
        new = config is not None and config != self.config
        keep = self.config if config is None else config
        if keep is not None:  # before the base emits `changed`: the figures must see a valid output
            self.output = default_output(keep) if new else min(self.output, keep.seq_len - 1)
            if new:
                self.initial_erf = None
        super().reset(keep)

    def clear_history(self) -> None:
        self._erf_rows, self._erf_steps, self._erf_t = [], [], 0

    def reduce(self, snap: Any) -> None:
        self._erf_rows.append(np.asarray(snap.erf, dtype=np.float32))
        self._erf_steps.append(int(snap.step))
        self._erf_t = int(snap.erf_t)

    def metric_figures(self) -> tuple[str, ...]:
        return ("loss",)

    def summary_html(self) -> str:
        """The side panel's numbers: the receptive field, its formula, and what the task needs."""
        if self.config is None:
            return ""
        cfg, dils, k = self._arch()
        size = rf.receptive_field_size(k, dils)
        text = (f"<b>Receptive field: {size} inputs</b><br>= 1 + Σ (k−1)·d = 1 + {k - 1}·({' + '.join(map(str, dils))})"
                f"<br>dilations: {', '.join(map(str, dils))}<br>")
        text += (f"causal: output t sees inputs t−{size - 1} … t" if cfg.causal else
                 f"centred: output t sees {(size - 1) // 2} inputs on each side")
        if cfg.task == "delayed recall":
            text += f"<br>task needs distances up to {cfg.max_distance}: " + (
                "covered" if size - 1 >= cfg.max_distance else f"only 1–{size - 1} can be learned")
        return text

    # ----- figures
    def figure(self, name: str) -> Figure:
        return {"connections": self.connections_figure, "depth": self.depth_figure, "field": self.field_figure,
                "loss": self.loss_figure, "erf": self.erf_figure, "accuracy": self.accuracy_figure}[name]()

    def _arch(self) -> tuple[Any, tuple[int, ...], int]:
        cfg = self.config
        return cfg, tuple(cfg.dilation_tuple()), cfg.kernel_size

    def connections_figure(self) -> Figure:
        axes = {"x": Axis("position"), "y": Axis("layer")}
        if self.config is None:
            return Figure("connections", "Connections", **axes, hint="Choose a stack on the left.")
        cfg, dils, k = self._arch()
        t, causal, res = self.output, cfg.causal, cfg.residual
        length = min(cfg.seq_len, DIAGRAM_MAX)
        shift = max(0, min(t - length + 1 + (0 if causal else length // 2), cfg.seq_len - length))
        lit = [pairs - shift for pairs in rf.connection_edges(k, dils, t, cfg.seq_len, causal, res)]
        lit = [p[(p >= 0).all(1) & (p < length).all(1)] for p in lit]
        field = rf.receptive_field_set(k, dils, t, causal, cfg.seq_len, res) - shift
        field = field[(field >= 0) & (field < length)]
        layers = len(dils)
        grid_x = np.tile(np.arange(length, dtype=float), layers + 1)
        grid_y = np.repeat(np.arange(layers + 1, dtype=float), length)
        first = f"positions {shift}–{shift + length - 1}" if length < cfg.seq_len else "all positions"
        ticks = ((0.0, "input"), *tuple((float(i), f"layer {i}") for i in range(1, layers)), (float(layers), "output"))
        return Figure(
            "connections", f"Connections reaching output t = {t} ({first}; click a top node)",
            x=Axis("position", range=(-0.5 + shift, length - 0.5 + shift)),
            y=Axis("layer", ticks=ticks, range=(-0.4, layers + 0.4)),
            segments=(Segments("every connection", _edge_rows(rf.all_edges(k, dils, length, causal, res), shift),
                               color="#a0a0a046", width=1),
                      Segments("reaches output t", _edge_rows(lit, shift), color=curve_color(0), width=2,
                               legend=True)),
            points=(Points("units", grid_x + shift, grid_y, color="#969696c8", size=7, clickable=True),
                    Points("inputs output t sees", field.astype(float) + shift, np.zeros(field.size),
                           color=curve_color(0), size=9, legend=True),
                    Points("output t", [float(t)], [float(layers)], color=curve_color(5), size=14, ring=True,
                           legend=True)),
            caption=f"receptive field {rf.receptive_field_size(k, dils)} inputs = 1 + Σ (k−1)·d = 1 + {k - 1}·("
                    f"{' + '.join(map(str, dils))})",
            data=self._edges_table(),
        )

    def _edges_table(self) -> Table:
        cfg, dils, k = self._arch()
        lit = rf.connection_edges(k, dils, self.output, cfg.seq_len, cfg.causal, cfg.residual)
        rows = []
        for layer, pairs in enumerate(rf.all_edges(k, dils, cfg.seq_len, cfg.causal, cfg.residual)):
            on = {tuple(p) for p in lit[layer].tolist()}
            rows += [(layer, int(a), int(b), int((a, b) in on)) for a, b in pairs.tolist()]
        return Table(("layer", "source position", "destination position", "reaches output t (1 = yes)"), rows)

    def depth_figure(self) -> Figure:
        axes = {"x": Axis("layers"), "y": Axis("receptive field", "inputs")}
        if self.config is None:
            return Figure("depth", "Receptive field against depth", **axes, hint="Choose a stack on the left.")
        _cfg, dils, k = self._arch()
        depth = np.arange(1, len(dils) + 1)
        size, flat = rf.receptive_field_size(k, dils), 1 + (k - 1) * len(dils)
        every = max(1, len(dils) // 10)
        axes["x"] = Axis("layers", ticks=tuple((float(d), str(d)) for d in depth if (d - 1) % every == 0))
        return Figure(
            "depth", f"Receptive field against depth: {size} with dilations, {flat} without", **axes,
            series=(Series("this schedule", depth, rf.sizes_by_depth(k, dils), color=0, symbol="o"),
                    Series("no dilation", depth, rf.sizes_without_dilation(k, len(dils)), color=1, symbol="o")),
            caption=f"dilations {', '.join(map(str, dils))}; kernel {k}")

    def field_figure(self) -> Figure:
        axes = {"x": Axis("input position relative to t (s − t)"), "y": Axis("share of max")}
        if self.config is None:
            return Figure("field", "Receptive field of the chosen output", **axes,
                          hint="Choose a stack on the left.")
        cfg, dils, k = self._arch()
        t = self.output
        paths = rf.path_counts(k, dils, t, cfg.seq_len, cfg.causal, cfg.residual).astype(float)
        rel = np.arange(cfg.seq_len) - t
        measured = np.empty(0) if self.initial_erf is None else self.initial_erf
        m_rel = np.arange(measured.size) - t
        m_share = measured / measured.max() if measured.size and measured.max() > 0 else measured
        title = f"Receptive field of output t = {t}: theory against the measured gradient"
        caption = "measuring the gradient of a fresh stack…" if self.initial_erf is None else \
            leak_text(self.initial_erf, t)
        return Figure("field", title, **axes,
                      series=(Series("theory: paths from s to t", rel, paths / max(1.0, paths.max()), color=0),
                              Series("measured |∂y_t/∂x_s| at initialisation", m_rel, m_share, color=1)),
                      lines=(RefLine(0.0, "t", vertical=True),), caption=caption)

    def loss_figure(self) -> Figure:
        x, y = self.metrics.curve("loss", self._history_end())
        return Figure("loss", "Training loss", x=Axis("training step"), y=Axis("cross-entropy", "nats"),
                      series=(Series("loss", x, y, color=0),), hint="Press Train to see the loss.",
                      caption=f"last loss {y[-1]:.4f} nats at step {int(x[-1]):,}" if y.size else "")

    def _history_end(self) -> float | None:
        """History figures end at the snapshot on show when one is chosen on the timeline."""
        if self.source is not None and self.index is not None and self.snapshot is not None:
            return float(self.snapshot.step)
        return None

    def erf_figure(self) -> Figure:
        axes = {"x": Axis("input position relative to t (s − t)"), "y": Axis("training step")}
        end = self._history_end()
        keep = [i for i, s in enumerate(self._erf_steps) if end is None or s <= end]
        if not keep:
            return Figure("erf", "Effective receptive field over training", **axes,
                          hint="Press Train: the measured field of the output grows here.")
        rows = np.vstack([self._erf_rows[i] for i in keep])
        steps = [self._erf_steps[i] for i in keep]
        first, last = steps[0], max(steps[-1], steps[0] + 1)
        return Figure(
            "erf", f"Effective receptive field of output t = {self._erf_t} over training", **axes,
            heatmaps=(Heatmap("erf", rows, "|∂y_t/∂x_s|, share of the largest", levels=(0.0, 1.0),
                              rect=(-self._erf_t - 0.5, first, rows.shape[1], last - first),
                              row_name="snapshot", col_name="input position"),),
            caption=f"{len(steps)} snapshots, steps {first:,}–{steps[-1]:,}",
            data=Table(("training step", "input position relative to t", "|∂y_t/∂x_s| (share of the largest)"),
                       [(s, j - self._erf_t, float(v)) for s, row in zip(steps, rows, strict=True)
                        for j, v in enumerate(row)]))

    def accuracy_figure(self) -> Figure:
        snap = self.snapshot
        recall = self.config is None or getattr(self.config, "task", "delayed recall") == "delayed recall"
        x_label = "distance d" if recall else "characters of context (t + 1)"
        axes = {"x": Axis(x_label), "y": Axis("accuracy", range=None)}
        if snap is None:
            return Figure("accuracy", "Accuracy against dependency distance", **axes,
                          series=(Series("accuracy", color=0, symbol="o"),),
                          hint="Press Train: accuracy per distance appears here.")
        acc = np.asarray(snap.accuracy_by_distance, dtype=float)
        recall = snap.task == "delayed recall"
        x_label = "distance d" if recall else "characters of context (t + 1)"
        rf_at = snap.rf_size - 0.5 if recall else snap.rf_size + 0.5
        return Figure(
            "accuracy", f"Accuracy against dependency distance at step {snap.step:,}",
            x=Axis(x_label), y=Axis("accuracy"),
            series=(Series("accuracy", np.arange(1, acc.size + 1), acc, color=0, symbol="o"),),
            lines=(RefLine(float(snap.chance), f"chance {snap.chance:.0%}"),
                   RefLine(float(rf_at), f"receptive field {snap.rf_size}", vertical=True, color="#c83c3c")),
            caption=f"overall {snap.accuracy:.0%}, chance {snap.chance:.0%}; distances beyond the receptive field "
                    f"({snap.rf_size} inputs) cannot be learned")


def _edge_rows(edges_by_layer, shift: int) -> np.ndarray:
    """Rows (x0, y0, x1, y1): layer l's edge (src, dst) runs from (src, l) to (dst, l + 1)."""
    rows = []
    for layer, pairs in enumerate(edges_by_layer):
        pairs = np.asarray(pairs, dtype=float).reshape(-1, 2)
        if len(pairs):
            block = np.empty((len(pairs), 4))
            block[:, 0], block[:, 1] = pairs[:, 0] + shift, layer
            block[:, 2], block[:, 3] = pairs[:, 1] + shift, layer + 1
            rows.append(block)
    return np.vstack(rows) if rows else np.zeros((0, 4))
