"""Run folders that tell the truth: damaged files give one-line messages naming the file and the field, damaged
snapshots are named, run.json follows the training, and a run whose writer is gone (killed, Ctrl-C, closed) never
reads as running."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.training import jobs  # noqa: F401 - registers the job kinds that hand-written runs name
from explorer.training.control import JobControl
from explorer.training.record import RunError, RunRecorder, check_new_run_folder, check_run, open_run
from explorer.training.run_status import effective_status, writer_alive
from explorer.training.runner import FAILED, FINISHED, run_job, run_to_end
from tiny_jobs import RegressionConfig, RegressionJob

ROOT = Path(__file__).resolve().parent.parent
INFO = {"kind": "test-regression", "title": "Regression (test job)", "device": "cpu", "status": "finished",
        "created": "2026-01-01T10:00:00", "steps": 20, "total_steps": 20, "message": ""}
CONFIG = {"steps": 20, "lr": 0.03, "step_sleep": 0.0, "seed": 0}


def _record(folder: Path, steps: int = 20, max_snapshots: int = 10, **kw) -> Path:
    job = RegressionJob(RegressionConfig(steps=steps, lr=0.03, **kw))
    _, final = run_to_end(job, recorder=RunRecorder(folder, max_snapshots=max_snapshots), snapshot_interval=0.0)
    assert final.status == FINISHED
    return folder


def _write_run(folder: Path, info=INFO, config=CONFIG, metrics: str = '{"step": 1, "loss": 0.5}\n') -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(info if isinstance(info, str) else json.dumps(info))
    (folder / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    (folder / "metrics.jsonl").write_text(metrics)
    return folder


def _refused(folder, match: str) -> str:
    with pytest.raises(RunError, match=match) as caught:
        open_run(folder)
    message = str(caught.value)
    assert "\n" not in message
    return message


# -- shape and type ------------------------------------------------------------------------------------------------
def test_valid_json_of_the_wrong_shape_names_the_file_and_the_field(tmp_path):
    folder = _write_run(tmp_path / "a", info="[1, 2, 3]")
    assert _refused(folder, "run.json") == (f"run.json in {folder} is not a run description "
                                            "(expected a JSON object, found a list)")
    folder = _write_run(tmp_path / "b", info={**INFO, "kind": ["word2vec"]})
    assert _refused(folder, "'kind'") == f"run.json in {folder}: 'kind' should be text, found a list"
    _refused(_write_run(tmp_path / "c", info={**INFO, "steps": "many"}), "'steps' should be a whole number")
    _refused(_write_run(tmp_path / "d", info={**INFO, "steps": -4}), "'steps' should be at least 0")
    _refused(_write_run(tmp_path / "e", info={**INFO, "status": "dancing"}), "'status' should be one of")
    _refused(_write_run(tmp_path / "f", info={**INFO, "kind": "nope"}), "unknown kind")
    _refused(_write_run(tmp_path / "g", info={k: v for k, v in INFO.items() if k != "kind"}), "has no 'kind'")
    _refused(_write_run(tmp_path / "h", config="7"), r"config.json in .* is not a configuration .*found 7\)")


def test_a_config_value_of_the_wrong_type_is_refused_not_passed_on(tmp_path):
    w2v = {**INFO, "kind": "word2vec"}
    folder = _write_run(tmp_path / "a", info=w2v, config={"dim": "abc"})
    assert _refused(folder, "dim") == f"config.json in {folder}: 'dim' should be a whole number, found 'abc'"
    _refused(_write_run(tmp_path / "b", info=w2v, config={"dim": True}), "'dim' should be a whole number")
    _refused(_write_run(tmp_path / "c", info=w2v, config={"lr": "fast"}), "'lr' should be a number, found 'fast'")
    _refused(_write_run(tmp_path / "d", info=w2v, config={"corpus": 3}), "'corpus' should be text, found 3")
    _refused(_write_run(tmp_path / "e", info=w2v, config={"dim": -5}), "'dim' is out of range")
    _refused(_write_run(tmp_path / "f", info=w2v, config={"dim": 10**40}), "'dim' should be a whole number")
    cost = {**INFO, "kind": "attention_cost"}
    _refused(_write_run(tmp_path / "g", info=cost, config={"lengths": [8, "x"]}), "'lengths' should be a list")
    run = open_run(_write_run(tmp_path / "h", info=cost, config={"lengths": [8, 16], "pooled": 16}))
    assert run.config.lengths == (8, 16) and run.config.pooled == 16
    run = open_run(_write_run(tmp_path / "i", info=w2v, config={"lr": 1, "future_setting": [1]}))
    assert run.config.lr == 1.0 and isinstance(run.config.lr, float)  # a whole number is a number; unknown keys go


def test_every_job_kinds_default_config_reads_back_unchanged(tmp_path):
    from explorer.training.job import JOB_KINDS
    from explorer.training.record import config_from_dict, config_to_dict

    for kind, job_cls in JOB_KINDS.items():
        config = job_cls.config_cls()
        assert config_from_dict(job_cls.config_cls, config_to_dict(config)) == config, kind


def test_metrics_rows_must_be_objects_of_numbers_but_a_torn_last_line_is_kept_out(tmp_path):
    _refused(_write_run(tmp_path / "a", metrics='{"step": 1}\n[1, 2]\n{"step": 3}\n'), "line 2 is not a row of")
    _refused(_write_run(tmp_path / "b", metrics='{"step": 1, "loss": "low"}\n'), "line 1 is not a row of numbers")
    _refused(_write_run(tmp_path / "c", metrics='{"step": 1}\n{"st\n{"step": 3}\n'), "line 2 is not valid JSON")
    run = open_run(_write_run(tmp_path / "d", metrics='{"step": 1, "loss": null}\n{"step": 2, "loss": 0.5}\n{"st'))
    assert list(run.metrics["step"]) == [1.0, 2.0]


@pytest.mark.parametrize("folder", [[1, 2, 3], None, 3.5, {"a": 1}, "bad\0name", "/no/such/folder"])
def test_open_run_of_anything_is_a_run_error(folder):
    with pytest.raises(RunError) as caught:
        open_run(folder)
    assert "\n" not in str(caught.value)


def test_check_run_loads_every_snapshot_and_names_each_damaged_one(tmp_path):
    folder = _record(tmp_path / "run")
    assert check_run(folder) == []
    paths = sorted((folder / "snapshots").glob("step_*.npz"))
    paths[1].write_bytes(b"PK\x03\x04 garbage")
    paths[-1].write_bytes(paths[-1].read_bytes()[:200])
    problems = check_run(folder)
    assert len(problems) == 2
    assert problems[0].startswith(f"snapshots/{paths[1].name} is damaged: not a readable snapshot")
    assert problems[1].startswith(f"snapshots/{paths[-1].name} is damaged:")
    assert all("\n" not in p and str(folder) not in p for p in problems)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
some_info = st.one_of(st.just(INFO), json_values, st.builds(
    lambda k, v: {**INFO, k: v}, st.sampled_from([*sorted(INFO), "pid", "host", "elapsed_s"]), json_values))
some_config = st.one_of(st.just(CONFIG), json_values, st.builds(lambda k, v: {**CONFIG, k: v},
                                                                 st.sampled_from(sorted(CONFIG)), json_values))
good_row = st.dictionaries(st.sampled_from(["step", "loss", "val_loss"]),
                           st.none() | st.integers() | st.floats(allow_nan=False))
some_metrics = st.lists(st.one_of(good_row, good_row, json_values), max_size=5)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(info=some_info, config=some_config, rows=some_metrics, torn=st.booleans())
def test_the_run_reader_over_random_json_returns_or_says_why_in_one_line(info, config, rows, torn):
    with tempfile.TemporaryDirectory() as tmp:
        metrics = "".join(json.dumps(r) + "\n" for r in rows) + ('{"step": 9, "lo' if torn else "")
        folder = _write_run(Path(tmp) / "run", info=info, config=config, metrics=metrics)
        try:
            run = open_run(folder)
        except RunError as exc:
            message = str(exc)
            assert "\n" not in message and any(name in message for name in ("run.json", "config.json", "metrics"))
        else:
            assert run.kind == "test-regression" and isinstance(run.status_text, str)


# -- progress, stop, kill ------------------------------------------------------------------------------------------
class _Clock:
    def __init__(self, step_s: float) -> None:
        self.t, self.step_s = 0.0, step_s

    def __call__(self) -> float:
        self.t += self.step_s
        return self.t


def test_run_json_follows_the_training_at_a_bounded_rate(tmp_path):
    folder = tmp_path / "run"
    job = RegressionJob(RegressionConfig(steps=30, lr=0.03))
    gen = run_job(job, recorder=RunRecorder(folder, max_snapshots=2, clock=_Clock(3.0)), snapshot_interval=0.0)
    seen = []
    for tick in gen:
        if tick is not None and 0 < tick.step < 30:
            info = json.loads((folder / "run.json").read_text())
            seen.append((tick.step, info["steps"], info["status"], info["elapsed_s"]))
            assert info["pid"] == os.getpid() and info["host"] and info["updated"] and info["snapshots"] == 1
            assert open_run(folder, with_metrics=False).status_text.startswith(f"running, step {tick.step} of 30")
    assert seen and all(step == steps and status == "running" for step, steps, status, _ in seen)
    assert [e for *_, e in seen] == sorted(e for *_, e in seen)
    info = json.loads((folder / "run.json").read_text())
    assert info["status"] == FINISHED and info["steps"] == 30 and info["finished"] and info["snapshots"] == 2
    assert info["snapshots"] == len(list((folder / "snapshots").glob("step_*.npz")))


def test_run_json_is_not_rewritten_more_often_than_every_two_seconds(tmp_path):
    folder = tmp_path / "run"
    job = RegressionJob(RegressionConfig(steps=30, lr=0.03))
    gen = run_job(job, recorder=RunRecorder(folder, max_snapshots=2, clock=_Clock(0.0)), snapshot_interval=0.0)
    steps = [json.loads((folder / "run.json").read_text())["steps"] for t in gen if t is not None and t.step < 30]
    assert steps and set(steps) == {0}  # the clock never moved and no snapshot was due: no rewrite


def test_a_paused_run_says_paused_while_its_writer_lives(tmp_path):
    folder = tmp_path / "run"
    control = JobControl(paused=True)
    gen = run_job(RegressionJob(RegressionConfig(steps=10)), control, recorder=RunRecorder(folder),
                  idle_interval=0.01)
    for _ in range(3):
        next(gen)
    run = open_run(folder)
    assert run.status == "paused" and run.status_text == "paused at step 0 of 10"
    control.stop()
    for _ in gen:
        pass
    assert open_run(folder).status == "stopped"


class _InterruptedJob(RegressionJob):
    def train_step(self, step: int) -> dict[str, float]:
        if step == 12:
            raise KeyboardInterrupt
        return super().train_step(step)


def test_ctrl_c_inside_a_step_leaves_the_run_stopped(tmp_path):
    folder = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        run_to_end(_InterruptedJob(RegressionConfig(steps=40)), recorder=RunRecorder(folder), snapshot_interval=0.0)
    info = json.loads((folder / "run.json").read_text())
    assert info["status"] == "stopped" and "Ctrl-C" in info["message"] and info["finished"]
    run = open_run(folder)
    # the last step recorded: 12 when the runner reported every step, fewer when it skipped a report (a busy machine)
    assert run.status == "stopped" and 1 <= run.steps <= 12
    assert run.status_text.startswith(f"stopped at step {run.steps} of 40")


def test_a_generator_closed_mid_run_leaves_the_run_stopped(tmp_path):
    folder = tmp_path / "run"
    gen = run_job(RegressionJob(RegressionConfig(steps=1000)), recorder=RunRecorder(folder), snapshot_interval=0.0)
    for _ in range(5):
        next(gen)
    gen.close()
    assert open_run(folder).status == "stopped"


_KILLED_WRITER = """
import sys, time
sys.path.insert(0, "tests")
from explorer.training.record import RunRecorder
from explorer.training.runner import run_job
from tiny_jobs import RegressionConfig, RegressionJob
job = RegressionJob(RegressionConfig(steps=100000, step_sleep=0.002))
for tick in run_job(job, recorder=RunRecorder(sys.argv[1], max_snapshots=50000), snapshot_interval=0.02):
    pass
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_killed_writer_reads_as_interrupted_after_its_last_step(tmp_path):
    folder = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(folder)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while len(list((folder / "snapshots").glob("step_*.npz"))) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert open_run(folder, with_metrics=False).status == "running"  # the writer lives
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    info = json.loads((folder / "run.json").read_text())
    assert info["status"] == "running"  # what the killed writer left behind
    run = open_run(folder)
    snaps = len(run.snapshot_paths)
    last = max(run.snapshot_steps()[-1], int(run.metrics["step"][-1]))
    assert snaps >= 6 and last > 0 and last >= info["steps"]
    assert run.status == "interrupted"
    assert run.status_text == f"interrupted after step {last:,}; {snaps} snapshots kept"


