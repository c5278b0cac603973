"""Pre-training, finding and reloading the saved model, downstream tasks, and fine-tuning it four ways."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch

from explorer.data.builtin import load_builtin
from explorer.data.corpus import Corpus
from explorer.data.errors import CorpusError
from explorer.data.finetune_tasks import (
    CLASSIFY_SOURCES,
    FULL_PER_CLASS,
    NEXT_TOKEN_SOURCES,
    NOVEL_TITLES,
    build_task,
    scramble_letters,
    split_novels,
)
from explorer.models.transfer import GPTClassifier, group_parameters
from explorer.training.job import JOB_KINDS, Diverged, JobContext
from explorer.training.jobs.finetune_job import (
    WAY_LABELS,
    WAYS,
    FinetuneConfig,
    FinetuneJob,
    FinetuneSnapshot,
    way_label,
)
from explorer.training.jobs.finetune_sweep_job import FinetuneSweepConfig, FinetuneSweepJob
from explorer.training.jobs.gpt_job import VAL_EVERY, GptSnapshot
from explorer.training.jobs.pretrain_job import PRESETS, PretrainConfig, PretrainJob, apply_preset
from explorer.training.jobs.pretrained import find_pretrained, load_pretrained
from explorer.training.params import validate_config
from explorer.training.record import RunError, RunRecorder, open_run
from explorer.training.runner import FAILED, FINISHED, run_to_end

TINY = dict(layers=2, heads=2, width=16, context=16, batch_size=16, lr=1e-2)
OTHER = ("def parse(self, text):\n    Return the tokens of text, or raise ValueError if it is empty.\n" * 60)


@pytest.fixture(scope="module")
def austen() -> str:
    return load_builtin("austen").text


@pytest.fixture(scope="module")
def pretrained_run(tmp_path_factory, austen):
    """A tiny GPT pre-trained for a few steps on a slice of Austen and saved as a run: (folder, job)."""
    folder = tmp_path_factory.mktemp("runs") / "20260101-000000-gpt_pretrain"
    job = PretrainJob(PretrainConfig(steps=30, **TINY))
    slice_ = {job.config.corpus: Corpus(name="slice", text=austen[:60_000], source="test")}
    _, final = run_to_end(job, corpora=slice_, recorder=RunRecorder(folder), snapshot_interval=1e9)
    assert final.status == FINISHED
    return folder, job


@pytest.fixture
def other_file(tmp_path):
    path = tmp_path / "other.txt"
    path.write_text(OTHER, encoding="utf-8")
    return str(path)


def _finetune(folder, file, **kw) -> FinetuneJob:
    cfg = FinetuneConfig(pretrained=str(folder), task="classify", source="austen-file", file=file, share=1.0,
                         lower=2, steps=VAL_EVERY, batch_size=16, lr=1e-2)
    return FinetuneJob(dataclasses.replace(cfg, **kw))


# -- pre-training and the saved model ----------------------------------------------------------------------------


def test_presets_go_from_tiny_to_large_and_pass_the_config_checks():
    assert list(PRESETS) == ["tiny", "small", "medium", "large"]
    for name in PRESETS:
        cfg = apply_preset(PretrainConfig(), name)
        assert cfg.preset == name and cfg.layers == PRESETS[name]["layers"] and validate_config(cfg) == {}
    assert PretrainConfig().width == PRESETS["tiny"]["width"] and PretrainConfig().task == "characters"
    with pytest.raises(ValueError, match="no model size"):
        apply_preset(PretrainConfig(), "huge")
    assert JOB_KINDS["gpt_pretrain"] is PretrainJob and JOB_KINDS["finetune"] is FinetuneJob


def test_the_final_snapshot_of_a_pretraining_run_is_the_model_exactly(pretrained_run):
    folder, job = pretrained_run
    record = open_run(folder)
    assert record.kind == "gpt_pretrain" and record.info["status"] == "finished"
    snap = record.load_snapshot(len(record.snapshot_paths) - 1)
    assert isinstance(snap, GptSnapshot) and snap.step == 30 and snap.param_vector.dtype == np.float32
    trained = torch.nn.utils.parameters_to_vector(job.model.parameters()).detach().numpy()
    np.testing.assert_array_equal(snap.param_vector, trained)
    pre = load_pretrained(folder)
    np.testing.assert_array_equal(pre.param_vector, trained)
    model = pre.build_model()
    pairs = zip(model.parameters(), job.model.parameters(), strict=True)
    assert model.training and all(torch.equal(a, b) for a, b in pairs)
    assert pre.alphabet == tuple(job.alphabet) and pre.info.step == 30 and pre.config.width == 16


def test_find_pretrained_lists_finished_runs_newest_first_and_skips_damaged_ones(pretrained_run, tmp_path):
    folder, _ = pretrained_run
    for name in ("a-good", "b-newer"):
        (tmp_path / name).mkdir()
        for f in ("run.json", "config.json", "metrics.jsonl"):
            (tmp_path / name / f).write_bytes((folder / f).read_bytes())
        (tmp_path / name / "snapshots").mkdir()
        final = sorted((folder / "snapshots").glob("*.npz"))[-1]
        (tmp_path / name / "snapshots" / final.name).write_bytes(final.read_bytes())
    info = json.loads((tmp_path / "b-newer" / "run.json").read_text())
    (tmp_path / "b-newer" / "run.json").write_text(json.dumps({**info, "created": "2099-01-01T10:00:00"}))
    (tmp_path / "damaged").mkdir()
    (tmp_path / "damaged" / "run.json").write_text("{not json")
    (tmp_path / "damaged" / "config.json").write_text("{}")
    (tmp_path / "running").mkdir()
    (tmp_path / "running" / "run.json").write_text(json.dumps({**info, "status": "running"}))
    (tmp_path / "running" / "config.json").write_text((folder / "config.json").read_text())
    (tmp_path / "not-a-run.txt").write_text("hello")
    found = find_pretrained(tmp_path)
    assert [i.folder.name for i in found] == ["b-newer", "a-good"]
    first = found[0]
    assert first.kind == "gpt_pretrain" and first.step == 30 and first.status == "finished"
    assert (first.layers, first.heads, first.width, first.context) == (2, 2, 16, 16)
    assert np.isfinite(first.val_loss) and first.corpus == "builtin:austen"
    assert first.label == f"2×16 on Austen, step 30, val {first.val_loss:.2f} · 2099-01-01 10:00"
    assert find_pretrained(tmp_path / "nowhere") == []
    with pytest.raises(RunError, match="did not finish"):
        load_pretrained(tmp_path / "running")
    with pytest.raises(RunError, match="does not exist"):
        load_pretrained(tmp_path / "nowhere")
    with pytest.raises(RunError, match="damaged"):
        load_pretrained(tmp_path / "damaged")


def test_a_large_model_keeps_its_parameters_only_in_the_final_recorded_snapshot(tmp_path, austen, monkeypatch):
    from explorer.training.jobs import pretrain_job

    monkeypatch.setattr(pretrain_job, "RECORD_VECTOR_LIMIT", 100)  # every test model counts as large
    job = PretrainJob(PretrainConfig(steps=4, **TINY))
    slice_ = {job.config.corpus: Corpus(name="slice", text=austen[:20_000], source="test")}
    _, _final = run_to_end(job, corpora=slice_, recorder=RunRecorder(tmp_path / "run", max_snapshots=10),
                          snapshot_interval=0.0)
    record = open_run(tmp_path / "run")
    sizes = [record.load_snapshot(i).param_vector.size for i in range(len(record.snapshot_paths))]
    assert record.snapshot_steps()[-1] == 4 and sizes[-1] > 100 and set(sizes[:-1]) == {0}
    np.testing.assert_array_equal(load_pretrained(tmp_path / "run").param_vector,
                                  torch.nn.utils.parameters_to_vector(job.model.parameters()).detach().numpy())


# -- downstream tasks ----------------------------------------------------------------------------------------


def test_the_builtin_text_splits_into_its_six_novels_and_scrambling_keeps_the_letters(austen):
    novels = split_novels(austen)
    assert sorted(novels) == sorted(NOVEL_TITLES) and sum(map(len, novels.values())) > 0.99 * len(austen)
    assert "Elizabeth Bennet" in novels["Pride and Prejudice"] and "Wentworth" in novels["Persuasion"]
    text = "Seldom, very seldom, does complete truth belong to any human disclosure."
    mixed = scramble_letters(text)
    assert mixed != text and sorted(mixed) == sorted(text)
    assert [len(w) for w in mixed.split()] == [len(w) for w in text.split()]
    assert scramble_letters(text) == mixed  # the same every time
    assert "scrambled" in CLASSIFY_SOURCES and "novels" in CLASSIFY_SOURCES and "stdlib" in NEXT_TOKEN_SOURCES


def _rows(a) -> set[bytes]:
    return {r.tobytes() for r in np.asarray(a)}


def test_a_classification_task_is_balanced_held_out_and_keeps_its_share(austen, other_file):
    alphabet = tuple(sorted(set(austen)))
    full = build_task("classify", "austen-file", alphabet, 16, 1.0, seed=0, file_path=other_file)
    tenth = build_task("classify", "austen-file", alphabet, 16, 0.1, seed=0, file_path=other_file)
    assert full.classes == ("Austen", "other.txt") and full.chance == 0.5
    per_class = np.bincount(full.train_y)
    assert per_class[0] == per_class[1] <= FULL_PER_CLASS
    assert np.bincount(tenth.train_y).tolist() == [round(per_class[0] * 0.1)] * 2
    assert np.bincount(full.val_y)[0] == np.bincount(full.val_y)[1] >= 8
    assert full.train_x.shape[1] == full.val_x.shape[1] == 16 and full.train_x.dtype == np.int64
    assert _rows(tenth.train_x) <= _rows(full.train_x)  # a smaller share is a subset of a larger one
    austen_val = _rows(full.val_x[full.val_y == 0])
    assert not austen_val & _rows(full.train_x[full.train_y == 0])  # held out: never a training window
    np.testing.assert_array_equal(full.val_x, tenth.val_x)  # the same validation set at every share and seed
    np.testing.assert_array_equal(full.val_x, build_task("classify", "austen-file", alphabet, 16, 1.0, seed=5,
                                                         file_path=other_file).val_x)
    assert "10%" in tenth.description and tenth.examples == len(tenth.train_x)
    tiny = build_task("classify", "austen-file", alphabet, 16, 0.0001, seed=0, file_path=other_file)
    assert np.bincount(tiny.train_y).tolist() == [2, 2]


def test_unknown_characters_are_dropped_and_counted(tmp_path):
    text = "the cat sat on the mat ☃ and the dog sat on the log ☃☃.\n" * 60
    path = tmp_path / "snow.txt"
    path.write_text(text, encoding="utf-8")
    alphabet = tuple(sorted(set(text) - {"☃"}))
    task = build_task("next-token", "file", alphabet, 16, 1.0, seed=0, file_path=str(path))
    assert task.dropped == pytest.approx(text.count("☃") / len(text))
    assert "dropped" in task.description and task.classes == ()
    assert task.train_x.max() < len(alphabet) and task.train_y.shape == task.train_x.shape
    np.testing.assert_array_equal(task.train_x[:, 1:], task.train_y[:, :-1])  # y is x shifted by one
    assert 0 < task.chance < 1


def test_bad_task_input_gets_a_clear_message(tmp_path):
    alphabet = tuple("abcdefghijklmnopqrstuvwxyz ")
    short = tmp_path / "short.txt"
    short.write_text("a short text " * 20, encoding="utf-8")
    with pytest.raises(CorpusError, match=r"too few for this task.*Choose a longer text"):
        build_task("next-token", "file", alphabet, 16, 1.0, seed=0, file_path=str(short))
    with pytest.raises(CorpusError, match="choose one first"):
        build_task("next-token", "file", alphabet, 16, 1.0, seed=0)
    with pytest.raises(CorpusError, match="no classification task 'stdlib'"):
        build_task("classify", "stdlib", alphabet, 16, 1.0, seed=0)
    with pytest.raises(CorpusError, match=r"share.*\(0, 1\]"):
        build_task("classify", "novels", alphabet, 16, 0.0, seed=0)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(CorpusError):
        build_task("classify", "austen-file", alphabet, 16, 1.0, seed=0, file_path=str(empty))


# -- fine-tuning -------------------------------------------------------------------------------------------------


def test_config_checks_say_what_is_wrong():
    cfg = FinetuneConfig(pretrained="/some/run")
    assert validate_config(cfg) == {} and cfg.way_list() == WAYS and set(WAY_LABELS) == set(WAYS)
    assert way_label("frozen", 2) == "warm start, lower 2 frozen" and way_label("scratch", 2) == "from scratch"
    assert "Unknown way 'sideways'" in FinetuneConfig(pretrained="x", ways="warm,sideways").check()["ways"]
    assert "at least one way" in FinetuneConfig(pretrained="x", ways="").check()["ways"]
    assert "not a next-token task" in FinetuneConfig(pretrained="x", task="next-token").check()["source"]
    assert "pre-train one first" in FinetuneConfig().check()["pretrained"]
    assert "file" in FinetuneConfig(pretrained="x", source="austen-file").check()
    assert "Shares" in validate_config(FinetuneSweepConfig(pretrained="x", shares="0.1, lots"))["shares"]
    assert "(0, 1]" in FinetuneSweepConfig(pretrained="x", shares="0.1,2").check()["shares"]


def test_four_ways_start_as_they_should_and_frozen_layers_never_move(pretrained_run, other_file):
    folder, pre_job = pretrained_run
    job = _finetune(folder, other_file)
    _ticks, final = run_to_end(job, snapshot_interval=1e9)
    assert final.status == FINISHED, final.message
    saved = {k: p.detach() for k, p in pre_job.model.named_parameters()}  # the model that was saved and reloaded
    start = {way: {k[4:] if k.startswith("gpt.") else k: v for k, v in job.initial[way].items()} for way in WAYS}
    body = [k for k in saved if not k.startswith("head.")]
    lower = ["token_embedding.weight"] + [k for k in body if k.startswith("blocks.0.")]
    upper = [k for k in body if k not in lower]
    assert all(torch.equal(start["warm"][k], saved[k]) for k in body)  # a warm start is the saved model exactly
    assert all(torch.equal(start["frozen"][k], saved[k]) for k in body)
    assert all(torch.equal(start["copy"][k], saved[k]) for k in lower)  # copied layers: the pre-trained ones
    assert all(torch.equal(start["copy"][k], start["scratch"][k]) for k in [*upper, "head.weight"])  # fresh
    assert not torch.equal(start["scratch"]["blocks.1.attn.qkv.weight"], saved["blocks.1.attn.qkv.weight"])
    frozen_model = job.models["frozen"]
    groups = group_parameters(frozen_model)
    frozen = [(k, p) for g in ("embedding", "block 1") for k, p in groups[g]]
    assert all(torch.equal(p, job.initial["frozen"][k]) for k, p in frozen)  # bit for bit
    assert all(not torch.equal(p, job.initial["frozen"][k]) for g in ("block 2", "output")
               for k, p in groups[g] if k.endswith("weight") and "ln" not in k)
    opt = job.opts["frozen"]
    held = {id(p) for group in opt.param_groups for p in group["params"]}
    assert not any(id(p) in held or p in opt.state for _, p in frozen)
    assert isinstance(job.models["warm"], GPTClassifier)
    snap = job.snapshot(final.step)
    assert isinstance(snap, FinetuneSnapshot) and snap.ways == WAYS and snap.lower == 2
    assert snap.groups == ("embedding", "block 1", "block 2", "output")
    assert snap.frozen.tolist() == [True, True, False, False]
    w = WAYS.index("frozen")
    assert snap.weight_change[w, 0] == 0.0 and snap.weight_change[w, 1] == 0.0
    assert np.all(snap.weight_change[w, 2:] > 0) and np.all(snap.weight_change[WAYS.index("warm")] > 0)


def test_the_snapshot_shows_curves_probes_and_attention(pretrained_run, other_file):
    folder, _ = pretrained_run
    job = _finetune(folder, other_file, steps=2 * VAL_EVERY, ways="scratch,warm", share=0.1)
    ticks, final = run_to_end(job, snapshot_interval=0.0)
    snaps = [t.snapshot for t in ticks if t.snapshot is not None]
    first, last = snaps[0], job.snapshot(final.step)
    assert first.step == 0 and np.all(np.isnan(first.train_loss)) and np.all(np.isfinite(first.val_loss))
    assert np.all(np.isnan(first.probe_after)) and np.all(np.isfinite(first.probe_before))
    for f in dataclasses.fields(last):
        value = getattr(last, f.name)
        assert isinstance(value, (int, float, bool, str, tuple, np.ndarray)), f.name
        if isinstance(value, np.ndarray):
            assert not value.flags.writeable and value.flags.c_contiguous, f.name
    assert last.probe_groups == ("embedding", "block 1", "block 2") and last.probe_after.shape == (2, 3)
    assert np.all((last.probe_after >= 0) & (last.probe_after <= 1))
    assert last.attention_before.shape == (2, 2, 16, 16) and last.attention_after.shape == (2, 2, 2, 16, 16)
    future = np.triu(np.ones((16, 16), bool), 1)
    assert np.all(np.isnan(last.attention_after[..., future])) and np.all(np.isnan(last.attention_before[..., future]))
    np.testing.assert_allclose(np.nansum(last.attention_after, -1), 1.0, atol=1e-5)
    assert len(last.probe_tokens) == 16 and last.classes == ("Austen", "other.txt") and last.chance == 0.5
    assert last.examples == job.task.examples and last.diverged == ("", "")
    rows = [t.metrics for t in ticks if t.metrics] + [final.metrics]
    steps = np.concatenate([r["step"][~np.isnan(r["accuracy_warm"])] for r in rows if "accuracy_warm" in r])
    assert steps.tolist() == [VAL_EVERY, 2 * VAL_EVERY]
    assert sum(len(r["loss_scratch"]) for r in rows if "loss_scratch" in r) == 2 * VAL_EVERY


def test_a_way_that_diverges_stops_alone_and_all_of_them_end_the_job(pretrained_run, other_file):
    folder, _ = pretrained_run
    job = _finetune(folder, other_file, ways="scratch,warm")
    job.setup(JobContext())
    with torch.no_grad():
        job.models["scratch"].head.weight.fill_(float("nan"))
    metrics = job.train_step(0)
    assert "loss_warm" in metrics and "loss_scratch" not in metrics and np.isfinite(metrics["loss"])
    snap = job.snapshot(1)
    assert "From scratch diverged at step 1" in snap.diverged[0] and snap.diverged[1] == ""
    assert np.isnan(snap.train_loss[0]) and np.isfinite(snap.train_loss[1])
    with torch.no_grad():
        job.models["warm"].head.bias.fill_(float("inf"))
    with pytest.raises(Diverged, match="Warm start diverged at step 2"):
        job.train_step(1)


def test_setup_refuses_more_lower_layers_than_the_model_has(pretrained_run, other_file):
    folder, _ = pretrained_run
    _, final = run_to_end(_finetune(folder, other_file, lower=4))
    assert final.status == FAILED and "at most 3" in final.message
    _, final = run_to_end(_finetune(folder / "missing", other_file))
    assert final.status == FAILED and "Pre-train a model first" in final.message


def test_next_token_fine_tuning_keeps_the_language_model_head(pretrained_run, tmp_path):
    folder, pre_job = pretrained_run
    path = tmp_path / "notes.txt"
    path.write_text("She said that he would not come to the ball, and they were all sorry.\n" * 40)
    job = _finetune(folder, str(path), task="next-token", source="file", ways="warm,frozen", lower=3)
    _, final = run_to_end(job, snapshot_interval=1e9)
    assert final.status == FINISHED
    assert all(torch.equal(job.initial["warm"][k], p) for k, p in pre_job.model.named_parameters())
    snap = job.snapshot(final.step)
    assert snap.classes == () and snap.task == "next-token" and snap.frozen.tolist() == [True, True, True, False]
    assert np.all(snap.weight_change[1, :3] == 0.0) and snap.weight_change[1, 3] > 0
    assert snap.val_accuracy[0] > snap.chance and np.all(np.isfinite(snap.probe_after))


def test_the_sweep_fills_its_table_share_by_share(pretrained_run, other_file):
    folder, _ = pretrained_run
    cfg = FinetuneSweepConfig(pretrained=str(folder), task="classify", source="austen-file", file=other_file,
                              shares="0.1,0.5,1", lower=1, steps=10, batch_size=8, ways="scratch,copy")
    ticks, final = run_to_end(FinetuneSweepJob(cfg), snapshot_interval=0.0)
    assert final.status == FINISHED and final.step == 30, final.message
    snaps = [t.snapshot for t in ticks if t.snapshot is not None]
    assert [s.done for s in snaps] == sorted(s.done for s in snaps) and snaps[-1].done == 3
    for s in snaps:
        assert np.all(np.isfinite(s.final_accuracy[:s.done])) and np.all(np.isnan(s.final_accuracy[s.done:]))
        assert s.final_accuracy.shape == s.final_loss.shape == (3, 2) and s.ways == ("scratch", "copy")
    assert {s.done for s in snaps} == {0, 1, 2, 3}
    last = snaps[-1]
    assert last.shares.tolist() == [0.1, 0.5, 1.0] and np.all(np.diff(last.examples) > 0)
    assert np.all((last.final_accuracy >= 0) & (last.final_accuracy <= 1)) and last.chance == 0.5


def test_a_warm_start_needs_fewer_labelled_examples_than_training_from_scratch(tmp_path, austen):
    """Real text against the same text with each word's letters shuffled: the characters are the same, so only
    knowing how English is spelt tells them apart, which pre-training teaches and a few labels cannot."""
    job = PretrainJob(PretrainConfig(layers=1, heads=2, width=32, context=32, batch_size=32, steps=300, lr=1e-2))
    slice_ = {job.config.corpus: Corpus(name="slice", text=austen[:1_000_000], source="test")}
    _, final = run_to_end(job, corpora=slice_, recorder=RunRecorder(tmp_path / "run"), snapshot_interval=1e9)
    assert final.status == FINISHED
    pre = load_pretrained(tmp_path / "run")
    shares, threshold = (0.02, 0.08, 0.32), 0.62
    cfg = FinetuneSweepConfig(pretrained=str(tmp_path / "run"), task="classify", source="scrambled",
                              shares=",".join(map(str, shares)), ways="scratch,warm", lower=1, pooling="mean",
                              steps=100, batch_size=32, lr=3e-3, seed=0)
    sweep = FinetuneSweepJob(cfg)
    sweep.preloaded_pretrained = pre
    _, final = run_to_end(sweep, snapshot_interval=1e9)
    assert final.status == FINISHED
    snap = sweep.snapshot(final.step)
    examples, accuracy = snap.examples, snap.final_accuracy  # (shares, ways); measured with 80, 320 and 1280
    # examples: 0.50, 0.51, 0.50 from scratch, 0.61, 0.75, 0.82 warm-started (seed 1: 0.47, 0.49, 0.47 and
    # 0.58, 0.70, 0.75; seed 2: 0.54, 0.48, 0.48 and 0.60, 0.71, 0.77)

    def needed(way: int) -> float:
        reached = np.flatnonzero(accuracy[:, way] >= threshold)
        return float(examples[reached[0]]) if len(reached) else np.inf

    assert needed(1) < needed(0), f"examples {examples.tolist()}, accuracy (scratch, warm) {accuracy.tolist()}"
    assert needed(1) <= 320 and accuracy[-1, 0] < threshold  # scratch: not even with four times as many
