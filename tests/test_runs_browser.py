"""The runs browser (File > Recorded runs…): real runs recorded by the real recorder, listed, opened, renamed,
deleted (one by one, several at once, older than N days), filtered and sorted; errors are one line in the dialog."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from explorer.training.record import RunRecorder, new_run_folder
from explorer.training.run_index import list_runs, run_size, total_size
from explorer.training.runner import run_to_end
from explorer.ui.runs_browser import RunsBrowser
from explorer.ui.runs_menu import install_runs_browser
from explorer.ui.runs_table import COLUMNS, format_size
from tiny_jobs import RegressionConfig, RegressionJob


def _record(folder: Path, steps: int = 12) -> Path:
    run_to_end(RegressionJob(RegressionConfig(steps=steps, lr=0.03)), recorder=RunRecorder(folder, max_snapshots=3),
               snapshot_interval=0.0)
    return folder


def _edit_run_json(folder: Path, **changes) -> None:
    info = json.loads((folder / "run.json").read_text())
    info.update(changes)
    (folder / "run.json").write_text(json.dumps(info))


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Runs recorded once for the module: two finished runs, a longer one, a lesson's run, a damaged one."""
    root = tmp_path_factory.mktemp("recorded")
    first = _record(new_run_folder(root, "test-regression"), steps=12)
    second = _record(root / "second-run", steps=30)
    lesson = root / "lessons" / "tiny-lesson"
    _record(lesson / "run", steps=8)
    (lesson / "verdict.json").write_text(json.dumps({
        "lesson": "tiny-lesson", "claim": "A tiny claim.", "holds": True, "evidence": "ratio 0.01 against 0.5",
        "figures": {}, "numbers": {"ratio": 0.01}, "kind": "test-regression", "run": "run", "quick": True,
        "device": "cpu", "seconds": 0.1, "status": "finished"}))
    damaged = root / "damaged-run"
    damaged.mkdir()
    (damaged / "run.json").write_text("{ not json")
    (damaged / "config.json").write_text("{}")
    return root, {"first": first, "second": second, "lesson": lesson / "run", "damaged": damaged}


@pytest.fixture
def runs(recorded, tmp_path):
    """A fresh copy of the recorded runs for a test that changes them."""
    import shutil

    root, folders = recorded
    copy = tmp_path / "runs"
    shutil.copytree(root, copy)
    return copy, {k: copy / v.relative_to(root) for k, v in folders.items()}


def _browser(qtbot, root, opened=None, answer=True) -> RunsBrowser:
    calls = opened if opened is not None else []
    browser = RunsBrowser(root, open_run=lambda folder: calls.append(folder) or answer)
    qtbot.addWidget(browser)
    browser.show()
    qtbot.waitUntil(lambda: not browser.busy(), timeout=10000)
    return browser


def _rows(browser: RunsBrowser) -> dict[str, dict[str, str]]:
    """What the table shows: name -> {column: text}, in the order shown."""
    rows = {}
    for r in range(browser.proxy.rowCount()):
        cells = {c: browser.proxy.index(r, i).data() for i, c in enumerate(COLUMNS)}
        rows[cells["Name"]] = cells
    return rows


def _select(browser: RunsBrowser, *names: str) -> None:
    folders = [browser.summary_at(r).folder for r in range(browser.proxy.rowCount())
               if browser.proxy.index(r, 0).data() in names]
    assert len(folders) == len(names), names
    browser.select_folders(folders)


def _done(qtbot, browser):
    qtbot.waitUntil(lambda: not browser.busy(), timeout=10000)


