"""The Recurrent tab's strip of the chosen cell's states and gates over time (figures from `RecurrentState`)."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from ...state.recurrent import STATE_FIGURES, STATE_KEYS, RecurrentState, cell_keys
from ..widgets.plot_panel import PlotPanel

PANEL_MIN_WIDTH, PANEL_MIN_HEIGHT = 220, 200  # px: a heatmap keeps room beside its axes and colour bar (the
# page scrolls on a small screen rather than squeeze it to a sliver)


class StatesStrip(QWidget):
    """One heatmap panel per state or gate (h, c, f, i, o, z, r): the states in a row above, the gates below;
    only those of the chosen cell are visible."""

    def __init__(self, state: RecurrentState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        strip = QVBoxLayout(self)
        strip.setContentsMargins(0, 0, 0, 0)
        strip.setSpacing(2)
        self.label = QLabel(state.states_text())
        self.label.setWordWrap(True)
        strip.addWidget(self.label)
        states, gates = QHBoxLayout(), QHBoxLayout()  # h and c above, the gates below
        strip.addLayout(states, 1)
        strip.addLayout(gates, 1)
        self.panels: dict[str, PlotPanel] = {}
        for key, name in zip(STATE_KEYS, STATE_FIGURES, strict=True):
            panel = PlotPanel(name)
            panel.setVisible(False)
            panel.setMinimumSize(PANEL_MIN_WIDTH, PANEL_MIN_HEIGHT)
            self.panels[key] = panel
            (states if key in "hc" else gates).addWidget(panel)

    def draw(self) -> None:
        """Show the chosen cell's panels with the state's figures; hide the others."""
        st = self.state
        cell = st.shown_cell
        keys = cell_keys(cell) if cell is not None and st.snapshot is not None else ()
        self.label.setText(st.states_text())
        for key, name in zip(STATE_KEYS, STATE_FIGURES, strict=True):
            panel = self.panels[key]
            panel.setVisible(key in keys)
            if key in keys:
                panel.show_figure(st.figure(name))

    def image(self, key: str) -> np.ndarray | None:
        """The values the panel of `key` shows (time step across), or None."""
        fig = self.panels[key].figure
        return None if fig is None or not fig.heatmaps else fig.heatmaps[0].values
