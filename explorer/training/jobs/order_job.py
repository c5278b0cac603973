"""Composite job: is attention blind to token order, and does a positional encoding fix it?

At set-up, a permutation test on fresh tiny transformers (double precision): permuting the input tokens
permutes the outputs exactly when there is neither a positional encoding nor a causal mask; a positional encoding
breaks it, and so does the mask (it tells positions apart by how many keys each query sees). Then the reverse task
is trained twice as an encoder (no mask: output i must name the token at length−1−i), with and without a
sinusoidal positional encoding, and once as the Attention tab's decoder (causal mask, no encoding), all from the
same seed, one step of each per job step. An order-blind model can reach at most `bound` on the encoder task.
"""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np

from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param

EVAL_EVERY = 25
EVAL_BATCH = 256
PERMUTATIONS = (("none", False, "no encoding, no mask"), ("sinusoidal", False, "sinusoidal encoding, no mask"),
                ("learned", False, "learned encoding, no mask"), ("none", True, "no encoding, causal mask"))


@dataclasses.dataclass
class OrderConfig:
    """The reverse task and the models that learn it."""

    length: int = param(16, label="Length", min=4, max=64, help="Symbols to reverse (even).")
    symbols: int = param(16, label="Symbols", min=2, max=26, help="Distinct symbols of the task.")
    layers: int = param(2, label="Layers", min=1, max=6, help="Transformer blocks.")
    heads: int = param(2, label="Heads", min=1, max=8, help="Attention heads per block.")
    width: int = param(64, label="Width", min=8, max=256, help="d_model.")
    batch_size: int = param(32, label="Batch size", min=1, max=1024)
    lr: float = param(3e-3, label="Learning rate", min=1e-6, max=1.0, log=True)
    steps: int = param(600, label="Steps", min=1, max=100_000, help="Training steps of each model.")
    decoder: bool = param(True, label="Decoder too", help="Also train the causal decoder without an encoding.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def check(self) -> dict[str, str]:
        if self.length % 2:
            return {"length": "The length must be even (so that no position is its own mirror)."}
        if self.width % self.heads or self.width % 2:
            return {"heads": f"The heads ({self.heads}) must divide the width ({self.width}), which must be even."}
        return {}


@dataclasses.dataclass(frozen=True)
class OrderSnapshot(Snapshot):
    """perm_labels/perm_errors: max |f(x[π]) − f(x)[π]| / max |f(x)| of fresh models (double precision).
    eval_steps and acc_pe, acc_nope (encoder, with and without the encoding), acc_decoder (causal decoder, no
    encoding; empty when not trained): accuracy on a fixed batch. by_position_pe, by_position_nope: the last
    accuracy at each output position. chance: 1/symbols; bound: the best an order-blind model can do."""

    perm_labels: tuple[str, ...]
    perm_errors: np.ndarray
    eval_steps: np.ndarray
    acc_pe: np.ndarray
    acc_nope: np.ndarray
    acc_decoder: np.ndarray
    by_position_pe: np.ndarray
    by_position_nope: np.ndarray
    chance: float
    bound: float
    length: int


def _model(cfg: OrderConfig, positional: str, causal: bool, context: int, vocab: int):
    from .gpt_job import build_model

    return build_model(SimpleNamespace(context=context, layers=cfg.layers, heads=cfg.heads, width=cfg.width,
                                       positional=positional, causal=causal), vocab)


@register_job
class OrderJob(Job):
    """A permutation test at set-up, then the reverse task with and without a positional encoding."""

    kind = "order_blind"
    title = "attention and token order"
    config_cls = OrderConfig
    snapshot_cls = OrderSnapshot
    throughput_unit = "steps/s"

    def setup(self, ctx: JobContext) -> None:
        import torch

        from ...analysis.attention_probe import order_blind_bound, permutation_error
        from ...data.attention_tasks import make_task_batch

        cfg = self.config
        n, V = cfg.length, cfg.symbols
        gen = torch.Generator().manual_seed(cfg.seed)
        tokens = torch.randint(0, V, (4, n), generator=gen)
        perm = torch.randperm(n, generator=gen)
        if torch.equal(perm, torch.arange(n)):  # the identity would test nothing
            perm = perm.flip(0)
        errors = []
        for positional, causal, _label in PERMUTATIONS:
            torch.manual_seed(cfg.seed)
            errors.append(permutation_error(_model(cfg, positional, causal, n, V), tokens, perm))
        self.perm_errors = frozen_array(errors, np.float64)
        self.bound = order_blind_bound(n, V, seed=cfg.seed)
        self.models, self.opts, self.batches = {}, {}, {}
        names = ("pe", "nope", "decoder") if cfg.decoder else ("pe", "nope")
        for name in names:
            torch.manual_seed(cfg.seed)
            if name == "decoder":
                model = _model(cfg, "none", True, n, V + 1)
                self.batches[name] = lambda b, g: make_task_batch("reverse", b, n // 2, V, g)
            else:
                model = _model(cfg, "sinusoidal" if name == "pe" else "none", False, n, V)
                self.batches[name] = self._encoder_batch
            self.models[name], self.opts[name] = model, torch.optim.AdamW(model.parameters(), lr=cfg.lr)
        self.gens = {name: torch.Generator().manual_seed(cfg.seed + 1) for name in names}
        self.val = {name: self.batches[name](EVAL_BATCH, torch.Generator().manual_seed(cfg.seed + 2))
                    for name in names}
        self.total_steps = cfg.steps
        self.history: dict[str, list[float]] = {name: [] for name in (*names, "step")}
        self.by_position = {"pe": np.zeros(n), "nope": np.zeros(n)}
        self._evaluate(0)

    def _encoder_batch(self, b, g):
        import torch

        s = torch.randint(0, self.config.symbols, (b, self.config.length), generator=g)
        return s, s.flip(1)

    def _evaluate(self, step: int) -> None:
        import torch

        from ...data.attention_tasks import target_accuracy

        self.history["step"].append(step)
        with torch.no_grad():
            for name, model in self.models.items():
                x, y = self.val[name]
                logits = model(x)
                self.history[name].append(target_accuracy(logits, y))
                if name in self.by_position:
                    self.by_position[name] = (logits.argmax(-1) == y).double().mean(0).numpy()

    def train_step(self, step: int) -> dict[str, float]:
        metrics = train_each(self.models, self.opts,
                             lambda name: self.batches[name](self.config.batch_size, self.gens[name]))
        if (step + 1) % EVAL_EVERY == 0 or step + 1 == self.total_steps:
            self._evaluate(step + 1)
        return metrics

    def snapshot(self, step: int) -> OrderSnapshot:
        h = self.history
        return OrderSnapshot(
            step=step, perm_labels=tuple(label for *_, label in PERMUTATIONS), perm_errors=self.perm_errors,
            eval_steps=frozen_array(h["step"], np.int64), acc_pe=frozen_array(h["pe"], np.float64),
            acc_nope=frozen_array(h["nope"], np.float64), acc_decoder=frozen_array(h.get("decoder", []), np.float64),
            by_position_pe=frozen_array(self.by_position["pe"], np.float64),
            by_position_nope=frozen_array(self.by_position["nope"], np.float64),
            chance=1.0 / self.config.symbols, bound=float(self.bound), length=self.config.length)

    def set_lr(self, lr: float) -> None:
        for opt in self.opts.values():
            for group in opt.param_groups:
                group["lr"] = float(lr)


def train_each(models: dict, opts: dict, batch_of) -> dict[str, float]:
    """One optimiser step of every model on its own batch `batch_of(name)` (token cross-entropy, -100 ignored);
    returns {'loss_NAME': loss}. The side-by-side jobs (order_blind, mask_leak) train their models this way."""
    import torch.nn.functional as F

    metrics = {}
    for name, model in models.items():
        x, y = batch_of(name)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100)
        opts[name].zero_grad(set_to_none=True)
        loss.backward()
        opts[name].step()
        metrics[f"loss_{name}"] = float(loss.detach())
    return metrics
