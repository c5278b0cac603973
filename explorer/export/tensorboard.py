"""A recorded run as TensorBoard event files: its metrics as scalars and, for word-vector runs, its last vectors
in the projector's format. Needs the optional `tensorboard` package (pip install -e ".[tensorboard]")."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

INSTALL_HINT = 'TensorBoard export needs the tensorboard package: pip install -e ".[tensorboard]"'

# metrics.jsonl column -> TensorBoard tag (columns not named here go under "metrics/")
SCALAR_TAGS = {
    "loss": "loss/train",
    "val_loss": "loss/validation",
    "accuracy": "accuracy/validation",
    "val_accuracy": "accuracy/validation",
    "train_accuracy": "accuracy/train",
    "lr": "learning_rate",
}


class TensorBoardMissing(RuntimeError):
    """The tensorboard package is not installed; the message says how to install it."""


@dataclass(frozen=True)
class TensorBoardExport:
    """What was written: the log folder, the scalar tags with their point counts, the embedding's size if any."""

    folder: Path
    scalars: dict[str, int]
    embedding: tuple[int, int] | None  # (words, dimensions)
    embedding_step: int | None


def scalar_tag(column: str) -> str:
    """The TensorBoard tag of a metrics column."""
    return SCALAR_TAGS.get(column, f"metrics/{column}")


def _writer(folder: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # torch raises this when tensorboard is missing
        raise TensorBoardMissing(INSTALL_HINT) from None
    return SummaryWriter(log_dir=str(folder))


def export_tensorboard(record, folder: str | Path) -> TensorBoardExport:
    """Write `record` (a RunRecord) into `folder` as event files TensorBoard reads (`tensorboard --logdir`)."""
    folder = Path(folder)
    metrics = record.metrics
    steps = np.asarray(metrics.get("step", np.arange(1, len(next(iter(metrics.values()), [])) + 1)), dtype=float)
    writer = _writer(folder)
    written: dict[str, int] = {}
    embedding = embedding_step = None
    try:
        for column, values in metrics.items():
            if column == "step":
                continue
            tag = scalar_tag(column)
            n = 0
            for step, value in zip(steps, np.asarray(values, dtype=float), strict=False):
                if math.isfinite(step) and math.isfinite(value):
                    writer.add_scalar(tag, float(value), int(step))
                    n += 1
            if n:
                written[tag] = written.get(tag, 0) + n
        if record.snapshot_paths:
            snap = record.load_snapshot(len(record.snapshot_paths) - 1)
            words, vectors = getattr(snap, "words", None), getattr(snap, "vectors", None)
            if words and vectors is not None and np.ndim(vectors) == 2 and len(words) == len(vectors):
                matrix = np.asarray(vectors, dtype=np.float32)
                if matrix.shape[1] > 0 and np.isfinite(matrix).all():
                    classes = getattr(snap, "classes", ()) or ("",) * len(words)
                    counts = getattr(snap, "counts", None)
                    counts = counts if counts is not None and len(counts) == len(words) else np.zeros(len(words))
                    meta = [[_cell(w), _cell(c) or "-", str(int(n))] for w, c, n in
                            zip(words, classes, counts, strict=True)]
                    embedding_step = int(getattr(snap, "step", 0))
                    writer.add_embedding(matrix, metadata=meta, metadata_header=["word", "class", "count"],
                                         global_step=embedding_step, tag="word_vectors")
                    embedding = matrix.shape
        writer.flush()
    finally:
        writer.close()
    return TensorBoardExport(folder, written, embedding, embedding_step)


def _cell(text: object) -> str:
    """A metadata cell without the tabs and line breaks that would break the TSV."""
    return " ".join(str(text).split())
