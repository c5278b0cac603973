"""The Pre-train & fine-tune tab's states without a window: recorded runs of pre-training, fine-tuning and the
data-efficiency sweep become figures with the runs' own numbers; every figure exports headless."""
from __future__ import annotations

import csv
import math
from types import SimpleNamespace

import numpy as np
import pytest

from explorer.figures import Figure
from explorer.render.run_export import animate_figure, export_figures, open_state
from explorer.state.finetune import FinetuneState, FinetuneSweepState
from explorer.state.gpt import GenerationState, PretrainState
from explorer.training.jobs.finetune_job import FinetuneConfig, FinetuneJob, way_label
from explorer.training.jobs.finetune_sweep_job import FinetuneSweepConfig, FinetuneSweepJob
from explorer.training.jobs.pretrain_job import PretrainConfig, PretrainJob
from explorer.training.record import RunRecorder, open_run
from explorer.training.runner import run_job

TINY = dict(layers=2, heads=2, width=16, context=16, batch_size=8, steps=12, lr=3e-3)
FT = dict(task="classify", source="novels", share=0.1, lower=1, steps=6, batch_size=8)


def _record(job, folder, snapshots=4):
    for _ in run_job(job, recorder=RunRecorder(folder, max_snapshots=snapshots)):
        pass
    assert open_run(folder).snapshot_paths, "the run recorded no snapshot"
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One tiny recorded run of each kind the tab shows (fine-tuning starts from the pre-training run)."""
    root = tmp_path_factory.mktemp("gpt_runs")
    pre = _record(PretrainJob(PretrainConfig(**TINY), "cpu"), root / "pre")
    ft = _record(FinetuneJob(FinetuneConfig(pretrained=str(pre), **FT), "cpu"), root / "ft")
    sweep_cfg = FinetuneSweepConfig(pretrained=str(pre), **{**FT, "steps": 3}, shares="0.05,0.2")
    sweep = _record(FinetuneSweepJob(sweep_cfg, "cpu"), root / "sweep")
    return {"gpt_pretrain": pre, "finetune": ft, "finetune_sweep": sweep}


def _snaps(folder):
    run = open_run(folder)
    return run, [run.load_snapshot(i) for i in range(len(run.snapshot_paths))]


def _finite(values):
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]


def test_pretraining_shows_both_losses_and_what_the_model_writes(runs):
    state = open_state(runs["gpt_pretrain"])
    assert isinstance(state, PretrainState)
    run, snaps = _snaps(runs["gpt_pretrain"])
    fig = state.figure("loss")
    train, val = fig.series
    np.testing.assert_allclose(train.y, _finite(run.metrics["loss"]))
    np.testing.assert_allclose(val.y, _finite(run.metrics["val_loss"]))
    assert fig.y.unit == "nats" and snaps[-1].sample.replace("\n", "⏎ ") in fig.caption
    assert f"{snaps[-1].val_loss:.3f}" in fig.caption
    uniform = fig.lines[0]
    assert uniform.value == pytest.approx(math.log(len(snaps[-1].alphabet)))
    state.select(1)  # the timeline: the loss up to that snapshot, its sample in the caption
    fig = state.figure("loss")
    assert fig.series[0].x.max() <= snaps[1].step and f"Step {snaps[1].step:,}" in fig.caption


def test_fine_tuning_curves_and_what_changed_carry_the_runs_numbers(runs):
    state = open_state(runs["finetune"])
    assert isinstance(state, FinetuneState)
    run, snaps = _snaps(runs["finetune"])
    last = snaps[-1]
    acc = state.figure("accuracy")
    assert acc.legend_entries() == [way_label(w, 1) for w in last.ways]  # N written into the legend
    for way, series in zip(last.ways, acc.series, strict=True):
        np.testing.assert_allclose(series.y, _finite(run.metrics[f"accuracy_{way}"]))
    assert acc.lines[0].value == pytest.approx(last.chance) and "chance" in acc.lines[0].label
    change = state.figure("weight_change")
    for i, bars in enumerate(change.bars):
        np.testing.assert_allclose(bars.height, last.weight_change[i])
    frozen = change.bars[list(last.ways).index("frozen")]
    assert frozen.height[0] == 0.0 and "Frozen in" in change.caption and "embedding — exactly 0" in change.caption
    probes = state.figure("probes")
    np.testing.assert_allclose(probes.series[0].y, last.probe_before)
    np.testing.assert_allclose(probes.series[1].y, last.probe_after[0])
    colours = {s.name: s.color for s in acc.series}  # one colour per way in every figure
    assert [s.color for s in probes.series[1:]] == [colours[way_label(w, 1)] for w in last.ways]
    assert [b.color for b in change.bars] == [colours[way_label(w, 1)] for w in last.ways]
    assert len(set(colours.values())) == len(last.ways)
    before, after = state.figure("attention_before"), state.figure("attention_after")
    way, layer, head, *_ = state.attention_choice()
    np.testing.assert_array_equal(before.heatmaps[0].values, last.attention_before[layer, head])
    np.testing.assert_array_equal(after.heatmaps[0].values,
                                  last.attention_after[list(last.ways).index(way), layer, head])
    for fig in (before, after):  # one colour scale, named, masked cells in their own colour
        assert fig.heatmaps[0].scale_label and fig.heatmaps[0].nan_color
    assert before.heatmaps[0].levels == after.heatmaps[0].levels
    state.set_attention("scratch", 1, 1)
    after = state.figure("attention_after")
    np.testing.assert_array_equal(after.heatmaps[0].values, last.attention_after[0, 1, 1])
    assert "from scratch" in after.title and "layer 2, head 2" in after.title


def test_before_a_run_the_legends_list_the_chosen_ways_and_n():
    state = FinetuneState()
    fig = state.figure("accuracy")
    assert fig.is_empty and fig.hint and len(fig.legend_entries()) == 4
    state.preview(FinetuneConfig(ways="warm,frozen", lower=3))
    assert state.figure("loss").legend_entries() == ["warm start", "warm start, lower 3 frozen"]
    assert state.figure("weight_change").legend_entries() == ["warm start", "warm start, lower 3 frozen"]
    for name in state.figure_names:
        assert state.figure(name).hint
    state.take_metrics({"step": [1], "loss_warm": [0.7], "loss_frozen": [0.6]})
    state.preview(FinetuneConfig(ways="scratch", lower=1))  # a run is on show: the form no longer relabels it
    assert state.figure("loss").legend_entries() == ["warm start", "warm start, lower 3 frozen"]


def test_the_sweep_draws_final_accuracy_against_labelled_examples(runs):
    state = open_state(runs["finetune_sweep"])
    assert isinstance(state, FinetuneSweepState)
    _run, snaps = _snaps(runs["finetune_sweep"])
    last = snaps[-1]
    fig = state.figure("efficiency")
    assert fig.x.log and fig.x.unit == "examples"
    assert [v for v, _ in fig.x.ticks] == list(last.examples)  # ticks at the amounts measured
    for i, series in enumerate(fig.series):
        np.testing.assert_allclose(series.x, last.examples[np.isfinite(last.final_accuracy[:, i])])
        np.testing.assert_allclose(series.y, _finite(last.final_accuracy[:, i]))
    assert fig.lines[0].value == pytest.approx(last.chance)
    assert f"{last.done} of {len(last.shares)}" in fig.caption and f"{int(last.examples[0]):,} examples" in fig.caption
    assert state.progress() == last.done / len(last.shares)


def test_the_generation_verdict_is_computed_from_the_measured_numbers():
    state = GenerationState()
    assert state.figure().is_empty and len(state.figure().legend_entries()) == 3
    row = lambda n, train, cached, uncached: SimpleNamespace(  # noqa: E731
        length=n, train_step_s=train, generate_cached_s=cached, generate_uncached_s=uncached, max_diff=2e-7)
    state.start(batch=4)
    assert "measuring" in state.figure().title
    state.finish([row(16, 0.004, 0.030, 0.060), row(8, 0.002, 0.010, 0.012)])
    fig = state.figure()
    np.testing.assert_allclose(fig.series[0].x, [8, 16])
    np.testing.assert_allclose(fig.series[2].y, [0.012, 0.060])
    assert fig.x.log and fig.y.log and fig.y.unit == "s"
    assert "4 × 16 = 64 positions" in fig.caption and "4.0 ms" in fig.caption and "2.0× faster" in fig.caption
    state.finish([row(8, 0.002, 0.020, 0.010)], cancelled=True)
    assert "does not pay" in state.figure().caption and "cancelled" in state.figure().title
    assert [list(r) for r in state.figure().table().rows] == [[8, 0.002, 0.020, 0.010, 2e-7]]


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf", "csv"])
def test_every_figure_of_every_kind_exports_headless(runs, tmp_path, fmt):
    for kind, folder in runs.items():
        state = open_state(folder)
        written = export_figures(state, tmp_path / kind, fmt, scale=1.0)
        assert [p.stem for p in written] == list(state.figure_names)
        # a sweep of a chosen model has no pre-training of its own: that figure is empty (its hint says why)
        assert all(p.stat().st_size > 200 or (kind, p.stem) == ("finetune_sweep", "pretraining") for p in written)
        if fmt == "csv":
            for path, name in zip(written, state.figure_names, strict=True):
                header = next(csv.reader(path.open()))
                assert header == list(state.figure(name).table().header)


def test_an_animation_has_one_frame_per_snapshot(runs, tmp_path):
    from PIL import Image

    for kind, name in (("gpt_pretrain", "loss"), ("finetune", "weight_change")):
        state = open_state(runs[kind])
        path = tmp_path / f"{name}.gif"
        animate_figure(state, name, path)
        assert Image.open(path).n_frames == len(state.source.steps)


def test_figures_are_plain_data():
    import subprocess
    import sys

    code = ("import sys, explorer.state.gpt, explorer.state.finetune; "
            "print(any(m.split('.')[0] in ('torch', 'PySide6', 'pyqtgraph') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert isinstance(FinetuneSweepState().figure("efficiency"), Figure)
