"""main.py export RUN --format tensorboard: event files that TensorBoard's own reader finds the run's scalars in,
word vectors in the projector's format, and a clear message when tensorboard is missing."""
from __future__ import annotations

import json

import numpy as np
import pytest

from explorer.cli import main

pytest.importorskip("tensorboard")  # the optional extra; the test extra installs it


def _scalars(folder):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder))
    acc.Reload()
    return {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}


@pytest.fixture
def w2v_run(recorded_word2vec_run):
    return recorded_word2vec_run


def test_a_word2vec_run_exports_its_loss_rate_and_vectors(w2v_run, tmp_path, capsys):
    from explorer.training.record import open_run

    out = tmp_path / "tb"
    capsys.readouterr()
    assert main(["export", str(w2v_run), "--format", "tensorboard", "--out", str(out)]) == 0
    assert f"tensorboard --logdir {out}" in capsys.readouterr().out
    record = open_run(w2v_run)
    scalars = _scalars(out)
    assert set(scalars) == {"loss/train", "learning_rate"}
    loss = scalars["loss/train"]
    keep = np.isfinite(record.metrics["loss"])
    assert [e.step for e in loss] == record.metrics["step"][keep].astype(int).tolist()
    np.testing.assert_allclose([e.value for e in loss], record.metrics["loss"][keep], rtol=1e-6)
    # the projector's files: config, vectors and metadata of the last snapshot
    config = (out / "projector_config.pbtxt").read_text()
    assert "word_vectors" in config and "tensor_path" in config and "metadata_path" in config
    last = record.load_snapshot(len(record.snapshot_paths) - 1)
    tsv = next(out.glob("*/word_vectors/tensors.tsv"))
    np.testing.assert_allclose(np.loadtxt(tsv, ndmin=2), np.asarray(last.vectors, dtype=np.float32), rtol=1e-5)
    meta = next(out.glob("*/word_vectors/metadata.tsv")).read_text().splitlines()
    assert meta[0] == "word\tclass\tcount" and meta[1].split("\t")[0] == last.words[0]
    assert len(meta) == len(last.words) + 1


def test_validation_loss_and_accuracy_go_to_their_own_tags(tmp_path, capsys):
    folder = tmp_path / "gpt"
    assert main(["--device", "cpu", "train", "gpt_pretrain", "--set", "steps=3", "--record", str(folder)]) == 0
    assert main(["export", str(folder), "--format", "tensorboard"]) == 0
    scalars = _scalars(folder / "tensorboard")
    assert {"loss/train", "loss/validation"} <= set(scalars)
    rows = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    val = [r["val_loss"] for r in rows if r.get("val_loss") is not None]
    np.testing.assert_allclose([e.value for e in scalars["loss/validation"]], val, rtol=1e-6)


def test_export_refuses_to_mix_with_earlier_event_files_and_says_how_to_install(w2v_run, tmp_path, capsys,
                                                                              monkeypatch):
    out = tmp_path / "tb"
    assert main(["export", str(w2v_run), "--format", "tensorboard", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["export", str(w2v_run), "--format", "tensorboard", "--out", str(out)]) == 2
    assert "already holds TensorBoard event files" in capsys.readouterr().err
    import builtins

    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError("no tensorboard")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    assert main(["export", str(w2v_run), "--format", "tensorboard", "--out", str(tmp_path / "tb2")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and 'pip install -e ".[tensorboard]"' in err
