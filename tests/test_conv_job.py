"""The causal-convolution job: config checks, snapshots, recorded runs, and recall limited by the receptive field."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from explorer.data.corpus import Corpus
from explorer.training.job import JobContext
from explorer.training.jobs.conv_job import ConvConfig, ConvJob, ConvSnapshot
from explorer.training.params import validate_config
from explorer.training.record import RunRecorder, new_run_folder, open_run
from explorer.training.runner import FAILED, FINISHED, run_to_end

SMALL = dict(alphabet=4, max_distance=8, seq_len=32, batch_size=32, channels=32, lr=1e-2)
TEXT = "the cat sat on the mat. the dog sat on the log. a cat and a dog met on a mat by a log.\n" * 40


def _char_job(**kw) -> ConvJob:
    """A job on the characters of the corpus "tiny", which tiny() puts in memory."""
    return ConvJob(ConvConfig(task="characters", corpus="tiny", seq_len=24, batch_size=16, channels=16, **kw))


def tiny(text: str = TEXT) -> dict[str, Corpus]:
    return {"tiny": Corpus(name="tiny", text=text, source="test")}


def test_config_checks_say_what_is_wrong():
    assert validate_config(ConvConfig()) == {}
    assert "custom_dilations" in ConvConfig(dilations="custom", layers=3, custom_dilations=(1, 2)).check()
    assert "3 layer" in ConvConfig(dilations="custom", layers=3, custom_dilations=(1, 2)).check()["custom_dilations"]
    assert "at least 1" in ConvConfig(dilations="custom", layers=2, custom_dilations=(1, 0)).check()["custom_dilations"]
    assert ConvConfig(dilations="custom", layers=2, custom_dilations=(1, 5)).check() == {}
    assert ConvConfig(dilations="doubling", layers=2, custom_dilations=(1,)).check() == {}  # the list is unused
    assert "largest distance" in ConvConfig(seq_len=32, max_distance=32).check()["seq_len"]
    assert ConvConfig(task="characters", seq_len=32, max_distance=32).check() == {}
    assert "outputs per step" in ConvConfig(batch_size=4096, seq_len=1024, max_distance=256).check()[""]
    too_big = ConvConfig(task="characters", batch_size=1024, seq_len=1024, channels=256, layers=12)
    assert "too much memory" in too_big.check()[""]
    assert "Layers must be at most 40" in validate_config(ConvConfig(layers=41))["layers"]
    wavenet = ConvConfig(layers=30, dilations="WaveNet: 1, 2, …, 512, repeated", seq_len=6400, batch_size=4)
    assert validate_config(wavenet) == {}  # WaveNet's own configuration can be built
    assert wavenet.dilation_tuple()[9:12] == (512, 1, 2) and 1 + sum(wavenet.dilation_tuple()) == 3070


def test_the_job_runs_to_the_end_and_hands_out_frozen_numpy_snapshots():
    job = ConvJob(ConvConfig(steps=25, layers=3, **SMALL))
    ticks, final = run_to_end(job, snapshot_interval=0.0)
    assert final.status == FINISHED and final.step == 25
    snaps = [t.snapshot for t in ticks if t.snapshot is not None]
    assert snaps[0].step == 0 and snaps[-1].step == 25
    for snap in snaps:
        assert isinstance(snap, ConvSnapshot)
        for f in dataclasses.fields(snap):
            value = getattr(snap, f.name)
            assert isinstance(value, (int, float, bool, str, np.ndarray)), f.name  # never a tensor
            if isinstance(value, np.ndarray):
                assert not value.flags.writeable and value.flags.c_contiguous
    last = snaps[-1]
    assert last.accuracy_by_distance.shape == (8,) and np.all(np.isfinite(last.accuracy_by_distance))
    assert last.erf.shape == (32,) and last.erf.max() == pytest.approx(1.0)
    assert last.erf_t == 16 and last.rf_size == 8 and last.dilations.tolist() == [1, 2, 4]  # the middle output
    assert np.flatnonzero(last.erf).tolist() == list(range(9, 17))  # exactly the rf_size positions up to t
    assert not last.erf[17:].any()  # and no future input: the leak check has 15 to test
    assert last.causal and last.chance == pytest.approx(0.25) and np.isfinite(last.loss)
    assert np.isnan(snaps[0].loss)  # no step taken yet


def test_the_centred_variant_looks_both_ways():
    job = ConvJob(ConvConfig(steps=2, layers=3, causal=False, **SMALL))
    _, final = run_to_end(job, snapshot_interval=0.0)
    snap = job.snapshot(final.step)
    assert snap.erf_t == 16 and snap.erf[17:].sum() > 0 and snap.erf[:16].sum() > 0


def test_the_learning_rate_changes_live():
    job = ConvJob(ConvConfig(steps=3, **SMALL))
    job.setup(JobContext())
    job.set_lr(0.5)
    assert [g["lr"] for g in job.opt.param_groups] == [0.5]


def test_characters_task_learns_and_reports_accuracy_by_position():
    job = _char_job(steps=80, lr=1e-2)
    ticks, final = run_to_end(job, corpora=tiny(), snapshot_interval=0.0)
    assert final.status == FINISHED
    first, last = ticks[0].snapshot, job.snapshot(final.step)
    assert last.task == "characters" and last.accuracy_by_distance.shape == (24,)
    assert last.accuracy > first.accuracy + 0.2 and last.accuracy > last.chance
    losses = np.concatenate([t.metrics["loss"] for t in ticks if t.metrics] + [final.metrics.get("loss", [])])
    assert losses[-5:].mean() < 0.6 * losses[:5].mean()


def test_a_text_too_short_for_the_window_fails_with_a_message():
    _, final = run_to_end(_char_job(steps=5), corpora=tiny("abc"))
    assert final.status == FAILED and "too few" in final.message


def test_a_recorded_run_reopens(tmp_path):
    folder = new_run_folder(tmp_path, "conv")
    cfg = ConvConfig(steps=20, layers=2, dilations="custom", custom_dilations=(1, 3), **SMALL)
    job = ConvJob(cfg)
    _, final = run_to_end(job, recorder=RunRecorder(folder, max_snapshots=5), snapshot_interval=0.0)
    assert final.status == FINISHED
    run = open_run(folder)
    assert run.kind == "conv" and run.config == cfg  # the custom tuple survives JSON
    last = run.load_snapshot(len(run.snapshot_paths) - 1)
    assert isinstance(last, ConvSnapshot) and last.step == 20
    assert last.dilations.tolist() == [1, 3] and last.rf_size == 5 and last.causal is True
    np.testing.assert_array_equal(last.erf, job.snapshot(20).erf)


def _trained_accuracy(**kw) -> tuple[np.ndarray, int]:
    job = ConvJob(ConvConfig(steps=200, seed=1, **SMALL, **kw))
    _, final = run_to_end(job, snapshot_interval=1e9)
    assert final.status == FINISHED
    snap = job.snapshot(final.step)
    return snap.accuracy_by_distance, snap.rf_size


def test_recall_succeeds_inside_the_receptive_field_and_stays_at_chance_beyond_it():
    short, rf = _trained_accuracy(layers=2, kernel_size=2, dilations="constant")  # sees t-2 .. t
    assert rf == 3
    assert np.all(short[: rf - 1] > 0.9)  # distances 1, 2
    assert np.all(short[rf - 1:] < 1 / 4 + 0.1)  # distances 3 .. 8: nothing to go on but guessing
    wide, rf = _trained_accuracy(layers=4, kernel_size=2, dilations="doubling")  # sees t-15 .. t
    assert rf == 16
    assert np.all(wide > 0.9)  # every distance 1 .. 8 is inside
