"""The tiny-GPT job: config checks, snapshots of attention, the tab's functions, recorded runs, and learning."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from explorer.data.attention_tasks import attention_hit_rate
from explorer.data.corpus import Corpus
from explorer.training.jobs.gpt_job import (
    VAL_EVERY,
    GptConfig,
    GptJob,
    GptSnapshot,
    attention_for_text,
    generate_text,
    load_model,
    next_token_probs,
)
from explorer.training.params import validate_config
from explorer.training.record import RunRecorder, new_run_folder, open_run
from explorer.training.runner import FAILED, FINISHED, run_to_end

TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat by a log.\n" * 40
SMALL = dict(width=32, context=16, batch_size=16)


def _char_job(**kw) -> GptJob:
    """A job on the characters of the corpus "tiny", which tiny() puts in memory."""
    return GptJob(GptConfig(task="characters", corpus="tiny", **{**SMALL, **kw}))


def tiny(text: str = TEXT) -> dict[str, Corpus]:
    return {"tiny": Corpus(name="tiny", text=text, source="test")}


def _metric(ticks, final, name: str) -> np.ndarray:
    rows = [t.metrics for t in ticks if t.metrics] + [final.metrics]
    table = np.concatenate([np.column_stack([r["step"], r[name]]) for r in rows if name in r])
    return table[~np.isnan(table[:, 1])]  # steps without this metric are NaN in the rows


def test_config_checks_say_what_is_wrong():
    assert validate_config(GptConfig()) == {}
    assert "divide" in GptConfig(heads=3).check()["heads"]
    assert "even" in GptConfig(width=63, heads=1).check()["width"]
    assert GptConfig(width=63, heads=1, positional="learned").check() == {}
    assert "attention weights" in GptConfig(batch_size=4096, context=1024).check()[""]
    assert "Positional encoding must be one of" in validate_config(GptConfig(positional="rotary"))["positional"]


def test_the_job_hands_out_frozen_attention_snapshots_and_a_validation_curve():
    job = GptJob(GptConfig(task="copy", steps=2 * VAL_EVERY, **SMALL))
    ticks, final = run_to_end(job, snapshot_interval=0.0)
    assert final.status == FINISHED and final.step == 2 * VAL_EVERY and final.unit == "tokens/s"
    snaps = [t.snapshot for t in ticks if t.snapshot is not None]
    assert snaps[0].step == 0 and np.isnan(snaps[0].loss) and np.isfinite(snaps[0].val_loss)
    for snap in snaps:
        assert isinstance(snap, GptSnapshot)
        for f in dataclasses.fields(snap):
            value = getattr(snap, f.name)
            assert isinstance(value, (int, float, bool, str, tuple, np.ndarray)), f.name  # never a tensor
            if isinstance(value, np.ndarray):
                assert not value.flags.writeable and value.flags.c_contiguous
    last = snaps[-1]
    T = 16  # copy: 8 letters, '|', 7 letters
    assert last.attention.shape == last.scores.shape == (2, 2, T, T) and last.attention.dtype == np.float32
    np.testing.assert_allclose(last.attention.sum(-1), 1.0, atol=1e-5)
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    assert np.all(last.attention[..., future] == 0) and np.all(np.isnan(last.scores[..., future]))
    assert np.all(np.isfinite(last.scores[..., ~future]))
    assert len(last.tokens) == T and last.tokens[8] == "|" and last.expected_keys.tolist()[8:] == list(range(8))
    assert len(last.sample) == len(last.target) == 8 and last.alphabet[-1] == "|"
    assert last.chance == pytest.approx(1 / 16) and 0.0 <= last.accuracy <= 1.0
    val = _metric(ticks, final, "val_loss")
    assert val[:, 0].tolist() == [VAL_EVERY, 2 * VAL_EVERY]
    assert len(_metric(ticks, final, "loss")) == 2 * VAL_EVERY


def test_the_tabs_functions_rerun_the_snapshot_model():
    job = _char_job(steps=30, lr=1e-2, positional="learned", probe_text="the cat sat on the mat")
    _, final = run_to_end(job, corpora=tiny(), snapshot_interval=1e9)
    snap = job.snapshot(final.step)
    assert snap.tokens == tuple("the␣cat␣sat␣on␣the␣mat"[-16:])  # the probe's last `context` characters
    args = (snap, snap.alphabet, snap.param_vector)
    tokens, attention, scores = attention_for_text(*args, "the cat sat on the mat")
    assert tokens == snap.tokens
    np.testing.assert_allclose(attention, snap.attention, atol=1e-6)
    np.testing.assert_array_equal(np.isnan(scores), np.isnan(snap.scores))
    long_text = "the dog sat on the log. " * 3
    tokens, attention, _ = attention_for_text(*args, long_text)
    assert len(tokens) == 16 and attention.shape == (2, 2, 16, 16)  # learned positions: the last context only
    with pytest.raises(ValueError, match="'Z'"):
        attention_for_text(*args, "Zebra")
    with pytest.raises(ValueError):
        attention_for_text(*args, "")
    greedy = [generate_text(*args, "the ", 20, top_k=1, seed=s) for s in (0, 1)]
    assert greedy[0] == greedy[1] and len(greedy[0]) == 20 and set(greedy[0]) <= set(snap.alphabet)
    labels, probs = next_token_probs(*args, "the c")
    assert len(labels) == len(snap.alphabet) and float(probs.sum()) == pytest.approx(1.0, abs=1e-5)
    assert np.all(np.diff(probs) <= 0) and labels[0] == "a"  # "the c" -> "a" after a little training
    assert load_model(*args) is load_model(*args)  # typing in the tab does not rebuild the model every time


def test_sinusoidal_models_read_texts_longer_than_the_context():
    job = GptJob(GptConfig(task="repeat", steps=1, **SMALL))
    run_to_end(job)
    snap = job.snapshot(1)
    tokens, attention, _ = attention_for_text(snap, snap.alphabet, snap.param_vector, "abcd" * 10)
    assert len(tokens) == 40 and attention.shape == (2, 2, 40, 40)


def test_characters_learn_and_a_too_short_text_fails_with_a_message():
    job = _char_job(steps=60, lr=1e-2)
    ticks, final = run_to_end(job, corpora=tiny(), snapshot_interval=1e9)
    assert final.status == FINISHED
    first, last = ticks[0].snapshot, job.snapshot(final.step)
    assert last.val_loss < 0.7 * first.val_loss and last.accuracy > last.chance
    start = "".join(last.alphabet[i] for i in job.probe[:4].tolist())  # min(16, context / 4) characters
    assert len(last.sample) == 16 and last.sample.startswith(start) and set(last.sample) <= set(last.alphabet)
    short = _char_job(steps=5)
    _, final = run_to_end(short, corpora=tiny("the cat sat on the mat. " * 3))
    assert final.status == FAILED and "validation" in final.message and "too few" in final.message


def test_a_recorded_run_reopens(tmp_path):
    folder = new_run_folder(tmp_path, "gpt")
    cfg = GptConfig(task="reverse", steps=10, **SMALL)
    _, final = run_to_end(GptJob(cfg), recorder=RunRecorder(folder, max_snapshots=3), snapshot_interval=0.0)
    assert final.status == FINISHED
    run = open_run(folder)
    assert run.kind == "gpt" and run.config == cfg
    last = run.load_snapshot(len(run.snapshot_paths) - 1)
    assert isinstance(last, GptSnapshot) and last.step == 10 and last.alphabet[-1] == "|"
    assert np.isnan(last.scores).any() and last.param_vector.dtype == np.float32


def test_a_trained_model_attends_where_the_task_says():
    job = GptJob(GptConfig(task="repeat", steps=250, context=32, seed=1))
    _, final = run_to_end(job, snapshot_interval=1e9)
    assert final.status == FINISHED
    snap = job.snapshot(final.step)
    assert snap.accuracy > 0.9 and snap.sample == snap.target
    rates = [attention_hit_rate(layer, snap.expected_keys) for layer in snap.attention]
    # with absolute positions the lookup "t - n + 1" is learned directly by a head of the first layer
    assert max(rates) >= 0.9, rates


def test_without_a_positional_encoding_the_reverse_task_cannot_be_learned():
    """The lecture's claim, as a user would check it: switch the encoding off and reversing fails."""
    accuracy = {}
    for positional in ("sinusoidal", "none"):
        cfg = GptConfig(task="reverse", layers=2, heads=2, width=32, context=12, batch_size=32, steps=250,
                        positional=positional, seed=0)
        job = GptJob(cfg)
        _, final = run_to_end(job, snapshot_interval=1e9)
        assert final.status == FINISHED
        accuracy[positional] = job.snapshot(final.step).accuracy
    assert accuracy["sinusoidal"] > 0.95
    # only the causal mask tells positions apart: far from solved (chance is 1/16)
    assert accuracy["none"] < 0.5, accuracy