def test_every_run_is_listed_with_what_it_is(qtbot, recorded):
    root, folders = recorded
    browser = _browser(qtbot, root)
    rows = _rows(browser)
    first = folders["first"].name
    assert set(rows) == {first, "second-run", "tiny-lesson", "damaged-run"}
    for name in (first, "second-run", "tiny-lesson"):
        assert rows[name]["Kind"] == "test-regression"
        assert rows[name]["Device"] == "cpu"
        assert "finished" in rows[name]["Status"].lower()
        assert rows[name]["Final figures"].startswith("loss ")
        assert rows[name]["Date"][:4].isdigit() and len(rows[name]["Date"]) == 16  # YYYY-MM-DD HH:MM
    assert rows["tiny-lesson"]["Lesson verdict"] == "holds"
    assert rows[first]["Lesson verdict"] == ""
    assert rows["damaged-run"]["Status"]  # says what is wrong, in red
    damaged_row = list(rows).index("damaged-run")
    assert browser.proxy.index(damaged_row, COLUMNS.index("Status")).data(Qt.ItemDataRole.ForegroundRole) is not None
    for key, folder in folders.items():  # a lesson's run takes its whole lesson folder (figures, verdict.json)
        name, on_disk = ("tiny-lesson", folder.parent) if key == "lesson" else (folder.name, folder)
        assert rows[name]["Size"] == format_size(run_size(on_disk))
    # the longer run's final loss is the one its metrics end with
    assert float(rows["second-run"]["Final figures"].split()[1]) < float(rows[first]["Final figures"].split()[1])
    assert format_size(total_size(root)) in browser.total_label.text()
    assert "4 runs" in browser.total_label.text()


def test_an_interrupted_run_says_after_which_step(qtbot, runs):
    root, folders = runs
    _edit_run_json(folders["second"], status="running", pid=_dead_pid())
    browser = _browser(qtbot, root)
    status = _rows(browser)["second-run"]["Status"]
    assert "interrupted" in status.lower() and "30" in status


def test_open_calls_the_window_with_the_run_folder(qtbot, recorded):
    root, folders = recorded
    opened: list[str] = []
    browser = _browser(qtbot, root, opened)
    _select(browser, "second-run")
    qtbot.mouseClick(browser.open_button, Qt.MouseButton.LeftButton)
    assert opened == [str(folders["second"])]
    row = [browser.proxy.index(r, 0).data() for r in range(browser.proxy.rowCount())].index("tiny-lesson")
    rect = browser.table.visualRect(browser.proxy.index(row, 0))
    qtbot.mouseClick(browser.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(browser.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert opened[-1] == str(folders["lesson"])
    _select(browser, "second-run")
    browser.table.setFocus()
    qtbot.keyClick(browser.table, Qt.Key.Key_Return)
    assert opened[-1] == str(folders["second"]) and len(opened) == 3


def test_a_run_that_does_not_open_gets_a_line_in_the_dialog(qtbot, recorded):
    root, _ = recorded
    browser = _browser(qtbot, root, answer=False)
    _select(browser, "damaged-run")
    assert not browser.open_selected()
    text = browser.message.text()
    assert text.startswith("Could not open damaged-run") and "\n" not in text


def test_rename_through_the_dialog(qtbot, runs, monkeypatch):
    root, folders = runs
    browser = _browser(qtbot, root)
    _select(browser, "second-run")
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("adding-T40", True)))
    qtbot.mouseClick(browser.rename_button, Qt.MouseButton.LeftButton)
    _done(qtbot, browser)
    assert not folders["second"].exists() and (root / "adding-T40" / "run.json").is_file()
    assert "adding-T40" in _rows(browser) and "second-run" not in _rows(browser)
    assert [s.folder.name for s in browser.selected()] == ["adding-T40"]
    # a name that is taken: one line in the dialog, nothing renamed
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: ("damaged-run", True)))
    assert browser.rename_selected() is None
    assert browser.message.text().startswith("Could not rename adding-T40")
    assert (root / "adding-T40").is_dir()


def test_delete_several_after_confirming(qtbot, runs, monkeypatch):
    root, folders = runs
    browser = _browser(qtbot, root)
    _select(browser, "second-run", "damaged-run")
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda _p, _t, text, *a: asked.append(text) or answer[0]))
    qtbot.mouseClick(browser.delete_button, Qt.MouseButton.LeftButton)
    assert "these 2 runs" in asked[0] and "second-run" in asked[0] and "damaged-run" in asked[0]
    assert folders["second"].exists() and folders["damaged"].exists()  # No keeps them
    answer[0] = QMessageBox.StandardButton.Yes
    freed = run_size(folders["second"]) + run_size(folders["damaged"])
    qtbot.mouseClick(browser.delete_button, Qt.MouseButton.LeftButton)
    _done(qtbot, browser)
    assert not folders["second"].exists() and not folders["damaged"].exists()
    assert set(_rows(browser)) == {folders["first"].name, "tiny-lesson"}
    assert browser.message.text() == f"Deleted 2 runs, {format_size(freed)} freed."
    assert format_size(total_size(root)) in browser.total_label.text() and "2 runs" in browser.total_label.text()


