"""The Attention tab as a user drives it: train a tiny GPT, read its heads, type text, sample, measure cost.
The panels show the figures the tab's state builds (tests/test_attention_state.py checks those against the run)."""
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
    qtbot.waitUntil(lambda: tab.view_state.snapshot is not None and tab.view_state.snapshot.step == steps,
                    timeout=10000)
    tab._draw_dirty()
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


def _csv_rows(path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _same(panel, fig):
    """The panel shows this figure: same title, caption and heatmap data."""
    shown = panel.figure
    assert shown is not None and shown.title == fig.title and shown.caption == fig.caption
    assert [h.name for h in shown.heatmaps] == [h.name for h in fig.heatmaps]
    for a, b in zip(shown.heatmaps, fig.heatmaps, strict=True):
        np.testing.assert_array_equal(a.values, b.values)


def test_training_draws_every_head_with_the_future_masked_and_can_be_replayed(qtbot, tab):
    _train(qtbot, tab)
    grid, vs = tab.grid_panel, tab.view_state
    _same(grid, vs.figure("grid"))
    assert len(grid.heatmaps) == 4  # layers x heads tiles
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    for item in grid.heatmaps.values():
        image = item.image
        assert image.shape == (T, T)
        low = np.float32(item.levels[0])
        assert np.all(image[future] == low) and np.all(image[~future] > low)  # masked: the grey below the map
    assert "Grey: masked" in grid.caption
    left = tab.head_panel.plot_item.getAxis("left")._tickLevels[0]
    assert [s for _, s in left] == list(vs.snapshot.tokens)  # the enlarged head names its tokens
    assert grid.canvas.colorbar is not None  # the tiles say what their colours mean
    tab.mode_box.setCurrentIndex(tab.mode_box.findData("scores"))
    assert all(np.isnan(h.values[future]).all() for h in grid.figure.heatmaps)
    assert "score" in _hover(tab.head_panel, (2, 5))
    tab.mode_box.setCurrentIndex(tab.mode_box.findData("weights"))
    text = _hover(tab.head_panel, (2, 5))
    assert "query 5" in text and "key 2" in text and "weight" in text
    assert "masked" in _hover(tab.head_panel, (9, 5))
    # the loss curves and the accuracy
    tab.pages.setCurrentIndex(1)
    assert len(tab.loss_panel.curves["training loss"]) == 30 and list(tab.loss_panel.curves["validation loss"].x) \
        == [25, 30]
    acc = tab.acc_panel.curves["validation accuracy"]
    assert len(acc) >= 2 and np.all((acc.y >= 0) & (acc.y <= 1))
    assert "model's answer" in tab.sample_label.text()
    # earlier snapshots stay on the timeline
    tab.pages.setCurrentIndex(0)
    assert tab.timeline.slider.maximum() >= 1
    tab.timeline.set_index(0)
    assert vs.snapshot.step == 0 and "step 0" in grid.title
    from explorer.training.record import open_run

    tab.show_run(open_run(tab._live_folder))
    assert vs.snapshot.step == 30 and "step 30" in grid.title and tab.timeline.slider.maximum() >= 1
    assert len(vs.metrics.column("loss")) == 30


def test_clicking_a_tile_enlarges_that_head_and_a_row_chooses_the_query(qtbot, tab):
    _train(qtbot, tab)
    side = tab.view_state.layout("grid").step
    _click(qtbot, tab.grid_panel, (side + 3, side + 10))  # layer 2, head 2
    assert (tab.layer_box.value(), tab.head_box.value()) == (2, 2)
    assert tab.head_panel.title.startswith("Layer 2 · head 2")
    np.testing.assert_array_equal(tab.head_panel.figure.heatmaps[0].values, tab.grid_panel.figure.heatmaps[3].values)
    _click(qtbot, tab.head_panel, (1, 6))
    assert tab.query_box.value() == 6
    links = tab.links_panel
    assert "query 6" in links.title and links.figure is not None
    drawn = sum(s.xy.shape[0] for s in links.figure.segments)
    assert 1 <= drawn <= 7  # only keys 0..6 can be seen by query 6
    _click(qtbot, links, (3, 1.18))  # a token of the top row becomes the query
    assert tab.query_box.value() == 3 and "query 3" in links.title
    # the expected keys of the task are circled on the enlarged head
    xs, ys = next(item for key, item in tab.head_panel.canvas._items.items() if key[0] == "points").getData()
    assert len(xs) == 7 and list(ys) == list(range(8, T))


def test_typed_text_relabels_the_grid_and_a_bad_character_loses_nothing(qtbot, tab):
    _train(qtbot, tab)
    tab.text_edit.setText("abcabcab")
    tab.text_edit.returnPressed.emit()
    qtbot.waitUntil(lambda: tab.view_state.view.source.startswith("your text"), timeout=10000)
    assert tab.view_state.view.tokens == tuple("abcabcab")
    assert tab.view_state.layout("grid").values.shape == (2, 2, 8, 8)
    labels = [s for _, s in tab.grid_panel.plot_item.getAxis("bottom")._tickLevels[0][:8]]
    assert labels == list("abcabcab")
    tab.text_edit.setText("abcZ")
    tab.show_text()
    qtbot.waitUntil(tab.banner.isVisible, timeout=10000)
    assert "'Z'" in tab.banner.text() and "Error" not in tab.banner.text()
    assert tab.text_edit.text() == "abcZ" and tab.view_state.view.tokens == tuple("abcabcab")
    tab.show_probe()
    assert tab.view_state.view.tokens == tab.view_state.snapshot.tokens and not tab.banner.isVisible()
    # the typed text can be the probe that training records, to watch its pattern form on the timeline
    tab.text_edit.setText("abcabcab")
    tab.record_box.setChecked(True)
    _train(qtbot, tab, steps=3)
    assert tab.view_state.snapshot.tokens == tuple("abcabcab") and tab.view_state.view.source.startswith("probe")


def test_a_long_text_is_drawn_at_a_lower_resolution_and_stays_readable(qtbot, tab):
    _train(qtbot, tab, steps=5)
    tab.text_edit.setText("abcdefghijklmnop" * 40)  # 640 characters, 40 times the context
    tab.show_text()
    qtbot.waitUntil(lambda: tab.view_state.view.length == 640, timeout=30000)
    grid = tab.grid_panel
    layout = tab.view_state.layout("grid")
    assert layout.k == 3 and layout.values.shape == (2, 2, 214, 214)  # 1/3 resolution: block maxima
    assert "1/3 resolution" in grid.caption
    assert grid.heatmaps["layer 1, head 1"].image.shape == (214, 214)
    assert "queries 300–302 → keys 30–32" in _hover(grid, (31, 301))
    assert tab.query_box.maximum() == 639
    a, b = tab.links_panel.figure.x.range
    assert b - a <= 49


def test_heatmaps_export_as_csv_and_png(qtbot, tab, tmp_path):
    _train(qtbot, tab, steps=5)
    tab.grid_panel.export_csv(tmp_path / "grid.csv")
    rows = _csv_rows(tmp_path / "grid.csv")
    assert len(rows) == 4 * T * T
    assert {"layer", "head", "query", "key", "query_token", "key_token", "weight", "masked"} <= set(rows[0])
    tab.head_panel.export_csv(tmp_path / "head.csv")
    assert len(_csv_rows(tmp_path / "head.csv")) == T * T
    tab.head_panel.export_png(tmp_path / "head.png")
    tab.grid_panel.export_png(tmp_path / "grid.png")
    tab.links_panel.export_csv(tmp_path / "links.csv")
    assert (tmp_path / "head.png").stat().st_size > 1000 and (tmp_path / "grid.png").stat().st_size > 1000
    assert len(_csv_rows(tmp_path / "links.csv")) == T


def test_generation_shows_the_sample_and_the_next_character_bars(qtbot, tab, tmp_path):
    _train(qtbot, tab)
    tab.pages.setCurrentIndex(3)
    page = tab.generate_page
    page.prompt_edit.setText("abcdabcd")
    page.length_box.setValue(12)
    page.topk_box.setValue(5)
    page.generate_button.click()
    qtbot.waitUntil(lambda: tab.view_state.generation.sample is not None and page.generate_button.isEnabled(),
                    timeout=20000)
    qtbot.waitUntil(lambda: page.bars_panel.figure is not None and bool(page.bars_panel.figure.bars), timeout=5000)
    bars = page.bars_panel.figure.bars[0]
    assert 1 <= bars.x.size <= 5 and bars.height.sum() <= 1 + 1e-6 and np.all(np.diff(bars.height) <= 0)
    assert "top-k 5" in page.bars_panel.title
    assert page.sample_view.toPlainText().startswith("abcdabcd") and len(page.sample_view.toPlainText()) == 20
    page.bars_panel.export_csv(tmp_path / "bars.csv")
    assert len(_csv_rows(tmp_path / "bars.csv")) == bars.x.size


def test_the_positional_encoding_follows_the_model(qtbot, tab):
    tab.form.set_value(GptConfig(**{**SMALL, "width": 32}))
    tab.pages.setCurrentIndex(2)
    shown = lambda: tab.pe_panel.heatmaps.get("encoding")  # noqa: E731
    qtbot.waitUntil(lambda: shown() is not None and shown().image.shape == (16, 32), timeout=20000)  # position x dim.
    sim = tab.sim_panel.heatmaps["cosine"].image
    assert sim.shape == (16, 16) and np.allclose(np.diag(sim), 1.0, atol=1e-5)
    tab.pages.setCurrentIndex(0)
    _train(qtbot, tab, positional="none", steps=3)
    tab.pages.setCurrentIndex(2)
    qtbot.waitUntil(lambda: tab.pe_panel.title.startswith("No positional encoding"), timeout=20000)
    assert "no positional encoding" in tab.pe_panel.caption


def test_the_cost_measurement_draws_one_curve_per_layer_with_its_slope(qtbot, tab, monkeypatch):
    from explorer.ui.tabs import cost_page

    monkeypatch.setattr(cost_page, "cost_lengths", lambda longest: (64, 128, 256))
    tab.pages.setCurrentIndex(4)
    chosen = [k for k, box in tab.cost.kind_boxes.items() if box.isChecked()]
    assert len(chosen) == 6 and "downsampled attention" in chosen  # the lecture's three remedies among them
    tab.cost.measure_button.click()
    assert not tab.cost.measure_button.isEnabled() and tab.cost.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not tab.cost.measuring, timeout=60000)
    assert not tab.banner.isVisible(), tab.banner.text()
    for panel in (tab.cost.time_panel, tab.cost.mem_panel):
        medians = {name: c for name, c in panel.curves.items() if "fastest to slowest" not in name}
        assert len(medians) == len(chosen) and all("slope" in name for name in medians)
        assert panel.caption == tab.cost.state.figure(panel.figure.name).caption  # the state's figure on screen
        assert all(list(c.x) == [64, 128, 256] for c in medians.values())
    assert len(tab.cost.time_panel.curves) == 2 * len(chosen)  # each median's spread: fastest to slowest
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
    qtbot.waitUntil(lambda: not tab.cost.measuring, timeout=20000)
    assert not tab.tasks.busy() and tab.cost._measured_kinds < 5  # stopped before the end
