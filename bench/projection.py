"""2-D projections of word vectors and the embedding map's redraw: how long each takes at 10,000 and 50,000 words,
and how far words move between the maps of two nearby snapshots.

Goals (2 cores): PCA and the redraw of 50,000 words under 100 ms together; t-SNE (openTSNE) and UMAP of 10,000
words within 15 s each; successive maps aligned. t-SNE, UMAP and Isomap run on their default samples (the most
frequent words) and on 10,000; their seconds feed estimated_seconds() in explorer/analysis/projection.py.
scikit-learn's t-SNE (the map's before openTSNE) runs for comparison. Vectors are "trained-like": 100 dimensions,
300 clusters of unequal size, lengths spread over a decade (as word vectors' lengths follow frequency).
Alignment: the next snapshot's vectors are these plus 10% noise; the mean and median distance a word moves, as
a share of the map's rms radius, for a map continued from the previous one and for a fresh map (Procrustes-
aligned to the previous one as well as it can be). First use: a fresh process's first map of 300 words (the
library's import and numba's cache). Runs offscreen.

Usage: python bench/projection.py [--quick] (--quick leaves out the 10,000-word maps of scikit-learn and Isomap)
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
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
    """(method, words, of, seconds, estimated seconds) rows; "t-SNE (sklearn)" is scikit-learn's t-SNE."""
    from explorer.analysis.neighbour_maps import sklearn_tsne
    from explorer.analysis.neighbours import normalise
    from explorer.analysis.projection import default_sample_size, estimated_seconds, project, sample_indices

    rows = []
    data = {n: trained_like(n) for n in (10_000, 50_000)}
    for method in ("PCA", "t-SNE", "Isomap", "UMAP"):  # imports and first-call costs out of the way
        project(method, data[10_000][0][:300])
    for n, (x, _) in data.items():
        seconds = best_of(functools.partial(project, "PCA", x), 5)
        rows.append(("PCA", n, n, seconds, estimated_seconds("PCA", n)))
    x, counts = data[50_000]
    for method in ("t-SNE", "UMAP", "Isomap"):
        sizes = sorted({default_sample_size(method, 50_000)} | ({10_000} if method != "Isomap" or not quick else set()))
        for size in sizes:
            runs = [project(method, x, sample_indices(counts, size), counts=counts)
                    for _ in range(2 if size <= 5000 else 1)]  # the least of two where it is cheap
            seconds = min(r.seconds for r in runs)
            rows.append((method, size, len(x), seconds, estimated_seconds(method, size)))
            print(f"  {runs[0].note}: {', '.join(f'{r.seconds:.2f}' for r in runs)} s", flush=True)
    for size in (2000,) if quick else (2000, 10_000):
        unit = normalise(x[sample_indices(counts, size)])
        t0 = time.perf_counter()
        sklearn_tsne(unit)
        seconds = time.perf_counter() - t0
        rows.append(("t-SNE (sklearn)", size, len(x), seconds, float("nan")))
        print(f"  scikit-learn t-SNE of {size:,}: {seconds:.2f} s", flush=True)
    return rows


