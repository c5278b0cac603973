"""ParamForm driven as a user would: type, see the red border and the message, fix it."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QSpinBox

from explorer.training.params import param
from explorer.ui.widgets.param_form import ParamForm, format_float, log_step


@dataclass
class Example:
    window: int = param(5, label="Window", min=1, max=20, unit="tokens", help="Words on each side")
    max_len: int = param(64, label="Max length", min=2, max=512)
    lr: float = param(0.025, label="Learning rate", min=1e-6, max=1.0, log=True, live=True)
    method: str = param("negative sampling", label="Method", choices=("negative sampling", "full softmax"))
    tie: bool = param(False, label="Tie embeddings")
    dilations: tuple[int, ...] = param((1, 2, 4, 8), label="Dilations", min=1)
    threshold: float = param(1e-5, label="Subsample threshold", min=0.0, max=1.0, log=True)
    name: str = "run"  # no metadata: kept, not shown

    def check(self) -> dict[str, str]:
        return {"window": "Window must be smaller than max length"} if self.window >= self.max_len else {}


@pytest.fixture
def form(qtbot):
    f = ParamForm(Example)
    qtbot.addWidget(f)
    return f


def retype(qtbot, widget, text: str) -> None:
    """Clear a line edit (or spin box) and type `text` into it key by key."""
    edit = widget.lineEdit() if isinstance(widget, QSpinBox) else widget
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Backspace)
    qtbot.keyClicks(edit, text)


def error_text(form: ParamForm) -> str:
    label = form.findChild(QLabel, "paramFormErrors")
    return "" if label.isHidden() else label.text()


def test_defaults_appear_in_the_widgets(form):
    assert isinstance(form.widget_for("window"), QSpinBox) and form.widget_for("window").value() == 5
    assert isinstance(form.widget_for("lr"), QLineEdit) and form.widget_for("lr").text() == "0.025"
    assert form.widget_for("threshold").text() == "1e-5"
    assert isinstance(form.widget_for("method"), QComboBox)
    assert form.widget_for("method").currentText() == "negative sampling"
    assert isinstance(form.widget_for("tie"), QCheckBox) and not form.widget_for("tie").isChecked()
    assert form.widget_for("dilations").text() == "1, 2, 4, 8"
    layout = form.findChild(QFormLayout)
    assert layout.rowCount() == 7  # `name` has no metadata
    label = layout.labelForField(form.widget_for("window"))
    assert label.text() == "Window (tokens)" and "Words on each side" in label.toolTip()
    assert form.is_valid() and form.errors() == {} and error_text(form) == ""
    assert form.value() == Example()
    with pytest.raises(KeyError):
        form.widget_for("name")


def test_fields_without_metadata_are_kept_from_initial(qtbot):
    form = ParamForm(Example, initial=Example(name="mine", lr=0.5))
    qtbot.addWidget(form)
    assert form.widget_for("lr").text() == "0.5"
    retype(qtbot, form.widget_for("lr"), "0.1")
    assert form.value() == Example(name="mine", lr=0.1)


def test_typing_a_valid_float_updates_the_value(qtbot, form):
    seen = []
    form.valueChanged.connect(seen.append)
    retype(qtbot, form.widget_for("threshold"), "2.5e-4")
    assert form.value().threshold == 2.5e-4
    assert seen[-1].threshold == 2.5e-4
    retype(qtbot, form.widget_for("threshold"), "1E-3")
    assert form.value().threshold == 1e-3


def test_text_that_is_not_a_number_is_refused_and_fixable(qtbot, form):
    lr = form.widget_for("lr")
    with qtbot.waitSignal(form.validityChanged, timeout=1000) as blocker:
        retype(qtbot, lr, "0.0.1")
    assert blocker.args == [False]
    assert not form.is_valid()
    assert form.errors() == {"lr": "Learning rate: '0.0.1' is not a number"}
    assert lr.property("invalid") is True
    assert error_text(form) == "Learning rate: '0.0.1' is not a number"
    with pytest.raises(ValueError, match="is not a number"):
        form.value()
    assert form.last_valid_value().lr == 0.025  # the last good config is not lost

    retype(qtbot, lr, "abc")
    assert "'abc' is not a number" in error_text(form)

    with qtbot.waitSignal(form.validityChanged, timeout=1000) as blocker:
        retype(qtbot, lr, "0.01")
    assert blocker.args == [True]
    assert form.is_valid() and lr.property("invalid") is False and error_text(form) == ""
    assert form.value().lr == 0.01


def test_out_of_range_float_shows_the_limit(qtbot, form):
    retype(qtbot, form.widget_for("lr"), "1e-9")
    assert form.errors() == {"lr": "Learning rate must be at least 1e-06"}
    assert error_text(form) == "Learning rate must be at least 1e-06"
    retype(qtbot, form.widget_for("lr"), "nan")
    assert form.errors()["lr"] == "Learning rate must be a finite number"
    retype(qtbot, form.widget_for("lr"), "")
    assert form.errors()["lr"] == "Learning rate: enter a number"


def test_int_spin_box_clamps(qtbot, form):
    window = form.widget_for("window")
    assert (window.minimum(), window.maximum()) == (1, 20)
    window.setValue(999)
    assert window.value() == 20
    retype(qtbot, window, "500")  # the spin box refuses keystrokes past its maximum
    assert window.value() <= 20 and form.value().window == window.value()
    retype(qtbot, window, "7")
    assert form.value().window == 7


def test_choices_and_bool(qtbot, form):
    method = form.widget_for("method")
    assert [method.itemText(i) for i in range(method.count())] == ["negative sampling", "full softmax"]
    qtbot.keyClick(method, Qt.Key.Key_Down)
    assert form.value().method == "full softmax"
    qtbot.keyClick(form.widget_for("tie"), Qt.Key.Key_Space)
    assert form.value().tie is True


def test_tuple_field_parses_ints_and_rejects_others(qtbot, form):
    dil = form.widget_for("dilations")
    retype(qtbot, dil, "1, 2, 4")
    assert form.value().dilations == (1, 2, 4)
    retype(qtbot, dil, "1 3  9")
    assert form.value().dilations == (1, 3, 9)
    retype(qtbot, dil, "1, x")
    assert form.errors() == {"dilations": "Dilations: 'x' is not a whole number"}
    assert dil.property("invalid") is True
    retype(qtbot, dil, "0, 1")
    assert form.errors() == {"dilations": "Dilations must be at least 1"}
    retype(qtbot, dil, "2,4")
    assert form.is_valid() and form.value().dilations == (2, 4)


def test_cross_field_rule_shows_its_message(qtbot, form):
    validity = []
    form.validityChanged.connect(validity.append)
    retype(qtbot, form.widget_for("max_len"), "10")
    retype(qtbot, form.widget_for("window"), "12")
    assert form.errors() == {"window": "Window must be smaller than max length"}
    assert form.widget_for("window").property("invalid") is True
    assert error_text(form) == "Window must be smaller than max length"
    assert validity == [False]
    with pytest.raises(ValueError, match="smaller than max length"):
        form.value()
    retype(qtbot, form.widget_for("max_len"), "64")
    assert form.is_valid() and validity == [False, True]
    assert form.value().window == 12


def test_running_disables_all_but_live_fields(form):
    form.set_running(True)
    assert form.widget_for("lr").isEnabled()
    for name in ("window", "max_len", "method", "tie", "dilations", "threshold"):
        assert not form.widget_for(name).isEnabled(), name
    form.set_running(False)
    assert all(form.widget_for(n).isEnabled() for n in ("window", "method", "dilations"))


def test_editing_the_live_field_emits_its_parsed_value(qtbot, form):
    live = []
    form.liveValueChanged.connect(lambda name, value: live.append((name, value)))
    form.set_running(True)
    retype(qtbot, form.widget_for("lr"), "0.5")
    assert live[-1] == ("lr", 0.5)
    assert all(v == 0.5 for _, v in live)  # never an invalid intermediate ("0", "0.")
    form.set_running(False)
    count = len(live)
    retype(qtbot, form.widget_for("threshold"), "0.001")
    assert len(live) == count  # not a live field


def test_up_and_down_step_a_log_field_along_1_2_5(qtbot, form):
    lr = form.widget_for("lr")
    qtbot.keyClick(lr, Qt.Key.Key_Up)
    assert lr.text() == "0.05" and form.value().lr == 0.05
    qtbot.keyClick(lr, Qt.Key.Key_Down)
    assert form.value().lr == 0.02
    qtbot.keyClick(lr, Qt.Key.Key_Down)
    assert form.value().lr == 0.01
    form.widget_for("lr").setText("1")
    qtbot.keyClick(lr, Qt.Key.Key_Up)  # would pass the maximum: stays
    assert form.value().lr == 1.0
    assert log_step(1e-3, up=False) == 5e-4 and log_step(2e-4, up=True) == 5e-4


def test_set_value_round_trips(qtbot, form):
    cfg = Example(window=3, max_len=100, lr=1e-3, method="full softmax", tie=True,
                  dilations=(1, 3, 9), threshold=2.5e-4, name="x")
    form.set_value(cfg)
    assert form.value() == cfg
    assert form.widget_for("lr").text() == "0.001" and form.widget_for("threshold").text() == "0.00025"
    assert form.widget_for("method").currentText() == "full softmax" and form.widget_for("tie").isChecked()
    form.set_value(Example(lr=0.0))
    assert not form.is_valid() and "at least 1e-06" in error_text(form)
    form.set_value(Example())
    assert form.is_valid() and form.widget_for("lr").property("invalid") is False


def test_hidden_fields_keep_their_values(qtbot, form):
    form.set_hidden_fields({"tie"})
    assert form.widget_for("tie").isHidden() and not form.widget_for("lr").isHidden()
    form.set_hidden_fields([])
    assert not form.widget_for("tie").isHidden()
    assert form.value().tie is False


def test_invalid_field_is_drawn_with_a_red_border(qtbot, form):
    form.resize(420, form.sizeHint().height())
    lr = form.widget_for("lr")

    def reddish(widget) -> int:
        img = widget.grab().toImage()
        return sum(
            1
            for x in range(img.width())
            for y in range(img.height())
            if (c := img.pixelColor(x, y)).red() > 150 and c.green() < 90 and c.blue() < 90
        )

    assert reddish(lr) == 0
    retype(qtbot, lr, "abc")
    assert reddish(lr) > 2 * lr.width()


def test_format_float_is_short_and_exact():
    for x in (0.025, 1e-5, 2.5e-4, 1.0, 3e16, 0.1 + 0.2):
        assert float(format_float(x)) == x
    assert format_float(1e-5) == "1e-5" and format_float(0.025) == "0.025"


def test_error_colour_follows_a_dark_palette(qtbot, form):
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    old = app.palette()
    dark = QPalette(old)
    dark.setColor(QPalette.ColorRole.Window, QColor("#353535"))
    try:
        app.setPalette(dark)
        qtbot.waitUntil(lambda: "#ff6b6b" in form.styleSheet(), timeout=1000)  # lighter red on a dark window
    finally:
        app.setPalette(old)
    qtbot.waitUntil(lambda: "#c62828" in form.styleSheet(), timeout=1000)


def test_switching_to_the_dark_theme_darkens_the_forms_fields(qtbot, qapp, light_theme_afterwards):
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from explorer.training.jobs.conv_job import ConvConfig
    from explorer.ui import theme

    theme.apply_theme(qapp, "light")
    window = QWidget()
    form = ParamForm(ConvConfig)
    QVBoxLayout(window).addWidget(form)
    qtbot.addWidget(window)
    window.show()
    qapp.processEvents()
    field = form.widget_for("lr")
    image = field.grab().toImage()
    assert image.pixelColor(image.width() // 2, image.height() - 4).lightness() > 200  # a white field
    theme.apply_theme(qapp, "dark")
    qapp.processEvents()
    image = field.grab().toImage()
    assert field.palette().color(QPalette.ColorRole.Base).lightness() < 60
    assert image.pixelColor(image.width() // 2, image.height() - 4).lightness() < 80  # drawn dark, not white
