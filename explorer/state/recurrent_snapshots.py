"""How the Recurrent tab reads a snapshot of either job per cell (the side-by-side job's arrays carry the cell on
their first axis; the single-cell job's do not). No Qt, no torch."""
from __future__ import annotations

from typing import Any

import numpy as np

CELLS = ("RNN", "GRU", "LSTM")
GATE_NAMES = {"RNN": (), "GRU": ("z", "r"), "LSTM": ("f", "i", "o")}


def config_cells(cfg: Any) -> tuple[str, ...]:
    """The cells a config trains: the side-by-side config's ticked ones, or the single-cell config's cell."""
    if cfg is None:
        return ()
    if hasattr(cfg, "cells"):
        return tuple(cfg.cells())
    return (cfg.cell,) if getattr(cfg, "cell", None) in CELLS else ()


def cell_keys(cell: str) -> tuple[str, ...]:
    """The states and gates a cell has: h for all, c and f, i, o for the LSTM, z and r for the GRU."""
    return ("h",) + (("c",) if cell == "LSTM" else ()) + GATE_NAMES.get(cell, ())


class CellFlow:
    """One cell's gradient flow: ‖∂L/∂h(t)‖ (L,), the step Jacobians' top singular values (L, k), σ_max(W_hh)."""

    def __init__(self, grad_norms: Any, jac_sv: Any, w_sv_max: float) -> None:
        self.grad_norms = np.asarray(grad_norms, dtype=np.float64).ravel()
        sv = np.asarray(jac_sv, dtype=np.float64)
        self.sigma = sv.reshape(sv.shape[0], -1)[:, 0] if sv.size else np.empty(0)
        self.w_sv_max = float(w_sv_max)


class SnapshotCells:
    """A snapshot of either job read per cell: cells, and each cell's arrays by index."""

    def __init__(self, snap: Any) -> None:
        self.snap = snap
        self.multi = hasattr(snap, "cells")
        self.cells: tuple[str, ...] = tuple(snap.cells) if self.multi else (snap.cell,)

    def _of(self, name: str, c: int) -> Any:
        value = getattr(self.snap, name)
        return value[c] if self.multi else value

    def flow(self, c: int) -> CellFlow:
        return CellFlow(self._of("grad_norms", c), self._of("jac_sv", c), float(self._of("w_sv_max", c)))

    def accuracy(self, c: int) -> float:
        return float(self._of("accuracy", c))

    def diverged(self, c: int) -> str:
        return self.snap.diverged[c] if self.multi else ""

    def params(self, c: int) -> np.ndarray:
        return np.asarray(self.snap.cell_params(c) if self.multi else self.snap.param_vector)

    def states(self, c: int) -> dict[str, np.ndarray]:
        """{key: (L, H)} for h, the cell state c (LSTM) and every gate of cell c."""
        out = {"h": np.asarray(self._of("hidden_states", c), dtype=np.float32)}
        names = self._of("gate_names", c)
        names = [n for n in names.split(",") if n] if isinstance(names, str) else list(names)
        gates = np.asarray(self._of("gates", c), dtype=np.float32)
        for g, name in enumerate(names):
            out[name] = gates[g]
        cell_state = np.asarray(self._of("cell_state", c), dtype=np.float32)
        if cell_state.shape[0] == out["h"].shape[0] and np.isfinite(cell_state).all():
            out["c"] = cell_state
        return out
