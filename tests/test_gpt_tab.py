"""The Pre-train & fine-tune tab as a user drives it: pre-train, fine-tune four ways, sweep, look, measure."""
from __future__ import annotations

import csv
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from explorer.paths import runs_dir
from explorer.training.jobs import pretrain_job
from explorer.training.jobs.finetune_job import FinetuneConfig
from explorer.training.jobs.pretrain_job import PretrainConfig, PretrainJob
from explorer.training.record import RunRecorder, new_run_folder
from explorer.training.runner import run_to_end
from explorer.ui.tabs.gpt import CHANGES, COST, FINETUNE, PRETRAIN, SWEEP

TINY = dict(layers=2, heads=2, width=16, context=16, batch_size=8, steps=12, lr=3e-3)


def _pretrained_run():
    """A finished pre-training run in the runs folder, as an earlier session of the app would leave it."""
    job = PretrainJob(PretrainConfig(**TINY))
    _, final = run_to_end(job, recorder=RunRecorder(new_run_folder(runs_dir(), job.kind)))
    assert final.status == "finished", final.message


@pytest.fixture
def tab(qtbot):
    """The tab on its own, as the main window builds it (CPU); its jobs and measurements stopped afterwards."""
    from explorer.ui.app_state import AppState
    from explorer.ui.tabs.gpt import GptTab

    state = AppState("cpu")
    state.set_device("cpu", "CPU (test)")
    view = GptTab(state)
    qtbot.addWidget(view)
    view.resize(1400, 900)
    view.show()
    qtbot.waitExposed(view)
    yield view
    view.shutdown()
    state.runner.shutdown(wait_ms=10000)


def _ft(tab):
    """The fine-tuning snapshot on show."""
    return tab.ft_state.snapshot


def _start(qtbot, tab, timeout=120000):
    with qtbot.waitSignal(tab.runner.ended, timeout=timeout) as ended:
        qtbot.mouseClick(tab.controls.train_btn, Qt.MouseButton.LeftButton)
    tick = ended.args[0]
    assert tick.status == "finished", tick.message
    return tick


def test_without_a_model_the_tab_offers_to_pretrain_one_and_then_starts_from_it(qtbot, tab, monkeypatch):
    assert tab.current_model() is None and tab.offer_button.isVisibleTo(tab)
    assert tab.pages.currentIndex() == PRETRAIN
    tab.pages.setCurrentIndex(FINETUNE)
    qtbot.mouseClick(tab.controls.train_btn, Qt.MouseButton.LeftButton)
    assert "no pre-trained model" in tab.banner.text().lower() and not tab.runner.is_active()
    monkeypatch.setitem(pretrain_job.PRESETS, "tiny", TINY)  # the offer's preset, made tiny for the test
    with qtbot.waitSignal(tab.runner.ended, timeout=120000) as ended:
        qtbot.mouseClick(tab.offer_button, Qt.MouseButton.LeftButton)
    assert ended.args[0].status == "finished", ended.args[0].message
    assert tab.pages.currentIndex() == PRETRAIN and tab.controls.train_btn.text() == "Pre-train"
    qtbot.waitUntil(lambda: tab.current_model() is not None, timeout=5000)
    info = tab.current_model()
    assert info.layers == 2 and info.width == 16 and not tab.offer_button.isVisibleTo(tab)
    panel = tab.pre_loss_panel
    assert panel.figure is not None and panel.figure.caption == tab.pre_state.figure("loss").caption
    assert len(panel.curves["training loss"]) > 0 and "The model writes" in panel.caption_label.text()
    assert [b.text() for b in tab.diagram.boxes] == ["embedding", "block 1", "block 2"]


