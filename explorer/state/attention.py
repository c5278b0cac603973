"""Attention tab state: the selection (layer, head, query, weights or scores, typed text), the run's history
(loss, accuracy, the best head's share on the needed key) and the tab's figures."""
from __future__ import annotations

import html
from typing import Any

import numpy as np

from ..figures import Axis, Figure, RefLine, Series
from ..training.jobs.gpt_job import VAL_EVERY
from . import register_state
from .attention_generation import GenerationState
from .attention_leak import jacobian_figure
from .attention_maps import PLOT_PX, MapLayout, grid_figure, head_figure, tokens_click, tokens_figure, tokens_readout
from .attention_positions import position_figures
from .attention_view import MODES, AttentionView, display_cap, head_hit_rates
from .base import TabState

MEMORY_LIMIT = 3 * 2**30  # bytes that the matrices of a typed text may take (weights and scores, with copies)
HIT = "best head on the needed key (probe)"
MAPS = ("grid", "head", "tokens")
POSITIONS = ("positions", "similarity")


def text_view(step: int, text: str, tokens: tuple[str, ...], attention: np.ndarray,
              scores: np.ndarray) -> AttentionView:
    """The attention on a typed text, pooled for display (made in a worker thread: pooling long texts takes time)."""
    note = ""
    if len(tokens) < len(text):
        note = (f"Learned positions exist only up to the context: the last {len(tokens)} of your {len(text):,} "
                f"characters are read.")
    view = AttentionView(tokens, attention, scores, f"your text at step {step:,}", note=note, step=step, text=text)
    L, H = attention.shape[:2]
    return view.prepare((display_cap(L * H), display_cap(1)))


