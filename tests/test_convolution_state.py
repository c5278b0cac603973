"""The Convolution tab's state without a window: a recorded run's snapshots become figures with the same numbers."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis import receptive_field as rf
from explorer.render.run_export import open_state
from explorer.state.convolution import ConvolutionState
from explorer.training.jobs.conv_job import ConvConfig, ConvJob
from explorer.training.record import RunRecorder, open_run
from explorer.training.runner import run_job

CFG = ConvConfig(layers=2, max_distance=5, seq_len=16, alphabet=4, steps=12, batch_size=8, channels=8)


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("conv") / "run"
    for _ in run_job(ConvJob(CFG, "cpu"), recorder=RunRecorder(folder, max_snapshots=4)):
        pass
    return folder


def test_a_recorded_run_gives_figures_with_the_snapshots_numbers(conv_run):
    state = open_state(conv_run)
    assert "Qt" not in type(state).__module__ and isinstance(state, ConvolutionState)
    run = open_run(conv_run)
    snaps = [run.load_snapshot(i) for i in range(len(run.snapshot_paths))]
    erf = state.figure("erf").heatmaps[0]
    np.testing.assert_allclose(erf.values, np.vstack([s.erf for s in snaps]))  # one row per snapshot
    assert erf.scale_label and erf.levels == (0.0, 1.0)
    acc = state.figure("accuracy")
    np.testing.assert_allclose(acc.series[0].y, snaps[-1].accuracy_by_distance)
    chance = next(line for line in acc.lines if line.label.startswith("chance"))
    assert chance.value == pytest.approx(snaps[-1].chance)
    loss = state.figure("loss").series[0]
    np.testing.assert_allclose(loss.y, run.metrics["loss"])
    assert f"{loss.y[-1]:.4f}" in state.figure("loss").caption


def test_the_timeline_shows_history_up_to_the_chosen_snapshot(conv_run):
    state = open_state(conv_run)
    state.select(1)
    steps = state.source.steps
    assert state.figure("erf").heatmaps[0].values.shape[0] == 2
    assert state.figure("loss").series[0].x.max() <= steps[1]
    assert f"step {steps[1]:,}" in state.figure("accuracy").title


def test_architecture_figures_follow_the_settings_and_the_output():
    state = ConvolutionState()
    seen = []
    state.changed.connect(seen.append)
    cfg = ConvConfig(layers=4, kernel_size=2, dilations="doubling", seq_len=40, residual=False)
    state.set_config(cfg)
    assert state.output == 20 and seen  # the middle output first: it has future inputs for the leak check
    state.set_output(39)
    field = next(p for p in state.figure("connections").points if p.name == "inputs output t sees")
    assert sorted(field.x.astype(int)) == list(range(39 - 15, 40))  # 1 + (1 + 2 + 4 + 8) = 16 inputs
    state.set_output(20)
    field = next(p for p in state.figure("connections").points if p.name == "inputs output t sees")
    assert sorted(field.x.astype(int)) == list(range(5, 21))
    depth = state.figure("depth")
    np.testing.assert_array_equal(depth.series[0].y, rf.sizes_by_depth(2, (1, 2, 4, 8)))
    assert "16 with dilations, 5 without" in depth.title


def test_the_leak_check_is_measured_not_assumed():
    state = ConvolutionState()
    cfg = ConvConfig(layers=2, seq_len=16)
    state.set_config(cfg, output=8)
    assert "measuring" in state.figure("field").caption
    erf = np.zeros(16)
    erf[5:9] = 1.0
    state.set_initial_erf(cfg, 8, erf)
    assert "exactly 0 for all 7 future inputs" in state.figure("field").caption
    erf[10] = 0.2
    state.set_initial_erf(cfg, 8, erf)
    assert "1 future inputs" in state.figure("field").caption
    state.set_initial_erf(cfg, 3, erf)  # for another output than shown: ignored
    assert state.initial_erf[10] == pytest.approx(0.2)


def test_before_training_the_figures_say_what_to_do_and_keep_their_legend():
    state = ConvolutionState()
    state.set_config(CFG)
    for name in ("loss", "erf", "accuracy"):
        fig = state.figure(name)
        assert fig.is_empty and fig.hint
    assert state.figure("accuracy").legend_entries() == ["accuracy"]
