"""The command line: help, device choice, headless training, and clear messages for bad input."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from explorer.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_help_works_from_main_py():
    out = subprocess.run([sys.executable, "main.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0
    assert "--device" in out.stdout and "train" in out.stdout


def test_headless_training_records_a_run_that_can_be_summarised(tmp_path, capsys):
    folder = tmp_path / "run"
    rc = main(["--device", "cpu", "train", "word2vec", "--corpus", "builtin:synthetic", "--set", "dim=8",
               "--set", "epochs=1", "--set", "batch_size=512", "--record", str(folder)])
    assert rc == 0
    assert "Finished" in capsys.readouterr().out
    assert main(["runs", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "status: finished" in out and "loss: first" in out


def test_bad_input_on_the_command_line_gets_a_message_not_a_traceback(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    assert main(["train", "word2vec", "--corpus", str(empty), "--no-record", "--device", "cpu"]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["train", "word2vec", "--set", "lr=-1", "--no-record"]) == 2
    assert "Learning rate must be at least" in capsys.readouterr().err
    assert main(["train", "word2vec", "--set", "dim=abc", "--no-record"]) == 2
    assert "not a valid int" in capsys.readouterr().err
    assert main(["train", "nope"]) == 2
    assert "unknown job" in capsys.readouterr().err
    assert main(["runs", str(tmp_path)]) == 2
    assert "not a recorded run" in capsys.readouterr().err


def test_an_unavailable_device_is_refused_with_a_message(capsys, monkeypatch):
    import explorer.device as device

    monkeypatch.setattr(device, "available_devices", lambda: ["cpu"])
    assert main(["info", "--device", "cuda"]) == 2
    assert "not available" in capsys.readouterr().err
    assert device.resolve_device("auto") == "cpu"


def test_a_preset_on_the_command_line_sets_all_its_numbers_and_later_values_win(tmp_path):
    from explorer.training.jobs.pretrain_job import PRESETS
    from explorer.training.record import open_run

    folder = tmp_path / "pre"
    rc = main(["--device", "cpu", "train", "gpt_pretrain", "--set", "preset=small", "--set", "steps=2",
               "--record", str(folder)])
    assert rc == 0
    config = open_run(folder).config
    small = PRESETS["small"]
    assert (config.layers, config.width, config.context, config.batch_size) == (
        small["layers"], small["width"], small["context"], small["batch_size"])
    assert config.preset == "small" and config.steps == 2  # the later value wins over the preset's steps
