"""The Recurrent tab's states without a window: recorded runs of the side-by-side, single-cell and sweep jobs
become figures with the snapshots' and metrics' own numbers, and every figure exports headless."""
from __future__ import annotations

import csv
import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from explorer.render.run_export import animate_figure, export_figures, open_state
from explorer.state.recurrent import RecurrentState
from explorer.state.recurrent_distance import DistanceState
from explorer.state.recurrent_figures import positive
from explorer.training.jobs.rnn_compare_job import RnnCompareConfig, RnnCompareJob
from explorer.training.jobs.rnn_job import RnnConfig, RnnJob
from explorer.training.jobs.rnn_sweep_job import RnnSweepConfig, RnnSweepJob
from explorer.training.record import RunRecorder, open_run
from explorer.training.runner import run_job

TINY = dict(task="copy", hidden=8, length=3, batch_size=8, lr=1e-2)
COMPARE = RnnCompareConfig(with_rnn=True, with_gru=False, with_lstm=True, steps=12, clip="norm", clip_value=0.05,
                           **TINY)


def _record(folder, job):
    recorder = RunRecorder(folder, max_snapshots=4)
    for _ in run_job(job, recorder=recorder, snapshot_interval=0.0, snapshot_share=0.0):  # a snapshot every step
        pass
    return folder


@pytest.fixture(scope="module")
def compare_run(tmp_path_factory):
    return _record(tmp_path_factory.mktemp("rnn_compare") / "run", RnnCompareJob(COMPARE, "cpu"))


@pytest.fixture(scope="module")
def single_run(tmp_path_factory):
    cfg = RnnConfig(cell="GRU", steps=5, **TINY)
    return _record(tmp_path_factory.mktemp("rnn") / "run", RnnJob(cfg, "cpu"))


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory):
    cfg = RnnSweepConfig(task="adding", lengths=(3, 5), hidden=4, steps_per_point=2, batch_size=4)
    return _record(tmp_path_factory.mktemp("rnn_distance") / "run", RnnSweepJob(cfg, "cpu"))


def _snapshots(folder):
    run = open_run(folder)
    return run, [run.load_snapshot(i) for i in range(len(run.snapshot_paths))]


def _series(fig, name):
    return next(s for s in fig.series if s.name == name)


def test_gradient_flow_and_its_history_are_the_snapshots_numbers(compare_run):
    state = open_state(compare_run)
    assert isinstance(state, RecurrentState) and state.cells == ("RNN", "LSTM")
    _, snaps = _snapshots(compare_run)
    assert snaps[0].step == 0 and len(snaps) >= 3
    flow = state.figure("gradient_flow")
    ratios = []
    for c, cell in enumerate(("RNN", "LSTM")):
        solid = _series(flow, cell)
        np.testing.assert_allclose(solid.y, positive(snaps[-1].grad_norms[c]))
        dashed = _series(flow, f"{cell} at initialisation (dashed)")
        assert dashed.dash
        np.testing.assert_allclose(dashed.y, positive(snaps[0].grad_norms[c]))  # step 0: before training
        ratios.append(f"{cell} {solid.y[0] / solid.y[-1]:.1e}")
        heat = state.figure(f"gradient_heatmap_{cell}")
        np.testing.assert_allclose(heat.heatmaps[0].values, np.log10(np.vstack([s.grad_norms[c] for s in snaps])),
                                   rtol=1e-5)  # one row per snapshot
        assert heat.heatmaps[0].scale_label == "log₁₀ ‖∂L/∂h(t)‖"
        assert [text for _, text in heat.y.ticks][-1] == f"{snaps[-1].step:,}"
    assert ", ".join(ratios) in flow.caption and "this run at step 0" in flow.caption
    assert flow.y.log and "dashed" in " ".join(flow.legend_entries())


