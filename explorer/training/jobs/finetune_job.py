"""Training jobs: fine-tuning a pre-trained GPT four ways side by side, and the same over amounts of labelled data.

The four ways share the data, the batches, the seed and the budget of steps: from scratch (a fresh model);
copy the lower N groups of the pre-trained model and initialise the rest afresh; a warm start from the whole
pre-trained model; and a warm start with the lower N groups frozen. Every fresh initialisation draws from the
same seed, so the parts that "copy" does not copy start exactly as "scratch" does, and a classifier's new head
starts the same in every way. Frozen parameters are left out of the optimiser, so it holds no state for them.
"""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from ...data.finetune_tasks import CLASSIFY_SOURCES, NEXT_TOKEN_SOURCES, TASK_KINDS
from ..job import Diverged, Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param
from .gpt_job import VAL_EVERY, token_label

if TYPE_CHECKING:
    from ...data.finetune_tasks import TaskData
    from .pretrained import Pretrained

WAYS = ("scratch", "copy", "warm", "frozen")
WAY_LABELS = {"scratch": "from scratch", "copy": "copy lower N, rest fresh", "warm": "warm start",
              "frozen": "warm start, lower N frozen"}
SHARES = (0.01, 0.1, 1.0)


def way_label(way: str, lower: int) -> str:
    """A way's label with N's value written in: "copy lower 2, rest fresh"."""
    return WAY_LABELS[way].replace("N", str(lower))

POOLING = ("last", "mean")
EVAL_CHUNK = 256  # validation examples per forward pass
PROBE_MAX = 1000  # classification: most training examples a linear probe fits
PROBE_POSITIONS = (2000, 1000)  # next-token: positions a probe fits on (drawn from 4x as many) and is scored on
PROBE_ITERATIONS = {"classify": 300, "next-token": 50}  # lbfgs: ~1 s a model for ~80 characters, 6 s at 300


