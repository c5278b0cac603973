"""The Attention tab as a user drives it: train a tiny GPT, read its heads, type text, sample, measure cost."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt

from explorer.training.jobs.gpt_job import GptConfig

SMALL = dict(task="repeat", layers=2, heads=2, width=16, context=16, batch_size=16, steps=30, lr=1e-2)
T = 15  # repeat with context 16: 8 letters, then the first 7 again


@pytest.fixture
def tab(app_window):
    app_window.tabs.setCurrentWidget(app_window.attention)
    return app_window.attention


def _train(qtbot, tab, **kw):
    tab.form.set_value(GptConfig(**{**SMALL, **kw}))
    with qtbot.waitSignal(tab.runner.ended, timeout=120000) as ended:
        tab.controls.train_btn.click()
    assert ended.args[0].status == "finished", ended.args[0].message
    steps = kw.get("steps", SMALL["steps"])
    qtbot.waitUntil(lambda: tab._last is not None and tab._last.step == steps, timeout=10000)
    return ended.args[0]


def _click(qtbot, panel, view_point):
    """Click the plot of a panel at a point given in view coordinates."""
    scene = panel.plot_item.getViewBox().mapViewToScene(QPointF(*view_point))
    pos = panel.plot_widget.mapFromScene(scene)
    qtbot.mouseClick(panel.plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=pos)


def _hover(panel, view_point) -> str:
    scene = panel.plot_item.getViewBox().mapViewToScene(QPointF(*view_point))
    panel._on_mouse_moved(scene)
    return panel._readout.textItem.toPlainText() if panel._readout.isVisible() else ""


def test_training_draws_every_head_with_the_future_masked_and_can_be_replayed(qtbot, tab):
    _train(qtbot, tab)
    grid = tab.grid_panel
    assert len(grid.heatmaps) == 4 and grid.values.shape == (2, 2, T, T)  # layers x heads tiles
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    view = tab.current_view()
    assert np.all(view.attention[..., future] == 0)  # the weights the tiles show are exactly 0 there
    for item in grid.heatmaps.values():
        image = item.image
        assert image.shape == (T, T)
        low = np.float32(item.levels[0])
        assert np.all(image[future] == low) and np.all(image[~future] > low)  # masked: the grey below the map
    assert "Grey: masked" in tab.view_info.text()
    left = tab.head_panel.plot_item.getAxis("left")._tickLevels[0]
    assert [s for _, s in left] == list(tab._last.tokens)  # the enlarged head names its tokens
    # the raw scaled scores: NaN where masked, finite elsewhere
    tab.mode_box.setCurrentIndex(tab.mode_box.findData("scores"))
    assert np.all(np.isnan(grid.values[..., future])) and np.all(np.isfinite(grid.values[..., ~future]))
    assert "score" in _hover(tab.head_panel, (2, 5))
    tab.mode_box.setCurrentIndex(tab.mode_box.findData("weights"))
    text = _hover(tab.head_panel, (2, 5))
    assert "query 5" in text and "key 2" in text and "weight" in text
    assert "masked" in _hover(tab.head_panel, (9, 5))
    # the loss curves and the accuracy
    assert len(tab.train_curve) == 30 and list(tab.val_curve.x) == [25, 30]
    assert len(tab.acc_curve) >= 2 and np.all((tab.acc_curve.y >= 0) & (tab.acc_curve.y <= 1))
    assert "model's answer" in tab.sample_label.text()
    # earlier snapshots stay on the timeline
    assert tab.timeline.slider.maximum() >= 1
    tab.timeline.set_index(0)
    assert tab._last.step == 0 and "step 0" in grid.title
    from explorer.training.record import open_run

    tab.show_run(open_run(tab._live_folder))
    assert len(tab.train_curve) == 30 and tab.timeline.slider.maximum() >= 1 and tab._last.step == 30


def test_clicking_a_tile_enlarges_that_head_and_a_row_chooses_the_query(qtbot, tab):
    _train(qtbot, tab)
    side = T * 1.15
    _click(qtbot, tab.grid_panel, (side + 3, side + 10))  # layer 2, head 2
    assert (tab.layer_box.value(), tab.head_box.value()) == (2, 2)
    assert tab.head_panel.layer_ids == [1] and tab.head_panel.head_ids == [1]
    assert tab.head_panel.title.startswith("Layer 2 · head 2")
    np.testing.assert_array_equal(tab.head_panel.values[0, 0], tab.grid_panel.values[1, 1])
    _click(qtbot, tab.head_panel, (1, 6))
    assert tab.query_box.value() == 6
    links = tab.links_panel
    assert links.query == 6 and "query 6" in links.title
    drawn = [line for line in links._lines if line.isVisible()]
    assert 1 <= len(drawn) <= 7  # only keys 0..6 can be seen by query 6
    assert np.isclose(links.weights.sum(), 1.0, atol=1e-4)
    # the expected keys of the task are circled on the enlarged head
    xs, ys = tab.head_panel.markers.getData()
    assert len(xs) == 7 and list(ys) == list(range(8, T))


def test_typed_text_relabels_the_grid_and_a_bad_character_loses_nothing(qtbot, tab):
    _train(qtbot, tab)
    tab.text_edit.setText("abcabcab")
    tab.text_edit.returnPressed.emit()
    qtbot.waitUntil(lambda: tab.current_view().source.startswith("your text"), timeout=10000)
    assert tab.current_view().tokens == tuple("abcabcab")
    assert tab.grid_panel.values.shape == (2, 2, 8, 8)
    labels = [s for _, s in tab.grid_panel.plot_item.getAxis("bottom")._tickLevels[0][:8]]
    assert labels == list("abcabcab")
    tab.text_edit.setText("abcZ")
    tab.show_text()
    qtbot.waitUntil(tab.banner.isVisible, timeout=10000)
    assert "'Z'" in tab.banner.text()
    assert tab.text_edit.text() == "abcZ" and tab.current_view().tokens == tuple("abcabcab")
    tab.show_probe()
    assert tab.current_view().tokens == tab._last.tokens and not tab.banner.isVisible()
    # the typed text can be the probe that training records, to watch its pattern form on the timeline
    tab.text_edit.setText("abcabcab")
    tab.record_box.setChecked(True)
    _train(qtbot, tab, steps=3)
    assert tab._last.tokens == tuple("abcabcab") and tab.current_view().source.startswith("probe")


def test_a_long_text_is_drawn_at_a_lower_resolution_and_stays_readable(qtbot, tab):
    _train(qtbot, tab, steps=5)
    tab.text_edit.setText("abcdefghijklmnop" * 40)  # 640 characters, 40 times the context
    tab.show_text()
    qtbot.waitUntil(lambda: tab.current_view().length == 640, timeout=30000)
    grid = tab.grid_panel
    assert grid.k == 3 and grid.values.shape == (2, 2, 214, 214)  # 1/3 resolution: block maxima
    assert "1/3 resolution" in tab.view_info.text()
    full = tab.current_view().attention[0, 0]
    assert np.isclose(grid.values[0, 0, 100, 10], full[300:303, 30:33].max())
    assert "queries 300–302 → keys 30–32" in _hover(grid, (31, 301))
    assert tab.query_box.maximum() == 639 and tab.links_panel.window[1] - tab.links_panel.window[0] <= 48


def test_heatmaps_export_as_csv_and_png(qtbot, tab, tmp_path):
    _train(qtbot, tab, steps=5)
    tab.grid_panel.export_csv(tmp_path / "grid.csv")
    rows = list(csv.DictReader((tmp_path / "grid.csv").read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 4 * T * T
    assert {"layer", "head", "query", "key", "query_token", "key_token", "weight", "masked"} <= set(rows[0])
    masked = [r for r in rows if int(r["key"]) > int(r["query"])]
    assert masked and all(r["masked"] == "True" and float(r["weight"]) == 0.0 for r in masked)
    tab.head_panel.export_csv(tmp_path / "head.csv")
    assert len(list(csv.DictReader((tmp_path / "head.csv").read_text(encoding="utf-8").splitlines()))) == T * T
    tab.head_panel.export_png(tmp_path / "head.png")
    tab.grid_panel.export_png(tmp_path / "grid.png")
    tab.links_panel.export_csv(tmp_path / "links.csv")
    assert (tmp_path / "head.png").stat().st_size > 1000 and (tmp_path / "grid.png").stat().st_size > 1000
    assert len(list(csv.DictReader((tmp_path / "links.csv").read_text(encoding="utf-8").splitlines()))) == T


def test_generation_shows_the_sample_and_the_next_character_bars(qtbot, tab, tmp_path):
    _train(qtbot, tab)
    tab.pages.setCurrentIndex(3)
    tab.prompt_edit.setText("abcdabcd")
    tab.length_box.setValue(12)
    tab.topk_box.setValue(5)
    tab.generate_button.click()
    qtbot.waitUntil(lambda: tab.next_probs is not None and tab.generate_button.isEnabled(), timeout=20000)
    labels, probs = tab.next_probs
    assert 1 <= len(labels) <= 5 and probs.sum() <= 1 + 1e-6 and np.all(np.diff(probs) <= 0)  # top one first
    assert "top-k 5" in tab.bars_panel.title
    assert tab.sample_view.toPlainText().startswith("abcdabcd") and len(tab.sample_view.toPlainText()) == 20
    tab.bars_panel.export_csv(tmp_path / "bars.csv")
    assert len(list(csv.DictReader((tmp_path / "bars.csv").read_text(encoding="utf-8").splitlines()))) == len(labels)


def test_the_positional_encoding_follows_the_model(qtbot, tab):
    tab.form.set_value(GptConfig(**{**SMALL, "width": 32}))
    tab.pages.setCurrentIndex(2)
    qtbot.waitUntil(lambda: tab.pe_panel.heatmaps["pe"].image is not None, timeout=20000)
    assert tab.pe_panel.heatmaps["pe"].image.shape == (16, 32)  # position x dimension
    sim = tab.sim_panel.heatmaps["sim"].image
    assert sim.shape == (16, 16) and np.allclose(np.diag(sim), 1.0, atol=1e-5)
    tab.pages.setCurrentIndex(0)
    _train(qtbot, tab, positional="none", steps=3)
    tab.pages.setCurrentIndex(2)
    qtbot.waitUntil(lambda: "no positional encoding" in tab.pos_info.text(), timeout=20000)
    assert tab.pe_panel.title == "No positional encoding"


def test_the_cost_measurement_draws_one_curve_per_layer_with_its_slope(qtbot, tab, monkeypatch):
    from explorer.ui.tabs import cost_page

    monkeypatch.setattr(cost_page, "cost_lengths", lambda longest: (64, 128, 256))
    tab.pages.setCurrentIndex(4)
    chosen = [k for k, box in tab.cost.kind_boxes.items() if box.isChecked()]
    assert len(chosen) == 5
    tab.cost.measure_button.click()
    assert not tab.cost.measure_button.isEnabled() and tab.cost.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: tab.cost._worker is None, timeout=60000)
    assert not tab.banner.isVisible(), tab.banner.text()
    for panel in (tab.cost.time_panel, tab.cost.mem_panel):
        assert len(panel.curves) == len(chosen) and all("slope" in name for name in panel.curves)
        assert all(list(c.x) == [64, 128, 256] for c in panel.curves.values())
    assert tab.cost.progress.value() == 1000
    full = next(c for name, c in tab.cost.mem_panel.curves.items() if name.startswith("full attention"))
    assert full.y[-1] / full.y[-2] == pytest.approx(4.0, rel=0.01)  # T x T scores: quadratic memory


def test_closing_the_window_stops_a_cost_measurement(qtbot, app_window):
    tab = app_window.attention
    app_window.tabs.setCurrentWidget(tab)
    tab.pages.setCurrentIndex(4)
    tab.cost.measure_button.click()
    qtbot.waitUntil(lambda: tab.cost.progress.value() > 0, timeout=20000)
    app_window.close()
    qtbot.waitUntil(lambda: tab.cost._worker is None, timeout=20000)
    assert len(tab.cost.time_panel.curves) < 5  # stopped before the end
