"""Memory of the live loss curve over an hour of training: the tab state's MetricHistory and the canvas's LiveCurve.

Simulates `--minutes` of a word2vec run at `--steps-per-s` (1,000: an hour is 3.6 M steps) in ticks of
`--tick-hz` a second (each tick's rows: step, loss, lr, as the runner sends them) through the Embeddings tab's
state (take_metrics, as the app does), and every `--draw-every` simulated seconds draws its loss figure on an
offscreen canvas (the same FigureCanvas and LiveCurve as on screen). Memory is what tracemalloc counts (numpy
reports its arrays to it) above the start, at every simulated minute, once with histories that keep every row
(the behaviour before decimation) and once with the bounded ones. Checks that the bounded curve keeps the global
minimum and maximum of the loss (with two single-step spikes) and the last value exactly, and compares the final
figure drawn from both histories pixel by pixel.

Usage: python bench/curve_memory.py [--minutes 60] [--steps-per-s 1000] [--tick-hz 10] [--draw-every 10]
Prints a table, and a JSON object of the figures as its last line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import tracemalloc

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

UNBOUNDED = 1 << 40  # a capacity never reached: every row kept, as before decimation


def simulate(bounded: bool, args) -> dict:
    """Run the simulated hour; (MB above the start at each minute, checks of the final curve)."""
    from PySide6.QtGui import QImage

    from explorer.render import elements
    from explorer.render.canvas import FigureCanvas
    from explorer.render.files import canvas_image, dispose, fit_canvas
    from explorer.render.live_curve import LiveCurve
    from explorer.state import MetricHistory, state_for_kind
    from explorer.training.jobs.word2vec_job import Word2VecConfig

    if not bounded:
        class KeepAll(LiveCurve):
            def __init__(self, *a, **kw):
                super().__init__(*a, max_points=UNBOUNDED, **kw)
        elements.LiveCurve = KeepAll
    try:
        rng = np.random.default_rng(0)
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        state = state_for_kind("word2vec")
        state.reset(Word2VecConfig())
        if not bounded:
            state.metrics = MetricHistory(capacity=UNBOUNDED)
        total = int(args.minutes * 60 * args.steps_per_s)
        state.planned_steps = total
        canvas = FigureCanvas()
        fit_canvas(canvas, 800, 500)
        per_tick = int(args.steps_per_s / args.tick_hz)
        ticks_per_draw = int(args.draw_every * args.tick_hz)
        ticks_per_minute = int(60 * args.tick_hz)
        spikes = {total // 3: 40.0, 2 * total // 3: -3.0}
        low, high = np.inf, -np.inf
        minutes, t0 = [], time.perf_counter()
        for tick, first in enumerate(range(0, total, per_tick)):
            step = np.arange(first, first + per_tick, dtype=np.float64)
            loss = 2.5 + 2.0 * np.exp(-step / (total / 10)) + 0.2 * rng.standard_normal(per_tick)
            for at, value in spikes.items():
                if first <= at < first + per_tick:
                    loss[at - first] = value
            low, high = min(low, loss.min()), max(high, loss.max())
            state.take_metrics({"step": step, "loss": loss, "lr": np.full(per_tick, 0.025)})
            if (tick + 1) % ticks_per_draw == 0:
                canvas.show_figure(state.figure("loss"))
            if (tick + 1) % ticks_per_minute == 0:
                minutes.append((tracemalloc.get_traced_memory()[0] - start) / 1e6)
        canvas.show_figure(state.figure("loss"))
        peak = (tracemalloc.get_traced_memory()[1] - start) / 1e6
        x, y = state.metrics.curve("loss")
        curve = canvas.curves["loss"]
        drawn_y = curve.item.yData
        checks = dict(rows_kept=len(state.metrics), curve_points=len(curve),
                      extremes_kept=bool(y.min() == low and y.max() == high and drawn_y.max() == high
                                         and drawn_y.min() == low),
                      last_exact=bool(y[-1] == loss[-1] and x[-1] == step[-1]),
                      sorted=bool(np.all(np.diff(x) >= 0)), seconds=time.perf_counter() - t0, peak_mb=peak)
        image = canvas_image(canvas).convertToFormat(QImage.Format.Format_RGB32)
        pixels = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())
        dispose(canvas)
        return dict(minutes=minutes, image=pixels.copy(), **checks)
    finally:
        tracemalloc.stop()
        elements.LiveCurve = LiveCurve


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--steps-per-s", type=float, default=1000)
    ap.add_argument("--tick-hz", type=float, default=10)
    ap.add_argument("--draw-every", type=float, default=10, help="simulated seconds between two draws")
    args = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])  # noqa: F841 - the canvas needs one
    results = {name: simulate(bounded, args) for name, bounded in (("before", False), ("after", True))}
    print(f"{args.minutes:g} simulated minutes at {args.steps_per_s:,.0f} steps/s in ticks of "
          f"{args.steps_per_s / args.tick_hz:,.0f} rows; a draw every {args.draw_every:g} s")
    print(f"{'minute':>7} {'before MB':>10} {'after MB':>9}")
    before, after = results["before"]["minutes"], results["after"]["minutes"]
    for m in sorted({0, *range(4, len(before), 5), len(before) - 1}):
        print(f"{m + 1:>7} {before[m]:>10.1f} {after[m]:>9.1f}")
    for name, r in results.items():
        print(f"{name}: {r['rows_kept']:,} rows kept, {r['curve_points']:,} curve points, peak "
              f"{r['peak_mb']:.1f} MB, extremes kept {r['extremes_kept']}, last value exact {r['last_exact']}, "
              f"steps sorted {r['sorted']}, {r['seconds']:.1f} s")
    a, b = results["before"]["image"], results["after"]["image"]
    differ = float(np.mean(np.any(a.reshape(a.shape[0], -1, 4) != b.reshape(b.shape[0], -1, 4), axis=2)))
    print(f"the final loss figures drawn from both, 800x500: {differ:.2%} of the pixels differ")
    print(json.dumps({
        "bench": "curve_memory", "minutes": args.minutes, "rows": int(args.minutes * 60 * args.steps_per_s),
        "before_mb": round(before[-1], 1), "after_mb": round(after[-1], 1),
        "before_growth_mb_per_min": round((before[-1] - before[0]) / max(1, len(before) - 1), 2),
        "after_growth_after_first_10_min_mb": round(after[-1] - after[min(9, len(after) - 1)], 2),
        "after_peak_mb": round(results["after"]["peak_mb"], 1),
        "pixels_differ": round(differ, 4), "extremes_kept": results["after"]["extremes_kept"],
        "last_exact": results["after"]["last_exact"],
    }))


if __name__ == "__main__":
    main()
