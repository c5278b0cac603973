"""The engine without Qt: a real job trains, pause/step/stop work, NaN stops a job, runs are recorded."""
from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

from explorer.data.corpus import Corpus
from explorer.training.control import JobControl
from explorer.training.runner import DIVERGED, FAILED, FINISHED, STOPPED, run_job, run_to_end
from tiny_jobs import RegressionConfig, RegressionJob


def test_a_real_job_trains_and_its_loss_falls():
    ticks, final = run_to_end(RegressionJob(RegressionConfig(steps=300)), snapshot_interval=0.0)
    assert final.status == FINISHED and final.step == 300
    losses = np.concatenate([t.metrics["loss"] for t in ticks if t.metrics] + [final.metrics.get("loss", [])])
    steps = np.concatenate([t.metrics["step"] for t in ticks if t.metrics] + [final.metrics.get("step", [])])
    assert len(losses) == 300 and np.array_equal(steps, np.arange(1, 301))  # every row arrives exactly once
    assert losses[-1] < 1e-3 * losses[0]


def test_snapshots_hold_private_frozen_copies():
    ticks, _ = run_to_end(RegressionJob(RegressionConfig(steps=50)), snapshot_interval=0.0)
    first, last = ticks[1].snapshot, ticks[-1].snapshot
    assert not first.weights.flags.writeable
    assert not np.allclose(first.weights, last.weights)  # the optimizer did not change the earlier copy


def test_ticks_are_rate_limited():
    ticks, final = run_to_end(RegressionJob(RegressionConfig(steps=2000)), snapshot_interval=10.0)
    assert final.status == FINISHED
    assert len(ticks) <= 3  # the first, and the last step; not one per step


def test_nan_loss_stops_the_job_with_a_message():
    job = RegressionJob(RegressionConfig(steps=500, lr=1e4))
    ticks, final = run_to_end(job, snapshot_interval=0.0)
    assert final.status == DIVERGED
    assert "diverged" in final.message and "learning rate" in final.message
    assert final.step < 500
    good = [t.snapshot for t in ticks if t.snapshot is not None]
    assert good and math.isfinite(good[-1].loss)  # the last snapshot handed out is a good one


def test_stop_ends_the_job_early():
    control = JobControl()
    gen = run_job(RegressionJob(RegressionConfig(steps=100000)), control, snapshot_interval=0.0)
    next(gen)
    next(gen)
    control.stop()
    with pytest.raises(StopIteration) as stop:
        while True:
            next(gen)
    assert stop.value.value.status == STOPPED
    assert stop.value.value.step < 100000


def test_pause_holds_and_single_step_advances_exactly_one():
    control = JobControl(paused=True)
    gen = run_job(RegressionJob(RegressionConfig(steps=1000)), control, snapshot_interval=0.0, idle_interval=0.01)
    first = next(gen)
    assert first.step == 0
    for _ in range(5):  # paused: only idle beats, no progress
        tick = next(gen)
        assert tick is None or tick.step == 0
    control.step(1)
    tick = next(gen)
    while tick is None:
        tick = next(gen)
    assert tick.step == 1 and tick.status == "paused"
    for _ in range(3):
        tick = next(gen)
        assert tick is None or tick.step == 1
    control.resume()
    steps = [t.step for t in (next(gen) for _ in range(5)) if t is not None]
    assert steps and steps[-1] > 1
    control.stop()
    gen.close()


def test_learning_rate_changes_while_running():
    job = RegressionJob(RegressionConfig(steps=20, lr=0.05))
    control = JobControl()
    gen = run_job(job, control, snapshot_interval=0.0)
    next(gen)
    next(gen)
    control.set_lr(0.01)
    for _ in gen:
        pass
    assert job.lrs_seen[0] == 0.05 and job.lrs_seen[-1] == 0.01


def test_speed_limit_slows_the_job():
    control = JobControl()
    control.set_speed(100.0)
    t0 = time.perf_counter()
    _, final = run_to_end(RegressionJob(RegressionConfig(steps=20)), control)
    assert final.status == FINISHED and time.perf_counter() - t0 >= 0.18


