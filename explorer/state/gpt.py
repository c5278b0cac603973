"""Pre-train & fine-tune tab, pre-training and generation: the pre-training run's loss with the model's writing, and
the measured time of a training step against generation. Shared helpers of the tab's states live here too."""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import numpy as np

from ..figures import Axis, Figure, RefLine, Series, Table, curve_color
from . import register_state
from .base import TabState


class RunHistory(TabState):
    """What the tab's run states share: the form's choices shown before any run, and history figures that end
    at the snapshot chosen on the timeline."""

    @property
    def has_run(self) -> bool:
        """True once a run (live or recorded) has given this state metrics or a snapshot."""
        return bool(len(self.metrics)) or self.snapshot is not None or self.source is not None

    def preview(self, config: Any) -> None:
        """The form's settings before any run (legends name the chosen ways and N); ignored once a run is shown."""
        if self.has_run or config == self.config:
            return
        self.config = config
        self.changed.emit(())

    def history_end(self) -> float | None:
        """History figures end at the snapshot on show when one is chosen on the timeline."""
        if self.source is not None and self.index is not None and self.snapshot is not None:
            return float(self.snapshot.step)
        return None


def log_ticks(values: Sequence[float]) -> tuple[tuple[float, str], ...] | None:
    """Ticks at the measured values of a logarithmic axis, written as the numbers they are (None: none)."""
    ticks = tuple((float(v), f"{int(v):,}" if float(v).is_integer() else f"{v:g}") for v in values if v > 0)
    return ticks or None


def corpus_name(spec: str) -> str:
    """'builtin:austen' -> 'Jane Austen's novels'; a file path -> its file name."""
    names = {"builtin:austen": "Jane Austen's novels", "builtin:stdlib": "the standard library's docstrings",
             "builtin:synthetic": "a synthetic corpus"}
    return names.get(spec, PurePath(spec).name if spec else "a corpus")


@register_state
class PretrainState(RunHistory):
    """Pre-training: training and validation loss over the run, and what the model writes at the snapshot on show."""

    kinds = ("gpt_pretrain",)
    figure_names = ("loss",)

    def metric_figures(self) -> tuple[str, ...]:
        return ("loss",)

    def figure(self, name: str) -> Figure:
        return {"loss": self.loss_figure}[name]()

    def loss_figure(self) -> Figure:
        end = self.history_end()
        train_x, train_y = self.metrics.curve("loss", end)
        val_x, val_y = self.metrics.curve("val_loss", end)
        corpus = corpus_name(getattr(self.config, "corpus", "")) if self.config is not None else "a corpus"
        snap = self.snapshot
        lines = ()
        if snap is not None and len(snap.alphabet) > 1:
            uniform = math.log(len(snap.alphabet))
            lines = (RefLine(uniform, f"uniform guess: ln {len(snap.alphabet)} = {uniform:.2f} nats"),)
        return Figure(
            "loss", f"Pre-training on {corpus}: next-character loss",
            x=Axis("training step"), y=Axis("cross-entropy", "nats"),
            series=(Series("training loss", train_x, train_y, color=curve_color(0), width=1.5),
                    Series("validation loss (held-out last 10%)", val_x, val_y, color=curve_color(1), symbol="o",
                           symbol_size=5)),
            lines=lines, caption=self.caption(),
            hint="Choose a corpus and a model size on the left, then press Pre-train.")

    def caption(self) -> str:
        """The deciding numbers at the snapshot on show, and what the model writes there."""
        snap = self.snapshot
        if snap is None:
            return ""
        total = getattr(self.config, "steps", None)
        of = f" of {total:,}" if total else ""
        loss = "" if not math.isfinite(snap.loss) else f"training loss {snap.loss:.3f}, "
        sample = (snap.sample or "").replace("\n", "⏎ ")
        return (f"Step {snap.step:,}{of}: {loss}validation loss {snap.val_loss:.3f} nats; next-character accuracy "
                f"{snap.accuracy:.0%} (always guessing the most common character: {snap.chance:.0%}). "
                f"The model writes: “{sample}”")


CURVES = ("training step: all positions in one pass", "generation with the KV cache",
          "generation without a cache")


class GenerationState:
    """Training vs generation: measured seconds of one training step over T positions and of generating T tokens
    one after another (with and without the key/value cache). Rows are duck-typed GenCostRow objects."""

    figure_names = ("generation",)

    def __init__(self) -> None:
        self.rows: list[Any] = []
        self.batch = 0
        self.status = ""  # '', 'measuring' or 'cancelled'

    def clear(self) -> None:
        """Nothing measured (e.g. another model was chosen)."""
        self.rows, self.status = [], ""

    def start(self, batch: int) -> None:
        """A new measurement begins: the old numbers go."""
        self.rows, self.batch, self.status = [], int(batch), "measuring"

    def finish(self, rows: Sequence[Any], cancelled: bool = False) -> None:
        """The measured rows (those finished so far when cancelled)."""
        self.rows = sorted(rows, key=lambda r: r.length)
        self.status = "cancelled" if cancelled else ""

    def fail(self) -> None:
        self.status = ""

    def figure(self, name: str = "generation") -> Figure:
        rows = self.rows
        n = np.array([r.length for r in rows], dtype=np.float64)
        values = [np.array([getattr(r, f) for r in rows], dtype=np.float64)
                  for f in ("train_step_s", "generate_cached_s", "generate_uncached_s")]
        title = "Training vs generation: seconds to score T positions at once or to write T tokens one by one"
        title += {"measuring": " (measuring…)", "cancelled": " (cancelled)"}.get(self.status, "")
        return Figure(
            "generation", title,
            x=Axis("sequence length T", "tokens", log=True, ticks=log_ticks(n)),
            y=Axis("time", "s", log=True),
            series=tuple(Series(name, n, v, color=curve_color(i), symbol="o", symbol_size=6)
                         for i, (name, v) in enumerate(zip(CURVES, values, strict=False))),
            caption=self.verdict(),
            hint="Press Measure to time training against generation.",
            data=Table(("sequence length T (tokens)", "training step over batch × T positions (s)",
                        "generation with the KV cache (s)", "generation without a cache (s)",
                        "largest |logit difference|, cache against full pass"),
                       [(r.length, r.train_step_s, r.generate_cached_s, r.generate_uncached_s, r.max_diff)
                        for r in rows]))

    def verdict(self) -> str:
        """What the numbers at the longest length say, computed from them."""
        if not self.rows:
            return ""
        last = self.rows[-1]
        t, b = last.length, self.batch
        train, cached, uncached = last.train_step_s, last.generate_cached_s, last.generate_uncached_s
        text = (f"At T = {t:,}: one training step over {b} × {t:,} = {b * t:,} positions (forward, backward and "
                f"update, every position scored at once) takes {train * 1e3:.1f} ms; generating {t:,} tokens one "
                f"after another takes {cached * 1e3:.1f} ms with the KV cache ({cached / train:.1f}× the training "
                f"step) and {uncached * 1e3:.1f} ms without. ")
        if cached < uncached:
            text += f"The cache makes generation {uncached / cached:.1f}× faster. "
        else:
            text += (f"Here the cache does not pay ({cached / uncached:.1f}× slower): for a model this small and "
                     f"sequences this short its bookkeeping costs more than recomputing the prefix. ")
        text += (f"Training is parallel over positions (the causal mask lets one pass predict them all); generation "
                 f"is sequential, each token needs the one before it. The cache gave the full pass's logits to "
                 f"within {last.max_diff:.1e}, checked before timing.")
        return text
