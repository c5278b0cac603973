"""2-D projections of word vectors and the embedding map's redraw: how long each takes at 10,000 and 50,000 words.

Goal: a PCA projection of 10,000 words and its redraw under 100 ms together; 50,000 points pan and zoom smoothly.
t-SNE and Isomap run on their default samples (the most frequent words) and on 10,000; their seconds feed
estimated_seconds() in explorer/analysis/projection.py. Vectors are "trained-like": 100 dimensions, 300 clusters
of unequal size, lengths spread over a decade (as word vectors' lengths follow frequency). Runs offscreen.

Usage: python bench/projection.py [--quick] (--quick leaves out t-SNE of 10,000 words, about a minute)
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np

DIM = 100


def trained_like(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(n, DIM) float32 vectors in 300 clusters and Zipf-like counts, most frequent first."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(300, DIM))
    sizes = 1.0 / np.arange(1, 301) ** 0.7
    labels = rng.choice(300, size=n, p=sizes / sizes.sum())
    x = centres[labels] + 0.8 * rng.normal(size=(n, DIM))
    x *= np.exp(rng.uniform(0, np.log(10), size=(n, 1)))
    counts = np.sort((1e6 / np.arange(1, n + 1)).astype(np.int64))[::-1]
    return x.astype(np.float32), counts


def best_of(fn, repeats: int) -> float:
    """The least wall time of `repeats` calls, in seconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def projections(quick: bool) -> list[tuple[str, int, int, float, float]]:
    """(method, words, of, seconds, estimated seconds) rows."""
    from explorer.analysis.projection import default_sample_size, estimated_seconds, project, sample_indices

    rows = []
    data = {n: trained_like(n) for n in (10_000, 50_000)}
    for method in ("PCA", "t-SNE", "Isomap"):  # imports and first-call costs out of the way
        project(method, data[10_000][0][:100])
    for n, (x, _) in data.items():
        seconds = best_of(functools.partial(project, "PCA", x), 5)
        rows.append(("PCA", n, n, seconds, estimated_seconds("PCA", n)))
    for method in ("t-SNE", "Isomap"):
        x, counts = data[50_000]
        sizes = [default_sample_size(method, n) for n in (10_000, 50_000)]
        sizes = sorted(set(sizes + ([] if quick and method == "t-SNE" else [10_000])))
        for size in sizes:
            runs = [project(method, x, sample_indices(counts, size), counts=counts)
                    for _ in range(2 if size <= 5000 else 1)]  # the least of two where it is cheap
            seconds = min(r.seconds for r in runs)
            rows.append((method, size, len(x), seconds, estimated_seconds(method, size)))
            print(f"  {runs[0].note}: {', '.join(f'{r.seconds:.2f}' for r in runs)} s", flush=True)
    return rows


class _Snap:
    """The fields of an EmbeddingSnapshot that the map draws."""

    def __init__(self, words, counts, classes, coords):
        self.words, self.counts, self.classes, self.coords = words, counts, classes, coords


def redraws() -> list[tuple[str, int, float]]:
    """(what, points, seconds) rows for the embedding map in an offscreen window of 1000 x 700 pixels."""
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication

    from explorer.analysis.projection import project
    from explorer.ui import theme
    from explorer.ui.widgets.embedding_map import EmbeddingMap

    app = QApplication.instance() or QApplication([])
    theme.register_fonts()
    rows = []
    for n in (10_000, 50_000):
        x, counts = trained_like(n)
        words = tuple(f"w{i}" for i in range(n))
        classes = tuple(f"c{i % 12}" for i in range(n))
        widget = pg.PlotWidget()
        widget.resize(1000, 700)
        widget.show()
        emap = EmbeddingMap(widget.getPlotItem())
        first = project("PCA", x).coords
        app.processEvents()

        def settle() -> None:  # let the deferred styling (colours, labels) and any queued paint happen
            deadline = time.perf_counter() + 0.1
            while time.perf_counter() < deadline:
                app.processEvents()

        t0 = time.perf_counter()
        emap.draw(_Snap(words, counts, classes, first))
        rows.append(("set points (new vocabulary)", n, time.perf_counter() - t0))
        settle()
        rows.append(("first paint, styled (grab)", n, best_of(widget.grab, 1)))
        rng = np.random.default_rng(1)
        frames = [first + rng.normal(scale=0.01, size=first.shape).astype(np.float32) for _ in range(5)]
        move = []
        paint = []
        for coords in frames:
            t0 = time.perf_counter()
            emap.draw(_Snap(words, counts, classes, coords))
            move.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            widget.grab()
            paint.append(time.perf_counter() - t0)
        rows.append(("move points in place", n, min(move)))
        rows.append(("paint after a move (grab)", n, min(paint)))
        vb = widget.getPlotItem().getViewBox()
        pans = []
        for k in range(5):
            t0 = time.perf_counter()
            vb.translateBy(x=0.02 * (k + 1), y=0.01)
            vb.scaleBy((0.97, 0.97))
            widget.grab()
            pans.append(time.perf_counter() - t0)
        rows.append(("pan + zoom + paint (grab)", n, float(np.median(pans))))
        new_x = x + 0.05 * rng.normal(size=x.shape).astype(np.float32)
        t0 = time.perf_counter()
        coords = project("PCA", new_x, previous=first).coords
        emap.draw(_Snap(words, counts, classes, coords))
        widget.grab()
        rows.append(("PCA + align + move + paint", n, time.perf_counter() - t0))
        widget.close()
        widget.deleteLater()
        app.processEvents()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="leave out t-SNE of 10,000 words")
    args = ap.parse_args()
    print(f"projections (one BLAS/OpenMP thread, as the app runs them; vectors {DIM}-d, trained-like)", flush=True)
    rows = projections(args.quick)
    print(f"\n{'method':<8} {'words':>8} {'of':>8} {'seconds':>9} {'estimated':>10}")
    for method, size, of, seconds, guess in rows:
        print(f"{method:<8} {size:>8,} {of:>8,} {seconds:>9.3f} {guess:>10.2f}")
    draws = redraws()
    print(f"\n{'embedding map':<30} {'points':>8} {'ms':>8}")
    for what, n, seconds in draws:
        print(f"{what:<30} {n:>8,} {seconds * 1e3:>8.1f}")
    figures = {"bench": "projection"}
    for method, size, of, seconds, _ in rows:
        figures[f"{method.lower().replace('-', '')}_{size}_of_{of}_s"] = round(seconds, 4)
    for what, n, seconds in draws:
        key = what.split(" (")[0].replace(" + ", "_").replace(",", "").replace(" ", "_")
        figures[f"map_{key}_{n}_ms"] = round(seconds * 1e3, 1)
    pca10 = next(s for m, size, _, s, _ in rows if m == "PCA" and size == 10_000)
    move10 = next(s for w, n, s in draws if w.startswith("PCA + align") and n == 10_000)
    figures["pca_10000_plus_redraw_ms"] = round(move10 * 1e3, 1)
    figures["goal_pca_and_redraw_10000_under_100ms"] = bool(move10 < 0.1)
    figures["pca_10000_ms"] = round(pca10 * 1e3, 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
