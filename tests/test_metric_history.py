"""MetricHistory stays within a fixed memory over an hour of live training (3.6 M rows) and keeps the curve's
shape: its global extremes and spikes, its newest rows exactly, its steps sorted."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.figures.decimate import extreme_points, extremes_in_order
from explorer.state.base import HISTORY_CAPACITY, MetricHistory


def hour_of_ticks(history: MetricHistory, rows: int = 3_600_000, tick: int = 100, seed: int = 0) -> dict:
    """Feed `rows` rows in ticks (1,000 steps/s at 10 ticks/s): a decaying noisy loss with two spikes, a constant
    rate, and a validation loss every 1,000 steps. Returns what a full history would hold."""
    rng = np.random.default_rng(seed)
    bytes_seen, lo, hi, last = [], (np.inf, 0.0), (-np.inf, 0.0), None
    for start in range(0, rows, tick):
        step = np.arange(start, start + tick, dtype=np.float64)
        loss = 3.0 * np.exp(-step / 5e5) + 0.1 * rng.standard_normal(tick)
        if start == 1_234_500:
            loss[7] = 50.0  # a single-step spike in the middle of the hour
        if start == 2_000_000:
            loss[3] = -5.0
        row = {"step": step, "loss": loss, "lr": 0.025}
        if start % 1000 == 0:
            row["val_loss"] = np.r_[loss[:10].mean(), np.full(tick - 1, np.nan)]
        history.append(row)
        lo, hi = min(lo, (loss.min(), step[loss.argmin()])), max(hi, (loss.max(), step[loss.argmax()]))
        last = (step, loss)
        if start % 360_000 == 0:
            bytes_seen.append(sum(history.column(n).base.nbytes for n in history.names()))
    return dict(bytes=bytes_seen, low=lo, high=hi, last=last)


def test_an_hour_of_live_training_keeps_bounded_memory_and_the_curves_shape():
    history = MetricHistory()
    seen = hour_of_ticks(history)
    assert history.rows_seen == 3_600_000 and len(history) <= HISTORY_CAPACITY
    assert max(seen["bytes"]) <= 4 * (HISTORY_CAPACITY + HISTORY_CAPACITY // 4) * 8  # four columns, fixed
    assert max(seen["bytes"]) < 20e6
    assert seen["bytes"][-1] == seen["bytes"][2]  # flat after the first few minutes
    x, y = history.curve("loss")
    assert np.all(np.diff(x) >= 0) and x[0] == 0 and x[-1] == 3_599_999
    assert y.min() == seen["low"][0] and y.max() == seen["high"][0] == 50.0
    # the spike is still where it was, to within one merged run
    assert abs(x[y.argmax()] - seen["high"][1]) <= 3_600_000 / 1000
    step, loss = seen["last"]
    np.testing.assert_array_equal(x[-100:], step)  # the newest rows exactly
    np.testing.assert_array_equal(y[-100:], loss)
    # the shape: the decay of the loss within its noise everywhere
    assert np.sum(np.abs(y - 3.0 * np.exp(-x / 5e5)) > 0.7) == 2  # only the two spikes stand out
    vx, _ = history.curve("val_loss")
    assert vx.size == 3600 and np.all(np.diff(vx) > 0)  # sparse metrics keep each of their points
    assert np.all(history.curve("lr")[1] == 0.025)


def test_below_capacity_every_row_is_kept_as_it_came():
    history = MetricHistory(capacity=1000, recent=200)
    history.append({"step": np.arange(900.0), "loss": np.arange(900.0) ** 0.5})
    history.append({"step": 900, "loss": 1.5, "extra": 7})
    assert len(history) == 901 and history.rows_seen == 901
    np.testing.assert_array_equal(history.column("loss")[:900], np.arange(900.0) ** 0.5)
    assert np.isnan(history.column("extra")[:900]).all() and history.column("extra")[-1] == 7


@pytest.mark.parametrize("tick", [1, 7, 100, 5000])
def test_merged_runs_keep_every_local_extreme_in_order(tick):
    """A zigzag whose every point is an extreme of its neighbourhood: thinning keeps min and max per run,
    so the drawn envelope (max - min over the whole range) and the order of the extremes survive."""
    history = MetricHistory(capacity=400, recent=100)
    n = 20_000
    y = np.sin(np.arange(n) / 300.0) + np.where(np.arange(n) % 2, 0.5, -0.5)
    for start in range(0, n, tick):
        history.append({"step": np.arange(start, min(n, start + tick)), "loss": y[start:start + tick]})
    x, kept = history.curve("loss")
    assert len(history) <= 400 + 100
    assert kept.max() == y.max() and kept.min() == y.min()
    assert np.all(np.diff(x) >= 0)
    # every kept value is a real value of y at a step no further than one run away
    span = n / (len(history) / 2)
    for xi, yi in zip(x[::17], kept[::17], strict=True):
        near = y[max(0, int(xi - 2 * span)):int(xi + 2 * span) + 1]
        assert yi in near


def test_a_recorded_run_of_millions_of_rows_is_loaded_in_bounded_memory():
    history = MetricHistory()
    n = 1_000_000
    history.append({"step": np.arange(n, dtype=float), "loss": np.linspace(5, 1, n)})
    assert len(history) <= HISTORY_CAPACITY and history.column("loss").base.size <= HISTORY_CAPACITY * 5 // 4
    x, y = history.curve("loss")
    assert y[0] == 5.0 and y[-1] == 1.0 and x[-1] == n - 1


def test_extremes_in_order_and_extreme_points():
    g = np.array([[1.0, 5.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [np.nan] * 4, [np.nan, 4.0, np.nan, np.nan]])
    out = extremes_in_order(g)
    np.testing.assert_array_equal(out[0], [5.0, 0.0])  # the max came first
    assert out[1, 0] == 2.0 and np.isnan(out[1, 1])  # one value once
    assert np.isnan(out[2]).all() and out[3, 0] == 4.0 and np.isnan(out[3, 1])
    x = np.arange(10.0)
    y = np.array([0, 3, 1, -2, 5, 5, 5, 5, 9, 1.0])
    kx, ky = extreme_points(x, y, 4)
    np.testing.assert_array_equal(kx, [1, 3, 4, 8, 9])  # (3 then -2), (5 once), the short tail whole
    np.testing.assert_array_equal(ky, y[kx.astype(int)])


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="capacity"):
        MetricHistory(capacity=10, recent=8)
