"""The layers of a GPT drawn as a stack, bottom to top, with a checkbox on each lower layer.

Clicking a layer's checkbox chooses N, the number of lower layers that the "copy lower N" way takes from the
pre-trained model and the "lower N frozen" way keeps fixed: checking a layer checks every layer below it,
unchecking one unchecks every layer above it, so the checked layers are always the lowest N.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QFrame, QLabel, QVBoxLayout, QWidget


class LayerDiagram(QWidget):
    """A vertical stack of layer boxes; `lowerChanged(N)` when the user changes how many lower layers are chosen."""

    lowerChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._lay = QVBoxLayout(self)
        self._lay.setContentsMargins(0, 0, 0, 0)
        self._lay.setSpacing(3)
        self.boxes: list[QCheckBox] = []  # bottom-up: embedding, block 1, ..., block L
        self._top: QLabel | None = None
        self._lower = 0
        self._updating = False

    @property
    def lower(self) -> int:
        return self._lower

    def set_groups(self, groups: list[str], lower: int | None = None, top_note: str = "new for the task") -> None:
        """Draw `groups` (bottom-up, the last is the output head, which is never copied or frozen)."""
        while self._lay.count():
            item = self._lay.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.boxes = []
        *lower_groups, top = groups
        self._top = QLabel(f"{top}  ({top_note})")
        self._top.setFrameShape(QFrame.Shape.StyledPanel)
        self._top.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._top.setMinimumHeight(24)
        widgets = []
        for i, name in enumerate(lower_groups):
            box = QCheckBox(name)
            box.setToolTip(f"Copy/freeze the layers up to {name}: checks every layer below it")
            box.toggled.connect(lambda on, i=i: self._toggled(i, on))
            self.boxes.append(box)
            widgets.append(box)
        self._lay.addWidget(self._top)
        for box in reversed(widgets):  # the top of the model at the top of the drawing
            frame = QFrame()
            frame.setFrameShape(QFrame.Shape.StyledPanel)
            inner = QVBoxLayout(frame)
            inner.setContentsMargins(8, 2, 8, 2)
            inner.addWidget(box)
            self._lay.addWidget(frame)
        self.set_lower(self._lower if lower is None else lower, emit=False)

    def set_lower(self, n: int, emit: bool = True) -> None:
        """Check the lowest `n` layers (clamped to what the model has)."""
        n = max(0, min(int(n), len(self.boxes)))
        self._updating = True
        for i, box in enumerate(self.boxes):
            box.setChecked(i < n)
            box.setStyleSheet("QCheckBox { font-weight: bold; }" if i < n else "")
        self._updating = False
        changed = n != self._lower
        self._lower = n
        if changed and emit:
            self.lowerChanged.emit(n)

    def _toggled(self, index: int, on: bool) -> None:
        if self._updating:
            return
        self.set_lower(index + 1 if on else index)
