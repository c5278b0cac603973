"""Pre-trained models: finished character-GPT runs found on disk, and the model of one rebuilt exactly.

A finished run of kind "gpt_pretrain" (or "gpt" on task "characters") keeps its model in its final snapshot:
the float32 param_vector, the alphabet and the shape. Finding them reads only each run's JSON files (run.json,
config.json and the end of metrics.jsonl) and checks that the final snapshot file exists, so that listing many
runs stays cheap; loading one reads that snapshot.
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
from pathlib import Path
from typing import Any

import numpy as np

from ..record import RunError, open_run

PRETRAINED_KINDS = ("gpt_pretrain", "gpt")
CORPUS_NAMES = {"builtin:austen": "Austen", "builtin:stdlib": "docstrings", "builtin:synthetic": "synthetic"}
_TAIL_BYTES = 8192  # the end of metrics.jsonl read for the last validation loss


@dataclasses.dataclass(frozen=True)
class PretrainedInfo:
    """What a list of pre-trained models shows about one: where, trained on what, how far and how well."""

    folder: Path
    kind: str
    corpus: str
    step: int
    status: str
    val_loss: float
    layers: int
    heads: int
    width: int
    context: int
    positional: str
    label: str
    created: str = ""


def corpus_name(spec: str) -> str:
    """A short name for a corpus spec: "Austen" for builtin:austen, the file name for a path."""
    if spec in CORPUS_NAMES:
        return CORPUS_NAMES[spec]
    if spec.startswith("builtin:"):
        return spec.split(":", 1)[1]
    return Path(spec).name or spec


def _last_val_loss(path: Path) -> float:
    """The last val_loss in a metrics.jsonl, reading only its end (NaN when there is none)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - _TAIL_BYTES))
            tail = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return float("nan")
    for line in reversed(tail.splitlines()):
        try:
            value = json.loads(line).get("val_loss")
        except (ValueError, AttributeError):
            continue
        if value is not None:
            return float(value)
    return float("nan")


def _read_info(folder: Path) -> PretrainedInfo:
    """The PretrainedInfo of a finished character-GPT run; RunError says why a folder is not one."""
    try:
        info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RunError(f"{folder} is not a recorded run: {Path(exc.filename).name} is missing.") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"The run in {folder} is damaged: {exc}") from None
    if not isinstance(info, dict) or not isinstance(config, dict):
        raise RunError(f"The run in {folder} is damaged: its JSON files do not hold objects.")
    kind = info.get("kind")
    if kind not in PRETRAINED_KINDS or (kind == "gpt" and config.get("task") != "characters"):
        raise RunError(f"The run in {folder} is not a pre-trained language model (it is of kind {kind!r}"
                       f"{', task ' + repr(config.get('task')) if kind == 'gpt' else ''}).")
    status = str(info.get("status", ""))
    if status != "finished":
        raise RunError(f"The run in {folder} did not finish (its status is {status or 'unknown'!r}): only a "
                       "finished run's model can be fine-tuned.")
    try:
        step = int(info["steps"])
        shape = {k: int(config[k]) for k in ("layers", "heads", "width", "context")}
        corpus, positional = str(config.get("corpus", "")), str(config.get("positional", "sinusoidal"))
    except (KeyError, TypeError, ValueError) as exc:
        raise RunError(f"The run in {folder} is damaged: its configuration lacks {exc}.") from None
    if not (folder / "snapshots" / f"step_{step:09d}.npz").is_file():
        raise RunError(f"The run in {folder} has no final snapshot (step {step:,}), which holds its model.")
    val = _last_val_loss(folder / "metrics.jsonl")
    created = str(info.get("created", ""))
    try:
        when = _dt.datetime.fromisoformat(created).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        when = created
    label = (f"{shape['layers']}×{shape['width']} on {corpus_name(corpus)}, step {step:,}"
             + (f", val {val:.2f}" if np.isfinite(val) else "") + (f" · {when}" if when else ""))
    return PretrainedInfo(folder=folder, kind=kind, corpus=corpus, step=step, status=status, val_loss=val,
                          positional=positional, label=label, created=created, **shape)