def test_setup_failure_is_a_message_not_a_traceback():
    class Broken(RegressionJob):
        def setup(self, ctx):
            raise ValueError("The corpus is empty")

    _, final = run_to_end(Broken(RegressionConfig()))
    assert final.status == FAILED and "The corpus is empty" in final.message


def test_the_runner_checks_the_config_once_and_never_sets_up_a_job_whose_config_is_invalid():
    set_up = []

    class Watched(RegressionJob):
        def setup(self, ctx):
            set_up.append(ctx)
            super().setup(ctx)

    _, final = run_to_end(Watched(RegressionConfig(lr=-1.0)))
    assert final.status == FAILED and "Learning rate must be at least" in final.message and set_up == []


def test_the_runner_hands_the_job_its_context():
    seen = []

    class Watched(RegressionJob):
        def setup(self, ctx):
            seen.append(ctx)
            super().setup(ctx)

    tiny = Corpus(name="tiny", text="a b c", source="test")
    control = JobControl()
    _, final = run_to_end(Watched(RegressionConfig(steps=2)), control, corpora={"tiny": tiny})
    (ctx,) = seen
    assert final.status == FINISHED and ctx.corpus("tiny") is tiny and not ctx.cancelled()
    control.stop()
    assert ctx.cancelled()  # what the job polls in long set-up loops is the runner's stop
    assert ctx.with_corpus("other", tiny).corpus("other") is tiny and "other" not in ctx.corpora


def test_stop_from_another_thread():
    control = JobControl()
    result = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("final", run_to_end(RegressionJob(RegressionConfig(steps=10**7)), control)[1])
    )
    thread.start()
    time.sleep(0.2)
    control.stop()
    thread.join(5)
    assert not thread.is_alive() and result["final"].status == STOPPED


def test_costly_snapshots_are_spaced_out_to_keep_training_fast():
    class SlowSnapshots(RegressionJob):
        def snapshot(self, step):
            time.sleep(0.02)  # a view that costs 20 ms to prepare
            return super().snapshot(step)

    t0 = time.perf_counter()
    ticks, final = run_to_end(SlowSnapshots(RegressionConfig(steps=400, step_sleep=0.002)), snapshot_interval=0.0)
    seconds = time.perf_counter() - t0
    snapshot_seconds = 0.02 * len([t for t in ticks if t.snapshot is not None])
    assert final.status == FINISHED
    assert snapshot_seconds < 0.2 * seconds  # at most ~10% of the time (with slack for a busy machine)


def test_live_values_other_than_lr_reach_the_job():
    """A live setting by name reaches job.set_live before the next step; the latest request per name wins."""
    from explorer.training.control import JobControl

    control = JobControl()
    control.set_live("focus", "a")
    control.set_live("focus", "b")
    control.set_lr(0.5)
    assert control.take_live() == {"focus": "b", "lr": 0.5}
    assert control.take_live() == {}


def test_a_job_can_declare_divergence_with_its_own_message():
    """Diverged raised by train_step ends the run as diverged, with the job's message, not as a failure."""
    from explorer.training.job import Diverged

    class Exploding(RegressionJob):
        def train_step(self, step):
            if step == 3:
                raise Diverged("The gradient norm became inf at step 4; turn on clipping.")
            return super().train_step(step)

    _ticks, final = run_to_end(Exploding(RegressionConfig(steps=50)), snapshot_interval=0.0)
    assert final.status == DIVERGED
    assert final.message.startswith("The gradient norm became inf") and final.step == 3


def test_a_job_that_needs_few_snapshots_gets_few_and_keeps_every_metric_row():
    class Sparse(RegressionJob):
        min_snapshot_interval = 3600.0

    ticks, final = run_to_end(Sparse(RegressionConfig(steps=200)), snapshot_interval=0.0)
    steps = [t.step for t in ticks if t.snapshot is not None]
    assert steps == [0, 200] and final.status == "finished"  # the first and the last only
    rows = sum(len(t.metrics.get("step", [])) for t in ticks) + len(final.metrics.get("step", []))
    assert rows == 200
