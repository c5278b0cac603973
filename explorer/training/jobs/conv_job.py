"""Training job: a stack of causal dilated convolutions on delayed recall or next-character prediction."""
from __future__ import annotations

import dataclasses

import numpy as np

from ...models.dilations import DILATION_KINDS, dilation_schedule
from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param

TASKS = ("delayed recall", "characters")
DILATION_BLOCK = 4  # layers per block of "doubling, repeated in blocks": 1, 2, 4, 8, 1, 2, 4, 8, ...
LOGIT_BUDGET = 2**25  # most logits one delayed-recall step may make (batch x length x distances x alphabet)
ACTIVATION_BUDGET = 2**26  # most batch x length x channels x layers per step (~7 tensors of that size are kept)
EVAL_BATCH = 64  # fixed sequences the snapshot's accuracies are measured on (fewer for very large settings)
ERF_BATCH = 8  # of which the effective receptive field uses the first few


@dataclasses.dataclass
class ConvConfig:
    """Hyper-parameters of a causal-convolution run."""

    task: str = param("delayed recall", label="Task", choices=TASKS,
                      help="Delayed recall: name the symbol d steps back, one head per distance d. "
                           "Characters: predict the next character of the corpus.")
    corpus: str = "builtin:austen"
    layers: int = param(4, label="Layers", min=1, max=40,
                        help="Convolution layers in the stack (WaveNet: 30, three blocks of 10).")
    kernel_size: int = param(2, label="Kernel size", min=2, max=7, help="Taps of each convolution.")
    channels: int = param(32, label="Channels", min=4, max=256, help="Feature channels of every layer.")
    dilations: str = param("doubling", label="Dilations", choices=DILATION_KINDS,
                           help="Spacing of the taps per layer: doubling 1, 2, 4, ...; constant 1; doubling "
                                f"restarted every {DILATION_BLOCK} layers; WaveNet's 1 … 512 restarted every 10 "
                                f"layers (30 layers, kernel 2: receptive field 3,070); or your own list.")
    custom_dilations: tuple[int, ...] = param((), label="Custom dilations", min=1, max=4096,
                                              help="One dilation per layer, e.g. 1, 2, 4, 8 (used when "
                                                   "Dilations is custom).")
    residual: bool = param(True, label="Residual", help="Add each layer's output to its input (x + 1x1(h)).")
    gated: bool = param(True, label="Gated", help="WaveNet gate tanh(W_f * x) ⊙ σ(W_g * x) instead of a ReLU.")
    causal: bool = param(True, label="Causal", help="Pad on the left only, so that output t sees inputs up to "
                                                    "t; off = centred padding, which sees the future.")
    alphabet: int = param(8, label="Alphabet", min=2, max=64, help="Distinct symbols of delayed recall.")
    max_distance: int = param(32, label="Largest distance", min=1, max=256,
                              help="Delayed recall asks for every distance 1 .. this.")
    seq_len: int = param(64, label="Sequence length", min=8, max=8192, help="Positions per training sequence.")
    batch_size: int = param(32, label="Batch size", min=1, max=4096, help="Sequences per step.")
    lr: float = param(3e-3, label="Learning rate", min=1e-6, max=1.0, log=True, live=True,
                      help="Adam's step size.")
    steps: int = param(2000, label="Steps", min=1, max=10_000_000)
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def dilation_tuple(self) -> tuple[int, ...]:
        """The dilation of every layer (ValueError with a message if the custom list does not fit)."""
        return dilation_schedule(self.dilations, self.layers, DILATION_BLOCK, self.custom_dilations)

    def check(self) -> dict[str, str]:
        """Problems that involve more than one field: field name ('' for several) -> message."""
        problems: dict[str, str] = {}
        try:
            self.dilation_tuple()
        except ValueError as exc:
            problems["custom_dilations" if self.dilations == "custom" else "dilations"] = str(exc)
        if self.task == "delayed recall":
            if self.seq_len <= self.max_distance:
                problems["seq_len"] = (f"The sequence length ({self.seq_len}) must be longer than the largest "
                                       f"distance ({self.max_distance}), so that every distance has a target.")
            size = self.batch_size * self.seq_len * self.max_distance * self.alphabet
            if size > LOGIT_BUDGET:
                problems[""] = (f"Batch size × sequence length × largest distance × alphabet is {size:,} outputs "
                                f"per step, more than {LOGIT_BUDGET:,}: make one of them smaller.")
        size = self.batch_size * self.seq_len * self.channels * self.layers
        if size > ACTIVATION_BUDGET and "" not in problems:
            problems[""] = (f"Batch size × sequence length × channels × layers is {size:,}, more than "
                            f"{ACTIVATION_BUDGET:,}: training would take too much memory; make one of them smaller.")
        return problems


