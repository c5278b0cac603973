"""The Qt adapter of the engine: a job runs in a background thread, snapshots are coalesced, stop is clean."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QThreadPool

from explorer.data.corpus import Corpus
from explorer.ui.job_runner import JobRunner
from tiny_jobs import RegressionConfig, RegressionJob


@pytest.fixture
def runner(qtbot):
    r = JobRunner()
    yield r
    assert r.shutdown(5000)


def test_a_job_runs_in_the_background_and_ends(qtbot, runner):
    ticks, snaps = [], []
    runner.progress.connect(ticks.append)
    runner.snapshotReady.connect(snaps.append)
    with qtbot.waitSignal(runner.ended, timeout=20000) as ended:
        runner.start(RegressionJob(RegressionConfig(steps=400)))
    final = ended.args[0]
    assert final.status == "finished" and final.step == 400
    rows = sum(len(t.metrics.get("step", ())) for t in ticks)
    assert rows == 400  # no metric row is lost, however the snapshots are coalesced
    assert snaps and snaps[-1].step == 400 and not runner.is_active()


def test_the_job_gets_the_corpora_in_memory_and_the_runner_knows_who_started_it(qtbot, runner):
    read = []

    class ReadsACorpus(RegressionJob):
        def setup(self, ctx):
            read.append(ctx.corpus("tiny"))
            super().setup(ctx)

    tiny = Corpus(name="tiny", text="a b c", source="test")
    tab = object()
    with qtbot.waitSignal(runner.ended, timeout=20000) as ended:
        runner.start(ReadsACorpus(RegressionConfig(steps=5)), owner=tab, corpora={"tiny": tiny})
    assert ended.args[0].status == "finished" and read == [tiny] and runner.owner is tab


def test_snapshots_are_coalesced_under_a_slow_consumer(qtbot, runner):
    drawn = []

    def slow_draw(snap):
        drawn.append(snap.step)
        time.sleep(0.15)  # a view that takes 150 ms to draw

    runner.snapshotReady.connect(slow_draw)
    with qtbot.waitSignal(runner.ended, timeout=30000):
        runner.start(RegressionJob(RegressionConfig(steps=150, step_sleep=0.008)))
    assert runner.snapshots_received >= 10
    assert runner.snapshots_emitted < runner.snapshots_received / 2  # the slow view skipped stale frames
    assert drawn[-1] == 150  # ...but always got the newest at the end


def test_snapshot_rate_is_bounded(qtbot, runner):
    runner.snapshotReady.connect(lambda s: None)
    t0 = time.perf_counter()
    with qtbot.waitSignal(runner.ended, timeout=30000):
        runner.start(RegressionJob(RegressionConfig(steps=30000)))
    seconds = time.perf_counter() - t0
    assert runner.snapshots_emitted <= 35 * seconds + 3


def test_pause_really_pauses_and_step_advances_one(qtbot, runner):
    seen = []
    runner.progress.connect(lambda t: seen.append(t.step))
    runner.start(RegressionJob(RegressionConfig(steps=10**6, step_sleep=0.001)))
    qtbot.waitUntil(lambda: bool(seen) and seen[-1] > 5, timeout=10000)
    runner.pause()
    qtbot.waitUntil(lambda: runner.status == "paused", timeout=2000)
    qtbot.wait(300)
    held = seen[-1]
    qtbot.wait(400)
    assert seen[-1] == held  # nothing moved while paused
    runner.step(1)
    qtbot.waitUntil(lambda: seen[-1] == held + 1, timeout=5000)
    qtbot.wait(300)
    assert seen[-1] == held + 1
    runner.resume()
    qtbot.waitUntil(lambda: seen[-1] > held + 10, timeout=5000)
    with qtbot.waitSignal(runner.ended, timeout=5000) as ended:
        runner.stop()
    assert ended.args[0].status == "stopped"


def test_stop_really_stops_and_leaves_no_thread(qtbot, runner):
    runner.start(RegressionJob(RegressionConfig(steps=10**7)))
    qtbot.waitUntil(lambda: runner.status == "running" and runner.snapshots_received > 2, timeout=10000)
    with qtbot.waitSignal(runner.ended, timeout=5000):
        runner.stop()
    assert QThreadPool.globalInstance().waitForDone(2000)
    assert not runner.is_active()


def test_nan_stops_the_job_and_keeps_the_last_good_snapshot(qtbot, runner):
    snaps = []
    runner.snapshotReady.connect(snaps.append)
    with qtbot.waitSignal(runner.ended, timeout=20000) as ended:
        runner.start(RegressionJob(RegressionConfig(steps=1000, lr=1e4)))
    assert ended.args[0].status == "diverged" and "diverged" in ended.args[0].message
    assert snaps and all(s.loss == s.loss for s in snaps[1:])  # no NaN snapshot was handed to the view


def test_starting_another_job_stops_the_first(qtbot, runner):
    first = RegressionJob(RegressionConfig(steps=10**7))
    runner.start(first)
    qtbot.waitUntil(lambda: runner.snapshots_received > 2, timeout=10000)
    second = RegressionJob(RegressionConfig(steps=50))
    with qtbot.waitSignal(runner.ended, timeout=20000) as ended:
        runner.start(second)
    assert runner.job is second and ended.args[0].step == 50
    assert QThreadPool.globalInstance().waitForDone(2000)  # the first job's thread ended too
