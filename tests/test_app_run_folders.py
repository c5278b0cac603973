"""File > Open run in the app with run folders that are damaged, killed or still written: one line that names the
file, never a traceback or silence; a killed run opens and says it was interrupted."""
from __future__ import annotations

import json

import pytest


@pytest.fixture
def recorded(recorded_word2vec_run):
    return recorded_word2vec_run


def _copy(recorded, tmp_path):
    import shutil

    target = tmp_path / "copy"
    shutil.copytree(recorded, target)
    return target


@pytest.mark.parametrize(("file", "content", "expected"), [
    ("run.json", "[1, 2, 3]", "run.json"),
    ("run.json", '{"kind": ["word2vec"]}', "run.json"),
    ("config.json", '{"dim": "abc"}', "'dim'"),
    ("config.json", "not json at all", "config.json"),
])
def test_a_damaged_run_gets_one_line_naming_the_file(qtbot, app_window, recorded, tmp_path, file, content, expected):
    folder = _copy(recorded, tmp_path)
    (folder / file).write_text(content)
    before = app_window.embeddings.form.value()
    assert app_window.open_run(str(folder), show_dialogs=False) is False
    message = app_window.statusBar().currentMessage()
    assert expected in message and "\n" not in message and "Traceback" not in message
    assert app_window.embeddings.form.value() == before  # nothing half-loaded into the form


def test_a_run_whose_writer_was_killed_opens_and_says_interrupted(qtbot, app_window, recorded, tmp_path):
    folder = _copy(recorded, tmp_path)
    info = json.loads((folder / "run.json").read_text())
    info.update(status="running", pid=2**22 + 12345)  # a pid that no process has
    info.pop("finished", None)
    (folder / "run.json").write_text(json.dumps(info))
    from explorer.training.record import open_run

    record = open_run(folder)
    assert record.status == "interrupted" and record.status_text.startswith("interrupted after step")
    assert app_window.open_run(str(folder), show_dialogs=False) is True
    assert app_window.tabs.currentWidget() is app_window.embeddings
    assert "interrupted after step" in app_window.embeddings.banner.text()
    assert "interrupted after step" in app_window.embeddings.info.text()


def _start_writer(folder, steps=3000):
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "main.py", "--device", "cpu", "train", "rnn", "--set", f"steps={steps}",
                             "--set", "hidden=8", "--record", str(folder)], cwd=root, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list((folder / "snapshots").glob("step_*.npz"))) < 2:
        time.sleep(0.2)
    return proc


def test_a_run_still_being_written_is_followed_until_its_writer_stops(qtbot, app_window, tmp_path):
    import signal

    folder = tmp_path / "live"
    proc = _start_writer(folder)
    try:
        assert app_window.open_run(str(folder), show_dialogs=False)
        tab = app_window.tabs.currentWidget()
        follower = app_window.follower
        assert follower is not None and follower.active
        first = len(tab.timeline._steps)
        qtbot.waitUntil(lambda: len(tab.timeline._steps) > first, timeout=15000)  # new snapshots show up
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        with qtbot.waitSignal(follower.ended, timeout=10000) as ended:
            pass
        assert ended.args[0].status == "interrupted"
        assert not follower.active
        assert "writer has stopped" in tab.banner.text()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_command_line_follows_a_run_to_its_end(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    folder = tmp_path / "live"
    proc = _start_writer(folder, steps=300)
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run([sys.executable, "main.py", "runs", str(folder), "--follow"], cwd=root,
                             capture_output=True, text=True, timeout=120)
    finally:
        proc.wait(60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[-1].startswith("the run has ended: finished 300 steps")
    snapshots = [int(line.split(" snapshot")[0].split()[-1]) for line in lines[:-1]]
    assert snapshots == sorted(snapshots) and len(lines) >= 2