def test_four_ways_side_by_side_and_frozen_layers_do_not_move(qtbot, tab):
    _pretrained_run()
    tab.refresh_models()
    assert tab.current_model() is not None
    tab.pages.setCurrentIndex(FINETUNE)
    assert tab.controls.train_btn.text() == "Fine-tune"
    def click(box):
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))

    assert tab.diagram.lower == FinetuneConfig().lower
    click(tab.diagram.boxes[0])  # unchecking the embedding unchecks every layer above it
    assert tab.diagram.lower == 0 and not any(b.isChecked() for b in tab.diagram.boxes)
    click(tab.diagram.boxes[1])  # block 1: embedding and block 1 are then the lower N = 2
    assert tab.diagram.lower == 2 and tab.diagram.boxes[0].isChecked()
    assert "lower 2 frozen" in tab.way_boxes["frozen"].text()
    tab.ft_form.set_value(FinetuneConfig(task="classify", source="novels", share=0.1, steps=20, batch_size=8))
    _start(qtbot, tab)
    qtbot.waitUntil(lambda: _ft(tab) is not None and _ft(tab).step == 20, timeout=10000)
    qtbot.waitUntil(lambda: all(len(c) for c in tab.ft_acc_panel.curves.values()), timeout=5000)
    names = sorted(tab.ft_acc_panel.curves)
    assert len(names) == 4 and len(tab.ft_loss_panel.curves) == 4
    assert any("from scratch" in n for n in names) and any("lower 2 frozen" in n for n in names)
    snap = _ft(tab)
    assert snap.lower == 2 and list(snap.frozen[:2]) == [True, True]

    tab.pages.setCurrentIndex(CHANGES)
    fig = tab.changes.change_panel.figure
    assert fig is not None and fig.caption == tab.ft_state.figure("weight_change").caption  # the state's figure
    bars = {b.name: b.height for b in fig.bars}
    frozen = bars["warm start, lower 2 frozen"]
    assert np.all(frozen[:2] == 0.0) and np.all(frozen[2:] > 0)
    assert np.all(bars["warm start"] > 0)
    assert "embedding, block 1 — exactly 0" in tab.changes.change_panel.caption_label.text()
    assert len(tab.changes.probe_panel.curves) == 5  # before, and after for each way
    assert tab.changes.after_panel.heatmaps["attention"].image.shape == (16, 16)
    assert tab.changes.after_panel.canvas.colorbar is not None
    tab.changes.att_head.setValue(2)  # another head: both maps follow
    assert tab.ft_state.attention_choice()[2] == 1
    qtbot.waitUntil(lambda: "head 2" in tab.changes.before_panel.title, timeout=3000)


def test_the_weight_changes_export_as_csv(qtbot, tab, tmp_path):
    _pretrained_run()
    tab.refresh_models()
    tab.pages.setCurrentIndex(FINETUNE)
    tab.diagram.set_lower(1)
    tab.ft_form.set_value(FinetuneConfig(task="classify", source="novels", share=0.1, steps=5, batch_size=8))
    tab.share_slider.setValue(0)  # the labelled-data slider: 1%
    assert tab.share_label.text() == "1%"
    _start(qtbot, tab)
    qtbot.waitUntil(lambda: _ft(tab) is not None and _ft(tab).step == 5, timeout=10000)
    assert _ft(tab).examples == 40  # 1% of 2 x 2,000 passages
    tab.pages.setCurrentIndex(CHANGES)
    path = tmp_path / "change.csv"
    tab.main_panel.export_csv(path)
    rows = list(csv.DictReader(path.open()))
    frozen = [r for r in rows if r["way"] == "frozen" and r["frozen (1 = yes)"] == "1"]
    assert [r["layer group"] for r in frozen] == ["embedding"]
    assert float(frozen[0]["relative weight change ‖θ − θ₀‖ / ‖θ₀‖"]) == 0.0
    assert len(rows) == 4 * 4  # four ways x (embedding, block 1, block 2, output)


def test_the_data_efficiency_sweep_draws_one_point_per_share_and_way(qtbot, tab):
    _pretrained_run()
    tab.refresh_models()
    tab.pages.setCurrentIndex(SWEEP)
    assert tab.controls.train_btn.text() == "Run sweep"
    tab.ft_form.set_value(FinetuneConfig(task="classify", source="novels", steps=6, batch_size=8))
    tab.shares_edit.setText("0.05, 0.2")
    _start(qtbot, tab)
    qtbot.waitUntil(lambda: tab.sweep_state.snapshot is not None and tab.sweep_state.snapshot.done == 2,
                    timeout=10000)
    qtbot.waitUntil(lambda: all(len(c) == 2 for c in tab.sweep_panel.curves.values()), timeout=5000)
    assert len(tab.sweep_panel.curves) == 4
    assert tab.sweep_panel.figure.lines[0].label.startswith("chance")
    assert tab.sweep_progress.value() == 1000


