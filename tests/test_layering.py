"""The core (models, data, analysis, training) imports no Qt; states and figures import neither Qt nor torch; the
UI imports no optimizer. pyproject.toml's import-linter contracts say the same of the import graph; these tests
check what a fresh interpreter really loads."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
QT = ("PySide6", "shiboken6", "pyqtgraph", "superqt", "qtpy")
CORE = ("explorer.models", "explorer.data", "explorer.analysis", "explorer.training", "explorer.lessons")
CORE_EXTRAS = ("explorer.export.vectors", "explorer.export.table", "explorer.device", "explorer.cli",
               "explorer.cli_lessons")
STATES = ("explorer.state", "explorer.figures")


def loaded_after_importing(packages: tuple[str, ...], extras: tuple[str, ...] = ()) -> set[str]:
    """The top-level names of every module loaded by a fresh interpreter that imports each module of `packages`
    (walking their sub-packages) and the modules `extras`."""
    code = (
        "import importlib, pkgutil, sys\n"
        f"for name in {packages!r}:\n"
        "    package = importlib.import_module(name)\n"
        "    for info in pkgutil.walk_packages(package.__path__, name + '.'):\n"
        "        importlib.import_module(info.name)\n"
        f"for name in {extras!r}:\n"
        "    importlib.import_module(name)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


def test_the_core_and_every_job_load_no_qt_in_a_fresh_interpreter():
    loaded = loaded_after_importing(CORE, CORE_EXTRAS)
    assert "explorer" in loaded and "torch" in loaded  # the walk really imported the models
    assert loaded.isdisjoint(QT), sorted(loaded & set(QT))


def test_every_state_and_figure_loads_neither_qt_nor_torch():
    present = tuple(p for p in STATES if (ROOT / p.replace(".", "/") / "__init__.py").is_file())
    loaded = loaded_after_importing(present)
    assert loaded.isdisjoint({*QT, "torch"}), sorted(loaded & {*QT, "torch"})


def test_the_ui_never_touches_an_optimizer_or_a_gradient():
    pattern = re.compile(r"torch\.optim|\.backward\(|\.grad\b|import torch")
    offenders = [
        f"{path.relative_to(ROOT)}:{i}"
        for path in (ROOT / "explorer" / "ui").rglob("*.py")
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
