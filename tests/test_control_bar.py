"""The control bar speaks of its own tab's job: another tab's job is named, never shown as this tab's step."""
from __future__ import annotations

from explorer.ui.job_runner import JobRunner
from explorer.ui.widgets.control_bar import ControlBar
from tiny_jobs import RegressionConfig, RegressionJob


def test_a_job_of_another_tab_is_named_and_this_tabs_last_step_is_gone(qtbot):
    runner = JobRunner()
    mine, other = object(), object()
    bar = ControlBar(runner, owner=mine)
    qtbot.addWidget(bar)
    try:
        with qtbot.waitSignal(runner.ended, timeout=20000):
            runner.start(RegressionJob(RegressionConfig(steps=30)), owner=mine)
        qtbot.waitUntil(lambda: "finished" in bar.progress.format(), timeout=5000)
        runner.start(RegressionJob(RegressionConfig(steps=10_000_000)), owner=other)
        qtbot.waitUntil(lambda: "another tab" in bar.progress.format(), timeout=5000)
        assert bar.progress.value() == 0 and not bar.stop_btn.isEnabled()
        assert bar.train_btn.text() != "Restart"
    finally:
        assert runner.shutdown(10000)
