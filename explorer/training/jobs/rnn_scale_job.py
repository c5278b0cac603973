"""Measurement job: how the gradient of a plain RNN's last-step loss reaches h(t), for several weight scales.

Backprop through time multiplies ∂L/∂h(t) by one Jacobian W_hᵀ diag(φ'(a)) per step back, so a plain RNN's
gradient shrinks (vanishes) when the recurrent weights' scale is below 1 and grows (explodes) above it. tanh
saturates (φ' < 1) and hides the explosion; a linear (identity) or ReLU RNN shows it. Each step of this job
measures one weight scale: `networks` fresh plain RNNs (seeds seed, seed+1, ...) with the recurrent matrix at
that spectral radius, on random input symbols with a random target for the last step's cross-entropy, and
‖∂L/∂h(t)‖ for t = 0..T−1 (the mean over the batch of each sequence's own gradient norm). Optionally the same
networks with tanh, for comparison. No training: nothing here changes a weight.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param

SCALE_ACTIVATIONS = ("identity", "relu", "tanh")  # identity: a linear RNN
VOCAB = 10  # random input symbols and targets
BATCH = 16  # sequences per network


@dataclasses.dataclass
class RnnScaleConfig:
    """Settings of a gradient-against-weight-scale measurement."""

    activation: str = param("identity", label="Activation", choices=SCALE_ACTIVATIONS,
                            help="identity: a linear RNN, h(t) = W_h h(t-1) + W_x x(t); relu; or tanh, which "
                                 "saturates and hides the explosion.")
    scales: tuple[float, ...] = param((0.5, 1.0, 1.5), label="Weight scales", min=0.01, max=10.0,
                                      help="Spectral radii of the recurrent matrix to measure, e.g. 0.5, 1, 1.5.")
    length: int = param(40, label="Sequence length T", min=2, max=2000, help="Time steps per sequence.")
    hidden: int = param(64, label="Hidden units", min=2, max=1024, help="Size of the hidden state h(t).")
    networks: int = param(8, label="Networks per scale", min=1, max=1000,
                          help="Fresh networks (seeds) measured at each scale; figures show their median.")
    with_tanh: bool = param(True, label="Also with tanh",
                            help="Measure the same networks with tanh too, to show that it saturates.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def check(self) -> dict[str, str]:
        """Problems that involve more than one field: field name ('' for several) -> message."""
        if not self.scales:
            return {"scales": "Give at least one weight scale, e.g. 0.5, 1, 1.5."}
        bad = [s for s in self.scales if not 0.01 <= s <= 10.0]
        if bad:
            return {"scales": f"Every weight scale must lie between 0.01 and 10 (not {bad[0]:g})."}
        return {}


@dataclasses.dataclass(frozen=True)
class RnnScaleSnapshot(Snapshot):
    """scales (S,); grad_norms (S, N, T): ‖∂L/∂h(t)‖ of network n at scale s (NaN until measured);
    tanh_grad_norms the same for tanh ((S, 0, T) when not measured); activation, length, hidden: the setting."""

    activation: str
    length: int
    hidden: int
    scales: np.ndarray
    grad_norms: np.ndarray
    tanh_grad_norms: np.ndarray


def gradient_by_time(activation: str, scale: float, length: int, hidden: int, seed: int) -> np.ndarray:
    """(T,) ‖∂L/∂h(t)‖ of one fresh plain RNN (the last step's loss, mean over a batch of random sequences)."""
    import torch

    from ...analysis.gradient_flow import _last_step_grad_norms
    from ...models.recurrent_net import RecurrentNet

    torch.manual_seed(seed)
    model = RecurrentNet("RNN", VOCAB, hidden, VOCAB, activation, scale)
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, VOCAB, (BATCH, length), generator=gen)
    target = torch.randint(0, VOCAB, (BATCH,), generator=gen)
    return _last_step_grad_norms(
        model, x, lambda logits: torch.nn.functional.cross_entropy(logits[:, -1], target, reduction="none"))


@register_job
class RnnScaleJob(Job):
    """One step per weight scale: the gradient through time of fresh plain RNNs at that scale."""

    kind = "rnn_scales"
    title = "gradient through time against weight scale"
    config_cls = RnnScaleConfig
    snapshot_cls = RnnScaleSnapshot
    throughput_unit = "networks/s"

    def setup(self, ctx: JobContext) -> None:
        cfg = self.config
        self.total_steps = len(cfg.scales)
        self.items_per_step = float(cfg.networks * (2 if cfg.with_tanh else 1))
        S, N, T = len(cfg.scales), cfg.networks, cfg.length
        self.norms = np.full((S, N, T), np.nan, np.float32)
        self.tanh = np.full((S, N if cfg.with_tanh else 0, T), np.nan, np.float32)

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.config
        scale = float(cfg.scales[step])
        for n in range(cfg.networks):
            self.norms[step, n] = gradient_by_time(cfg.activation, scale, cfg.length, cfg.hidden, cfg.seed + n)
            if cfg.with_tanh:
                self.tanh[step, n] = gradient_by_time("tanh", scale, cfg.length, cfg.hidden, cfg.seed + n)
        g = self.norms[step].astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = float(np.median(g[:, 0] / g[:, -1]))
        return {"scale": scale, "log10_ratio": float(np.log10(ratio)) if ratio > 0 else float("nan")}

    def set_lr(self, lr: float) -> None:
        """Nothing trains here."""

    def snapshot(self, step: int) -> RnnScaleSnapshot:
        cfg = self.config
        return RnnScaleSnapshot(step=step, activation=cfg.activation, length=cfg.length, hidden=cfg.hidden,
                                scales=frozen_array(cfg.scales, np.float64), grad_norms=frozen_array(self.norms),
                                tanh_grad_norms=frozen_array(self.tanh))
