"""The Convolution tab as a user drives it: the form changes the diagram and the numbers; training grows the heatmap."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.training.jobs.conv_job import ConvConfig, ConvJob


@pytest.fixture
def tab(app_window):
    app_window.tabs.setCurrentWidget(app_window.convolution)
    return app_window.convolution


def _lit_inputs(tab):
    fig = tab.diagram_panel.figure  # the figure on screen is the state's figure
    field = next(p for p in fig.points if p.name == "inputs output t sees")
    return sorted(int(v) for v in field.x)


def _series(panel, name):
    return next(s for s in panel.figure.series if s.name == name)


def test_changing_the_schedule_in_the_form_redraws_the_diagram_and_the_numbers(qtbot, tab):
    form = tab.form
    form.widget_for("layers").setValue(4)
    form.widget_for("kernel_size").setValue(2)
    form.widget_for("dilations").setCurrentText("doubling")
    assert "Receptive field: 16 inputs" in tab.numbers.text()
    t = tab.output_box.value()
    assert _lit_inputs(tab) == list(range(t - 15, t + 1))  # the 16 inputs output t sees, counted by hand
    form.widget_for("dilations").setCurrentText("constant")
    assert "Receptive field: 5 inputs" in tab.numbers.text()
    assert _lit_inputs(tab) == list(range(t - 4, t + 1))
    y = _series(tab.depth_panel, "no dilation").y
    np.testing.assert_array_equal(y, [2, 3, 4, 5])
    # drawn as the figure says: one more input per layer without dilation
    np.testing.assert_array_equal(tab.depth_panel.curves["no dilation"].y, y)
    field = tab.form.widget_for("custom_dilations")
    form.widget_for("dilations").setCurrentText("custom")
    field.clear()
    qtbot.keyClicks(field, "1, 3, 9")
    assert not form.is_valid()  # three dilations for four layers
    field.clear()
    qtbot.keyClicks(field, "1, 3, 9, 27")
    assert form.is_valid() and "Receptive field: 41 inputs" in tab.numbers.text()


def test_clicking_another_output_moves_the_field_and_causal_means_no_leak(qtbot, tab):
    tab.output_box.setValue(20)
    t = 20
    lit = _lit_inputs(tab)
    assert max(lit) == t and len(lit) == 16
    qtbot.waitUntil(lambda: "exactly 0" in tab.field_panel.caption, timeout=10000)
    tab.form.widget_for("causal").setChecked(False)
    qtbot.waitUntil(lambda: "leakage" in tab.field_panel.caption and "change output" in tab.field_panel.caption,
                    timeout=10000)
    assert max(_lit_inputs(tab)) > 20  # the centred stack sees the future


def test_training_grows_the_heatmap_and_shows_accuracy_by_distance(qtbot, tab):
    tab.form.set_value(ConvConfig(layers=2, max_distance=6, seq_len=24, alphabet=4, steps=60, batch_size=16,
                                  channels=8))
    with qtbot.waitSignal(tab.runner.ended, timeout=60000) as ended:
        tab.controls.train_btn.click()
    assert ended.args[0].status == "finished"
    rows = tab.erf_panel.heatmaps["erf"].image
    assert rows is not None and rows.shape[0] >= 2 and rows.shape[1] == 24
    assert len(_series(tab.acc_panel, "accuracy").x) == 6
    assert len(tab.loss_panel.curves["loss"]) == 60
    assert tab.erf_panel.canvas.colorbar is not None  # the heatmap says what its colours mean
    assert tab.timeline.slider.maximum() >= 1  # the run was recorded and can be replayed


def test_the_diagram_and_heatmap_export_their_data(qtbot, tab, tmp_path):
    import csv

    tab.form.widget_for("layers").setValue(2)
    tab.form.widget_for("dilations").setCurrentText("doubling")
    tab.form.widget_for("residual").setChecked(False)  # no identity edges: only the convolution taps
    tab.diagram_panel.export_csv(tmp_path / "edges.csv")
    rows = list(csv.DictReader((tmp_path / "edges.csv").read_text(encoding="utf-8").splitlines()))
    reaching = [r for r in rows if r["reaches output t (1 = yes)"] == "1"]
    assert len(reaching) == 2 + 4  # k=2: 2 edges into the output, 4 into the two layer-1 nodes it reads
    tab.diagram_panel.export_png(tmp_path / "diagram.png")
    assert (tmp_path / "diagram.png").stat().st_size > 1000


def test_clicking_a_top_node_chooses_that_output(qtbot, tab):
    from PySide6.QtCore import QPointF, Qt

    tab.form.widget_for("seq_len").setValue(40)
    tab.resize(1400, 900)
    qtbot.wait(50)
    plot = tab.diagram_panel.plot_widget
    vb = tab.diagram_panel.plot_item.getViewBox()
    layers = len(tab.form.value().dilation_tuple())
    scene_pos = vb.mapViewToScene(QPointF(10, layers))
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=plot.mapFromScene(scene_pos))
    qtbot.waitUntil(lambda: tab.output_box.value() == 10, timeout=3000)
    assert max(_lit_inputs(tab)) == 10


def test_export_all_figures_of_the_tab_writes_one_file_per_figure(qtbot, tab, tmp_path):
    window = tab.window()
    written = window.export_all_figures(str(tmp_path), "svg")
    assert sorted(p.rsplit("/", 1)[-1] for p in written) == sorted(f"{n}.svg" for n in tab.view_state.figure_names)
    assert all((tmp_path / f"{n}.svg").stat().st_size > 500 for n in tab.view_state.figure_names)


def test_a_panel_exports_its_figure_animated_over_the_opened_run(qtbot, tab, tmp_path):
    from PIL import Image

    from explorer.training.record import RunRecorder
    from explorer.training.runner import run_job

    cfg = ConvConfig(layers=2, max_distance=4, seq_len=16, alphabet=4, steps=8, batch_size=4, channels=4)
    for _ in run_job(ConvJob(cfg, "cpu"), recorder=RunRecorder(tmp_path / "run", max_snapshots=3)):
        pass
    assert tab.window().open_run(str(tmp_path / "run"), show_dialogs=False)
    tab.animate("erf", str(tmp_path / "erf.gif"))
    frames = Image.open(tmp_path / "erf.gif").n_frames
    assert frames == len(tab.view_state.source.steps)
    assert tab.view_state.index == len(tab.view_state.source.steps) - 1  # the timeline's snapshot is back
