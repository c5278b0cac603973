"""The runs list: every recorded run under the runs folder summarised (lessons and damaged runs included), sizes,
delete, rename, the old ones; and `main.py runs` that shows and cleans them."""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path

import pytest

from explorer.cli import main
from explorer.training.record import RunError, RunRecorder
from explorer.training.run_index import (
    delete_run,
    list_runs,
    rename_run,
    run_size,
    runs_older_than,
    total_size,
)
from explorer.training.runner import run_to_end
from tiny_jobs import RegressionConfig, RegressionJob


def _record(folder: Path, steps: int = 20, created: str | None = None) -> Path:
    job = RegressionJob(RegressionConfig(steps=steps, lr=0.03))
    run_to_end(job, recorder=RunRecorder(folder, max_snapshots=4), snapshot_interval=0.0)
    if created:
        _edit_info(folder, created=created)
    return folder


def _edit_info(folder: Path, **changes) -> None:
    info = json.loads((folder / "run.json").read_text())
    (folder / "run.json").write_text(json.dumps({**info, **changes}))


def _days_ago(days: float) -> str:
    return (_dt.datetime.now() - _dt.timedelta(days=days)).isoformat(timespec="seconds")


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A runs folder with two runs, a lesson, a damaged run and a folder that is no run."""
    root = tmp_path / "runs"
    _record(root / "old-run", steps=20, created=_days_ago(10))
    _record(root / "new-run", steps=30, created=_days_ago(1))
    lesson = root / "lessons" / "20260101-000000-my-lesson"
    _record(lesson / "run", steps=10, created=_days_ago(3))
    (lesson / "figures").mkdir()
    (lesson / "figures" / "map.png").write_bytes(b"\x89PNG" + b"0" * 1000)
    (lesson / "verdict.json").write_text(json.dumps({"lesson": "my-lesson", "holds": True, "evidence": "ratio 1.5"}))
    damaged = _record(root / "damaged-run", steps=10, created=_days_ago(2))
    (damaged / "run.json").write_text("[1, 2, 3]")
    (root / "not-a-run").mkdir()
    (root / "not-a-run" / "notes.txt").write_text("keep me")
    monkeypatch.setenv("SME_RUNS_DIR", str(root))
    return root


def test_list_runs_summarises_every_run_newest_first(root):
    rows = list_runs(root)
    # a run.json that cannot be read says no date: the folder's own stands in
    assert [r.name for r in rows] == ["damaged-run", "new-run", "20260101-000000-my-lesson", "old-run"]
    damaged, new, lesson, old = rows
    assert new.folder == root / "new-run" and new.kind == "test-regression" and new.title == "Regression (test job)"
    assert new.status == "finished" and new.status_text == "finished 30 steps; 4 snapshots kept"
    assert (new.steps, new.total_steps) == (30, 30) and new.device == "cpu"
    assert new.config_summary == "lr 0.03, steps 30"
    assert set(new.final) == {"loss"} and new.final["loss"] > 0
    assert new.duration_s is not None and new.duration_s >= 0
    assert new.size_bytes == run_size(root / "new-run") > 0 and new.problem is None and new.verdict is None
    assert lesson.folder == root / "lessons" / "20260101-000000-my-lesson" / "run"
    assert lesson.verdict == "holds: ratio 1.5" and lesson.lesson_folder == lesson.folder.parent
    assert lesson.size_bytes == run_size(lesson.folder.parent) > run_size(lesson.folder)  # figures count too
    assert damaged.status == "damaged" and "run.json" in damaged.problem and "found a list" in damaged.problem
    assert total_size(root) == sum(r.size_bytes for r in rows)
    assert old.created < new.created


def test_delete_a_run_a_lesson_and_never_anything_else(root):
    freed = delete_run(root / "new-run")
    assert freed > 0 and not (root / "new-run").exists()
    lesson = root / "lessons" / "20260101-000000-my-lesson"
    delete_run(lesson / "run")
    assert not lesson.exists() and (root / "lessons").exists()
    for folder in (root / "not-a-run", root, root / "lessons", root / "missing"):
        with pytest.raises(RunError):
            delete_run(folder)
    assert (root / "not-a-run" / "notes.txt").read_text() == "keep me"
    (root / "old-run" / "my-photos").mkdir()
    with pytest.raises(RunError, match="not part of a run"):
        delete_run(root / "old-run")
    delete_run(root / "damaged-run")  # a damaged run can be deleted
    assert not (root / "damaged-run").exists()


def test_a_run_being_recorded_is_not_deleted_or_renamed(root):
    _edit_info(root / "new-run", status="running", pid=os.getpid(),
               host=__import__("socket").gethostname())
    with pytest.raises(RunError, match="being recorded"):
        delete_run(root / "new-run")
    with pytest.raises(RunError, match="being recorded"):
        rename_run(root / "new-run", "other")
    assert [r.name for r in runs_older_than(root, 0)] == ["damaged-run", "20260101-000000-my-lesson", "old-run"]


def test_rename_keeps_the_parent_and_refuses_clashes_and_bad_names(root):
    moved = rename_run(root / "new-run", "my favourite")
    assert moved == root / "my favourite" and moved.is_dir() and not (root / "new-run").exists()
    assert any(r.name == "my favourite" for r in list_runs(root))
    with pytest.raises(RunError, match="already holds something named 'old-run'"):
        rename_run(moved, "old-run")
    for bad in ("", "  ", "a/b", "..", ".hidden", "x" * 300, "tab\there"):
        with pytest.raises(RunError, match="not a usable folder name"):
            rename_run(moved, bad)
    lesson = rename_run(root / "lessons" / "20260101-000000-my-lesson" / "run", "renamed-lesson")
    assert lesson == root / "lessons" / "renamed-lesson" / "run" and (lesson.parent / "verdict.json").is_file()
    with pytest.raises(RunError):
        rename_run(root / "not-a-run", "x")


def test_runs_older_than(root):
    assert [r.name for r in runs_older_than(root, 5)] == ["old-run"]
    assert [r.name for r in runs_older_than(root, 2.5)] == ["20260101-000000-my-lesson", "old-run"]
    assert runs_older_than(root, 30) == []


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    assert "Traceback" not in captured.out + captured.err
    return lines[0]


def test_runs_with_no_folder_lists_them_with_the_disk_they_use(root, capsys):
    assert main(["runs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "kind", "created", "status", "steps", "size"]
    new = next(line for line in out if line.startswith("new-run"))
    assert "test-regression" in new and "finished" in new and "30/30" in new
    assert any(line.startswith("damaged: damaged-run: run.json") for line in out)
    assert out[-1].startswith("4 runs, ") and out[-1].endswith(f" in {root}")


def test_runs_of_one_folder_says_its_status_and_names_damaged_snapshots(root, capsys):
    folder = root / "new-run"
    assert main(["runs", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "status: finished" in out and "finished 30 steps; 4 snapshots kept" in out
    snap = sorted((folder / "snapshots").glob("*.npz"))[1]
    snap.write_bytes(b"not a zip")
    assert main(["runs", str(folder)]) == 1
    assert f"snapshots/{snap.name} is damaged" in capsys.readouterr().out


def test_runs_delete_and_older_than_from_the_command_line(root, capsys):
    assert main(["runs", str(root / "new-run"), "--delete"]) == 0
    assert "freed" in capsys.readouterr().out and not (root / "new-run").exists()
    assert main(["runs", "--older-than", "5"]) == 0
    out = capsys.readouterr().out
    assert "old-run" in out and "add --delete" in out and (root / "old-run").exists()
    assert main(["runs", "--older-than", "5", "--delete"]) == 0
    assert "1 run(s) deleted" in capsys.readouterr().out and not (root / "old-run").exists()


@pytest.mark.parametrize("argv, says", [
    (["runs", "--delete"], "--delete needs a run folder"),
    (["runs", "NOWHERE"], "No run folder"),
    (["runs", "NOWHERE", "--delete"], "No run folder"),
    (["runs", "not-a-run", "--delete"], "not a run folder"),
    (["runs", "old-run", "--older-than", "3"], "not both"),
    (["runs", "damaged-run"], "run.json"),
])
def test_runs_user_errors_are_one_line(root, capsys, argv, says):
    argv = [str(root / a) if a in ("NOWHERE", "not-a-run", "old-run", "damaged-run") else a for a in argv]
    assert main(argv) == 2
    assert says in _one_error_line(capsys)
    assert (root / "not-a-run" / "notes.txt").exists() and (root / "old-run").exists()


def test_a_bad_number_of_days_is_one_line(root, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["runs", "--older-than", "soon"])
    assert exit_.value.code == 2
    assert "not a number of days" in _one_error_line(capsys)


def test_final_figures_and_steps_come_from_the_end_of_the_metrics(tmp_path):
    folder = _record(tmp_path / "runs" / "lagging", steps=10)
    _edit_info(folder, steps=0, status="stopped")  # run.json lags behind what the files show
    rows = [{"step": 11, "loss": 2.0, "val_loss": 1.5}, {"step": 12, "loss": 1.8, "val_loss": None},
            {"step": 13, "loss": 1.7, "val_loss": None}]
    with open(folder / "metrics.jsonl", "a") as fh:
        fh.write("".join(json.dumps(r) + "\n" for r in rows))
    (row,) = list_runs(tmp_path / "runs")
    assert row.final == {"loss": 1.7, "val_loss": 1.5}
    assert row.steps == 13 and row.status_text.startswith("stopped at step 13 of 10")
