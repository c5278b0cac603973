"""The recurrent lessons (vanishing-exploding, gates-keep-gradient, problem-types): their deciders follow the
numbers, and the jobs and states behind them (gradient against weight scale, the sweep's gradient ratios, the
problem types and the count task) measure what they say."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.data.recurrent_tasks import PROBLEM_TYPES, CountTask, make_count_batch
from explorer.lessons.recurrent import decide_gates, decide_scales, decide_types
from explorer.state.recurrent_distance import DistanceState
from explorer.state.recurrent_scales import RnnScaleState, median_ratios, network_ratios
from explorer.state.recurrent_types import RnnTypesState
from explorer.training.jobs import rnn_job
from explorer.training.jobs.rnn_job import RnnConfig, RnnJob, encode_input, states_for_input, task_title
from explorer.training.jobs.rnn_scale_job import RnnScaleConfig, RnnScaleJob, gradient_by_time
from explorer.training.jobs.rnn_sweep_job import RnnSweepConfig, RnnSweepJob
from explorer.training.jobs.rnn_types_job import RnnTypesConfig, RnnTypesJob
from explorer.training.record import RunRecorder, open_run
from explorer.training.runner import FINISHED, run_to_end


# ---- deciders -----------------------------------------------------------------------------------------------------
def test_vanishing_exploding_verdict_follows_the_numbers():
    good = dict(scale_low=0.5, ratio_low=1e-12, scale_mid=1.0, ratio_mid=0.4, scale_high=1.5, ratio_high=3e6,
                length=40, hidden=64, networks=8, linear=1.0, relu=0.0, tanh_ratio_high=18.0)
    v = decide_scales(good)
    assert v.holds and "1.0e-12 at weight scale 0.5" in v.evidence and "3.0e+06 at 1.5" in v.evidence
    assert "linear plain RNN" in v.evidence and "tanh saturates" in v.evidence
    assert not decide_scales({**good, "ratio_high": 50.0}).holds  # no explosion
    assert not decide_scales({**good, "ratio_low": 0.1}).holds  # no vanishing
    assert not decide_scales({**good, "ratio_mid": 1e7}).holds  # not ordered
    assert "tanh saturates" not in decide_scales({**good, "tanh_ratio_high": 1e6}).evidence


def test_gates_verdict_needs_accuracy_and_gradient_and_says_both_times():
    good = dict(length=40, shortest=10, chance=0.07, lecture_gru=1.0,
                acc_RNN=0.1, acc_GRU=0.95, acc_LSTM=0.8, acc_short_RNN=0.2, acc_short_GRU=1, acc_short_LSTM=1,
                ratio_init_RNN=0.3, ratio_init_GRU=5e-4, ratio_init_LSTM=6e-3,
                ratio_trained_RNN=1e-5, ratio_trained_GRU=0.9, ratio_trained_LSTM=0.2)
    v = decide_gates(good)
    assert v.holds and "LSTM 80%" in v.evidence and "GRU 0.90" in v.evidence
    assert "at initialisation the gated cells keep less of it than the plain RNN" in v.evidence
    assert not decide_gates({**good, "acc_LSTM": 0.3}).holds  # one gated cell does not learn
    assert not decide_gates({**good, "acc_RNN": 0.9}).holds  # the plain RNN learns too
    lost = decide_gates({**good, "ratio_trained_LSTM": 1e-5})
    assert not lost.holds and "less than 10× as much" in lost.evidence
    assert "already at initialisation" in decide_gates({**good, "ratio_init_GRU": 0.5, "ratio_init_LSTM": 0.4}).evidence


def test_problem_types_verdict_needs_every_type_above_chance():
    good = dict(acc_one_to_many=1.0, chance_one_to_many=0.125, task_one_to_many=0,
                acc_many_to_one=0.6, chance_many_to_one=0.07, task_many_to_one=1,
                acc_many_to_many=0.9, chance_many_to_many=0.125, task_many_to_many=2)
    v = decide_types(good)
    assert v.holds and "one to many (count) 100% (chance 12%)" in v.evidence
    assert "many to one (adding) 60%" in v.evidence
    assert not decide_types({**good, "acc_many_to_one": 0.2}).holds


# ---- the count task and the problem types -------------------------------------------------------------------------
def test_count_task_emits_the_sequence_its_one_symbol_determines():
    x, y = make_count_batch(5, 6, alphabet=4, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (5, 6) and torch.all(x[:, 1:] == 4) and torch.all(x[:, 0] < 4)
    for row_x, row_y in zip(x.tolist(), y.tolist(), strict=True):
        assert row_y == [(row_x[0] + t) % 4 for t in range(6)]
    task = CountTask(6, 4)
    assert task.problem_type == "one to many" and task.chance == 0.25 and task.alphabet[-1] == "·"
    assert task.encode("c.. .") == [2, 4, 4, 4]
    with pytest.raises(ValueError, match="no go marker"):
        task.encode("c.. go")
    assert rnn_job.PROBLEM_TYPES == PROBLEM_TYPES and task_title("adding") == "adding task, many to one"


def test_a_count_model_reruns_on_typed_input():
    cfg = RnnConfig(task="count", cell="GRU", hidden=6, length=5, steps=2, batch_size=4)
    job = RnnJob(cfg)
    run_to_end(job)
    snap = job.snapshot(2)
    ids = encode_input(cfg, snap.alphabet, "b....")
    out = states_for_input(cfg, snap.param_vector, ids)
    assert out["hidden"].shape == (5, 6) and out["output"].shape == (5, 8) and set(out) >= {"z", "r"}


def test_the_gru_variant_is_a_setting_and_the_lecture_is_the_default():
    assert RnnConfig().gru_variant == "lecture" and RnnSweepConfig().gru_variant == "lecture"
    for variant, reset_after in (("lecture", False), ("torch", True)):
        job = RnnJob(RnnConfig(cell="GRU", gru_variant=variant, hidden=4, length=4, steps=1, batch_size=2))
        run_to_end(job)
        assert job.model.cell.reset_after == reset_after
        cfg = job.config
        states_for_input(cfg, job.snapshot(1).param_vector, [1, 2, 3])  # the parameter count fits the variant


# ---- the gradient-against-scale job and its state -----------------------------------------------------------------
def test_a_linear_rnns_gradient_shrinks_or_grows_by_the_scale_per_step():
    g_low = gradient_by_time("identity", 0.5, 20, 16, seed=0).astype(np.float64)
    g_high = gradient_by_time("identity", 1.5, 20, 16, seed=0).astype(np.float64)
    assert g_low.shape == (20,) and g_low[0] / g_low[-1] < 1e-3 and g_high[0] / g_high[-1] > 1e2
    # the rate per step is the spectral radius (up to the transient of a non-normal matrix)
    assert np.exp(np.polyfit(np.arange(20), np.log(g_low), 1)[0]) == pytest.approx(2.0, rel=0.35)


def test_the_scale_job_is_recorded_and_its_state_draws_the_ratios(tmp_path):
    cfg = RnnScaleConfig(scales=(0.5, 1.5), length=12, hidden=8, networks=3)
    assert RnnScaleConfig(scales=()).check() and RnnScaleConfig(scales=(0.5, 20.0)).check()
    job = RnnScaleJob(cfg)
    _, final = run_to_end(job, recorder=RunRecorder(tmp_path / "run"))
    assert final.status == FINISHED
    record = open_run(tmp_path / "run")
    snap = record.load_snapshot(len(record.snapshot_steps()) - 1)
    assert snap.grad_norms.shape == (2, 3, 12) and snap.tanh_grad_norms.shape == (2, 3, 12)
    ratios = network_ratios(snap.grad_norms)
    np.testing.assert_allclose(ratios, snap.grad_norms[..., 0] / snap.grad_norms[..., -1], rtol=1e-6)
    np.testing.assert_allclose(median_ratios(snap.grad_norms), np.median(ratios, axis=1), rtol=1e-6)
    state = RnnScaleState()
    state.take_snapshot(snap)
    ratio_fig, flow_fig = state.figure("ratio_by_scale"), state.figure("gradient_by_scale")
    assert not ratio_fig.is_empty and not flow_fig.is_empty
    assert ratio_fig.y.log and ratio_fig.x.unit == "" and "median ratio" in ratio_fig.caption
    assert f"{median_ratios(snap.grad_norms)[0]:.1e} at 0.5" in ratio_fig.caption
    assert "scale 0.5 (linear)" in flow_fig.legend_entries() and len(flow_fig.table().rows) == 2 * 2 * 3 * 12


# ---- the sweep's gradient ratios and the problem types' job -------------------------------------------------------
def test_the_sweep_measures_the_gradient_ratio_before_and_after_training():
    job = RnnSweepJob(RnnSweepConfig(task="adding", lengths=(4, 6), hidden=6, steps_per_point=3, batch_size=4))
    run_to_end(job)
    snap = job.snapshot(18)
    assert snap.ratio_initial.shape == snap.ratio_trained.shape == (3, 2) and snap.gru_variant == "lecture"
    assert np.isfinite(snap.ratio_initial).all() and np.isfinite(snap.ratio_trained).all()
    assert not np.allclose(snap.ratio_initial, snap.ratio_trained)
    state = DistanceState()
    state.take_snapshot(snap)
    fig = state.figure("gradient_by_length")
    assert not fig.is_empty and "RNN after training" in fig.legend_entries()
    assert f"RNN {snap.ratio_trained[0, 1]:.1e}" in fig.caption
    assert "many to one" in state.figure("accuracy_by_length").title
    assert "lecture's" in state.figure("accuracy_by_length").caption


def test_the_problem_types_job_trains_one_task_per_type_and_its_state_shows_them():
    job = RnnTypesJob(RnnTypesConfig(length=3, hidden=6, steps_per_task=4, batch_size=4))
    state = RnnTypesState()
    ticks, final = run_to_end(job)
    assert final.status == FINISHED
    for tick in ticks:
        if tick.metrics:
            state.take_metrics(tick.metrics)
    snap = job.snapshot(12)
    assert snap.tasks == ("count", "adding", "copy")
    assert snap.problem_types == ("one to many", "many to one", "many to many")
    assert np.isfinite(snap.accuracy).all() and snap.current == ""
    state.take_snapshot(snap)
    bars = state.figure("accuracy_by_type")
    assert [b.name for b in bars.bars] == ["one to many (count)", "many to one (adding)", "many to many (copy)"]
    assert bars.points[0].y.tolist() == pytest.approx(snap.chance.tolist())
    assert "many to one (adding)" in bars.caption
    loss = state.figure("loss_by_type")
    assert [s.name for s in loss.series] == ["one to many (count)", "many to one (adding)", "many to many (copy)"]
    assert all(s.x.size for s in loss.series) and loss.y.log