@dataclasses.dataclass(frozen=True)
class ConvSnapshot(Snapshot):
    """What the convolution views draw at one step.

    accuracy_by_distance: for delayed recall, (max_distance,) accuracy of the head for distance d = 1..D on a
    fixed evaluation batch; for characters, (seq_len,) next-character accuracy at each position t of the window
    (t + 1 characters of context). erf: (seq_len,) effective receptive field of output position erf_t (the middle
    position, so that the leak check has future inputs to test and both sides show), scaled to a maximum of 1.
    chance: the accuracy of guessing, 1/alphabet for recall, the share of the most common character for
    characters. loss is the last training step's loss (NaN before the first step).
    """

    task: str
    loss: float
    accuracy: float
    accuracy_by_distance: np.ndarray
    chance: float
    erf: np.ndarray
    erf_t: int
    rf_size: int
    kernel_size: int
    dilations: np.ndarray
    causal: bool
    residual: bool


@register_job
class ConvJob(Job):
    """A CausalConvStack with one head per recall distance (or a next-character head), trained with Adam."""

    kind = "conv"
    title = "causal convolution"
    config_cls = ConvConfig
    snapshot_cls = ConvSnapshot
    throughput_unit = "sequences/s"

    def setup(self, ctx: JobContext) -> None:
        import torch

        from ...data.tasks import char_ids, char_lm_batch, id_counts, make_delayed_recall_batch
        from ...models.causal_conv import CausalConvStack

        cfg = self.config
        self.dils = cfg.dilation_tuple()
        torch.manual_seed(cfg.seed)
        dev = torch.device(self.device)
        self.gen = torch.Generator(device=dev).manual_seed(cfg.seed)
        eval_gen = torch.Generator(device=dev).manual_seed(cfg.seed + 1)
        self.recall = cfg.task == "delayed recall"
        if self.recall:
            vocab, out_dim = cfg.alphabet, cfg.max_distance * cfg.alphabet
            self.chance = 1.0 / cfg.alphabet
            self._batch = lambda b, g: make_delayed_recall_batch(b, cfg.seq_len, cfg.alphabet, cfg.max_distance, g)
        else:
            corpus = ctx.corpus(cfg.corpus)
            tokenizer, ids = char_ids(corpus.text)
            self.ids = ids.to(dev)
            vocab = out_dim = len(tokenizer)
            self.chance = float(np.max(id_counts(ids, minlength=vocab)) / len(ids))  # most common char
            self._batch = lambda b, g: char_lm_batch(self.ids, b, cfg.seq_len, g)
        self.model = CausalConvStack(vocab, cfg.channels, cfg.layers, cfg.kernel_size, self.dils, cfg.residual,
                                     cfg.gated, cfg.causal, out_dim=out_dim).to(dev)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        per_sequence = cfg.seq_len * (out_dim + cfg.channels * cfg.layers)
        self.eval_x, self.eval_y = self._batch(max(1, min(EVAL_BATCH, LOGIT_BUDGET // per_sequence)), eval_gen)
        self.erf_t = cfg.seq_len // 2  # the middle: future inputs to test for leakage, past ones to see
        self.total_steps = cfg.steps
        self.items_per_step = float(cfg.batch_size)
        self._last_loss = float("nan")
        self._dils_array = frozen_array(self.dils, np.int64)

    def _loss(self, x, y):
        """Cross-entropy of the model on a batch, and its logits shaped like the targets plus a class axis."""
        import torch.nn.functional as F

        logits = self.model.logits(x)
        if self.recall:
            logits = logits.view(*y.shape, self.config.alphabet)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100), logits

    def train_step(self, step: int) -> dict[str, float]:
        x, y = self._batch(self.config.batch_size, self.gen)
        loss, _ = self._loss(x, y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self._last_loss = float(loss.detach())
        return {"loss": self._last_loss}

    def set_lr(self, lr: float) -> None:
        for group in self.opt.param_groups:
            group["lr"] = float(lr)

    def snapshot(self, step: int) -> ConvSnapshot:
        import torch

        from ...analysis.conv_probe import effective_receptive_field
        from ...data.tasks import recall_accuracy_by_distance

        with torch.no_grad():
            _, logits = self._loss(self.eval_x, self.eval_y)
            if self.recall:
                by = recall_accuracy_by_distance(logits, self.eval_y)
                valid = self.eval_y != -100
                overall = ((logits.argmax(-1) == self.eval_y) & valid).sum() / valid.sum()
            else:
                hits = (logits.argmax(-1) == self.eval_y).double()
                by, overall = hits.mean(0), hits.mean()
        erf = effective_receptive_field(self.model, self.eval_x[:ERF_BATCH], self.erf_t)
        peak = float(erf.max())
        cfg = self.config
        return ConvSnapshot(
            step=step, task=cfg.task, loss=self._last_loss, accuracy=float(overall),
            accuracy_by_distance=frozen_array(np.nan_to_num(by.cpu().numpy(), nan=0.0)), chance=self.chance,
            erf=frozen_array(erf / peak if peak > 0 else erf), erf_t=self.erf_t,
            rf_size=self.model.receptive_field, kernel_size=cfg.kernel_size, dilations=self._dils_array,
            causal=bool(cfg.causal), residual=bool(cfg.residual),
        )