@register_state
class AttentionState(TabState):
    """The heatmaps follow the snapshot on show (or a typed text read by its model); history figures the run."""

    kinds = ("gpt",)
    figure_names = ("loss", "accuracy", "grid", "head", "tokens", "positions", "similarity", "leak")

    def __init__(self) -> None:
        super().__init__()
        self.layer = 0
        self.head = 0
        self.query: int | None = None  # None: the last position (until the user picks one)
        self.mode = "weights"
        self.text = ""  # the typed text whose attention the heatmaps show ("" = the snapshot's probe)
        self.typed: AttentionView | None = None  # its attention, once read by a model
        self.form_config: Any = None  # the form's settings: the positions before any training
        self.generation = GenerationState()
        self.generation.changed.connect(lambda: self.changed.emit(("next",)))
        self._probe: AttentionView | None = None
        self._layouts: dict[str, Any] = {}
        self.plot_px: dict[str, tuple[float, float]] = {}  # the plot area of the panel showing a heatmap figure
        self.clear_history()

    # ----- selection
    def set_mode(self, mode: str) -> None:
        """Colour by the softmax weights or by the raw scaled scores."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if mode != self.mode:
            self.mode = mode
            self.changed.emit(("grid", "head"))

    def set_head(self, layer: int, head: int) -> None:
        """Enlarge one layer's head (0-based; clamped to the model)."""
        view = self.view
        L, H = (view.layers, view.heads) if view is not None else (layer + 1, head + 1)
        layer, head = max(0, min(int(layer), L - 1)), max(0, min(int(head), H - 1))
        if (layer, head) != (self.layer, self.head):
            self.layer, self.head = layer, head
            self.changed.emit(MAPS)

    def set_query(self, query: int | None) -> None:
        """The query position of the token view (None: follow the last position)."""
        self.query = None if query is None else max(0, int(query))
        self.changed.emit(("head", "tokens"))

    def set_plot_size(self, name: str, width: float, height: float) -> None:
        """The pixels the view gives figure `name` (tick labels name tokens only where they fit)."""
        size = (float(width), float(height))
        old = self.plot_px.get(name)
        if size[0] < 10 or size[1] < 10:
            return
        # not for the few pixels an axis gains with its labels: that could flip the labels back and forth
        if old is None or any(abs(a - b) > 0.1 * b for a, b in zip(size, old, strict=True)):
            self.plot_px[name] = size
            self.changed.emit((name,))

    @property
    def shown_query(self) -> int:
        """The query the token view shows."""
        view = self.view
        if view is None:
            return 0
        return view.length - 1 if self.query is None else min(self.query, view.length - 1)

    def set_form_config(self, cfg: Any) -> None:
        """The form's settings (the positional encoding shown before any training)."""
        if cfg == self.form_config:
            return
        self.form_config = cfg
        if self.snapshot is None:
            self.changed.emit(POSITIONS)

    # ----- the typed text
    def text_problem(self, text: str) -> str:
        """Why the model on show cannot read `text` ('' if it can)."""
        snap = self.snapshot
        if snap is None:
            return "Train (or replay a recorded run) first: the attention is that of a trained model."
        T = min(len(text), snap.context) if snap.positional == "learned" else len(text)
        need = 5 * 4 * snap.layers * snap.heads * T * T
        if need > MEMORY_LIMIT:
            most = int((MEMORY_LIMIT / (20 * snap.layers * snap.heads)) ** 0.5)
            return (f"A text of {T:,} characters needs about {need / 2**30:.1f} GB for the attention of "
                    f"{snap.layers * snap.heads} heads: shorten it (up to ~{most:,} characters).")
        return ""

    def set_text(self, text: str) -> None:
        """Show the attention on `text` ('' goes back to the probe); it appears once `set_typed` brings it."""
        self.text = text
        if not text:
            self.typed = None
            self.changed.emit(MAPS)

    def wanted_text(self) -> tuple[Any, str] | None:
        """(snapshot, text) to read when the typed text's attention is not that of the model on show."""
        snap = self.snapshot
        if not self.text or snap is None:
            return None
        typed = self.typed
        if typed is not None and typed.text == self.text and typed.step == snap.step and self._typed_of is snap:
            return None
        return snap, self.text

    def set_typed(self, snap: Any, view: AttentionView) -> None:
        """The attention of `snap`'s model on the typed text (ignored if the user typed another text meanwhile)."""
        if view.text != self.text or not self.text:
            return
        self.typed, self._typed_of = view, snap
        self.changed.emit(MAPS)

    def text_failed(self, text: str) -> None:
        """The model could not read `text`: keep showing the text it last read (or the probe)."""
        if text == self.text:
            self.text = self.typed.text if self.typed is not None else ""

    @property
    def view(self) -> AttentionView | None:
        """What the heatmaps show: the typed text's attention when there is one, else the probe's."""
        if self.text and self.typed is not None:
            return self.typed
        snap = self.snapshot
        if snap is None:
            return None
        if self._probe is None or self._probe_of is not snap:
            expected = np.asarray(snap.expected_keys)
            self._probe = AttentionView(snap.tokens, snap.attention, snap.scores, f"probe at step {snap.step:,}",
                                        expected if (expected >= 0).any() else None, step=int(snap.step))
            self._probe_of = snap
        return self._probe

    # ----- history
    def reset(self, config: Any = None) -> None:
        super().reset(self.config if config is None else config)

    def clear_history(self) -> None:
        self._acc_steps: list[int] = []
        self._acc: list[float] = []
        self._hits: list[tuple[int, float, int, int]] = []  # step, share, layer, head
        self.typed, self._typed_of = None, None
        self._probe, self._probe_of = None, None
        self.generation.clear()

    def reduce(self, snap: Any) -> None:
        total = getattr(self.config, "steps", snap.step)
        val_step = snap.step if snap.step >= total else snap.step // VAL_EVERY * VAL_EVERY
        if not self._acc_steps or val_step > self._acc_steps[-1]:
            self._acc_steps.append(int(val_step))
            self._acc.append(float(snap.accuracy))
        expected = np.asarray(snap.expected_keys)
        if (expected >= 0).any():
            rates = head_hit_rates(snap.attention, expected)
            layer, head = np.unravel_index(int(np.argmax(rates)), rates.shape)
            self._hits.append((int(snap.step), float(rates[layer, head]), int(layer), int(head)))

    def take_snapshot(self, snap: Any) -> None:
        super().take_snapshot(snap)
        self._clamp()

    def select(self, index: int) -> None:
        super().select(index)
        self._clamp()

    def _clamp(self) -> None:
        view = self.view
        if view is not None:
            self.layer, self.head = min(self.layer, view.layers - 1), min(self.head, view.heads - 1)

    def metric_figures(self) -> tuple[str, ...]:
        return ("loss",)

    def _history_end(self) -> float | None:
        """History figures end at the snapshot on show when one is chosen on the timeline."""
        if self.source is not None and self.index is not None and self.snapshot is not None:
            return float(self.snapshot.step)
        return None

    # ----- text for the side panel
    def summary_html(self) -> str:
        snap = self.snapshot
        if snap is None:
            return "Press Train: a tiny GPT learns the task, and its attention appears on the right."
        loss = f"{snap.loss:.3f}" if np.isfinite(snap.loss) else "–"
        return (f"<b>Step {snap.step:,}</b> · loss {loss} · validation {snap.val_loss:.3f}<br>"
                f"accuracy {snap.accuracy:.0%} (chance {snap.chance:.0%})")

    def sample_html(self) -> str:
        """The model's answer on the probe (wrong characters in orange), or what it writes."""
        snap = self.snapshot
        if snap is None:
            return ""
        if snap.target:
            marked = "".join(html.escape(c) if c == t else f"<span style='color:#d55e00'>{html.escape(c)}</span>"
                             for c, t in zip(snap.sample, snap.target, strict=False))
            return (f"<b>Step {snap.step:,}</b>, the model's answer on the probe: <tt>{marked}</tt> · right answer: "
                    f"<tt>{html.escape(snap.target)}</tt> (wrong in orange)")
        if snap.sample:
            written = html.escape(snap.sample).replace("\n", "⏎")
            return f"<b>Step {snap.step:,}</b>, the model writes: <tt>{written}</tt>"
        return ""

    # ----- hover and clicks on the figures on show
    def hit(self, name: str, x: float, y: float) -> tuple[int, int, int, int] | None:
        """(layer, head, query, key) under a point of the grid or the enlarged head."""
        layout = self._layouts.get(name)
        return None if layout is None else layout.hit(x, y)

    def layout(self, name: str) -> MapLayout | None:
        """Where the last 'grid' or 'head' figure built put what (its tiles' values, pooling factor, heads)."""
        return self._layouts.get(name)

    def query_at(self, x: float, y: float) -> int | None:
        """The query a click at a point of the token view chooses (its top row), or None."""
        return tokens_click(self.view, self.layer, self.head, self.shown_query, x, y)

    def readout(self, name: str, x: float, y: float) -> str | None:
        """What the hover says at a point of a heatmap figure or the token view."""
        if name == "tokens":
            return tokens_readout(self.view, self.layer, self.head, self.shown_query, x, y)
        layout = self._layouts.get(name)
        return None if layout is None else layout.readout(x, y)

    # ----- figures
    def figure(self, name: str) -> Figure:
        if name in ("grid", "head"):
            view, q = self.view, self.shown_query
            px = self.plot_px.get(name, PLOT_PX)
            fig, layout = (grid_figure(view, self.mode, (self.layer, self.head), px) if name == "grid" else
                           head_figure(view, self.mode, self.layer, self.head, q, px))
            self._layouts[name] = layout
            return fig
        if name == "tokens":
            return tokens_figure(self.view, self.layer, self.head, self.shown_query)
        if name in POSITIONS:
            return self._positions()[POSITIONS.index(name)]
        if name == "next":
            return self.generation.figure()
        if name == "leak":
            snap = self.snapshot
            mask = "" if snap is None else ("causal mask on" if snap.causal else "causal mask off")
            at = f" at step {snap.step:,}" if snap is not None else ""
            return jacobian_figure("leak", f"Leak check on the probe: |∂y_t/∂x_s|{at}",
                                   None if snap is None else snap.leak, None if snap is None else snap.tokens,
                                   note=mask, hint="Press Train: the leak check of the model appears here.")
        return {"loss": self.loss_figure, "accuracy": self.accuracy_figure}[name]()

    def _positions(self) -> tuple[Figure, Figure]:
        snap = self.snapshot
        cfg = snap if snap is not None else (self.form_config or self.config)
        if cfg is None:
            return position_figures(None, 0, 0)
        return position_figures(cfg.positional, cfg.context, cfg.width, snap)

    def loss_figure(self) -> Figure:
        end = self._history_end()
        x, y = self.metrics.curve("loss", end)
        vx, vy = self.metrics.curve("val_loss", end)
        caption = ""
        if y.size:
            caption = f"training loss {y[-1]:.3f} nats at step {int(x[-1]):,}"
            if vy.size:
                caption += f"; validation loss {vy[-1]:.3f} nats at step {int(vx[-1]):,}"
        return Figure("loss", "Training and validation loss", x=Axis("training step"), y=Axis("cross-entropy", "nats"),
                      series=(Series("training loss", x, y, color=0),
                              Series("validation loss", vx, vy, color=1, width=3, symbol="o", symbol_size=5)),
                      caption=caption, hint="Press Train to see the loss.")

    def accuracy_figure(self) -> Figure:
        end = self._history_end()
        keep = [i for i, s in enumerate(self._acc_steps) if end is None or s <= end]
        hits = [h for h in self._hits if end is None or h[0] <= end]
        task = getattr(self.snapshot, "task", getattr(self.config, "task", None))
        series = [Series("validation accuracy", [self._acc_steps[i] for i in keep], [self._acc[i] for i in keep],
                         color=0, symbol="o", symbol_size=5)]
        if task != "characters" or hits:
            series.append(Series(HIT, [h[0] for h in hits], [h[1] for h in hits], color=1))
        snap = self.snapshot
        lines, caption = (), ""
        if snap is not None:
            lines = (RefLine(float(snap.chance), f"chance {snap.chance:.0%}"),)
            if keep:
                i = keep[-1]
                caption = (f"validation accuracy {self._acc[i]:.0%} at step {self._acc_steps[i]:,} "
                           f"(chance {snap.chance:.0%})")
            if hits:
                step, share, layer, head = hits[-1]
                caption += (f"; best head layer {layer + 1} · head {head + 1} puts its largest weight on the needed "
                            f"key for {share:.0%} of the queries at step {step:,}")
        return Figure("accuracy", "Accuracy and attention on the needed key", x=Axis("training step"),
                      y=Axis("share", range=(0.0, 1.02)), series=series, lines=lines, caption=caption,
                      hint="Press Train: accuracy (and, for a task, the best head's share on the needed key) "
                           "appears here.")
