"""A form bound to a config dataclass: one row per `param` field, validated as the user types."""
from __future__ import annotations

import dataclasses
import math
import re
import typing
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QStyle,
    QStyleOptionButton,
    QVBoxLayout,
    QWidget,
)

from explorer.training.params import check_field, param_meta, validate_config
from explorer.ui import theme

_WIDE_INT = 1_000_000_000  # range of an int field without min/max
_INT32 = 2**31 - 1  # what a QSpinBox can hold


def format_float(x: float) -> str:
    """The shortest text that reads back as `x`, with a compact exponent: 0.025, 1e-5, 0.00025."""
    text = repr(float(x))
    return re.sub(r"e([+-])0*(\d)", lambda m: "e" + ("-" if m.group(1) == "-" else "") + m.group(2), text)


def log_step(x: float, up: bool) -> float:
    """The next value of the 1-2-5 ladder above (or below) a positive `x`."""
    exp = math.floor(math.log10(x))
    mant = x / 10.0**exp
    if up:
        nxt = min(m for m in (1.0, 2.0, 5.0, 10.0) if m > mant * (1 + 1e-9))
    else:
        nxt = max(m for m in (0.5, 1.0, 2.0, 5.0) if m < mant * (1 - 1e-9))
    return float(f"{nxt * 10.0**exp:.6g}")


def _kind(tp: Any, meta: dict) -> str:
    """Which editor a field of type `tp` gets."""
    if meta.get("choices") is not None:
        return "choice"
    if tp in (bool, int, float, str):
        return tp.__name__
    if typing.get_origin(tp) is tuple and typing.get_args(tp) == (int, Ellipsis):
        return "ints"
    raise TypeError(f"ParamForm cannot edit a field of type {tp!r}")


class _FloatEdit(QLineEdit):
    """A line edit for a float; Up/Down step along 1-2-5 when the field is logarithmic."""

    def __init__(self, field: dataclasses.Field, log: bool) -> None:
        super().__init__()
        self._field, self._log = field, log

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self._log and event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
            try:
                x = float(self.text())
            except ValueError:
                x = 0.0
            if x > 0 and math.isfinite(x):
                new = log_step(x, event.key() == Qt.Key.Key_Up)
                if check_field(self._field, new) is None:
                    self.setText(format_float(new))
            event.accept()
            return
        super().keyPressEvent(event)


class _RedOutline(QWidget):
    """A red outline painted over an invalid editor; unlike a style sheet it keeps spin and combo arrows native."""

    def __init__(self, target: QWidget) -> None:
        super().__init__(target)
        self.color = QColor("#c62828")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide()
        target.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            rect = obj.rect()
            if isinstance(obj, QCheckBox):  # around the box, not the empty space beside it
                opt = QStyleOptionButton()
                obj.initStyleOption(opt)
                box = obj.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, opt, obj)
                rect = box.adjusted(-2, -2, 2, 2).intersected(rect)
            self.setGeometry(rect)
        return False

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(self.color, 1.5))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.75, 0.75, -0.75, -0.75), 3, 3)


@dataclasses.dataclass
class _Row:
    field: dataclasses.Field
    kind: str
    label: QLabel
    widget: QWidget
    outline: _RedOutline