def test_a_writer_gone_elsewhere_or_long_ago_is_not_taken_for_alive():
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    from explorer.training.run_status import host_name

    dead = {**INFO, "status": "running", "pid": int(proc.stdout), "host": host_name()}
    assert writer_alive(dead) is False
    assert effective_status(dead, 7432, 12).text == "interrupted after step 7,432; 12 snapshots kept"
    assert writer_alive({**INFO, "status": "running"}) is False  # recorded before run.json said who writes it
    now = time.time()
    remote = {**INFO, "status": "running", "pid": 1, "host": "elsewhere", "updated": time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.localtime(now - 600))}
    state = effective_status(remote, 50, 3, now=now)
    assert state.status == "interrupted" and state.text.startswith("no update for 10 min — the writer on elsewhere")
    fresh = effective_status({**remote, "updated": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))}, 50, 3,
                             now=now)
    assert fresh.status == "running" and fresh.text == "running on elsewhere, step 50 of 20"
    if Path("/proc/self/stat").exists():  # a pid that started after the run was created is not its writer
        parent = {**dead, "pid": os.getppid()}
        assert writer_alive({**parent, "created": time.strftime("%Y-%m-%dT%H:%M:%S")}) is True
        assert writer_alive({**parent, "created": "2000-01-01T00:00:00"}) is False


# -- a folder that holds a run -------------------------------------------------------------------------------------
def test_recording_into_a_folder_that_holds_a_run_is_refused_and_nothing_mixes(tmp_path):
    folder = _record(tmp_path / "run", steps=20)
    before = sorted(p.name for p in (folder / "snapshots").iterdir())
    config_before = (folder / "config.json").read_text()
    _, final = run_to_end(RegressionJob(RegressionConfig(steps=50)), recorder=RunRecorder(folder))
    assert final.status == FAILED and f"{folder} already holds a recorded run; choose a new folder" in final.message
    assert sorted(p.name for p in (folder / "snapshots").iterdir()) == before
    assert (folder / "config.json").read_text() == config_before
    with pytest.raises(RunError, match="already holds a recorded run"):
        RunRecorder(folder).start(RegressionJob(RegressionConfig(steps=5)))
    (tmp_path / "empty").mkdir()
    check_new_run_folder(tmp_path / "empty")
    _record(tmp_path / "empty")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match="is not empty"):
        check_new_run_folder(tmp_path / "other")
    with pytest.raises(RunError, match="it is a file"):
        check_new_run_folder(tmp_path / "other" / "notes.txt")
