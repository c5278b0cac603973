"""The Recurrent tab as a user drives it: cells side by side, the weight-scale slider, an exploding run."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from explorer.training.jobs.rnn_compare_job import RnnCompareConfig

SMALL = dict(task="copy", hidden=16, length=8, batch_size=16, steps=40, lr=1e-2)


@pytest.fixture
def tab(qtbot):
    """The tab on its own, on the CPU, shown; its job runner and background tasks are stopped afterwards."""
    from explorer.ui.app_state import AppState
    from explorer.ui.tabs.recurrent import RecurrentTab

    state = AppState("cpu")
    state.set_device("cpu", "CPU (test)")
    tab = RecurrentTab(state)
    qtbot.addWidget(tab)
    tab.resize(1400, 900)
    tab.show()
    qtbot.waitExposed(tab)
    yield tab
    state.runner.shutdown(wait_ms=10000)
    assert tab.tasks.shutdown()


def _series(panel, name):
    """A series of the figure on screen (the state's figure)."""
    fig = panel.figure
    return None if fig is None else next((s for s in fig.series if s.name == name), None)


def _initial_curve(tab, cell):
    return _series(tab.flow_panel, f"{cell} at initialisation (dashed)")


def test_two_cells_train_side_by_side_and_draw_two_gradient_curves(qtbot, tab):
    tab.form.set_value(RnnCompareConfig(with_rnn=True, with_gru=False, with_lstm=True, **SMALL))
    with qtbot.waitSignal(tab.runner.ended, timeout=120000) as ended:
        tab.controls.train_btn.click()
    assert ended.args[0].status == "finished", ended.args[0].message
    qtbot.waitUntil(lambda: tab.flow_panel.figure.caption.startswith("‖∂L/∂h(0)‖"), timeout=10000)
    snap = tab.view_state.snapshot
    for cell in ("RNN", "LSTM"):
        curve = tab.flow_panel.curves[cell]  # drawn from the state's figure
        assert len(curve) == len(snap.input_labels)  # one gradient norm per time step
        assert len(tab.loss_panel.curves[cell]) == 40  # every step's loss, per cell
    assert "GRU" not in tab.flow_panel.curves
    heat = tab.heat_panel.heatmaps["log₁₀ ‖∂L/∂h(t)‖"].image
    assert heat is not None and heat.shape[0] >= 2  # one row per snapshot: it grew while training
    assert tab.heat_panel.canvas.colorbar is not None  # the heatmap says what its colours mean
    # the LSTM's gates are shown for the chosen cell, on their own page
    tab.pages.setCurrentWidget(tab.strip)
    tab.cell_box.setCurrentText("LSTM")
    assert tab.state_panels["f"].isVisible() and tab.state_panels["c"].isVisible()
    tab.cell_box.setCurrentText("RNN")
    assert tab.state_panels["h"].isVisible() and not tab.state_panels["f"].isVisible()
    assert tab.timeline.slider.maximum() >= 1  # recorded, can be replayed


def test_the_scale_slider_switches_the_fresh_network_from_vanishing_to_exploding(qtbot, tab):
    tab.form.set_value(RnnCompareConfig(with_rnn=True, with_gru=False, with_lstm=False, hidden=32, length=40))

    def ratio():
        curve = _initial_curve(tab, "RNN")
        if curve is None or curve.y.size == 0:
            return None
        y = curve.y
        assert np.array_equal(tab.flow_panel.curves[curve.name].y, y, equal_nan=True)  # drawn as the state says
        return y[0] / y[-1] if np.isfinite(y[0]) and np.isfinite(y[-1]) else 0.0

    def measured(scale):  # the panel shows the fresh networks of this scale, and the side panel says so
        return (f"weight scale {scale:g}," in tab.flow_panel.figure.caption and ratio() is not None
                and f"scale {scale:g}" in tab.theory.text() and "measuring" not in tab.theory.text())

    tab.set_weight_scale(0.3)
    qtbot.waitUntil(lambda: measured(0.3), timeout=20000)
    assert tab.form.value().weight_scale == pytest.approx(0.3, rel=0.02)
    small = ratio()
    tab.set_weight_scale(3.0)
    qtbot.waitUntil(lambda: measured(3), timeout=20000)
    large = ratio()
    assert tab.form.value().weight_scale == pytest.approx(3.0, rel=0.02)
    assert small < 1e-6  # the gradient reaching t = 0 has vanished
    assert large > 1e3 * small  # and with a large scale it reaches back (or grows)


def test_an_exploding_run_stops_with_a_message_and_the_app_goes_on(qtbot, tab):
    # a tanh RNN at spectral radius 3 over ~60 steps: gradient norms of ~1e6 at initialisation
    explode = dict(SMALL, length=50, hidden=64, steps=300)
    tab.form.set_value(RnnCompareConfig(with_rnn=True, with_gru=False, with_lstm=False, weight_scale=3.0,
                                        clip="off", **explode))
    with qtbot.waitSignal(tab.runner.ended, timeout=120000) as ended:
        tab.controls.train_btn.click()
    tick = ended.args[0]
    assert tick.status == "diverged"
    assert tab.banner.isVisible() and "clip" in tab.banner.text().lower()
    # the app goes on: the same tab trains again, now with clipping
    tab.form.set_value(RnnCompareConfig(with_rnn=True, with_gru=False, with_lstm=False, weight_scale=3.0,
                                        clip="norm", **dict(explode, steps=20)))
    with qtbot.waitSignal(tab.runner.ended, timeout=120000) as ended:
        tab.controls.train_btn.click()
    assert ended.args[0].status == "finished"


def test_typed_input_shows_the_trained_cells_gates(qtbot, tab):
    tab.form.set_value(RnnCompareConfig(with_rnn=False, with_gru=True, with_lstm=False, **dict(SMALL, steps=10)))
    with qtbot.waitSignal(tab.runner.ended, timeout=120000):
        tab.controls.train_btn.click()
    qtbot.waitUntil(lambda: tab.view_state.snapshot is not None, timeout=10000)
    symbols = " ".join(tab.view_state.snapshot.alphabet[:3])
    tab.input_edit.setText(symbols)
    tab.run_typed_input()
    qtbot.waitUntil(lambda: "your input" in tab.states_label.text(), timeout=10000)
    assert tab.strip.image("z").shape[1] == 3  # one column per typed symbol
    assert tab.pages.currentWidget() is tab.strip and tab.state_panels["z"].isVisible()  # the answer is shown
    tab.input_edit.setText("\u2603")  # a snowman is no symbol of the task
    tab.run_typed_input()
    qtbot.waitUntil(lambda: tab.banner.isVisible(), timeout=10000)


def test_the_distance_sweep_fills_accuracy_against_length_per_cell(qtbot, tab, monkeypatch):
    from explorer.training.jobs import rnn_sweep_job

    tiny = rnn_sweep_job.RnnSweepConfig
    monkeypatch.setattr(rnn_sweep_job, "RnnSweepConfig",
                        lambda **kw: tiny(lengths=(3, 6), hidden=8, steps_per_point=3, batch_size=8, **kw))
    tab.form.set_value(RnnCompareConfig(task="adding"))
    with qtbot.waitSignal(tab.runner.ended, timeout=120000) as ended:
        tab.sweep_button.click()
    assert ended.args[0].status == "finished", ended.args[0].message
    qtbot.waitUntil(lambda: "6 of 6 points" in tab.sweep_panel.title, timeout=10000)
    for cell in ("RNN", "GRU", "LSTM"):
        curve = tab.sweep_panel.curves[cell]
        assert list(curve.x) == [3, 6] and np.all((curve.y >= 0) & (curve.y <= 1))
    tab.form.set_value(RnnCompareConfig(task="characters"))
    tab.sweep_button.click()
    assert "copy or adding" in tab.banner.text()


def _same_figure(a, b):
    """Two figures with the same title, caption and data (the panel shows what the state built)."""
    assert (a.title, a.caption) == (b.title, b.caption)
    assert [s.name for s in a.series] == [s.name for s in b.series]
    for sa, sb in zip(a.series, b.series, strict=True):
        np.testing.assert_array_equal(sa.y, sb.y)
    for ha, hb in zip(a.heatmaps, b.heatmaps, strict=True):
        np.testing.assert_array_equal(ha.values, hb.values)


def test_an_opened_run_replaces_everything_on_show(qtbot, tab, tmp_path):
    from explorer.training.jobs.rnn_job import RnnConfig, RnnJob
    from explorer.training.record import RunRecorder, open_run
    from explorer.training.runner import run_job

    tab.form.set_value(RnnCompareConfig(with_rnn=True, with_gru=False, with_lstm=True, **dict(SMALL, steps=10)))
    with qtbot.waitSignal(tab.runner.ended, timeout=120000):
        tab.controls.train_btn.click()
    folder = tmp_path / "gru"
    for _ in run_job(RnnJob(RnnConfig(cell="GRU", **dict(SMALL, steps=6)), "cpu"), recorder=RunRecorder(folder)):
        pass
    record = open_run(folder)
    tab.show_run(record)
    qtbot.waitUntil(lambda: [s.name for s in tab.loss_panel.figure.series] == ["GRU"], timeout=5000)
    assert [tab.cell_box.itemText(i) for i in range(tab.cell_box.count())] == ["GRU"]
    assert tab.form.value().cells() == ("GRU",)  # the form shows the run's settings
    tab.pages.setCurrentWidget(tab.strip)
    assert tab.state_panels["z"].isVisible() and not tab.state_panels["f"].isVisible()
    for name, panel in tab.panels.items():
        _same_figure(panel.figure, tab.view_state.figure(name))
    tab.timeline.set_index(0)
    qtbot.waitUntil(lambda: tab.heat_panel.figure.heatmaps[0].values.shape[0] == 1, timeout=5000)
    assert tab.timeline.slider.maximum() == len(record.snapshot_paths) - 1
    tab.animate("gate_z", str(tmp_path / "z.gif"))  # the panel's Export > Animation, for the chosen cell
    assert Image.open(tmp_path / "z.gif").n_frames == len(record.snapshot_paths)
    assert tab.view_state.index == 0  # the timeline's snapshot is shown again