def test_loss_clipping_and_weights_come_from_the_metrics(compare_run):
    state = open_state(compare_run)
    run, _ = _snapshots(compare_run)
    loss = state.figure("loss")
    for cell in ("RNN", "LSTM"):
        np.testing.assert_allclose(_series(loss, cell).y, run.metrics[f"loss:{cell}"])
        clipped = run.metrics[f"clipped:{cell}"] > 0.5
        marks = next(p for p in loss.points if p.name.startswith(f"{cell}: gradient clipped"))
        np.testing.assert_array_equal(marks.x, run.metrics["step"][clipped])
        assert f"{cell} {int(clipped.sum())} of {clipped.size}" in loss.caption
        np.testing.assert_allclose(_series(state.figure("weights"), cell).y, run.metrics[f"w_sv_max:{cell}"])
    assert "nats" in loss.y.title
    assert any(line.value == 1.0 for line in state.figure("weights").lines)


def test_the_jacobian_figure_has_sigma_a_line_at_one_and_the_chosen_cells_product(compare_run):
    state = open_state(compare_run)
    _, snaps = _snapshots(compare_run)
    state.set_cell("RNN")
    fig = state.figure("jacobian")
    sigma = snaps[-1].jac_sv[0, :, 0].astype(float)
    np.testing.assert_allclose(_series(fig, "RNN").y, positive(sigma[1:]))
    product = _series(fig, "∏ σ_max after t (RNN)")
    np.testing.assert_allclose(product.y[0], np.prod(sigma[1:]), rtol=1e-6)
    assert product.y[-1] == 1.0 and [line.value for line in fig.lines] == [1.0]
    assert f"{np.prod(sigma[1:]):.1e}" in fig.caption


def test_states_and_gates_follow_the_chosen_cell_the_timeline_and_typed_input(compare_run):
    state = open_state(compare_run)
    _, snaps = _snapshots(compare_run)
    assert "gate_f_LSTM" in state.figure_names and "gate_f_RNN" not in state.figure_names
    gate = state.figure("gate_f_LSTM")
    np.testing.assert_allclose(gate.heatmaps[0].values, snaps[-1].gates[1, 0].T)  # unit up, time across
    assert gate.heatmaps[0].levels == (0.0, 1.0) and gate.heatmaps[0].scale_label
    assert {text for _, text in gate.x.ticks} <= set(snaps[-1].input_labels)
    state.set_cell("RNN")
    assert state.figure("gate_f").is_empty and "no forget gate" in state.figure("gate_f").hint
    np.testing.assert_allclose(state.figure("state_h").heatmaps[0].values, snaps[-1].hidden_states[0].T)
    state.select(1)
    assert state.figure("gradient_heatmap").heatmaps[0].values.shape[0] == 2
    assert state.figure("loss").series[0].x.max() <= snaps[1].step
    assert f"at step {snaps[1].step:,}" in state.figure("state_h").title
    typed = {"h": np.ones((2, 8), np.float32)}
    state.set_typed("RNN", snaps[1].step, typed, ("a", "b"))
    fig = state.figure("state_h")
    assert "on your input" in fig.title and fig.heatmaps[0].values.shape == (8, 2)
    state.select(2)  # another snapshot: the typed input was run on other weights
    assert "on your input" not in state.figure("state_h").title


def test_a_single_cell_run_reads_as_one_cell(single_run):
    state = open_state(single_run)
    run, snaps = _snapshots(single_run)
    assert state.cells == ("GRU",)
    assert state.figure_names[-3:] == ("state_h_GRU", "gate_z_GRU", "gate_r_GRU")
    np.testing.assert_allclose(_series(state.figure("gradient_flow"), "GRU").y, positive(snaps[-1].grad_norms))
    np.testing.assert_allclose(_series(state.figure("loss"), "GRU").y, run.metrics["loss"])
    np.testing.assert_allclose(state.figure("gate_z").heatmaps[0].values, snaps[-1].gates[0].T)