def test_training_against_generation_is_measured_and_explained(qtbot, tab):
    _pretrained_run()
    tab.refresh_models()
    tab.pages.setCurrentIndex(COST)
    assert tab.generation.longest.maximum() == 16
    tab.generation.batch.setValue(2)
    qtbot.mouseClick(tab.generation.button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not tab.generation.running, timeout=60000)
    rows = tab.generation.view_state.rows
    assert [r.length for r in rows] == [8, 16]
    assert len(tab.generation.panel.curves) == 3 and tab.generation.progress.value() == 1000
    np.testing.assert_array_equal(tab.generation.panel.curves["generation with the KV cache"].y,
                                  [r.generate_cached_s for r in rows])
    caption = tab.generation.panel.caption_label.text()
    assert "one after another" in caption and f"{rows[-1].train_step_s * 1e3:.1f} ms" in caption
    assert all(r.max_diff < 1e-4 for r in rows)
    tab.generation.set_model(SimpleNamespace(folder="another model", context=16))  # its numbers are not these
    assert tab.generation.panel.figure.is_empty and not tab.generation.panel.caption


def test_a_recorded_fine_tuning_run_reopens_with_its_curves_and_snapshots(qtbot, app_window, tmp_path):
    _pretrained_run()
    tab = app_window.gpt
    tab.refresh_models()
    tab.pages.setCurrentIndex(FINETUNE)
    tab.ft_form.set_value(FinetuneConfig(task="classify", source="scrambled", share=0.1, steps=6, batch_size=8))
    _start(qtbot, tab)
    folder = tab._live_folder
    tab.ft_state.reset()
    tab.pages.setCurrentIndex(PRETRAIN)
    assert app_window.open_run(str(folder), show_dialogs=False)
    assert app_window.tabs.currentWidget() is tab and tab.pages.currentIndex() == FINETUNE
    qtbot.waitUntil(lambda: all(len(c) == 6 for c in tab.ft_loss_panel.curves.values()), timeout=5000)
    assert len(tab.ft_loss_panel.curves) == 4 and len(tab.ft_acc_panel.curves) == 4
    assert tab.timeline.slider.maximum() >= 1
    tab.timeline.set_index(0)
    qtbot.waitUntil(lambda: _ft(tab) is not None and _ft(tab).step == 0, timeout=5000)
    qtbot.waitUntil(lambda: all(len(c) == 0 for c in tab.ft_loss_panel.curves.values()), timeout=5000)
    tab.animate("finetune", "weight_change", str(tmp_path / "change.gif"))  # the panel's Export > Animation
    from PIL import Image

    assert Image.open(tmp_path / "change.gif").n_frames == tab.timeline.slider.maximum() + 1
    assert _ft(tab).step == 0  # the timeline's snapshot is shown again


def test_choosing_a_task_offers_only_its_data_and_a_file_task_asks_for_the_file(qtbot, tab, tmp_path):
    tab.pages.setCurrentIndex(FINETUNE)
    task, source = tab.ft_form.widget_for("task"), tab.ft_form.widget_for("source")
    task.setCurrentIndex(task.findText("next-token"))
    assert source.currentText() == "stdlib" and "docstrings" in tab.source_label.text()
    assert source.view().isRowHidden(source.findText("scrambled"))
    assert not source.view().isRowHidden(source.findText("persuasion"))
    source.setCurrentIndex(source.findText("file"))
    assert tab.file_button.isVisibleTo(tab) and tab.file_label.text() == "no file chosen"
    _pretrained_run()
    tab.refresh_models()
    tab.pages.setCurrentIndex(FINETUNE)
    qtbot.mouseClick(tab.controls.train_btn, Qt.MouseButton.LeftButton)
    assert "file" in tab.banner.text().lower() and not tab.runner.is_active()  # asked for, nothing lost
    path = tmp_path / "mine.txt"
    path.write_text("A short text of my own, repeated so that it has enough characters to fine-tune on. " * 200)
    tab.set_file(str(path))
    assert tab.file_label.text() == "mine.txt"
    tab.ft_form.set_fields(steps=4, batch_size=4)
    _start(qtbot, tab)
    qtbot.waitUntil(lambda: _ft(tab) is not None and _ft(tab).step == 4, timeout=10000)
    assert _ft(tab).task == "next-token" and len(tab.ft_acc_panel.curves) == 4
