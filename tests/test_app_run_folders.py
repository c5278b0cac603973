"""File > Open run in the app with run folders that are damaged, killed or still written: one line that names the
file, never a traceback or silence; a killed run opens and says it was interrupted."""
from __future__ import annotations

import json

import pytest

from explorer.cli import main


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "w2v"
    assert main(["--device", "cpu", "train", "word2vec", "--set", "dim=8", "--set", "epochs=1", "--set",
                 "batch_size=512", "--record", str(folder)]) == 0
    return folder


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