def test_the_fresh_networks_follow_the_form_before_any_run():
    state = RecurrentState()
    cfg = RnnCompareConfig(with_rnn=True, with_gru=True, with_lstm=False, length=6, task="adding")
    assert state.set_config(cfg)  # never measured: measure
    assert not state.set_config(dataclasses.replace(cfg, lr=0.1))  # the learning rate does not change them
    flow = state.figure("gradient_flow")
    assert flow.is_empty and flow.hint and flow.legend_entries() == ["RNN", "GRU", "dashed: at initialisation"]
    assert [s.name for s in flow.series if s.dash] == [
        "RNN at initialisation (dashed)", "GRU at initialisation (dashed)", "dashed: at initialisation"]
    for name in ("loss", "weights", "gradient_heatmap"):
        assert state.figure(name).is_empty and state.figure(name).hint
    assert state.figure("loss").legend_entries() == ["RNN", "GRU"]
    g = np.geomspace(1e-6, 1.0, 6)
    fake = {"RNN": SimpleNamespace(grad_norms=g, jac_sv=np.full((6, 2), 0.5), w_sv_max=0.3)}
    state.set_initial_flow(dataclasses.replace(cfg, weight_scale=3.0), fake)  # for other settings: ignored
    assert state.initial is None and "measuring" in state.theory_html()
    state.set_initial_flow(cfg, fake)
    np.testing.assert_allclose(_series(state.figure("gradient_flow"), "RNN at initialisation (dashed)").y, g)
    assert "RNN 1.0e-06" in state.figure("gradient_flow").caption and "1.0e-06" in state.theory_html()
    assert state.set_config(dataclasses.replace(cfg, weight_scale=0.5)) and state.initial is None


def test_a_cell_that_stops_is_reported_once(compare_run):
    _, snaps = _snapshots(compare_run)
    state = RecurrentState()
    said = []
    state.stopped.connect(said.append)
    state.reset(COMPARE)
    for snap in snaps[1:]:
        state.take_snapshot(dataclasses.replace(snap, diverged=("the gradients exploded", "")))
    assert said == ["RNN stopped: the gradients exploded LSTM go on training."]
    assert "RNN" in state.summary_html() and "(stopped)" in state.summary_html()


def test_the_sweep_plots_accuracy_against_length_with_chance(sweep_run):
    state = open_state(sweep_run)
    assert isinstance(state, DistanceState)
    _, snaps = _snapshots(sweep_run)
    fig = state.figure("accuracy_by_length")
    for c, cell in enumerate(snaps[-1].cells):
        np.testing.assert_allclose(_series(fig, cell).y, snaps[-1].accuracy[c])
        np.testing.assert_array_equal(_series(fig, cell).x, [3, 5])
    assert fig.lines[0].value == pytest.approx(snaps[-1].chance) and "6 of 6 points" in fig.title
    assert [text for _, text in fig.x.ticks] == ["3", "5"]


def test_every_figure_exports_in_every_format_and_animates_one_frame_per_snapshot(
        qapp, compare_run, single_run, sweep_run, tmp_path):
    for run in (compare_run, single_run, sweep_run):
        state = open_state(run)
        for fmt in ("png", "svg", "pdf", "csv"):
            written = export_figures(state, tmp_path / run.parent.name / fmt, fmt, scale=1.0)
            assert [p.stem for p in written] == list(state.figure_names)
            assert all(p.stat().st_size > 100 for p in written)
    with open(tmp_path / compare_run.parent.name / "csv" / "gradient_heatmap_LSTM.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["training step", "time step t", "‖∂L/∂h(t)‖", "log₁₀ ‖∂L/∂h(t)‖"]
    with open(tmp_path / compare_run.parent.name / "csv" / "jacobian.csv") as fh:
        assert any(row[0] == "reference line" for row in csv.reader(fh))
    state = open_state(compare_run)
    frames = animate_figure(state, "gradient_flow", tmp_path / "flow.gif")
    snapshots = len(open_run(compare_run).snapshot_paths)
    assert frames == snapshots == Image.open(tmp_path / "flow.gif").n_frames
