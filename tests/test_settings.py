"""The app remembers: window size, tab and page, every form's values and the theme come back in a new window;
stored garbage is ignored; View > Reset to defaults puts everything back and forgets the file."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QMessageBox

from explorer.app import create_window
from explorer.training.params import param
from explorer.ui import theme
from explorer.ui.widgets.param_form import ParamForm
from explorer.ui.widgets.param_form_values import default_values, restore_values, stored_values

pytestmark = pytest.mark.usefixtures("light_theme_afterwards")
GPT, RECURRENT = 4, 1


def open_window(qtbot, theme_name=None):
    _, win = create_window("cpu", theme_name, warm=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def stored_keys() -> list[str]:
    return QSettings(os.environ["SME_SETTINGS"], QSettings.Format.IniFormat).allKeys()


def click_tab(qtbot, tabs, index):
    bar = tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    assert tabs.currentIndex() == index


def type_into(qtbot, widget, text):
    """Select what the editor holds and type `text` over it, as a user would."""
    widget.setFocus()
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(widget, text)
    qtbot.keyClick(widget, Qt.Key.Key_Tab)


def test_a_new_window_opens_as_the_last_one_closed(qtbot):
    win = open_window(qtbot)
    win.resize(win.width(), 640)  # the offscreen screen is 800 x 800: only the height fits it (and restores)
    win.move(30, 40)
    click_tab(qtbot, win.tabs, RECURRENT)
    form = win.recurrent.form
    type_into(qtbot, form.widget_for("hidden"), "17")
    type_into(qtbot, form.widget_for("lr"), "0.002")
    box = form.widget_for("with_gru")
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert (form.value().hidden, form.value().lr, form.value().with_gru) == (17, 0.002, False)
    emb = win.embeddings
    type_into(qtbot, emb.w2v_form.widget_for("dim"), "24")
    emb.family_box.setCurrentIndex(1)  # co-occurrence + SVD: its own form, remembered apart
    type_into(qtbot, emb.svd_form.widget_for("window"), "3")
    click_tab(qtbot, win.tabs, GPT)
    click_tab(qtbot, win.gpt.pages, 2)
    win.theme_actions["dark"].trigger()
    win.close()

    win = open_window(qtbot)
    assert (win.height(), win.y()) == (640, 40)
    assert win.tabs.currentIndex() == GPT and win.gpt.pages.currentIndex() == 2
    cfg = win.recurrent.form.value()
    assert (cfg.hidden, cfg.lr, cfg.with_gru) == (17, 0.002, False)
    assert win.recurrent.form.widget_for("hidden").text() == "17"  # in the widget, not only the config
    assert win.embeddings.w2v_form.value().dim == 24 and win.embeddings.svd_form.value().window == 3
    assert win.embeddings.family_box.currentIndex() == 1 and win.embeddings.form is win.embeddings.svd_form
    assert theme.current_theme() == "dark" and win.theme_actions["dark"].isChecked()
    win.close()
    win = open_window(qtbot, "light")  # a theme given on the command line wins over the remembered one
    assert theme.current_theme() == "light" and win.theme_actions["light"].isChecked()
    win.close()


def test_only_what_differs_from_the_defaults_is_stored(qtbot):
    win = open_window(qtbot)
    type_into(qtbot, win.embeddings.w2v_form.widget_for("window"), "7")
    win.close()
    settings = QSettings(os.environ["SME_SETTINGS"], QSettings.Format.IniFormat)
    assert json.loads(settings.value("forms/embeddings/Word2VecConfig")) == {"window": 7}
    assert settings.value("forms/embeddings/SvdConfig") is None and settings.value("tabs/embeddings/pages") is None


def test_stored_garbage_is_ignored_and_the_defaults_kept(qtbot):
    raw = QSettings(os.environ["SME_SETTINGS"], QSettings.Format.IniFormat)
    for key, value in {
        "forms/recurrent/RnnCompareConfig": json.dumps({"hidden": "many", "lr": -1, "steps": 10**12,
                                                        "length": 3.5, "with_rnn": 1, "task": "nope",
                                                        "cell": "GRU", "no_such_field": 4, "seed": 7}),
        "forms/embeddings/Word2VecConfig": "{not json",
        "forms/embeddings/SvdConfig": json.dumps([1, 2, 3]),
        "forms/embeddings/GoneConfig": json.dumps({"dim": 5}),
        "forms/no_such_tab/X": json.dumps({"a": 1}),
        "tab": json.dumps("no_such_tab"), "tabs/embeddings/pages": json.dumps(99),
        "tabs/embeddings/family_box": json.dumps("svd"), "theme": json.dumps("purple"),
        "window/geometry": json.dumps("!!not a geometry!!"), "window/state": "5", "window/lessons_dock": "[]",
    }.items():
        raw.setValue(key, value)
    raw.setValue("version", 99)
    raw.sync()
    win = open_window(qtbot)
    assert win.tabs.currentIndex() == 0 and win.embeddings.pages.currentIndex() == 0
    assert win.embeddings.family_box.currentIndex() == 0 and theme.current_theme() == "light"
    assert not win.lessons.dock
    for form in (win.embeddings.w2v_form, win.embeddings.svd_form, win.recurrent.form):
        assert form.is_valid()
    rec = win.recurrent.form
    assert {n: v for n, v in rec.typed_values().items() if n != "seed"} == \
        {n: v for n, v in {**rec.typed_values(), **default_values(rec)}.items() if n != "seed"}
    assert rec.value().seed == 7 and rec.value().cell == "LSTM"  # the one good value; 'cell' is set elsewhere
    for form in (win.embeddings.w2v_form, win.embeddings.svd_form):
        assert form.typed_values() == {**form.typed_values(), **default_values(form)}
    win.close()


def test_values_that_would_break_the_form_together_are_left_out(qtbot):
    raw = QSettings(os.environ["SME_SETTINGS"], QSettings.Format.IniFormat)
    raw.setValue("forms/recurrent/RnnCompareConfig", json.dumps(
        {"with_rnn": False, "with_gru": False, "with_lstm": False, "tbptt": 500, "hidden": 20}))
    raw.setValue("forms/embeddings/EmbeddingCompareConfig", json.dumps({"method_a": "CBOW", "method_b": "skip-gram"}))
    raw.sync()
    win = open_window(qtbot)
    cfg = win.recurrent.form.value()  # valid: no cell-less network, no truncation longer than the sequence
    assert cfg.hidden == 20 and cfg.cells() and cfg.tbptt == 0
    assert (cfg.with_rnn, cfg.with_gru) == (False, False)  # kept in turn while the form stayed valid
    swapped = win.embeddings.compare_form.value()  # a swap is only valid when both move together
    assert (swapped.method_a, swapped.method_b) == ("CBOW", "skip-gram")
    win.close()


def test_reset_to_defaults_restores_everything_and_empties_the_file(qtbot, monkeypatch):
    win = open_window(qtbot)
    default_size = win.size()
    type_into(qtbot, win.embeddings.w2v_form.widget_for("dim"), "24")
    click_tab(qtbot, win.embeddings.pages, 1)
    click_tab(qtbot, win.tabs, RECURRENT)
    type_into(qtbot, win.recurrent.form.widget_for("hidden"), "17")
    win.showMaximized()
    win.theme_actions["dark"].trigger()
    win.close()
    assert stored_keys()

    win = open_window(qtbot)
    assert win.tabs.currentIndex() == RECURRENT and win.recurrent.form.value().hidden == 17 and win.isMaximized()
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.No)
    win.reset_action.trigger()
    assert asked and win.recurrent.form.value().hidden == 17 and stored_keys()  # "No" changes nothing
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert win.reset_action in win.menus["view"].actions()
    win.reset_action.trigger()
    assert stored_keys() == []
    assert win.tabs.currentIndex() == 0 and win.embeddings.pages.currentIndex() == 0
    assert win.recurrent.form.value().hidden == default_values(win.recurrent.form)["hidden"]
    assert win.embeddings.w2v_form.value().dim == default_values(win.embeddings.w2v_form)["dim"]
    assert not win.isMaximized() and win.size() == default_size and theme.current_theme() == "light"
    win.close()

    win = open_window(qtbot)  # and the next start is a first start
    assert win.tabs.currentIndex() == 0 and win.embeddings.w2v_form.value().dim == 50
    win.close()


def test_the_lessons_dock_comes_back_where_it_was(qtbot):
    win = open_window(qtbot)
    dock = win.lessons.show_dock()
    dock.setFloating(False)
    win.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    win.close()
    win = open_window(qtbot)
    qtbot.waitUntil(lambda: win.lessons.dock is not None and win.lessons.dock.isVisible(), timeout=10000)
    assert win.dockWidgetArea(win.lessons.dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    win.close()


@dataclass
class Knobs:
    window: int = param(5, label="Window", min=1, max=20)
    max_len: int = param(64, label="Max length", min=2, max=512)
    lr: float = param(0.025, label="Learning rate", min=1e-6, max=1.0, log=True)
    method: str = param("negative sampling", label="Method", choices=("negative sampling", "full softmax"))
    heads: int = param(2, label="Heads", choices=(1, 2, 4))
    tie: bool = param(False, label="Tie embeddings")
    dilations: tuple[int, ...] = param((1, 2, 4), label="Dilations", min=1, max=64)
    title: str = param("run", label="Title")
    corpus: str = param("builtin:austen", label="Corpus")  # set by another widget (hidden): never remembered

    def check(self) -> dict[str, str]:
        return {"window": "Window must be smaller than max length"} if self.window >= self.max_len else {}


GOOD = {"window": 7, "max_len": 100, "lr": 0.5, "method": "full softmax", "heads": 4, "tie": True,
        "dilations": [1, 3], "title": "mine"}
json_values = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                                      max_size=3), max_leaves=6)


def knobs_form() -> ParamForm:
    form = ParamForm(Knobs)
    form.set_hidden_fields(["corpus"])
    return form


def test_a_form_stores_what_differs_and_takes_it_back_exactly(qapp):
    form = knobs_form()
    assert stored_values(form) == {}
    restored = restore_values(form, json.loads(json.dumps({**GOOD, "corpus": "mine.txt"})))
    assert sorted(restored) == sorted(GOOD) and form.is_valid() and form.value().corpus == "builtin:austen"
    assert stored_values(form) == GOOD and form.value().dilations == (1, 3)
    fresh = knobs_form()
    restore_values(fresh, json.loads(json.dumps(stored_values(form))))
    assert fresh.value() == form.value()


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from([*GOOD, "corpus", "gone"]) | st.text(max_size=5), json_values, max_size=8)
       | json_values)
def test_any_stored_json_leaves_a_valid_form_of_defaults_and_fitting_values(qapp, stored):
    form = knobs_form()
    restored = restore_values(form, stored)
    assert form.is_valid()
    values, defaults = form.value(), Knobs()
    for name in GOOD:
        got = getattr(values, name)
        if name in restored:
            want = stored[name]
            assert got == (tuple(want) if name == "dilations" else want) and type(got) is type(getattr(defaults, name))
        else:
            assert got == getattr(defaults, name)
    assert values.corpus == defaults.corpus


def other_value(form: ParamForm, name: str):
    """A value of field `name` other than the one the form holds, within its range (None when there is none)."""
    field, kind, widget = form.field_editor(name)
    now = form.typed_values().get(name)
    meta = field.metadata["param"]
    if kind == "choice":
        return next((c for c in meta["choices"] if c != now), None)
    if kind == "bool":
        return not now
    if kind == "int":
        return now + 1 if now + 1 <= widget.maximum() else now - 1
    if kind == "float":
        for x in (now * 2, now / 2, (meta["min"] or 0) + 1):
            if x != now and (meta["min"] is None or x >= meta["min"]) and (meta["max"] is None or x <= meta["max"]):
                return x
    return None


def test_every_form_and_page_of_every_tab_comes_back(qtbot):
    from explorer.ui.main_window import TAB_NAMES

    win = open_window(qtbot)
    tabs = [win._tab(name) for name in TAB_NAMES]
    for tab in tabs:
        for form in tab.findChildren(ParamForm):
            changes = {n: v for n in form.remembered_fields() if (v := other_value(form, n)) is not None}
            assert restore_values(form, changes), f"nothing of {form.config_cls.__name__} could change"
        pages = getattr(tab, "pages", None)
        if pages is not None:
            pages.setCurrentIndex(pages.count() - 1)
    before = [[f.typed_values() for f in tab.findChildren(ParamForm)] for tab in tabs]
    pages = [getattr(tab, "pages", None) and tab.pages.currentIndex() for tab in tabs]
    win.close()
    win = open_window(qtbot)
    tabs = [win._tab(name) for name in TAB_NAMES]
    assert [[f.typed_values() for f in tab.findChildren(ParamForm)] for tab in tabs] == before
    assert [getattr(tab, "pages", None) and tab.pages.currentIndex() for tab in tabs] == pages
    win.close()
