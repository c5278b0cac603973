"""Recorded runs: written while training, reopened and replayed; damaged runs give messages; writes are atomic."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from explorer.atomic import atomic_write_bytes
from explorer.training.record import RunError, RunRecorder, new_run_folder, open_run
from explorer.training.runner import FINISHED, run_to_end
from tiny_jobs import RegressionConfig, RegressionJob, RegressionSnapshot


def _record(tmp_path, steps=120, max_snapshots=10):
    folder = new_run_folder(tmp_path, "test-regression")
    job = RegressionJob(RegressionConfig(steps=steps, lr=0.03))
    _, final = run_to_end(job, recorder=RunRecorder(folder, max_snapshots=max_snapshots), snapshot_interval=0.0)
    return folder, job, final


def test_a_recorded_run_reopens_and_replays(tmp_path):
    folder, job, final = _record(tmp_path)
    assert final.status == FINISHED
    run = open_run(folder)
    assert run.kind == "test-regression" and run.info["status"] == FINISHED
    assert run.config == job.config  # the config round-trips through JSON
    assert np.array_equal(run.metrics["step"], np.arange(1, 121))
    steps = run.snapshot_steps()
    assert steps[0] == 0 and steps[-1] == 120 and 2 <= len(steps) <= 11
    assert steps == sorted(steps)
    first, last = run.load_snapshot(0), run.load_snapshot(len(steps) - 1)
    assert isinstance(last, RegressionSnapshot) and last.step == 120
    assert last.label == "step 120" and last.weights.shape == (8, 1)
    np.testing.assert_allclose(last.weights, job.w.detach().numpy(), rtol=1e-6)
    assert last.loss < first.loss or np.isnan(first.loss)


def test_missing_and_damaged_runs_give_clear_messages(tmp_path):
    with pytest.raises(RunError, match="No run folder"):
        open_run(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RunError, match="not a recorded run"):
        open_run(empty)
    folder, _, _ = _record(tmp_path, steps=20)
    (folder / "config.json").write_text("{ not json")
    with pytest.raises(RunError, match="damaged"):
        open_run(folder)


def test_a_damaged_snapshot_is_reported_not_raised_raw(tmp_path):
    folder, _, _ = _record(tmp_path, steps=20)
    run = open_run(folder)
    run.snapshot_paths[0].write_bytes(b"PK\x03\x04 garbage")
    with pytest.raises(RunError, match="damaged"):
        run.load_snapshot(0)


def test_a_torn_metrics_line_is_skipped(tmp_path):
    folder, _, _ = _record(tmp_path, steps=20)
    with open(folder / "metrics.jsonl", "a") as fh:
        fh.write('{"step": 21, "lo')
    run = open_run(folder)
    assert len(run.metrics["step"]) == 20


def test_an_interrupted_write_leaves_the_previous_file_intact(tmp_path):
    target = tmp_path / "config.json"
    target.write_text(json.dumps({"good": True}))

    class Boom(Exception):
        pass

    def chunks():
        yield b"{partial"
        raise Boom()

    with pytest.raises(Boom):
        from explorer.atomic import atomic_open

        with atomic_open(target, "wb") as fh:
            for c in chunks():
                fh.write(c)
    assert json.loads(target.read_text()) == {"good": True}
    assert os.listdir(tmp_path) == ["config.json"]  # no temporary file left behind
    atomic_write_bytes(target, b"{}")
    assert target.read_text() == "{}"
