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
    if kind == "full attention":
        mem = [r.memory_bytes for r in rows]
        assert fitted_slope(lengths, mem, upper=1.0) == pytest.approx(2.0, abs=0.1)
    else:
        assert rows[-1].memory_bytes <= 4.5 * rows[0].memory_bytes  # linear: 4x the length, ~4x the bytes


def test_a_cancelled_measurement_returns_what_it_has():
    done = []
    rows = measure_layer_cost("local attention", [16, 32, 64], width=16, repeats=1,
                              progress=lambda d, t: done.append(d), cancelled=lambda: len(done) >= 2)
    assert [r.length for r in rows] == [16]
