"""Measurement job: what the output of a causal (dilated) convolution stack depends on, from its gradients.

Step 0 is the leak check: the gradient |∂y_t/∂x_s| of an output t in the MIDDLE of a sequence (so that there
are future inputs to test) for a causal stack and, as the control, the same stack with centred padding. Steps
1 .. max_layers measure the receptive field of stacks of growing depth, with doubling dilations (1, 2, 4, ...)
and without dilation, against the formula 1 + Σ (k−1)·d. The last step probes WaveNet's configuration (blocks
of layers with dilations 1, 2, ..., 2^(block−1), repeated). Every stack is fresh (which inputs an output can
depend on is a matter of the architecture, not of training) and measured in double precision, so that a
gradient that is 0 is exactly 0 and the tiny gradients at the edge of a 3,070-input field do not underflow.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ...analysis.receptive_field import receptive_field_size
from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param


@dataclasses.dataclass
class ConvFieldConfig:
    """Which stacks to probe."""

    kernel_size: int = param(2, label="Kernel size", min=2, max=7, help="Taps of every convolution.")
    max_layers: int = param(10, label="Deepest stack", min=1, max=14,
                            help="Stacks of 1 .. this many layers are measured (doubling and constant dilation).")
    channels: int = param(8, label="Channels", min=1, max=64, help="Feature channels of every layer.")
    leak_layers: int = param(4, label="Leak-check layers", min=1, max=12,
                             help="Depth of the doubling stack whose middle output is checked for leakage.")
    leak_length: int = param(64, label="Leak-check length", min=4, max=4096,
                             help="Sequence length of the leak check; its output t is the middle position.")
    wavenet_blocks: int = param(3, label="WaveNet blocks", min=0, max=8,
                                help="Blocks of the WaveNet stack (0: skip it); WaveNet has 3 (or more).")
    wavenet_block: int = param(10, label="Layers per block", min=1, max=12,
                               help="Layers of each WaveNet block, dilations 1, 2, ..., 2^(layers−1); WaveNet: 10.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def wavenet_dilations(self) -> tuple[int, ...]:
        return tuple(2 ** (i % self.wavenet_block) for i in range(self.wavenet_blocks * self.wavenet_block))

    def check(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        rf = receptive_field_size(self.kernel_size, self.wavenet_dilations())
        if self.wavenet_blocks and rf > 20_000:
            problems["wavenet_block"] = (f"That WaveNet stack sees {rf:,} inputs: too long to probe; "
                                         f"use fewer layers per block or a smaller kernel.")
        if receptive_field_size(self.kernel_size, tuple(2**i for i in range(self.max_layers))) > 20_000:
            problems["max_layers"] = "The deepest doubling stack would see over 20,000 inputs: use fewer layers."
        return problems


@dataclasses.dataclass(frozen=True)
class ConvFieldSnapshot(Snapshot):
    """What was measured so far.

    leak_causal, leak_centred: (leak_length,) |∂y_t/∂x_s| of output leak_t (the middle) for the causal stack and
    the same stack with centred padding (empty before step 0 ran). depths: the stacks measured so far; for each,
    the theoretical and measured (gradient-based: t − earliest non-zero input + 1) receptive field with
    doubling and with constant dilation, and future_doubling: how many inputs after t had a non-zero gradient.
    wavenet_grad: (length,) field of the WaveNet stack's middle output (empty until probed); wavenet_rf_measured
    is −1 until then.
    """

    kernel_size: int
    leak_t: int
    leak_dilations: np.ndarray
    leak_causal: np.ndarray
    leak_centred: np.ndarray
    depths: np.ndarray
    rf_doubling_theory: np.ndarray
    rf_doubling_measured: np.ndarray
    rf_constant_theory: np.ndarray
    rf_constant_measured: np.ndarray
    future_doubling: np.ndarray
    wavenet_dilations: np.ndarray
    wavenet_t: int
    wavenet_grad: np.ndarray
    wavenet_rf_theory: int
    wavenet_rf_measured: int
    wavenet_future: int


@register_job
class ConvFieldJob(Job):
    """One step per probe: the leak check, one stack depth per step, then WaveNet's configuration."""

    kind = "conv_field"
    title = "receptive fields of causal convolutions"
    config_cls = ConvFieldConfig
    snapshot_cls = ConvFieldSnapshot
    throughput_unit = "probes/s"

    def setup(self, ctx: JobContext) -> None:
        cfg = self.config
        self.total_steps = 1 + cfg.max_layers + (1 if cfg.wavenet_blocks else 0)
        self.leak_dils = tuple(2**i for i in range(cfg.leak_layers))
        self.leak_t = cfg.leak_length // 2
        self.leak_causal = self.leak_centred = np.zeros(0)
        self.rows: list[tuple[int, int, int, int, int, int]] = []
        self.wave_dils = cfg.wavenet_dilations()
        self.wave_rf = receptive_field_size(cfg.kernel_size, self.wave_dils) if self.wave_dils else 0
        self.wave_t, self.wave_grad, self.wave_measured, self.wave_future = self.wave_rf, np.zeros(0), -1, -1

    def _field(self, dils: tuple[int, ...], length: int, t: int, causal: bool = True) -> np.ndarray:
        from ...analysis.conv_probe import fresh_stack_field

        cfg = self.config
        return fresh_stack_field(cfg.kernel_size, dils, length, t, causal, cfg.channels, seed=cfg.seed)

    def train_step(self, step: int) -> dict[str, float]:
        from ...analysis.conv_probe import field_extent

        cfg = self.config
        if step == 0:
            self.leak_causal = self._field(self.leak_dils, cfg.leak_length, self.leak_t)
            self.leak_centred = self._field(self.leak_dils, cfg.leak_length, self.leak_t, causal=False)
            return {"future_inputs_reached": float(field_extent(self.leak_causal, self.leak_t)["future"])}
        if step <= cfg.max_layers:
            doubling, constant = tuple(2**i for i in range(step)), (1,) * step
            rf = receptive_field_size(cfg.kernel_size, doubling)
            length = 2 * rf + 2
            t = length // 2  # the middle: the whole field fits before it, as many inputs after it
            measured = field_extent(self._field(doubling, length, t), t)
            flat = field_extent(self._field(constant, length, t), t)
            self.rows.append((step, rf, measured["span"], receptive_field_size(cfg.kernel_size, constant),
                              flat["span"], measured["future"]))
            return {"receptive_field": float(measured["span"])}
        length = 2 * self.wave_rf + 2
        self.wave_t = length // 2
        self.wave_grad = self._field(self.wave_dils, length, self.wave_t)
        extent = field_extent(self.wave_grad, self.wave_t)
        self.wave_measured, self.wave_future = extent["span"], extent["future"]
        return {"receptive_field": float(extent["span"])}

    def snapshot(self, step: int) -> ConvFieldSnapshot:
        cols = np.array(self.rows, dtype=np.int64).reshape(-1, 6).T
        return ConvFieldSnapshot(
            step=step, kernel_size=self.config.kernel_size, leak_t=self.leak_t,
            leak_dilations=frozen_array(self.leak_dils, np.int64), leak_causal=frozen_array(self.leak_causal,
                                                                                            np.float64),
            leak_centred=frozen_array(self.leak_centred, np.float64), depths=frozen_array(cols[0], np.int64),
            rf_doubling_theory=frozen_array(cols[1], np.int64), rf_doubling_measured=frozen_array(cols[2], np.int64),
            rf_constant_theory=frozen_array(cols[3], np.int64), rf_constant_measured=frozen_array(cols[4], np.int64),
            future_doubling=frozen_array(cols[5], np.int64),
            wavenet_dilations=frozen_array(self.wave_dils, np.int64), wavenet_t=int(self.wave_t),
            wavenet_grad=frozen_array(self.wave_grad, np.float64), wavenet_rf_theory=int(self.wave_rf),
            wavenet_rf_measured=int(self.wave_measured), wavenet_future=int(self.wave_future))

    def set_lr(self, lr: float) -> None:
        """A measurement has no learning rate."""
