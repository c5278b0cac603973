"""Test set-up: offscreen Qt, the Qt binding chosen before anything imports pyqtgraph, no thread left behind."""
from __future__ import annotations

import os
import threading

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    """Keep caches, recorded runs and remembered settings of the tests out of the user's home."""
    names = ("SME_RUNS_DIR", "SME_SETTINGS", "SME_CACHE_DIR")
    users = {name: os.environ.get(name) for name in names}
    monkeypatch.setenv("SME_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
    monkeypatch.setenv("SME_SETTINGS", str(tmp_path_factory.mktemp("settings") / "settings.ini"))
    cache = os.environ.get("SME_TEST_CACHE") or str(tmp_path_factory.getbasetemp() / "cache")
    monkeypatch.setenv("SME_CACHE_DIR", cache)
    yield
    # monkeypatch.undo() in a test also undoes these: what the test did afterwards went into the user's folders
    restored = [name for name in names if os.environ.get(name) == users[name] and users[name] != cache]
    assert not restored, f"{restored} point at the user's folders again: use monkeypatch.context(), not undo()"


@pytest.fixture(autouse=True)
def _no_thread_left_running(request):
    """Fail a test that leaves a Python thread or a Qt thread-pool worker running."""
    before = {t.ident for t in threading.enumerate()}
    yield
    leftover = [t for t in threading.enumerate() if t.ident not in before and t.is_alive() and not t.daemon]
    assert not leftover, f"threads left running: {leftover}"
    try:
        from PySide6.QtCore import QThreadPool
    except ImportError:  # pragma: no cover
        return
    if "PySide6.QtWidgets" in __import__("sys").modules:
        pool = QThreadPool.globalInstance()
        assert pool.waitForDone(5000), "a Qt thread-pool worker is still running"
        assert pool.activeThreadCount() == 0


@pytest.fixture(scope="module")
def ui_fonts(qapp):
    """The app's bundled fonts, registered as the app does at start-up."""
    from explorer.ui import theme

    return theme.register_fonts()


@pytest.fixture
def light_theme_afterwards(qapp):
    """Put the light theme back after a test that switches themes."""
    yield
    from explorer.ui import theme

    theme.apply_theme(qapp, "light")


@pytest.fixture
def app_window(qtbot):
    """The main window as a user first sees it (CPU, no background warm-up); closed and joined afterwards."""
    from PySide6.QtCore import QThreadPool

    from explorer.app import create_window

    _, win = create_window("cpu", warm=False)
    qtbot.addWidget(win)
    win.state.set_device("cpu", "CPU (test)")
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()
    assert QThreadPool.globalInstance().waitForDone(10000)


@pytest.fixture(scope="session")
def recorded_word2vec_run(tmp_path_factory):
    """A tiny word2vec run recorded through the command line (read-only: copy it before changing it)."""
    from explorer.cli import main

    folder = tmp_path_factory.mktemp("recorded") / "w2v"
    assert main(["--device", "cpu", "train", "word2vec", "--set", "dim=8", "--set", "epochs=1", "--set",
                 "batch_size=512", "--record", str(folder)]) == 0
    return folder
