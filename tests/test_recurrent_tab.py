"""The Recurrent tab as a user drives it: cells side by side, the weight-scale slider, an exploding run."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.training.jobs.rnn_compare_job import RnnCompareConfig

SMALL = dict(task="copy", hidden=16, length=8, batch_size=16, steps=40, lr=1e-2)


@pytest.fixture
def tab(app_window):
    app_window.tabs.setCurrentWidget(app_window.recurrent)
    return app_window.recurrent


def _initial_curve(tab, cell):
    return tab.flow_panel.curves.get(f"{cell} at initialisation")


def test_two_cells_train_side_by_side_and_draw_two_gradient_curves(qtbot, tab):
    tab.form.set_value(RnnCompareConfig(with_rnn=True, with_gru=False, with_lstm=True, **SMALL))
    with qtbot.waitSignal(tab.runner.ended, timeout=120000) as ended:
        tab.controls.train_btn.click()
    assert ended.args[0].status == "finished", ended.args[0].message
    qtbot.waitUntil(lambda: "RNN" in tab.flow_panel.curves and "LSTM" in tab.flow_panel.curves, timeout=10000)
    for cell in ("RNN", "LSTM"):
        curve = tab.flow_panel.curves[cell]
        assert len(curve) == len(tab._last.input_labels)  # one gradient norm per time step
        assert len(tab.loss_panel.curves[cell]) == 40  # every step's loss, per cell
    assert "GRU" not in tab.flow_panel.curves
    heat = tab.heat_panel.heatmaps["flow"].image
    assert heat is not None and heat.shape[0] >= 2  # one row per snapshot: it grew while training
    # the LSTM's gates are shown for the chosen cell
    tab.cell_box.setCurrentText("LSTM")
    assert tab.state_panels["f"].isVisible() and tab.state_panels["c"].isVisible()
    tab.cell_box.setCurrentText("RNN")
    assert tab.state_panels["h"].isVisible() and not tab.state_panels["f"].isVisible()
    assert tab.timeline.slider.maximum() >= 1  # recorded, can be replayed


def test_the_scale_slider_switches_the_fresh_network_from_vanishing_to_exploding(qtbot, tab):
    tab.form.set_value(RnnCompareConfig(with_rnn=True, with_gru=False, with_lstm=False, hidden=32, length=40))

    def ratio():
        curve = _initial_curve(tab, "RNN")
        if curve is None or len(curve) == 0:
            return None
        y = curve.y
        return y[0] / y[-1] if np.isfinite(y[0]) and np.isfinite(y[-1]) else 0.0

    tab.set_weight_scale(0.3)
    qtbot.waitUntil(lambda: tab.form.value().weight_scale == pytest.approx(0.3, rel=0.02) and ratio() is not None
                    and "scale 0.3" in tab.theory.text(), timeout=20000)
    small = ratio()
    tab.set_weight_scale(3.0)
    qtbot.waitUntil(lambda: "scale 3" in tab.theory.text(), timeout=20000)
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
    qtbot.waitUntil(lambda: tab._last is not None, timeout=10000)
    symbols = " ".join(tab._last.alphabet[:3])
    tab.input_edit.setText(symbols)
    tab.run_typed_input()
    qtbot.waitUntil(lambda: "your input" in tab.states_label.text(), timeout=10000)
    image = tab.state_panels["z"].heatmaps["values"].image
    assert image.shape[1] == 3  # one column per typed symbol
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
