"""Measurements as jobs: attention's cost against length is recorded, reopened and drawn with fitted slopes."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.render.run_export import open_state
from explorer.state.measurements import AttentionCostState
from explorer.training.jobs.attention_cost_job import AttentionCostConfig, AttentionCostJob, AttentionCostSnapshot
from explorer.training.params import validate_config
from explorer.training.record import RunRecorder
from explorer.training.runner import run_job


def test_a_tiny_measurement_is_recorded_and_reopens_with_one_row_per_layer_and_length(tmp_path):
    cfg = AttentionCostConfig(layers="full vs local vs low-rank", lengths=(8, 16), width=8, heads=2, repeats=1,
                              window=4, rank=4)
    for _ in run_job(AttentionCostJob(cfg, "cpu"), recorder=RunRecorder(tmp_path / "run")):
        pass
    state = open_state(tmp_path / "run")
    assert isinstance(state, AttentionCostState)
    snap = state.snapshot
    assert len(snap.lengths) == 3 * 2 and set(snap.lengths.tolist()) == {8, 16}
    time_fig = state.figure("time")
    medians = [s for s in time_fig.series if s.legend]
    assert len(medians) == 3 and time_fig.x.log and time_fig.y.log
    full = next(s for s in medians if s.name.startswith("full attention"))
    rows = [i for i, k in enumerate(snap.kinds) if k == "full attention"]
    np.testing.assert_allclose(full.y, snap.seconds[rows])
    # the spread of the timed runs: a bar from the fastest to the slowest at each length, no legend entry
    bars = next(s for s in time_fig.series if s.name.startswith("full attention") and not s.legend)
    np.testing.assert_array_equal(bars.x[~np.isnan(bars.y)], np.repeat(snap.lengths[rows], 2))
    np.testing.assert_allclose(bars.y[~np.isnan(bars.y)],
                               np.column_stack([snap.seconds_low[rows], snap.seconds_high[rows]]).ravel())
    assert snap.repeats == 1 and "median of 1 timed runs" in time_fig.caption
    assert time_fig.table().header[1] == "sequence length (tokens)"


def test_full_attention_stops_at_its_longest_length_the_remedies_go_on(tmp_path):
    cfg = AttentionCostConfig(layers="full vs the three remedies", lengths=(8, 16, 32), full_longest=16, width=8,
                              heads=2, repeats=1, window=4, rank=4, pooled=4)
    for _ in run_job(AttentionCostJob(cfg, "cpu"), recorder=RunRecorder(tmp_path / "run")):
        pass
    snap = open_state(tmp_path / "run").snapshot
    by_kind = {k: sorted(int(n) for n, kk in zip(snap.lengths, snap.kinds, strict=True) if kk == k)
               for k in set(snap.kinds)}
    assert by_kind == {"full attention": [8, 16], "local attention": [8, 16, 32], "low-rank attention": [8, 16, 32],
                       "downsampled attention": [8, 16, 32]}
    assert validate_config(AttentionCostConfig(lengths=(64, 128), full_longest=32))


def test_a_run_recorded_before_the_spread_was_kept_still_draws():
    state = AttentionCostState()
    state.take_snapshot(AttentionCostSnapshot(
        step=1, kinds=("full attention",) * 2, labels=("full",) * 2, lengths=np.array([64, 128]),
        seconds=np.array([1e-3, 4e-3]), memory=np.array([1e4, 4e4]), methods=("analytic",) * 2, device="cpu"))
    fig = state.figure("time")
    assert len(fig.series) == 1 and "timed runs" not in fig.caption
    assert np.isnan(fig.table().rows[0][3])


def test_slopes_are_fitted_from_the_numbers_shown():
    state = AttentionCostState()
    lengths = np.array([64, 128, 256, 512] * 2)
    seconds = np.concatenate([1e-6 * lengths[:4] ** 2.0, 1e-4 * lengths[:4]])
    state.take_snapshot(AttentionCostSnapshot(
        step=2, kinds=("full attention",) * 4 + ("local attention",) * 4, labels=("full",) * 4 + ("local",) * 4,
        lengths=lengths, seconds=seconds, memory=seconds * 1e9, methods=("analytic",) * 8, device="cpu"))
    slopes = state.slopes("time")
    assert slopes["full"] == pytest.approx(2.0) and slopes["local"] == pytest.approx(1.0)
    assert "full 2.00" in state.figure("time").caption and "local 1.00" in state.figure("time").caption


def test_bad_settings_are_refused_with_a_message():
    problems = validate_config(AttentionCostConfig(width=10, heads=4))
    assert any("multiple of the heads" in p for p in problems.values())
    assert validate_config(AttentionCostConfig(lengths=(64,)))
