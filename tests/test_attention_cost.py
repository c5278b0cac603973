"""Cost of a sequence layer against length: the fitted slope, and a small measurement of every kind."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.attention_cost import ANALYTIC, KINDS, fitted_slope, measure_layer_cost


def test_the_slope_of_a_power_law_is_its_exponent():
    n = np.array([64, 128, 256, 512, 1024, 2048])
    assert fitted_slope(n, 3e-9 * n**2) == pytest.approx(2.0)
    assert fitted_slope(n, 1e-6 * n) == pytest.approx(1.0)
    # a constant overhead bends the short end; the upper half still shows the asymptote
    bent = 3e-5 + 1e-9 * n**2
    assert fitted_slope(n, bent, upper=1.0) < 1.5 and fitted_slope(n, bent) == pytest.approx(2.0, abs=0.1)
    with pytest.raises(ValueError):
        fitted_slope([10], [1.0])


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_measured_and_full_attention_memory_grows_quadratically(kind):
    lengths = [32, 64, 128]
    calls = []
    rows = measure_layer_cost(kind, lengths, width=32, repeats=1, progress=lambda d, t: calls.append((d, t)))
    assert [r.length for r in rows] == lengths and all(r.seconds > 0 for r in rows)
    assert all(r.memory_bytes > 0 and r.memory_method == ANALYTIC for r in rows)
    assert calls[-1] == (6, 6)
    assert all(r.repeats == 1 and r.seconds_low == r.seconds == r.seconds_high for r in rows)
    if kind == "full attention":
        mem = [r.memory_bytes for r in rows]
        assert fitted_slope(lengths, mem, upper=1.0) == pytest.approx(2.0, abs=0.1)
    else:
        assert rows[-1].memory_bytes <= 4.5 * rows[0].memory_bytes  # linear: 4x the length, ~4x the bytes


def test_a_cancelled_measurement_returns_the_lengths_timed_so_far():
    done = []
    # a warm-up round over the three lengths, then timed rounds: stopped after the first timed run
    rows = measure_layer_cost("local attention", [16, 32, 64], width=16, repeats=2,
                              progress=lambda d, t: done.append(d), cancelled=lambda: len(done) >= 4)
    assert [r.length for r in rows] == [16] and rows[0].repeats == 1


def test_timings_are_rounds_over_the_lengths_with_median_fastest_and_slowest(monkeypatch):
    import explorer.analysis.attention_cost as cost

    clock = iter(range(1000))
    monkeypatch.setattr(cost.time, "perf_counter", lambda: float(next(clock)) ** 2)
    rows = measure_layer_cost("downsampled attention", [8, 16], width=8, heads=2, repeats=3, pooled=4)
    # the clock reads k^2 at its k-th reading; the untimed round 0 reads it once per length (k = 0, 1), a timed
    # run twice, so it takes (k+1)^2 - k^2 = 2k + 1; the rounds alternate 8, 16: length 8 starts at k = 2, 6, 10,
    # length 16 at k = 4, 8, 12
    assert [(r.seconds_low, r.seconds, r.seconds_high) for r in rows] == [(5, 13, 21), (9, 17, 25)]
    assert all(r.repeats == 3 for r in rows)


def test_downsampled_attention_pools_to_a_fixed_number_of_positions_and_keeps_the_length():
    import torch

    from explorer.analysis.attention_cost import analytic_bytes, build_layer, kind_label

    layer = build_layer("downsampled attention", width=8, heads=2, max_length=64, window=4, rank=4, pooled=4)
    x = torch.randn(1, 64, 8)
    y = layer(x)
    assert y.shape == x.shape
    # every position of a segment of 16 gets its segment's output; a change in one segment reaches all of them
    segments = y[0].reshape(4, 16, 8)
    assert torch.allclose(segments, segments[:, :1].expand(-1, 16, -1))
    assert "pooled to 4" in kind_label("downsampled attention", pooled=4)
    # linear memory: the T-long output outgrows the 4 x 4 weights of the pooled positions
    assert analytic_bytes("downsampled attention", 2048, 8, 1, 2, 4, 4, 4) == 2 * analytic_bytes(
        "downsampled attention", 1024, 8, 1, 2, 4, 4, 4) == 4 * 2048 * 8
