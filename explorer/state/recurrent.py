"""Recurrent tab state: the fresh networks of the form's settings, the run's history, the chosen cell, its figures.

Shows runs of the side-by-side job ('rnn_compare') and of the single-cell job ('rnn'): a single-cell snapshot is
read as a side-by-side one with one cell. Snapshots and configs are read by their attributes (no torch here).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from psygnal import Signal

from ..figures import Figure
from ..training.jobs.rnn_job import gru_variant_text, task_title
from . import recurrent_figures as figs
from . import register_state
from .base import RunSource, TabState
from .recurrent_snapshots import CELLS, CellFlow, SnapshotCells, cell_keys, config_cells

__all__ = ["CELLS", "PER_CELL", "STATE_FIGURES", "STATE_KEYS", "VIEW_FIGURES", "RecurrentState", "cell_keys",
           "config_cells", "fresh_key"]

STATE_KEYS = ("h", "c", "f", "i", "o", "z", "r")  # hidden and cell state, then the gates
VIEW_FIGURES = ("gradient_flow", "gradient_heatmap", "jacobian", "loss", "weights")
STATE_FIGURES = tuple(("state_" if k in "hc" else "gate_") + k for k in STATE_KEYS)
PER_CELL = ("gradient_heatmap", *STATE_FIGURES)  # figures of the chosen cell (exported once per cell)


def initial_comparison(flows: Mapping[str, Any]) -> str:
    """What the fresh networks' own ratios say: which cells keep more of the gradient than the plain RNN."""
    ratios = {cell: figs.ratio(f.grad_norms) for cell, f in flows.items()}
    text = ("A ratio below 1: the gradient shrank going back in time (vanishing); above 1: it grew "
            "(exploding).")
    if "RNN" not in ratios or not np.isfinite(ratios["RNN"]):
        return text
    parts = [f"the {cell} keeps {'more' if r > ratios['RNN'] else 'less'} of it than the plain RNN"
             for cell, r in ratios.items() if cell != "RNN" and np.isfinite(r)]
    if parts:
        text += (f" At initialisation {' and '.join(parts)}; what the gates keep after training shows in the "
                 "solid curves and in the sweep.")
    return text


def fresh_key(cfg: Any) -> tuple | None:
    """What the gradient flow of a fresh network depends on (the learning rate, steps etc. do not matter)."""
    if cfg is None:
        return None
    return (config_cells(cfg), cfg.activation, cfg.hidden, cfg.sequence_length(), float(cfg.weight_scale),
            float(cfg.forget_bias), cfg.seed, getattr(cfg, "gru_variant", "lecture"))


