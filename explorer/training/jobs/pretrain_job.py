"""Training job: GPT pre-training, the tiny GPT on next-character prediction over a corpus, in named sizes.

A pre-training run is a GptJob run of task "characters" whose recorded final snapshot is the saved model: its
float32 param_vector, with the alphabet and the shape fields, rebuilds the network exactly
(explorer.training.jobs.pretrained reads it back).
"""
from __future__ import annotations

import dataclasses

from ..job import JobContext, register_job
from ..params import param
from .gpt_job import GptConfig, GptJob, GptSnapshot

# Each preset: shape, batch, steps and learning rate; smallest first. Times through this job on the 2-core CPU
# this app was written on, with one torch thread (the app leaves the other core to the UI); validation loss on
# Austen's held-out last 10% (the end of Sense and Sensibility):
PRESETS: dict[str, dict] = {
    # 53 s; val 1.59 (600 steps: 25 s, val 1.88, and fine-tuning profits visibly less from that model)
    "tiny": dict(layers=2, heads=2, width=64, context=64, batch_size=32, steps=1500, lr=3e-3),
    # nanoGPT's CPU setting: 2.6 min; val 1.56
    "small": dict(layers=4, heads=4, width=128, context=64, batch_size=12, steps=2000, lr=1e-3),
    # a GPU, or a patient CPU
    "medium": dict(layers=4, heads=4, width=192, context=128, batch_size=32, steps=3000, lr=1e-3),
    # nanoGPT's Shakespeare-char shape, for a GPU (batch 48, not 64, to stay inside GptConfig's attention budget)
    "large": dict(layers=6, heads=6, width=384, context=256, batch_size=48, steps=5000, lr=6e-4),
}
RECORD_VECTOR_LIMIT = 300_000  # larger models keep their parameters only in the final recorded snapshot


@dataclasses.dataclass
class PretrainConfig(GptConfig):
    """A GptConfig for next-character pre-training on a corpus, with a named size (the preset)."""

    task: str = "characters"  # fixed: pre-training is next-token prediction on the corpus
    corpus: str = "builtin:austen"
    steps: int = param(PRESETS["tiny"]["steps"], label="Steps", min=1, max=10_000_000)
    preset: str = param("tiny", label="Model size", choices=tuple(PRESETS),
                        help="Layers, heads, width, context, batch size, steps and learning rate together: tiny "
                             "trains in about a minute on a CPU, small (nanoGPT's CPU setting) in a few; medium "
                             "and large are meant for a GPU.")

    @classmethod
    def from_overrides(cls, values: dict) -> PretrainConfig:
        """The command line's config: a named preset first (all its numbers), then every other value given."""
        cfg = cls()
        if "preset" in values:
            cfg = apply_preset(cfg, values["preset"])
        return dataclasses.replace(cfg, **{k: v for k, v in values.items() if k != "preset"})

    def check(self) -> dict[str, str]:
        problems = dict(super().check() or {})
        if self.task != "characters":
            problems["task"] = "Pre-training predicts the next character of a corpus: the task must be 'characters'."
        return problems


def apply_preset(cfg: PretrainConfig, name: str) -> PretrainConfig:
    """A copy of `cfg` with the numbers of preset `name` (and that name in its `preset` field)."""
    if name not in PRESETS:
        raise ValueError(f"There is no model size called {name!r}; choose one of: {', '.join(PRESETS)}.")
    return dataclasses.replace(cfg, preset=name, **PRESETS[name])


@register_job
class PretrainJob(GptJob):
    """The tiny GPT pre-trained on next-character prediction; the final snapshot of its run is the saved model."""

    kind = "gpt_pretrain"
    title = "GPT pre-training"
    config_cls = PretrainConfig
    snapshot_cls = GptSnapshot
    # The Pre-train page draws the loss and a sample, not attention: four snapshots a second are plenty, and at
    # the small preset's ~70 ms a step a snapshot every step (5.5 ms) cost 5-15% of the speed.
    min_snapshot_interval = 0.25

    def setup(self, ctx: JobContext) -> None:
        if self.config.task != "characters":
            self.config = dataclasses.replace(self.config, task="characters")
        super().setup(ctx)

    def record_snapshot(self, snap: GptSnapshot) -> GptSnapshot:
        """Recorded snapshots of a large model keep their parameters only at the last step (the saved model);
        a 10 M-parameter model would otherwise write 40 MB for each of the run's 60 snapshots."""
        if snap.step >= self.total_steps or snap.param_vector.size <= RECORD_VECTOR_LIMIT:
            return snap
        import numpy as np

        from ..job import frozen_array

        return dataclasses.replace(snap, param_vector=frozen_array(np.zeros(0)))


def own_pretraining(corpus: str, steps: int, seed: int, device: str, ctx: JobContext) -> PretrainJob:
    """A PretrainJob of the tiny preset's shape for `steps` steps on `corpus`, set up and ready to train (a job
    that needs a pre-trained model and was given none runs it as its first steps)."""
    cfg = dataclasses.replace(apply_preset(PretrainConfig(), "tiny"), corpus=corpus, steps=int(steps), seed=int(seed))
    job = PretrainJob(cfg, device)
    job.setup(ctx)
    return job

