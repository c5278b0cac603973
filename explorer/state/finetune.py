"""Pre-train & fine-tune tab, fine-tuning: the four ways' curves, and what changed in their weights, layers and
attention; and the data-efficiency sweep (final accuracy of each way against the amount of labelled data)."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..figures import Axis, Bars, Figure, Heatmap, RefLine, Series, Table, curve_color
from ..training.jobs.finetune_job import WAYS, way_label
from . import register_state
from .gpt import RunHistory, corpus_name, log_ticks

ACCURACY = Axis("validation accuracy", "fraction", range=(0.0, 1.02))
MASKED = "#d0d0d0"  # attention cells the causal mask hides
BEFORE = "#787878"
CLEAR_GAP = 0.02  # the sweep's verdict: a warm start this far above (or below) from scratch is a clear difference


def way_color(way: str) -> str:
    """One palette colour per way, the same in every figure and on the way's checkbox (a colour, not a palette
    index: the renderer reads index 0 as 'the series' own index')."""
    return curve_color(WAYS.index(way))


def _pct(v: float) -> str:
    return "–" if not math.isfinite(v) else f"{v:.0%}"


class WaysMixin:
    """The ways and N of what is shown: the snapshot's, else the run's config, else the form's preview."""

    snapshot: Any
    config: Any

    def ways(self) -> tuple[str, ...]:
        if self.snapshot is not None:
            return tuple(self.snapshot.ways)
        if self.config is not None and hasattr(self.config, "way_list"):
            return tuple(self.config.way_list()) or WAYS
        return WAYS

    def lower(self) -> int:
        snap_lower = getattr(self.snapshot, "lower", None)
        if snap_lower is not None:
            return int(snap_lower)
        return int(getattr(self.config, "lower", 0) or 0)