def test_a_run_that_cannot_be_deleted_is_one_line(qtbot, runs, monkeypatch):
    root, folders = runs
    browser = _browser(qtbot, root)
    _select(browser, "second-run")
    import shutil

    shutil.rmtree(folders["second"])  # gone behind the browser's back
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a: QMessageBox.StandardButton.Yes))
    browser.delete_selected()
    _done(qtbot, browser)
    text = browser.message.text()
    assert text.startswith("Could not delete second-run") and "\n" not in text and "Traceback" not in text
    assert "second-run" not in _rows(browser)


def test_delete_older_than_says_how_many_and_how_much(qtbot, runs, monkeypatch):
    root, folders = runs
    old = (dt.datetime.now() - dt.timedelta(days=40)).isoformat(timespec="seconds")
    _edit_run_json(folders["second"], created=old)
    browser = _browser(qtbot, root)
    asked: list[str] = []
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (30, True)))
    monkeypatch.setattr(QMessageBox, "question",
                        staticmethod(lambda _p, _t, text, *a: asked.append(text) or QMessageBox.StandardButton.Yes))
    size = format_size(run_size(folders["second"]))
    qtbot.mouseClick(browser.older_button, Qt.MouseButton.LeftButton)
    _done(qtbot, browser)
    assert len(asked) == 1 and "1 run recorded more than 30 days ago" in asked[0] and size in asked[0]
    assert not folders["second"].exists() and folders["first"].exists()
    assert "second-run" not in _rows(browser)
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *a, **k: (30, True)))
    browser.delete_older()
    _done(qtbot, browser)
    assert browser.message.text() == "No run is older than 30 days." and len(asked) == 1


def test_filter_by_kind_and_text_and_sort_by_size(qtbot, recorded):
    root, _ = recorded
    browser = _browser(qtbot, root)
    kinds = [browser.kind_box.itemText(i) for i in range(browser.kind_box.count())]
    assert "test-regression" in kinds and kinds[0] == "All kinds" and "" not in kinds  # the damaged run has none
    browser.kind_box.setCurrentText("test-regression")
    assert "damaged-run" not in _rows(browser) and len(_rows(browser)) == 3
    assert "showing 3" in browser.total_label.text()
    browser.kind_box.setCurrentText("All kinds")
    qtbot.keyClicks(browser.filter_edit, "lesson")
    assert list(_rows(browser)) == ["tiny-lesson"]
    browser.filter_edit.clear()
    assert len(_rows(browser)) == 4
    browser.table.sortByColumn(COLUMNS.index("Size"), Qt.SortOrder.AscendingOrder)
    sizes = [browser.summary_at(r).size_bytes for r in range(browser.proxy.rowCount())]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    browser.table.sortByColumn(COLUMNS.index("Date"), Qt.SortOrder.DescendingOrder)
    dates = [browser.summary_at(r).created for r in range(browser.proxy.rowCount())]
    assert dates == sorted(dates, reverse=True)


def test_the_file_menu_opens_the_browser_on_the_runs_folder(app_window, qtbot):
    from explorer.paths import runs_dir

    _record(new_run_folder(runs_dir(), "test-regression"))
    action = install_runs_browser(app_window)
    texts = [a.text() for a in app_window.menus["file"].actions()]
    assert texts.index(action.text()) == texts.index("Open &run…") + 1
    action.trigger()
    browser = app_window.runs_browser
    qtbot.waitUntil(lambda: not browser.busy(), timeout=10000)
    assert browser.isVisible() and browser.root == runs_dir()
    assert [s.folder for s in list_runs(runs_dir())] == [browser.summary_at(0).folder]


def test_an_empty_runs_folder_says_so(qtbot, tmp_path):
    browser = _browser(qtbot, tmp_path)
    assert browser.proxy.rowCount() == 0 and "0 B (0 runs)" in browser.total_label.text()
    assert browser.message.text().startswith("No recorded runs yet")
    assert not browser.delete_button.isEnabled() and not browser.older_button.isEnabled()
    _record(tmp_path / "new-run")
    browser.refresh()
    _done(qtbot, browser)
    assert list(_rows(browser)) == ["new-run"] and browser.message.text() == ""
