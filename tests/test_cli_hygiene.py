"""Command-line hygiene: strict booleans, one `error:` line on stderr with status 2 for every user error,
contradicting flags refused, recording never mixes two runs, Ctrl-C records the run as stopped."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from explorer.cli import main, parse_overrides
from explorer.training.jobs.svd_job import SvdConfig

ROOT = Path(__file__).resolve().parent.parent


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("error: ")
    assert "Traceback" not in captured.out + captured.err
    return lines[0]


@pytest.mark.parametrize(("text", "value"), [("true", True), ("Yes", True), ("1", True), ("false", False),
                                             ("NO", False), ("0", False)])
def test_booleans_take_the_six_words(text, value):
    assert parse_overrides(SvdConfig, [f"ppmi={text}"]) == {"ppmi": value}


@pytest.mark.parametrize("text", ["maybe", "on", "off", "", "2", "truthy"])
def test_any_other_boolean_is_refused_with_one_line(text, capsys):
    assert main(["train", "cooc_svd", f"--set=ppmi={text}", "--no-record"]) == 2
    line = _one_error_line(capsys)
    assert "ppmi" in line and "true, false, yes, no, 1 or 0" in line


@pytest.mark.parametrize("argv", [
    ["train", "gpt_pretrain", "--set", "preset=huge", "--no-record"],  # a preset that does not exist
    ["train", "word2vec", "--record", "X", "--no-record"],  # contradicting flags
    ["train", "word2vec", "--set", "epochs=1e9", "--no-record"],
    ["train", "word2vec", "--set", "nonsense", "--no-record"],
    ["train", "word2vec", "--max-words", "0", "--no-record"],
    ["train", "word2vec", "--max-words", "many", "--no-record"],
    ["train", "rnn_scales", "--corpus", "builtin:austen", "--no-record"],  # a job that reads no corpus
    ["train"],  # the job is missing
    ["frobnicate"],  # no such command
    ["export"],
])
def test_every_user_error_is_one_error_line_with_status_2(argv, capsys):
    try:
        rc = main(argv)
    except SystemExit as exit_:  # argparse's errors exit from inside parse_args
        rc = exit_.code
    assert rc == 2
    _one_error_line(capsys)


def test_a_missing_corpus_is_an_error_line_on_stderr_before_anything_starts(tmp_path, capsys):
    folder = tmp_path / "run"
    assert main(["train", "word2vec", "--corpus", str(tmp_path / "nope.txt"), "--record", str(folder)]) == 2
    line = _one_error_line(capsys)
    assert "no such corpus file" in line and "nope.txt" in line
    assert not folder.exists()  # nothing recorded for a run that never started


def test_an_unusable_corpus_file_is_an_error_line_not_a_failed_job(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("   \n")
    assert main(["train", "word2vec", "--corpus", str(empty), "--no-record", "--device", "cpu"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip().splitlines()[-1].startswith("error: ") and "empty" in captured.err


def test_recording_into_a_folder_that_holds_a_run_is_refused_and_the_old_run_is_kept(tmp_path, capsys):
    folder = tmp_path / "run"
    argv = ["--device", "cpu", "train", "word2vec", "--set", "dim=8", "--set", "epochs=1", "--set",
            "batch_size=512", "--record", str(folder)]
    assert main(argv) == 0
    capsys.readouterr()
    before = sorted(p.name for p in (folder / "snapshots").iterdir())
    config_before = (folder / "config.json").read_text()
    assert main([*argv[:-3], "dim=9", *argv[-2:]]) == 2
    assert "already holds a recorded run" in _one_error_line(capsys)
    assert sorted(p.name for p in (folder / "snapshots").iterdir()) == before
    assert (folder / "config.json").read_text() == config_before


def test_an_empty_folder_can_be_recorded_into(tmp_path, capsys):
    folder = tmp_path / "empty"
    folder.mkdir()
    assert main(["--device", "cpu", "train", "word2vec", "--set", "dim=8", "--set", "epochs=1", "--set",
                 "batch_size=512", "--record", str(folder)]) == 0
    assert json.loads((folder / "run.json").read_text())["status"] == "finished"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_stops_the_job_and_the_run_says_stopped(tmp_path):
    folder = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "main.py", "--device", "cpu", "train", "rnn", "--set", "steps=1000000", "--set",
         "hidden=8", "--record", str(folder)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 60
        for line in proc.stdout:  # wait until training has taken steps
            if line.startswith("step") or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    info = json.loads((folder / "run.json").read_text())
    assert info["status"] == "stopped"
    assert info["steps"] > 0
    assert list((folder / "snapshots").glob("step_*.npz"))