class ParamForm(QWidget):
    """Edits one config dataclass: a row per `param` field, errors shown and refused as the user types."""

    validityChanged = Signal(bool)
    valueChanged = Signal(object)
    liveValueChanged = Signal(str, object)

    def __init__(self, config_cls: type, initial: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.config_cls = config_cls
        self._base = initial if initial is not None else config_cls()
        self._rows: dict[str, _Row] = {}
        self._driven: set[str] | None = None  # rows hidden by every set_hidden_fields: another widget sets them
        self._loading = False
        self._style_sheet = ""
        hints = typing.get_type_hints(config_cls)
        self._form = QFormLayout()
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for f in dataclasses.fields(config_cls):
            meta = param_meta(f)
            if meta is None:
                continue
            row = self._make_row(f, _kind(hints[f.name], meta), meta)
            self._rows[f.name] = row
            self._form.addRow(row.label, row.widget)
        self._error_label = QLabel(objectName="paramFormErrors", wordWrap=True)
        self._error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addLayout(self._form)
        outer.addWidget(self._error_label)
        self._apply_style()
        theme.register_themed(self)
        self._errors: dict[str, str] = {}
        self._config: Any = None
        self._last_valid: Any = None
        self.set_value(self._base)

    def _make_row(self, f: dataclasses.Field, kind: str, meta: dict) -> _Row:
        text = meta["label"] + (f" ({meta['unit']})" if meta.get("unit") else "")
        lo, hi = meta.get("min"), meta.get("max")
        rng = (f"from {lo:g} to {hi:g}" if lo is not None and hi is not None else f"at least {lo:g}" if lo is not None
               else f"at most {hi:g}" if hi is not None else "")
        tip = "\n".join(t for t in (meta.get("help") or "", f"({rng})" if rng else "") if t)
        edited = lambda *_: self._on_edit(f.name)  # noqa: E731
        if kind == "choice":
            w: QWidget = QComboBox()
            w.addItems([str(c) for c in meta["choices"]])
            w.currentIndexChanged.connect(edited)
        elif kind == "bool":
            w = QCheckBox()
            w.toggled.connect(edited)
        elif kind == "int":
            w = QSpinBox()
            w.setRange(max(-_INT32, math.ceil(lo)) if lo is not None else -_WIDE_INT,
                       min(_INT32, math.floor(hi)) if hi is not None else _WIDE_INT)
            if meta.get("log"):
                w.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
            w.valueChanged.connect(edited)
        else:
            w = _FloatEdit(f, bool(meta.get("log"))) if kind == "float" else QLineEdit()
            w.setPlaceholderText({"float": "e.g. 0.025 or 1e-3", "ints": "e.g. 1, 2, 4, 8"}.get(kind, ""))
            w.textChanged.connect(edited)
        label = QLabel(text)
        label.setBuddy(w)
        w.setObjectName(f"param_{f.name}")
        for x in (label, w):
            x.setToolTip(tip)
            x.setProperty("invalid", False)
        return _Row(f, kind, label, w, _RedOutline(w))

    def _read(self, row: _Row) -> tuple[Any, str | None]:
        """The value in a row's widget and, when it is not valid, why."""
        w, label = row.widget, (param_meta(row.field) or {}).get("label", row.field.name)
        if row.kind == "choice":
            i = w.currentIndex()
            return (param_meta(row.field)["choices"][i], None) if i >= 0 else (None, f"{label}: choose a value")
        if row.kind == "bool":
            return w.isChecked(), None
        if row.kind == "int":
            value = w.value()
            return value, check_field(row.field, value)
        if row.kind == "str":
            return w.text(), check_field(row.field, w.text())
        text = w.text().strip()
        if not text and row.kind != "float":
            return (), None  # an empty list is a value; the config's check() says when one is needed
        if not text:
            return None, f"{label}: enter a number"
        if row.kind == "float":
            try:
                value = float(text)
            except ValueError:
                return None, f"{label}: '{text}' is not a number"
            return value, check_field(row.field, value)
        parts = [p for p in re.split(r"[,\s]+", text) if p]
        bad = [p for p in parts if not re.fullmatch(r"[+-]?\d+", p)]
        if bad:
            return None, f"{label}: '{bad[0]}' is not a whole number"
        value = tuple(int(p) for p in parts)
        return value, next((m for m in (check_field(row.field, v) for v in value) if m), None)

    def _write(self, row: _Row, value: Any) -> None:
        w = row.widget
        if row.kind == "choice":
            choices = param_meta(row.field)["choices"]
            w.setCurrentIndex(choices.index(value) if value in choices else -1)
        elif row.kind == "bool":
            w.setChecked(bool(value))
        elif row.kind == "int":
            w.setValue(int(value))
        elif row.kind == "float":
            w.setText(format_float(value))
        elif row.kind == "ints":
            w.setText(", ".join(str(v) for v in value))
        else:
            w.setText(str(value))

    def _revalidate(self) -> None:
        """Parse every widget, check fields and cross-field rules, mark invalid widgets, update the message."""
        was_valid = self._config is not None
        errors: dict[str, str] = {}
        values: dict[str, Any] = {}
        for name, row in self._rows.items():
            value, message = self._read(row)
            if message:
                errors[name] = message
            else:
                values[name] = value
        config = None
        if not errors:
            try:
                config = dataclasses.replace(self._base, **values)
                errors = validate_config(config)
            except (TypeError, ValueError) as exc:  # a __post_init__ that refuses the combination
                errors = {"": str(exc)}
            if errors:
                config = None
        self._errors, self._config = errors, config
        for name, row in self._rows.items():
            self._mark(row, name in errors)
        self._error_label.setText("\n".join(errors.values()))
        self._error_label.setVisible(bool(errors))
        if was_valid != (config is not None):
            self.validityChanged.emit(config is not None)

    @staticmethod
    def _mark(row: _Row, invalid: bool) -> None:
        """Outline the editor and colour its label (dynamic property `invalid`, for style sheets too)."""
        if bool(row.widget.property("invalid")) == invalid:
            return
        for w in (row.label, row.widget):
            w.setProperty("invalid", invalid)
            w.style().unpolish(w)
            w.style().polish(w)
        row.outline.setVisible(invalid)
        row.outline.raise_()

    def _on_edit(self, name: str) -> None:
        if self._loading:
            return
        self._revalidate()
        config, old = self._config, self._last_valid
        if config is None or config == old:
            return
        self._last_valid = config
        self.valueChanged.emit(config)
        for fname, row in self._rows.items():
            if (param_meta(row.field) or {}).get("live") and getattr(config, fname) != getattr(old, fname, None):
                self.liveValueChanged.emit(fname, getattr(config, fname))

    def apply_style(self, _style: object = None) -> None:
        """A theme switch: set the sheet again, so that the fields under it take the new palette (a widget under
        a style sheet keeps the palette it was polished with, and stayed light in the dark theme)."""
        self._style_sheet = ""
        self.setStyleSheet("")
        self._apply_style()

    def _apply_style(self) -> None:
        """Red outlines, labels and message in a shade readable on the current (light or dark) palette."""
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        red = "#ff6b6b" if dark else "#c62828"
        sheet = f'QLabel#paramFormErrors, QLabel[invalid="true"] {{ color: {red}; }}'
        for row in self._rows.values():
            row.outline.color = QColor(red)
            row.outline.update()
        if sheet != self._style_sheet:
            self._style_sheet = sheet
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_style()
        super().changeEvent(event)

    def value(self) -> Any:
        """The config the form holds; raises ValueError with the messages when a field is invalid."""
        if self._config is None:
            raise ValueError("\n".join(self._errors.values()))
        return dataclasses.replace(self._config)

    def last_valid_value(self) -> Any:
        """The most recent valid config (kept while the user is mid-edit on an invalid one)."""
        return dataclasses.replace(self._last_valid) if self._last_valid is not None else None

    def is_valid(self) -> bool:
        """Whether every field and cross-field rule is satisfied."""
        return self._config is not None

    def errors(self) -> dict[str, str]:
        """Field name -> message for every problem ('' for a cross-field rule not tied to a field)."""
        return dict(self._errors)

    def set_value(self, config: Any) -> None:
        """Show `config` in every widget; fields without metadata are kept from it. Emits no valueChanged."""
        self._base = config
        self._loading = True
        try:
            for name, row in self._rows.items():
                self._write(row, getattr(config, name))
        finally:
            self._loading = False
        self._revalidate()
        if self._config is not None:
            self._last_valid = self._config

    def set_fields(self, **values: Any) -> None:
        """Set fields that the user edits elsewhere (plain fields, hidden rows) and revalidate, keeping what is
        typed in the visible rows; emits valueChanged when the result is valid and new."""
        plain = {k: v for k, v in values.items() if k not in self._rows}
        if plain:
            self._base = dataclasses.replace(self._base, **plain)
        self._loading = True
        try:
            for name, value in values.items():
                if name in self._rows:
                    self._write(self._rows[name], value)
        finally:
            self._loading = False
        self._on_edit("")

    def widget_for(self, name: str) -> QWidget:
        """The editor of field `name`."""
        return self._rows[name].widget

    def set_running(self, running: bool) -> None:
        """While a job runs, only `live` fields stay editable."""
        for row in self._rows.values():
            enabled = not running or bool((param_meta(row.field) or {}).get("live"))
            row.widget.setEnabled(enabled)
            row.label.setEnabled(enabled)

    def set_hidden_fields(self, names: Iterable[str]) -> None:
        """Hide the rows of `names` (fields that do not apply now); show all others. Values are kept."""
        hidden = set(names)
        self._driven = hidden if self._driven is None else self._driven & hidden
        for name, row in self._rows.items():
            self._form.setRowVisible(row.widget, name not in hidden)

    def remembered_fields(self) -> list[str]:
        """The rows the user edits here, in order (a row hidden by every set_hidden_fields is set elsewhere)."""
        return [name for name in self._rows if name not in (self._driven or ())]

    def field_editor(self, name: str) -> tuple[dataclasses.Field, str, QWidget]:
        """The field of row `name`, its kind of editor (choice, bool, int, float, str, ints) and the editor."""
        return self._rows[name].field, self._rows[name].kind, self._rows[name].widget

    def typed_values(self) -> dict[str, Any]:
        """Field -> value of every row whose widget holds a valid value now (even while another row does not)."""
        return {name: v for name, row in self._rows.items() for v, msg in [self._read(row)] if msg is None}

    def problems_with(self, values: dict[str, Any]) -> set[tuple[str, str]]:
        """The (field, message) problems the form would have with `values` in place of what its rows hold."""
        merged = {**self.typed_values(), **values}
        problems = {(n, self._read(r)[1]) for n, r in self._rows.items() if n not in merged}
        try:
            return problems or set(validate_config(dataclasses.replace(self._base, **merged)).items())
        except (TypeError, ValueError) as exc:
            return {("", str(exc))}