def find_pretrained(root: Path | None = None) -> list[PretrainedInfo]:
    """Finished pre-training runs (and finished "gpt" runs on characters) under `root`, newest first.

    `root` defaults to the app's runs folder; damaged or unfinished folders are skipped."""
    if root is None:
        from ...paths import runs_dir

        root = runs_dir()
    root = Path(root)
    if not root.is_dir():
        return []
    found = []
    for folder in root.iterdir():
        if not folder.is_dir():
            continue
        try:
            found.append(_read_info(folder))
        except RunError:
            continue
    found.sort(key=lambda i: (i.created, i.folder.name), reverse=True)
    return found


@dataclasses.dataclass(frozen=True)
class Pretrained:
    """A pre-trained model as saved: its run's config, alphabet and float32 parameters."""

    config: Any
    alphabet: tuple[str, ...]
    param_vector: np.ndarray
    info: PretrainedInfo

    def build_model(self):
        """A fresh GPT (train mode, CPU) with exactly these weights."""
        import torch

        from .gpt_job import build_model

        model = build_model(self.config, len(self.alphabet))
        vector = torch.from_numpy(np.array(self.param_vector, dtype=np.float32))
        torch.nn.utils.vector_to_parameters(vector, model.parameters())
        return model.train()


def load_pretrained(folder: str | Path) -> Pretrained:
    """The model of a finished pre-training run; RunError says what is wrong with a folder that has none."""
    from .gpt_job import GptJob, GptSnapshot, build_model
    from .pretrain_job import PretrainJob  # importing registers the kind, which open_run needs

    folder = Path(folder)
    if not str(folder) or not folder.is_dir():
        raise RunError(f"No pre-trained model at {folder}: the folder does not exist. Pre-train a model first.")
    info = _read_info(folder)
    if info.kind not in (PretrainJob.kind, GptJob.kind):  # the kinds open_run must know
        raise RunError(f"The run in {folder} is not a pre-trained language model.")
    record = open_run(folder, with_metrics=False)
    if not record.snapshot_paths:
        raise RunError(f"The run in {folder} has no snapshots, so it holds no model.")
    snap = record.load_snapshot(len(record.snapshot_paths) - 1)
    if not isinstance(snap, GptSnapshot) or snap.step != info.step:
        raise RunError(f"The last snapshot of the run in {folder} is not its final model.")
    size = sum(p.numel() for p in build_model(record.config, len(snap.alphabet)).parameters())
    if snap.param_vector.size != size:
        raise RunError(f"The final snapshot of the run in {folder} holds {snap.param_vector.size:,} parameters, "
                       f"not the {size:,} of its model: it is damaged.")
    vector = np.array(snap.param_vector, dtype=np.float32)
    vector.setflags(write=False)
    return Pretrained(config=record.config, alphabet=tuple(snap.alphabet), param_vector=vector, info=info)


def pretrained_of(job) -> Pretrained:
    """The model a PretrainJob has trained so far as a Pretrained (in memory, with no run folder)."""
    import torch

    cfg = job.config
    vector = torch.nn.utils.parameters_to_vector(job.model.parameters()).detach().cpu().numpy()
    vector = np.array(vector, dtype=np.float32)
    vector.setflags(write=False)
    val = float(getattr(job, "val_loss", float("nan")))
    info = PretrainedInfo(folder=Path(), kind=job.kind, corpus=cfg.corpus, step=int(cfg.steps), status="finished",
                          val_loss=val, layers=cfg.layers, heads=cfg.heads, width=cfg.width, context=cfg.context,
                          positional=cfg.positional, label=f"{cfg.layers}×{cfg.width} pre-trained in this run")
    return Pretrained(config=cfg, alphabet=tuple(job.alphabet), param_vector=vector, info=info)