@dataclasses.dataclass
class FinetuneConfig:
    """Hyper-parameters of a four-way fine-tuning comparison."""

    pretrained: str = ""  # the pre-trained run's folder ("" = none chosen yet)
    task: str = param("classify", label="Task", choices=TASK_KINDS,
                      help="Classify: which source a passage comes from, with a new head on the last position or "
                           "the mean of the last layer. Next-token: go on predicting the next character, on a "
                           "small text of another kind.")
    source: str = param("scrambled", label="Data", choices=tuple(CLASSIFY_SOURCES) + tuple(NEXT_TOKEN_SOURCES),
                        help="The downstream data: " + "; ".join(
                            f"{k}: {v}" for k, v in {**CLASSIFY_SOURCES, **NEXT_TOKEN_SOURCES}.items()) + ".")
    file: str = ""  # the user's text file, for the sources that use one
    share: float = param(0.1, label="Labelled data", choices=SHARES,
                         help="The share of the task's training set used: 1%, 10% or 100%.")
    lower: int = param(2, label="Lower N", min=0, max=12,
                       help="How many of the lowest layer groups (the embedding counts as the first) are copied "
                            "or frozen; at most the model's blocks + 1.")
    pooling: str = param("mean", label="Pooling", choices=POOLING,
                         help="Classification reads the mean of the last layer over positions, or the last "
                              "position's vector (the only one that has seen the whole passage under the causal "
                              "mask, but in a tiny model it holds little more than what the next character needs).")
    ways: str = ",".join(WAYS)  # comma-separated, from WAYS
    steps: int = param(300, label="Steps", min=1, max=1_000_000)
    batch_size: int = param(32, label="Batch size", min=1, max=4096, help="Examples per step.")
    lr: float = param(1e-3, label="Learning rate", min=1e-6, max=1.0, log=True, live=True,
                      help="AdamW's step size, the same for every way.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def way_list(self) -> tuple[str, ...]:
        """The chosen ways, in the order of WAYS."""
        chosen = {w.strip() for w in self.ways.split(",") if w.strip()}
        return tuple(w for w in WAYS if w in chosen)

    def check(self) -> dict[str, str]:
        """Problems that involve more than one field: field name ('' for several) -> message."""
        problems: dict[str, str] = {}
        unknown = [w.strip() for w in self.ways.split(",") if w.strip() and w.strip() not in WAYS]
        if unknown:
            problems["ways"] = f"Unknown way {unknown[0]!r}: choose from {', '.join(WAYS)}."
        elif not self.way_list():
            problems["ways"] = "Choose at least one way to fine-tune."
        sources = CLASSIFY_SOURCES if self.task == "classify" else NEXT_TOKEN_SOURCES
        if self.source not in sources:
            problems["source"] = (f"{self.source!r} is not a {self.task} task; choose one of: "
                                  f"{', '.join(sources)}.")
        elif self.source in ("austen-file", "file") and not self.file:
            problems["file"] = "This task uses your own text file: choose one."
        if not self.pretrained:
            problems["pretrained"] = "Choose a pre-trained model (or pre-train one first)."
        return problems


@dataclasses.dataclass(frozen=True)
class FinetuneSnapshot(Snapshot):
    """The ways side by side at one step; arrays carry the way on their first axis (order of `ways`).

    groups: the layer groups bottom up ("embedding", "block 1".., "output"); frozen: which of them the "frozen"
    way freezes (the lowest `lower`; none when that way is not run). weight_change (W, G): ||θ − θ0|| / ||θ0|| of
    each group against the way's own start (exactly 0 for frozen groups). probe_before (P,): the validation
    accuracy of a logistic-regression probe on each of probe_groups' outputs of the pre-trained model;
    probe_after (W, P) the same after fine-tuning (NaN until the last step). attention_before (L, H, T, T) and
    attention_after (W, L, H, T, T): the softmax weights on one fixed validation input (probe_tokens), NaN where
    masked; before is the pre-trained model, after each way's model now. diverged: a way's message once it has
    stopped ('' while it trains); its arrays keep their last good values, its training loss becomes NaN.
    """

    ways: tuple[str, ...]
    groups: tuple[str, ...]
    lower: int
    frozen: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    chance: float
    weight_change: np.ndarray
    probe_groups: tuple[str, ...]
    probe_before: np.ndarray
    probe_after: np.ndarray
    probe_tokens: tuple[str, ...]
    attention_before: np.ndarray
    attention_after: np.ndarray
    task: str
    classes: tuple[str, ...]
    description: str
    examples: int
    diverged: tuple[str, ...]


def _attention(model, x) -> np.ndarray:
    """(L, H, T, T) float32 softmax weights of a model on one input (1, T), NaN where masked."""
    import torch

    with torch.no_grad():
        _, rec = model(x, record=True)
    weights = np.stack([w[0].cpu().numpy() for _, w in rec]).astype(np.float32)
    masked = np.stack([torch.isneginf(s[0]).cpu().numpy() for s, _ in rec])
    weights[masked] = np.nan
    return weights


@register_job
class FinetuneJob(Job):
    """The chosen ways of fine-tuning a pre-trained GPT, trained in lockstep on the same batches."""

    kind = "finetune"
    title = "GPT fine-tuning, four ways"
    config_cls = FinetuneConfig
    snapshot_cls = FinetuneSnapshot
    throughput_unit = "examples/s"

    def __init__(self, config: FinetuneConfig, device: str = "cpu", *, pretrained: Pretrained | None = None,
                 task: TaskData | None = None, light: bool = False) -> None:
        """`pretrained` and `task`, when given, are used instead of loading cfg.pretrained and building the task;
        `light` leaves out the linear probes and the attention maps (a sweep's jobs need only the curves)."""
        super().__init__(config, device)
        self._given_pretrained, self._given_task, self.light = pretrained, task, light

    def setup(self, ctx: JobContext) -> None:
        import torch

        from ...data.finetune_tasks import build_task
        from ...models.transfer import (
            GPTClassifier,
            copy_lower,
            freeze_lower,
            layer_groups,
            state_copy,
            trainable_parameters,
            warm_start,
        )
        from .gpt_job import build_model
        from .pretrained import load_pretrained

        cfg = self.config
        pre = self._given_pretrained or load_pretrained(cfg.pretrained)
        shape = pre.config
        if cfg.lower > shape.layers + 1:
            raise ValueError(f"The pre-trained model has {shape.layers} blocks, so N can be at most "
                             f"{shape.layers + 1} (the embedding and every block); it is {cfg.lower}.")
        task = self._given_task or build_task(
            cfg.task, cfg.source, pre.alphabet, shape.context, cfg.share, cfg.seed, cfg.file, ctx.cancelled)
        self.pretrained, self.task = pre, task
        self.ways = cfg.way_list()
        dev = torch.device(self.device)
        self.base = pre.build_model().to(dev).eval()
        classify = task.kind == "classify"
        self.models, self.opts, self.initial = {}, {}, {}
        for way in self.ways:
            torch.manual_seed(cfg.seed)  # every fresh initialisation is the same
            model = build_model(shape, len(pre.alphabet))
            if classify:
                model = GPTClassifier(model, len(task.classes), cfg.pooling)
            model = model.to(dev)
            if way == "copy":
                copy_lower(model, self.base, cfg.lower)
            elif way in ("warm", "frozen"):
                warm_start(model, self.base)
            if way == "frozen":
                freeze_lower(model, cfg.lower)
            self.models[way] = model
            self.opts[way] = torch.optim.AdamW(trainable_parameters(model), lr=cfg.lr)
            self.initial[way] = state_copy(model)
        self.groups = tuple(layer_groups(next(iter(self.models.values()))))
        self.train_x, self.train_y = (torch.from_numpy(np.array(a)).to(dev) for a in (task.train_x, task.train_y))
        self.val_x, self.val_y = (torch.from_numpy(np.array(a)).to(dev) for a in (task.val_x, task.val_y))
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self._order, self._pos = torch.zeros(0, dtype=torch.long), 0
        self.total_steps = cfg.steps
        self.items_per_step = float(cfg.batch_size * len(self.ways))
        W = len(self.ways)
        self.train_loss = np.full(W, np.nan)
        self.val_loss, self.val_accuracy = np.full(W, np.nan), np.full(W, np.nan)
        self.diverged = [""] * W
        self.probe_groups = tuple(self.groups[:-1])
        self.probe_after = np.full((W, len(self.probe_groups)), np.nan, np.float32)
        self._probe_done = False
        if self.light:  # a sweep reads only the accuracy after the last step
            return
        self._evaluate()
        self.probe_x = self.val_x[:1]
        self.probe_tokens = tuple(token_label(pre.alphabet[i]) for i in task.val_x[0])
        self.probe_before = np.asarray(self._probe(self.base), np.float32)
        self.attention_before = _attention(self.base, self.probe_x)

    # -- data ----------------------------------------------------------------------------------------------------

    def _next_batch(self):
        """Indices of the next batch: the training set in a fresh random order every epoch."""
        import torch

        need, parts = self.config.batch_size, []
        while need > 0:
            if self._pos >= len(self._order):
                self._order, self._pos = torch.randperm(len(self.train_x), generator=self.gen), 0
            take = self._order[self._pos:self._pos + need]
            self._pos += len(take)
            need -= len(take)
            parts.append(take)
        return torch.cat(parts).to(self.train_x.device)

    def _loss(self, logits, y):
        import torch.nn.functional as F

        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))

    # -- training ------------------------------------------------------------------------------------------------

    def train_step(self, step: int) -> dict[str, float]:
        idx = self._next_batch()
        x, y = self.train_x[idx], self.train_y[idx]
        metrics: dict[str, float] = {}
        losses = []
        for w, way in enumerate(self.ways):
            if self.diverged[w]:
                continue
            loss = self._loss(self.models[way](x), y)
            value = float(loss.detach())
            if not math.isfinite(value):
                what = "nan (not a number)" if math.isnan(value) else "infinite"
                name = way_label(way, self.config.lower).capitalize()
                self.diverged[w] = (f"{name} diverged at step {step + 1}: its loss became {what}; it was stopped "
                                    f"and the others go on. Try a smaller learning rate.")
                self.train_loss[w] = np.nan
                continue
            opt = self.opts[way]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            self.train_loss[w] = value
            metrics[f"loss_{way}"] = value
            losses.append(value)
        if not losses:
            raise Diverged(" ".join(m for m in self.diverged if m))
        metrics["loss"] = float(np.mean(losses))
        if (step + 1) % VAL_EVERY == 0 or step + 1 == self.total_steps:
            self._evaluate()
            for w, way in enumerate(self.ways):
                if not self.diverged[w]:
                    metrics[f"val_loss_{way}"] = float(self.val_loss[w])
                    metrics[f"accuracy_{way}"] = float(self.val_accuracy[w])
        return metrics

    def _evaluate(self) -> None:
        """Validation loss and accuracy of every way that still trains, on the fixed held-out set."""
        import torch

        for w, way in enumerate(self.ways):
            if self.diverged[w]:
                continue
            model = self.models[way]
            model.eval()
            total = correct = 0.0
            with torch.no_grad():
                for i in range(0, len(self.val_x), EVAL_CHUNK):
                    logits = model(self.val_x[i:i + EVAL_CHUNK])
                    y = self.val_y[i:i + EVAL_CHUNK]
                    total += float(self._loss(logits, y)) * y.numel()
                    correct += float((logits.argmax(-1) == y).sum())
            model.train()
            n = self.val_y.numel()
            self.val_loss[w], self.val_accuracy[w] = total / n, correct / n

    def set_lr(self, lr: float) -> None:
        for opt in self.opts.values():
            for group in opt.param_groups:
                group["lr"] = float(lr)

    # -- what changed --------------------------------------------------------------------------------------------

    def _features(self, model, x):
        """Per probe group: features of inputs x for a linear probe, with their labels' layout.

        Classification pools each layer's output as the classifier pools; next-token prediction keeps every
        position (subsampled by the caller)."""
        import torch

        body = getattr(model, "gpt", model)
        pooling = self.config.pooling
        outs = None
        with torch.no_grad():
            for i in range(0, len(x), EVAL_CHUNK):
                states = body.hidden_states(x[i:i + EVAL_CHUNK])
                if self.task.kind == "classify":
                    states = [h[:, -1] if pooling == "last" else h.mean(1) for h in states]
                else:
                    states = [h.reshape(-1, h.shape[-1]) for h in states]
                states = [h.cpu().numpy() for h in states]
                outs = states if outs is None else [np.concatenate([a, b]) for a, b in zip(outs, states, strict=True)]
        return outs

    def _probe(self, model) -> list[float]:
        """Validation accuracy of a linear probe on each probe group's output of `model`."""
        import warnings

        from ...models.transfer import linear_probe

        n = PROBE_MAX if self.task.kind == "classify" else -(-4 * PROBE_POSITIONS[0] // self.train_x.shape[1])
        train_x, val_x = self.train_x[:n], self.val_x
        train_y, val_y = self.task.train_y[:n].reshape(-1), self.task.val_y.reshape(-1)
        model.eval()
        try:
            f_train, f_val = self._features(model, train_x), self._features(model, val_x)
        finally:
            model.train(model is not self.base)
        if self.task.kind != "classify":  # a fixed subsample of positions
            rng = np.random.default_rng(0)
            ti = rng.permutation(len(train_y))[:PROBE_POSITIONS[0]]
            vi = rng.permutation(len(val_y))[:PROBE_POSITIONS[1]]
            f_train, f_val = [f[ti] for f in f_train], [f[vi] for f in f_val]
            train_y, val_y = train_y[ti], val_y[vi]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lbfgs may stop before it converges: the accuracy still tells
            steps = PROBE_ITERATIONS[self.task.kind]
            return [linear_probe(a, train_y, b, val_y, steps) for a, b in zip(f_train, f_val, strict=True)]

    def snapshot(self, step: int) -> FinetuneSnapshot:
        from ...models.transfer import relative_change

        W, G = len(self.ways), len(self.groups)
        change = np.zeros((W, G), np.float32)
        attention_after = []
        for w, way in enumerate(self.ways):
            model = self.models[way]
            rel = relative_change(model, self.initial[way])
            change[w] = [rel[g] for g in self.groups]
            if not self.light:
                model.eval()
                attention_after.append(_attention(model, self.probe_x))
                model.train()
        if step >= self.total_steps and not self._probe_done and not self.light:
            for w, way in enumerate(self.ways):
                self.probe_after[w] = self._probe(self.models[way])
            self._probe_done = True
        cfg = self.config
        frozen = np.array([("frozen" in self.ways) and g < cfg.lower for g in range(G)], bool)
        empty = np.zeros((0,), np.float32)
        return FinetuneSnapshot(
            step=step, ways=self.ways, groups=self.groups, lower=int(cfg.lower), frozen=frozen_array(frozen, bool),
            train_loss=frozen_array(self.train_loss), val_loss=frozen_array(self.val_loss),
            val_accuracy=frozen_array(self.val_accuracy), chance=float(self.task.chance),
            weight_change=frozen_array(change), probe_groups=self.probe_groups,
            probe_before=frozen_array(empty if self.light else self.probe_before),
            probe_after=frozen_array(self.probe_after), probe_tokens=() if self.light else self.probe_tokens,
            attention_before=frozen_array(empty if self.light else self.attention_before),
            attention_after=frozen_array(np.stack(attention_after) if attention_after else empty),
            task=self.task.kind, classes=tuple(self.task.classes), description=self.task.description,
            examples=self.task.examples, diverged=tuple(self.diverged),
        )
