"""Sampling from the model on show: the prompt, the settings, the text it wrote and the next character's odds."""
from __future__ import annotations

import dataclasses
import html
import math
from typing import Any

import numpy as np
from psygnal import Signal

from ..figures import Axis, Bars, Figure, Table
from ..training.jobs.gpt_job import VISIBLE

BARS = 20  # the most likely characters drawn
FROM_VISIBLE = {v: k for k, v in VISIBLE.items()}


def default_prompt(snap: Any) -> str:
    """A prompt from the probe: for a task its first half (and the separator), else its first 16 characters."""
    text = "".join(FROM_VISIBLE.get(t, t) for t in snap.tokens)
    return text[: snap.context // 2 + 1] if snap.task != "characters" else text[:16]


@dataclasses.dataclass(frozen=True)
class Sample:
    """One generation: what was asked, of which model, and what came back."""

    step: int
    prompt: str
    temperature: float
    top_k: int | None
    text: str
    labels: tuple[str, ...]
    probs: np.ndarray


class GenerationState:
    """The latest sample of the model on show; forgotten when the run changes."""

    changed = Signal()

    def __init__(self) -> None:
        self.sample: Sample | None = None
        self.epoch = 0  # counts the runs shown: a generation asked for during an earlier one is dropped

    def clear(self) -> None:
        self.epoch += 1
        if self.sample is not None:
            self.sample = None
            self.changed.emit()

    def set_result(self, step: int, prompt: str, temperature: float, top_k: int | None, text: str,
                   labels: tuple[str, ...], probs: Any, epoch: int | None = None) -> None:
        """A finished generation (the continuation, and the next character's labels and odds, likeliest first);
        ignored if asked for in an earlier `epoch` (another run was shown meanwhile)."""
        if epoch is not None and epoch != self.epoch:
            return
        self.sample = Sample(int(step), prompt, float(temperature), top_k or None, text, tuple(labels),
                             np.asarray(probs, dtype=np.float64))
        self.changed.emit()

    def sample_html(self) -> str:
        """The prompt in grey, then what the model wrote (newlines made visible)."""
        s = self.sample
        if s is None:
            return ""
        shown = lambda t: html.escape(t).replace("\n", "⏎<br>")  # noqa: E731
        return (f"<pre style='white-space: pre-wrap'><span style='color:#888888'>{shown(s.prompt)}</span>"
                f"<b>{shown(s.text)}</b></pre>")

    def figure(self) -> Figure:
        """The next character's probabilities after the prompt, the likeliest first."""
        x_axis, y_axis = Axis("next character"), Axis("probability")
        s = self.sample
        if s is None:
            return Figure("next", "Next character after the prompt", x=x_axis, y=y_axis, legend=False,
                          hint="Press Generate: the model's odds for the next character appear here.")
        keep = min(BARS, int((s.probs > 0).sum()))
        labels, probs = s.labels[:keep], s.probs[:keep]
        limit = f", top-k {s.top_k}" if s.top_k else ""
        nonzero = s.probs[s.probs > 0]
        entropy = float(-(nonzero * np.log2(nonzero)).sum())
        prompt = s.prompt if len(s.prompt) <= 24 else "…" + s.prompt[-23:]
        caption = (f"Model at step {s.step:,}. Likeliest: ‘{labels[0]}’ {probs[0]:.2f}; entropy {entropy:.2f} bits "
                   f"over {int((s.probs > 0).sum())} characters" if keep else f"Model at step {s.step:,}.")
        if keep < (s.probs > 0).sum():
            caption += f" (the {keep} likeliest drawn)."
        return Figure(
            "next", f"Next character after the prompt ‘{prompt}’ (temperature {s.temperature:g}{limit})",
            x=Axis("next character", ticks=tuple((float(i), t) for i, t in enumerate(labels)),
                   range=(-0.7, max(keep, 1) - 0.3)),
            y=Axis("probability", range=(0.0, max(0.05, float(probs[0]) * 1.06) if keep else 1.0)),
            bars=(Bars("probability", np.arange(keep, dtype=float), probs, color=0, legend=False),),
            legend=False, caption=caption if math.isfinite(entropy) else "",
            data=Table(("rank", "character", "probability"),
                       [(i + 1, t, float(p)) for i, (t, p) in enumerate(zip(labels, probs, strict=True))]))