@register_state
class FinetuneState(WaysMixin, RunHistory):
    """Four ways side by side: loss and accuracy over the run; weight change, probes and attention at a snapshot."""

    kinds = ("finetune",)
    figure_names = ("loss", "accuracy", "weight_change", "probes", "attention_before", "attention_after")

    def __init__(self) -> None:
        super().__init__()
        self.attention_way = ""  # the way whose attention after fine-tuning is shown ('' = the first)
        self.attention_layer = 0
        self.attention_head = 0

    def metric_figures(self) -> tuple[str, ...]:
        return ("loss", "accuracy")

    # ----- selection
    def set_attention(self, way: str | None = None, layer: int | None = None, head: int | None = None) -> None:
        """Choose the way, layer and head (0-based) of the attention maps."""
        if way is not None:
            self.attention_way = way
        if layer is not None:
            self.attention_layer = int(layer)
        if head is not None:
            self.attention_head = int(head)
        self.changed.emit(("attention_before", "attention_after"))

    def attention_choice(self) -> tuple[str, int, int, int, int]:
        """(way, layer, head, layers, heads) of the attention shown, clamped to the snapshot on show."""
        snap = self.snapshot
        ways = self.ways()
        way = self.attention_way if self.attention_way in ways else ("warm" if "warm" in ways else ways[0])
        shape = np.shape(snap.attention_before) if snap is not None else ()
        layers, heads = (shape[0], shape[1]) if len(shape) == 4 else (1, 1)
        return (way, min(max(self.attention_layer, 0), layers - 1), min(max(self.attention_head, 0), heads - 1),
                layers, heads)

    # ----- the side panel's text
    def summary_html(self) -> str:
        snap = self.snapshot
        if snap is None:
            return ""
        rows = [f"<span style='color:{way_color(way)}'>■</span> {way_label(way, snap.lower)}: "
                f"{_pct(float(snap.val_accuracy[i]))}" for i, way in enumerate(snap.ways)]
        return f"<b>Validation accuracy at step {snap.step:,}</b><br>" + "<br>".join(rows)

    def info_text(self) -> str:
        snap = self.snapshot
        if snap is None:
            return ("Choose the task and the ways on the left, then press Fine-tune: every way trains on the same "
                    "batches with the same seed and the same number of steps.")
        dropped = getattr(snap, "dropped", 0)
        note = f" {dropped:.1%} of the characters were unknown to the model and dropped." if dropped else ""
        return f"{snap.description} · {snap.examples:,} labelled training examples · step {snap.step:,}.{note}"

    def diverged(self) -> list[str]:
        """The messages of ways that stopped (the others go on)."""
        return [m for m in getattr(self.snapshot, "diverged", ()) if m]

    # ----- figures
    def figure(self, name: str) -> Figure:
        return {"loss": self.loss_figure, "accuracy": self.accuracy_figure, "weight_change": self.change_figure,
                "probes": self.probe_figure, "attention_before": lambda: self.attention_figure(False),
                "attention_after": lambda: self.attention_figure(True)}[name]()

    def _curves(self, prefix: str, width: float, symbol: str | None) -> tuple[tuple[Series, ...], list[str]]:
        end, lower = self.history_end(), self.lower()
        series, last = [], []
        for way in self.ways():
            x, y = self.metrics.curve(f"{prefix}{way}", end)
            series.append(Series(way_label(way, lower), x, y, color=way_color(way), width=width, symbol=symbol,
                                 symbol_size=5))
            if y.size:
                last.append((way_label(way, lower), float(y[-1]), int(x[-1])))
        return tuple(series), last

    def loss_figure(self) -> Figure:
        series, last = self._curves("loss_", 1.2, None)
        caption = ""
        if last:
            caption = f"Training loss at step {max(s for *_, s in last):,}: " + "; ".join(
                f"{name} {v:.3f}" for name, v, _ in last) + " nats (same batches, seed and steps for every way)."
        return Figure("loss", "Fine-tuning: training loss of each way", x=Axis("training step"),
                      y=Axis("cross-entropy", "nats"), series=series, caption=caption,
                      hint="Choose the ways on the left, then press Fine-tune.")

    def chance(self) -> float | None:
        snap = self.snapshot or self.latest
        return None if snap is None or not snap.chance > 0 else float(snap.chance)

    def accuracy_figure(self) -> Figure:
        series, last = self._curves("accuracy_", 2.0, "o")
        chance = self.chance()
        lines = () if chance is None else (RefLine(chance, f"chance {chance:.0%}"),)
        caption = ""
        if last:
            caption = f"Validation accuracy at step {max(s for *_, s in last):,}: " + "; ".join(
                f"{name} {v:.0%}" for name, v, _ in last) + (f"; chance {chance:.0%}" if chance else "") + "."
            snap = self.snapshot
            if snap is not None:
                caption += f" {snap.examples:,} labelled training examples."
        return Figure("accuracy", "Fine-tuning: validation accuracy of each way", x=Axis("training step"),
                      y=ACCURACY, series=series, lines=lines, caption=caption,
                      hint="Press Fine-tune: accuracy on held-out examples.")

    def change_figure(self) -> Figure:
        snap = self.snapshot
        groups = list(snap.groups) if snap is not None else []
        ways, lower = self.ways(), self.lower()
        n = max(1, len(ways))
        width = 0.8 / n
        change = np.zeros((n, len(groups))) if snap is None else \
            np.nan_to_num(np.asarray(snap.weight_change, dtype=np.float64))
        bars = tuple(Bars(way_label(way, lower), np.arange(len(groups)) - 0.4 + width * (i + 0.5),
                          change[i] if snap is not None else (), width=width * 0.9, color=way_color(way))
                     for i, way in enumerate(ways))
        title = "What changed: how far each layer's weights moved from where each way started"
        caption = ""
        rows = []
        if snap is not None:
            title += f" (step {snap.step:,})"
            frozen = [g for g, f in zip(groups, snap.frozen, strict=False) if f]
            parts = []
            if frozen and "frozen" in ways:
                k = ways.index("frozen")
                moved = float(np.abs(change[k][np.asarray(snap.frozen, bool)]).max())
                parts.append(f"Frozen in '{way_label('frozen', lower)}': {', '.join(frozen)} — "
                             f"{'exactly 0' if moved == 0 else f'moved {moved:.2g} (not 0!)'}.")
            parts.append("Largest change: " + "; ".join(
                f"{way_label(w, lower)} {change[i].max():.3g} ({groups[int(change[i].argmax())]})"
                for i, w in enumerate(ways)) + ".")
            caption = " ".join(parts)
            rows = [(w, g, float(change[i][j]), int(bool(snap.frozen[j]) and w == "frozen"))
                    for i, w in enumerate(ways) for j, g in enumerate(groups)]
        top = float(change.max(initial=0.0))
        return Figure(
            "weight_change", title,
            x=Axis("layer group", ticks=tuple((float(i), g) for i, g in enumerate(groups)) or None,
                   range=(-0.6, len(groups) - 0.4) if groups else None),
            y=Axis("weight change", "‖θ−θ₀‖ / ‖θ₀‖", range=(0.0, max(top, 1e-6) * 1.08)),
            bars=bars, caption=caption,
            hint="Fine-tune first: how far each layer moved.",
            data=Table(("way", "layer group", "relative weight change ‖θ − θ₀‖ / ‖θ₀‖", "frozen (1 = yes)"), rows))

    def probe_figure(self) -> Figure:
        snap = self.snapshot
        ways, lower = self.ways(), self.lower()
        groups = list(getattr(snap, "probe_groups", ())) if snap is not None else []
        before = np.asarray(snap.probe_before, dtype=np.float64) if snap is not None else np.empty(0)
        after = np.asarray(snap.probe_after, dtype=np.float64) if snap is not None else np.empty((0, 0))
        x = np.arange(before.size, dtype=np.float64)
        has_after = after.size > 0 and np.isfinite(after).any()
        series = [Series("before fine-tuning (pre-trained)", x, before, color=BEFORE, dash=True, symbol="s",
                         symbol_size=6)]
        for i, way in enumerate(ways):
            series.append(Series(f"after: {way_label(way, lower)}", x if has_after else (),
                                 after[i] if has_after else (), color=way_color(way), symbol="o", symbol_size=6))
        chance = self.chance()
        title = "Linear probe of each layer on the task, before and after fine-tuning"
        caption = ""
        if before.size:
            pairs = zip(groups, before.tolist(), strict=False)
            caption = "Before: " + ", ".join(f"{g} {_pct(v)}" for g, v in pairs) + ". "
            if has_after:
                caption += "After, best layer: " + "; ".join(
                    f"{way_label(w, lower)} {_pct(np.nanmax(after[i]))} ({groups[int(np.nanargmax(after[i]))]})"
                    for i, w in enumerate(ways) if np.isfinite(after[i]).any()) + "."
            else:
                title += " (after: when the run ends)"
                caption += "The probes after fine-tuning are fitted at the last step."
            if chance:
                caption += f" Chance {chance:.0%}."
        return Figure(
            "probes", title,
            x=Axis("layer output", ticks=tuple((float(i), g) for i, g in enumerate(groups)) or None,
                   range=(-0.4, len(groups) - 0.6) if groups else None),
            y=Axis("probe accuracy", "fraction", range=(0.0, 1.02)), series=tuple(series),
            lines=() if chance is None else (RefLine(chance, f"chance {chance:.0%}"),), caption=caption,
            hint="Fine-tune first: what each layer knows.",
            data=Table(("layer output", "model", "probe accuracy (fraction)"),
                       [(g, s.name, float(v)) for s in series for g, v in zip(groups, s.y.tolist(), strict=False)]
                       + ([("", "chance (reference line)", chance)] if chance else [])))

    def attention_figure(self, after: bool) -> Figure:
        name = "attention_after" if after else "attention_before"
        snap = self.snapshot
        axes = {"x": Axis("key position (what is read)"), "y": Axis("query position (who reads)", inverted=True)}
        base = "Attention after fine-tuning" if after else "Attention before fine-tuning (the pre-trained model)"
        if snap is None or np.size(snap.attention_before) == 0:
            return Figure(name, base, **axes, hint="Fine-tune first: attention on a held-out passage.")
        way, layer, head, _layers, _heads = self.attention_choice()
        w = list(snap.ways).index(way)
        before = np.asarray(snap.attention_before[layer, head], dtype=np.float32)
        values = np.asarray(snap.attention_after[w, layer, head], dtype=np.float32) if after else before
        other = np.asarray(snap.attention_after[w, layer, head], dtype=np.float32) if not after else before
        both = np.concatenate([values[np.isfinite(values)], other[np.isfinite(other)]])
        top = float(both.max()) if both.size else 1.0
        T = values.shape[0]
        tokens = list(snap.probe_tokens)
        if len(tokens) == T and T <= 24:
            ticks = tuple((i + 0.5, t) for i, t in enumerate(tokens))
        else:
            ticks = tuple((i + 0.5, str(i)) for i in range(0, T, 8))
        title = f"{base}: {way_label(way, snap.lower)}" if after else base
        title += f" · layer {layer + 1}, head {head + 1}"
        diff = np.abs(np.nan_to_num(values) - np.nan_to_num(other))
        visible = np.isfinite(values)
        caption = (f"Softmax weights on a held-out passage of {T} characters (grey: hidden by the causal mask); "
                   f"largest weight {np.nanmax(values):.2f}; mean |after − before| over the visible cells "
                   f"{diff[visible].mean():.3f} ({way_label(way, snap.lower)}). Both maps share one colour scale.")
        rows = [(i, tokens[i] if i < len(tokens) else "", j, tokens[j] if j < len(tokens) else "",
                 float(values[i, j]) if math.isfinite(values[i, j]) else "")
                for i in range(T) for j in range(T)]
        return Figure(
            name, title, x=Axis(axes["x"].label, ticks=ticks), y=Axis(axes["y"].label, ticks=ticks, inverted=True),
            heatmaps=(Heatmap("attention", values, "attention weight (0–1)",
                              levels=(0.0, max(top, 1e-6)), nan_color=MASKED, row_name="query", col_name="key"),),
            aspect_locked=True, caption=caption,
            data=Table(("query position", "query character", "key position", "key character",
                        "attention weight (0–1, empty = masked)"), rows))


