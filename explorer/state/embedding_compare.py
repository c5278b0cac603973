"""State of the Embeddings tab's comparison page: two methods trained side by side on one corpus and seed, their
maps (B aligned to A), their losses, and their neighbour purity for rare, middle and frequent words."""
from __future__ import annotations

import numpy as np

from ..figures import Axis, Figure, Series, Table
from . import register_state
from .base import RunSource, TabState
from .embedding_map import map_figure, sticky_range, word_colors

N_LABELS = 20
BAND_NAMES = ("rare", "middle", "frequent")


def _band(i: int, n: int) -> str:
    return BAND_NAMES[0] if i == 0 else BAND_NAMES[2] if i == n - 1 else BAND_NAMES[1] if n == 3 else f"group {i + 1}"


def _speeds(snap, a: str, b: str) -> str:
    """'. Rates ...; words/s ...' from a snapshot that has them (older runs do not)."""
    text = ""
    rates = (getattr(snap, "lr_a", float("nan")), getattr(snap, "lr_b", float("nan")))
    if all(np.isfinite(rates)):
        text += f". Initial learning rates: {a} {rates[0]:g}, {b} {rates[1]:g}"
    speeds = (getattr(snap, "words_per_s_a", float("nan")), getattr(snap, "words_per_s_b", float("nan")))
    if all(np.isfinite(speeds)):
        text += f"; corpus words trained a second: {a} {speeds[0]:,.0f}, {b} {speeds[1]:,.0f}"
    return text


@register_state
class EmbeddingCompareState(TabState):
    """Figures of an `embedding_compare` run."""

    kinds = ("embedding_compare",)
    figure_names = ("compare_a", "compare_b", "purity", "loss")

    def clear_history(self) -> None:
        self._colors: tuple | None = None
        self._ranges: dict[str, tuple] = {}

    def metric_figures(self) -> tuple[str, ...]:
        return ("loss",)

    def attach_run(self, run: RunSource) -> None:
        """The live run just recorded becomes the run on show (its timeline), without reading it back."""
        self.source = run
        self.index = len(run.steps) - 1 if run.steps else None
        self.changed.emit(())

    def methods(self) -> tuple[str, str]:
        snap, cfg = self.snapshot, self.config
        if snap is not None:
            return tuple(snap.methods)  # type: ignore[return-value]
        if cfg is not None:
            return cfg.method_a, cfg.method_b
        return "method A", "method B"

    def figure(self, name: str) -> Figure:
        if name in ("compare_a", "compare_b"):
            return self.map_figure(name)
        return {"purity": self.purity_figure, "loss": self.loss_figure}[name]()

    def map_figure(self, name: str) -> Figure:
        n = 0 if name == "compare_a" else 1
        snap = self.snapshot
        method = self.methods()[n]
        label = "AB"[n]
        empty = map_figure(name, f"{label}: {method}", ("PC 1", "PC 2"), (), (), (), np.zeros((0, 2)),
                           word_colors((), ()), hint="Press 'Train both':\neach method's map appears here.")
        if snap is None:
            return empty
        coords = np.asarray(snap.coords_a if n == 0 else snap.coords_b, dtype=np.float64)
        if not len(coords) or not np.isfinite(coords).all() or not np.abs(coords).sum() > 0:
            return empty.replace(hint=f"{method}: no vectors yet\n(a co-occurrence method has them after its SVD).")
        if self._colors is None or self._colors[0] != snap.words:
            self._colors = (snap.words, word_colors(snap.counts, snap.classes))
        colors = self._colors[1]
        view = sticky_range(self._ranges.get(name), coords)
        self._ranges[name] = view
        loss = snap.loss_a if n == 0 else snap.loss_b
        progress = snap.progress_a if n == 0 else snap.progress_b
        title = (f"{label}: {method} at step {snap.step:,} ({progress:.0%} trained, loss {loss:.3g})"
                 + (", aligned to A" if n else ""))
        return map_figure(name, title, ("PC 1", "PC 2"), snap.words, snap.counts, snap.classes, coords, colors,
                          n_labels=N_LABELS, view=view, key=False,  # side by side: a key each would cover them
                          caption=f"PCA of {len(coords):,} unit vectors (the words both methods kept); "
                                  f"{colors.meaning} (the key is on the Map page)"
                                  + ("; rotated and reflected onto A's map (Procrustes)" if n else ""))

    def purity_figure(self) -> Figure:
        snap = self.snapshot
        a, b = self.methods()
        axes = dict(x=Axis("frequency band of the labelled words"),
                    y=Axis("neighbour purity (k = 5)", range=(0.0, 1.02)))
        empty = (Series(a, color=0, symbol="o"), Series(b, color=1, symbol="o"))
        title = "Neighbour purity by word frequency"
        if snap is None or not len(snap.purity_a):
            hint = "Press 'Train both' to compare them."
            if snap is not None:
                hint = "Purity needs known word classes\n(the generated corpus)."
            return Figure("purity", title, **axes, series=empty, hint=hint)
        pa, pb = np.asarray(snap.purity_a, float), np.asarray(snap.purity_b, float)
        bands = len(pa)
        x = np.arange(bands, dtype=float)
        ticks = tuple((float(i), _band(i, bands)) for i in range(bands))  # the counts: in the caption and CSV
        parts = [f"{_band(i, bands)} (counts {lo:,}–{hi:,}, {size} words): {a} {pa[i]:.2f}, {b} {pb[i]:.2f}"
                 for i, (lo, hi, size) in enumerate(zip(snap.bin_low, snap.bin_high, snap.bin_size, strict=True))]
        return Figure(
            "purity", f"{title} at step {snap.step:,}: rare words {a} {pa[0]:.2f} vs {b} {pb[0]:.2f}; frequent "
                      f"{pa[-1]:.2f} vs {pb[-1]:.2f}",
            x=Axis(axes["x"].label, ticks=ticks, range=(-0.5, bands - 0.5)), y=axes["y"],
            series=(Series(a, x, pa, color=0, symbol="o"), Series(b, x, pb, color=1, symbol="o")),
            caption="Purity: the share of a word's 5 nearest neighbours in its own class. " + "; ".join(parts)
                    + _speeds(snap, a, b),
            data=Table(("frequency band", "lowest count", "highest count", "words", f"purity {a}", f"purity {b}"),
                       [(_band(i, bands), int(lo), int(hi), int(n), float(u), float(v)) for i, (lo, hi, n, u, v)
                        in enumerate(zip(snap.bin_low, snap.bin_high, snap.bin_size, pa, pb, strict=True))]))

    def loss_figure(self) -> Figure:
        a, b = self.methods()
        end = float(self.snapshot.step) if self.source is not None and self.snapshot is not None else None
        xa, ya = self.metrics.curve("loss:a", end)
        xb, yb = self.metrics.curve("loss:b", end)
        parts = [f"{m} {y[-1]:.4g} at step {int(x[-1]):,}" for m, x, y in ((a, xa, ya), (b, xb, yb)) if y.size]
        return Figure("loss", f"Training loss of {a} and {b}", x=Axis("training step"), y=Axis("loss", "nats"),
                      series=(Series(a, xa, ya, color=0), Series(b, xb, yb, color=1)),
                      caption=("last loss: " + "; ".join(parts) + " (a co-occurrence method's is its SVD residual)")
                      if parts else "", hint="Press 'Train both' to see both losses.")