@register_state
class RecurrentState(TabState):
    """Dashed curves follow the form's settings (fresh networks); solid ones and the history follow the run."""

    kinds = ("rnn_compare", "rnn")
    stopped = Signal(str)  # a cell of the run stopped (diverged) while the others go on

    def __init__(self) -> None:
        super().__init__()
        self.fresh_config: Any = None  # the form's settings: the fresh networks drawn dashed
        self.initial: dict[str, CellFlow] | None = None  # their gradient flow, once measured
        self._initial_key: tuple | None = None
        self.cell: str | None = None  # the cell whose heatmap, product and gates are shown
        self.typed: tuple[str, int, dict, tuple[str, ...]] | None = None  # cell, step, states, labels
        self._reported: set[str] = set()
        self._rows: dict[str, list[np.ndarray]] = {}
        self._row_steps: list[int] = []
        self._step0: dict[str, CellFlow] = {}

    # ----- selection
    def set_config(self, cfg: Any) -> bool:
        """The form's settings; True when the fresh networks' gradient flow must be measured anew for them."""
        self.fresh_config = cfg
        key = fresh_key(cfg)
        new = key != self._initial_key
        if new:
            self.initial, self._initial_key = None, key
        if self.snapshot is None and self.config is None:
            self.changed.emit(())  # before any run the legends list the form's cells
        elif new:
            self.changed.emit(("gradient_flow", "jacobian"))
        return new

    def set_initial_flow(self, cfg: Any, flows: Mapping[str, Any]) -> None:
        """The gradient flow of fresh networks (cell -> grad_norms, jac_sv, w_sv_max); ignored if for other
        settings than the form's."""
        if fresh_key(cfg) != fresh_key(self.fresh_config):
            return
        self.initial = {cell: CellFlow(f.grad_norms, f.jac_sv, f.w_sv_max) for cell, f in flows.items()}
        self._initial_key = fresh_key(cfg)
        self.changed.emit(("gradient_flow", "jacobian"))

    def set_cell(self, cell: str) -> None:
        """Choose the cell whose heatmap, Jacobian product, states and gates are shown."""
        if cell and cell != self.cell:
            self.cell = cell
            self.changed.emit(("gradient_heatmap", "jacobian", *STATE_FIGURES))

    def set_typed(self, cell: str, step: int, states: Mapping[str, Any], labels: tuple[str, ...]) -> None:
        """The chosen cell's states and gates on typed input (as trained at `step`)."""
        self.typed = (cell, int(step), {k: np.asarray(v, dtype=np.float32) for k, v in states.items()},
                      tuple(labels))
        self.changed.emit(STATE_FIGURES)

    # ----- what is on show
    @property
    def cells(self) -> tuple[str, ...]:
        """The cells of the run on show (of the form before any run)."""
        if self.snapshot is not None:
            return SnapshotCells(self.snapshot).cells
        return config_cells(self.config) or config_cells(self.fresh_config)

    @property
    def shown_cell(self) -> str | None:
        cells = self.cells
        if not cells:
            return None
        return self.cell if self.cell in cells else cells[-1]

    def initial_flows(self) -> tuple[dict[str, CellFlow], str]:
        """The dashed curves and where they come from: the fresh networks of the form's settings once measured,
        else this run's first snapshot (step 0, before any training step)."""
        if self.initial is not None:
            cfg = self.fresh_config
            return self.initial, f"fresh networks, weight scale {cfg.weight_scale:g}, random inputs"
        if self._step0:
            return self._step0, "this run at step 0"
        return {}, ""

    def history_end(self) -> float | None:
        """History figures end at the snapshot on show when one is chosen on the timeline."""
        if self.source is not None and self.index is not None and self.snapshot is not None:
            return float(self.snapshot.step)
        return None

    def gradient_rows(self, cell: str) -> tuple[list[int], np.ndarray]:
        """Steps and ‖∂L/∂h(t)‖ rows of every snapshot taken, up to the one on show."""
        end = self.history_end()
        rows = self._rows.get(cell, [])
        keep = [i for i, s in enumerate(self._row_steps[:len(rows)]) if end is None or s <= end]
        if not keep:
            return [], np.empty((0, 0))
        return [self._row_steps[i] for i in keep], np.vstack([rows[i] for i in keep])

    def metric(self, name: str, cell: str) -> tuple[np.ndarray, np.ndarray]:
        """(step, value) of a per-cell metric up to the snapshot on show ('loss:RNN', or 'loss' of one cell)."""
        column = f"{name}:{cell}"
        if column not in self.metrics and len(self.cells) == 1:
            column = name
        return self.metrics.curve(column, self.history_end())

    def typed_request(self) -> tuple[Any, tuple[str, ...], np.ndarray, str, int]:
        """(config of the shown cell, alphabet, its parameters, cell, step) to rerun it on typed input;
        ValueError says why not."""
        snap, cell = self.snapshot, self.shown_cell
        if snap is None or cell is None or self.config is None:
            raise ValueError("Train (or open a recorded run) first: the gates are those of a trained cell.")
        import dataclasses

        view = SnapshotCells(snap)
        cfg = dataclasses.replace(self.config, cell=cell)
        return cfg, tuple(snap.alphabet), view.params(view.cells.index(cell)), cell, int(snap.step)

    # ----- history
    def reset(self, config: Any = None) -> None:
        self._reported = set()
        self.typed = None
        super().reset(config)

    def clear_history(self) -> None:
        self._rows, self._row_steps, self._step0 = {}, [], {}

    def reduce(self, snap: Any) -> None:
        view = SnapshotCells(snap)
        for c, cell in enumerate(view.cells):
            flow = view.flow(c)
            self._rows.setdefault(cell, []).append(flow.grad_norms.astype(np.float32))
            if snap.step == 0:
                self._step0[cell] = flow
            reason = view.diverged(c)
            if reason and cell not in self._reported:
                self._reported.add(cell)
                others = [x for i, x in enumerate(view.cells) if not view.diverged(i)]
                self.stopped.emit(f"{cell} stopped: {reason}" + (f" {', '.join(others)} go on training."
                                                                  if others else ""))
        self._row_steps.append(int(snap.step))

    def attach_run(self, run: RunSource) -> None:
        """The live run just shown was recorded: its snapshots become selectable, and the history gets the
        snapshots the screen had no time for (metrics and what is on show stay)."""
        self.source = run
        self.index = len(run.steps) - 1 if run.steps else None
        if len(run.steps) <= len(self._row_steps):
            return
        rows, row_steps, step0 = self._rows, self._row_steps, self._step0
        self.clear_history()
        for i in range(len(run.steps)):
            snap = self._load(i)
            if snap is None:
                self._rows, self._row_steps, self._step0 = rows, row_steps, step0
                return
            self.reduce(snap)
        self.steps = [int(s) for s in run.steps]
        self.changed.emit(("gradient_heatmap", "gradient_flow", "jacobian"))

    def metric_figures(self) -> tuple[str, ...]:
        return ("loss", "weights")

    # ----- the side panel's text
    def theory_html(self) -> str:
        """What the fresh networks of the form's settings do to the gradient (the deciding ratio per cell)."""
        cfg = self.fresh_config
        if cfg is None:
            return ""
        head = f"At initialisation, scale {cfg.weight_scale:g}, {cfg.sequence_length()} time steps:"
        if self.initial is None:
            return head + "<br><i>measuring the fresh networks…</i>"
        last = cfg.sequence_length() - 1
        lines = [f"<b>{cell}</b>: ‖∂L/∂h(0)‖ / ‖∂L/∂h({last})‖ = {figs.ratio_text(flow.grad_norms)}; "
                 f"σ_max(W_hh) = {flow.w_sv_max:.2f}" for cell, flow in self.initial.items()]
        if "GRU" in self.initial:
            lines.append(f"GRU: {gru_variant_text(getattr(cfg, 'gru_variant', 'lecture'))}")
        return "<br>".join([head, *lines, f"<i>{initial_comparison(self.initial)}</i>"])

    def summary_html(self) -> str:
        """Accuracy per cell at the step on show, against chance."""
        snap = self.snapshot
        if snap is None:
            return ""
        view = SnapshotCells(snap)
        parts = [f"{cell} {view.accuracy(c):.0%}" + (" (stopped)" if view.diverged(c) else "")
                 for c, cell in enumerate(view.cells)]
        text = f"<b>Step {snap.step:,}</b>: accuracy {', '.join(parts)} (chance {snap.chance:.0%})"
        task = getattr(snap, "task", "")
        return text + (f"; {task_title(task)}" if task else "")

    def states_text(self) -> str:
        """The heading of the gates-and-states strip."""
        cell = self.shown_cell
        if self.snapshot is None or cell is None:
            return "Gates and states over time appear here once a cell has trained."
        where = "your input" if self._typed_for(cell) is not None else f"step {self.snapshot.step:,}"
        return (f"<b>{cell}: gates and states over time</b> ({where}; units on the y axis; h and c: blue negative, "
                "red positive; gates: 0 dark … 1 yellow)")

    def _typed_for(self, cell: str) -> tuple[dict, tuple[str, ...]] | None:
        t = self.typed
        if t is None or self.snapshot is None or t[0] != cell or t[1] != int(self.snapshot.step):
            return None
        return t[2], t[3]

    def cell_states(self, cell: str) -> tuple[dict[str, np.ndarray], tuple[str, ...], str]:
        """States and gates of `cell` on show ({} before a snapshot), the labels of their time steps, and where
        they come from ('your input' or 'step N')."""
        typed = self._typed_for(cell)
        if typed is not None:
            return typed[0], typed[1], "on your input"
        snap = self.snapshot
        if snap is None:
            return {}, (), ""
        view = SnapshotCells(snap)
        if cell not in view.cells:
            return {}, (), ""
        return view.states(view.cells.index(cell)), tuple(snap.input_labels), f"at step {snap.step:,}"

    # ----- figures
    @property
    def figure_names(self) -> tuple[str, ...]:  # type: ignore[override]
        """Figures of the whole run, then the per-cell ones for every cell on show (e.g. gate_f_LSTM)."""
        names = tuple(n for n in VIEW_FIGURES if n not in PER_CELL)
        for cell in self.cells:
            names += (f"gradient_heatmap_{cell}",)
            names += tuple(f"{n}_{cell}" for n in STATE_FIGURES if n[-1] in cell_keys(cell))
        return names

    def export_name(self, name: str) -> str:
        """The name under which figure `name` of the chosen cell is exported (gate_f -> gate_f_LSTM)."""
        return f"{name}_{self.shown_cell}" if name in PER_CELL and self.shown_cell else name

    def figure(self, name: str) -> Figure:
        cell = self.shown_cell
        base, _, suffix = name.rpartition("_")
        if suffix in CELLS and base in PER_CELL:
            name, cell = base, suffix
        if name in STATE_FIGURES:
            return figs.state_figure(self, name[-1], cell)
        builders = {"gradient_flow": figs.flow_figure, "jacobian": figs.jacobian_figure, "loss": figs.loss_figure,
                    "weights": figs.weights_figure}
        if name == "gradient_heatmap":
            return figs.heatmap_figure(self, cell)
        if name not in builders:
            raise KeyError(f"no figure named {name}; this state has: {', '.join(self.figure_names)}")
        return builders[name](self)