@register_state
class FinetuneSweepState(WaysMixin, RunHistory):
    """The data-efficiency sweep: final validation accuracy of each way against the number of labelled examples."""

    kinds = ("finetune_sweep",)
    figure_names = ("efficiency", "pretraining")

    def metric_figures(self) -> tuple[str, ...]:
        return ("pretraining",)

    def progress(self) -> float:
        """The share of the amounts of labelled data done at the snapshot on show (0 to 1)."""
        snap = self.snapshot
        return 0.0 if snap is None or not len(snap.shares) else snap.done / len(snap.shares)

    def figure(self, name: str) -> Figure:
        return {"efficiency": self.efficiency_figure, "pretraining": self.pretraining_figure}[name]()

    def pretraining_figure(self) -> Figure:
        """The sweep's own pre-training (when no pre-trained model was chosen): next-character loss by step."""
        end = self.history_end()
        train_x, train_y = self.metrics.curve("pretrain_loss", end)
        val_x, val_y = self.metrics.curve("pretrain_val_loss", end)
        corpus = getattr(self.config, "pretrain_corpus", "")
        snap = self.snapshot
        caption = ""
        if val_y.size:
            caption = (f"Pre-trained in this run before fine-tuning: validation loss {val_y[0]:.2f} nats at step "
                       f"{int(val_x[0]):,}, {val_y[-1]:.2f} at step {int(val_x[-1]):,}.")
        hint = ("This sweep fine-tuned a chosen pre-trained model: its pre-training is that model's own run."
                if snap is not None and not int(getattr(snap, "pretrain_steps", 0) or 0)
                else "Run the sweep without a chosen model: it pre-trains its own first, and its loss shows here.")
        return Figure(
            "pretraining", f"The sweep's own pre-training on {corpus_name(corpus)}: next-character loss",
            x=Axis("pre-training step"), y=Axis("cross-entropy", "nats"),
            series=(Series("training loss", train_x, train_y, color=curve_color(0), width=1.5),
                    Series("validation loss (held-out last 10%)", val_x, val_y, color=curve_color(1), symbol="o",
                           symbol_size=5)),
            caption=caption, hint=hint)

    def efficiency_figure(self) -> Figure:
        snap = self.snapshot
        ways, lower = self.ways(), self.lower()
        examples = np.asarray(snap.examples, dtype=np.float64) if snap is not None else np.empty(0)
        acc = np.asarray(snap.final_accuracy, dtype=np.float64) if snap is not None else np.empty((0, len(ways)))
        series = []
        for i, way in enumerate(ways):
            keep = np.isfinite(acc[:, i]) if acc.size else np.zeros(0, bool)
            series.append(Series(way_label(way, lower), examples[keep], acc[keep, i] if acc.size else (),
                                 color=way_color(way), symbol="o"))
        chance = None if snap is None or not snap.chance > 0 else float(snap.chance)
        return Figure(
            "efficiency", "Data efficiency: final validation accuracy against the amount of labelled data",
            x=Axis("labelled training examples", "examples", log=True, ticks=log_ticks(examples)),
            y=ACCURACY, series=tuple(series),
            lines=() if chance is None else (RefLine(chance, f"chance {chance:.0%}"),),
            caption=self._verdict(examples, acc, ways, lower, chance),
            hint="Press Run sweep: accuracy against labelled examples.")

    def _verdict(self, examples, acc, ways, lower, chance) -> str:
        snap = self.snapshot
        if snap is None:
            return ""
        done = int(snap.done)
        text = f"{done} of {len(examples)} amounts of labelled data done"
        own = int(getattr(snap, "pretrain_steps", 0) or 0)
        if own:
            loss = float(getattr(snap, "pretrain_val_loss", math.nan))
            text = (f"Fine-tuned: {snap.pretrained}" + (f" (validation loss {loss:.2f} nats)" if math.isfinite(loss)
                                                         else "") + f". {text}")
        if done == 0:
            return text + "."
        parts = []
        for j in sorted({0, done - 1}):
            parts.append(f"with {int(examples[j]):,} examples: " + ", ".join(
                f"{way_label(w, lower)} {_pct(acc[j, i])}" for i, w in enumerate(ways)))
        text += "; " + "; ".join(parts) + (f"; chance {chance:.0%}." if chance else ".")
        if "scratch" in ways and "warm" in ways:
            s, w = ways.index("scratch"), ways.index("warm")
            gap = acc[0, w] - acc[0, s]
            if math.isfinite(gap):
                points = f"{abs(gap) * 100:.0f} percentage point{'' if round(abs(gap) * 100) == 1 else 's'}"
                if gap >= CLEAR_GAP:
                    text += (f" With the fewest examples the warm start is {points} above from scratch: pre-training "
                             f"pays off.")
                elif gap <= -CLEAR_GAP:
                    text += (f" With the fewest examples the warm start is {points} below from scratch: pre-training "
                             f"does not pay off here.")
                else:
                    text += (f" With the fewest examples the warm start and from scratch are within {points}: no "
                             f"clear gain from pre-training yet.")
        return text