def _shifts(coords: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """Mean and median distance a word moved, as shares of the reference map's rms radius."""
    radius = float(np.sqrt(np.square(reference - reference.mean(axis=0)).sum(axis=1).mean()))
    moved = np.linalg.norm(np.asarray(coords, np.float64) - reference, axis=1) / radius
    return float(moved.mean()), float(np.median(moved))


def alignment(n: int = 5000) -> list[tuple[str, str, float, float, float]]:
    """(method, how, mean shift, median shift, seconds) for the map of the next snapshot (vectors + 10% noise)."""
    from explorer.analysis.projection import procrustes_align, project

    x, _ = trained_like(n)
    rng = np.random.default_rng(7)
    noise = rng.normal(size=x.shape).astype(np.float32) * np.linalg.norm(x, axis=1, keepdims=True) / np.sqrt(DIM)
    nxt = x + 0.1 * noise
    rows = []
    for method in ("PCA", "t-SNE", "UMAP"):
        first = project(method, x, seed=0).coords
        cont = project(method, nxt, previous=first, seed=1)
        fresh = project(method, nxt, seed=1)
        rows.append((method, "continued + aligned", *_shifts(cont.coords, first), cont.seconds))
        rows.append((method, "fresh + aligned", *_shifts(procrustes_align(fresh.coords, first), first), fresh.seconds))
        rows.append((method, "fresh, not aligned", *_shifts(fresh.coords, first), fresh.seconds))
        print(f"  {method} of {n:,}: continued {rows[-3][2]:.3f}, fresh aligned {rows[-2][2]:.3f}", flush=True)
    return rows


FIRST_USE = """
import sys, time, numpy as np
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from explorer.analysis.projection import project
x = np.random.default_rng(0).normal(size=(300, 20)).astype(np.float32)
project({method!r}, x)
print(time.perf_counter() - t0)
"""


def first_use() -> dict[str, float]:
    """Seconds of a fresh process's first map of 300 words (import and cache loading included), per method."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = {}
    for method in ("t-SNE", "UMAP"):
        run = subprocess.run([sys.executable, "-c", FIRST_USE.format(root=root, method=method)], capture_output=True,
                             text=True, check=True)
        out[method] = float(run.stdout.strip().splitlines()[-1])
    return out


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
        whole = []
        for _ in range(3):  # the least of three (a shared machine)
            new_x = x + 0.05 * rng.normal(size=x.shape).astype(np.float32)
            t0 = time.perf_counter()
            coords = project("PCA", new_x, previous=first).coords
            emap.draw(_Snap(words, counts, classes, coords))
            widget.grab()
            whole.append(time.perf_counter() - t0)
        rows.append(("PCA + align + move + paint", n, min(whole)))
        widget.close()
        widget.deleteLater()
        app.processEvents()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="leave out scikit-learn's t-SNE and Isomap of 10,000 words")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)  # the neighbour search's matrix products, as in the app's worker
    print("first use (a fresh process's first map of 300 words)", flush=True)
    first = first_use()
    print(f"projections (one BLAS/OpenMP thread, as the app runs them; vectors {DIM}-d, trained-like)", flush=True)
    rows = projections(args.quick)
    print(f"\n{'method':<16} {'words':>8} {'of':>8} {'seconds':>9} {'estimated':>10}")
    for method, size, of, seconds, guess in rows:
        print(f"{method:<16} {size:>8,} {of:>8,} {seconds:>9.3f} {guess:>10.2f}")
    print(f"\n{'first use':<16} {'seconds':>9}")
    for method, seconds in first.items():
        print(f"{method:<16} {seconds:>9.2f}")
    print("\nalignment between the maps of two nearby snapshots (5,000 words, vectors moved by 10%)", flush=True)
    aligned = alignment()
    print(f"\n{'method':<8} {'map':<22} {'mean shift':>11} {'median':>8} {'seconds':>8}")
    for method, how, mean, median, seconds in aligned:
        print(f"{method:<8} {how:<22} {mean:>11.3f} {median:>8.3f} {seconds:>8.2f}")
    draws = redraws()
    print(f"\n{'embedding map':<30} {'points':>8} {'ms':>8}")
    for what, n, seconds in draws:
        print(f"{what:<30} {n:>8,} {seconds * 1e3:>8.1f}")
    figures = {"bench": "projection"}
    for method, size, of, seconds, _ in rows:
        name = method.lower().replace("-", "").replace(" (sklearn)", "_sklearn")
        figures[f"{name}_{size}_of_{of}_s"] = round(seconds, 4)
    for method, seconds in first.items():
        figures[f"{method.lower().replace('-', '')}_first_use_s"] = round(seconds, 2)
    for method, how, mean, median, _ in aligned:
        key = f"{method.lower().replace('-', '')}_{how.split(' ')[0].rstrip(',')}{'_unaligned' if 'not' in how else ''}"
        figures[f"shift_{key}_mean"] = round(mean, 4)
        figures[f"shift_{key}_median"] = round(median, 4)
    for what, n, seconds in draws:
        key = what.split(" (")[0].replace(" + ", "_").replace(",", "").replace(" ", "_")
        figures[f"map_{key}_{n}_ms"] = round(seconds * 1e3, 1)
    pca10 = next(s for m, size, _, s, _ in rows if m == "PCA" and size == 10_000)
    move = {n: s for w, n, s in draws if w.startswith("PCA + align")}
    figures["pca_10000_plus_redraw_ms"] = round(move[10_000] * 1e3, 1)
    figures["pca_50000_plus_redraw_ms"] = round(move[50_000] * 1e3, 1)
    figures["goal_pca_and_redraw_50000_under_100ms"] = bool(move[50_000] < 0.1)
    figures["pca_10000_ms"] = round(pca10 * 1e3, 1)
    at10k = {m: s for m, size, _, s, _ in rows if size == 10_000}
    figures["goal_tsne_and_umap_10000_within_15s"] = bool(at10k["t-SNE"] <= 15 and at10k["UMAP"] <= 15)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
