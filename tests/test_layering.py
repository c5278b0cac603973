"""The core (models, data, analysis, training) imports no Qt; the UI imports no optimizer."""
from __future__ import annotations

import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORE = ["explorer.data", "explorer.models.word2vec", "explorer.models.causal_conv", "explorer.analysis.projection",
        "explorer.analysis.cooccurrence", "explorer.analysis.neighbours", "explorer.analysis.evaluation",
        "explorer.analysis.receptive_field", "explorer.analysis.conv_probe", "explorer.export.vectors",
        "explorer.training.runner", "explorer.models.transformer", "explorer.models.transfer",
        "explorer.models.recurrent", "explorer.training.jobs.pretrained", "explorer.data.finetune_tasks",
        "explorer.analysis.generation_cost", "explorer.analysis.attention_cost",
        "explorer.training.record", "explorer.training.jobs", "explorer.device", "explorer.cli"]


def test_the_core_loads_no_qt_in_a_fresh_interpreter():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in CORE)
        + "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'superqt', 'qtpy', 'shiboken6')]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_ui_never_touches_an_optimizer_or_a_gradient():
    pattern = re.compile(r"torch\.optim|\.backward\(|\.grad\b|import torch")
    offenders = [
        f"{path.relative_to(ROOT)}:{i}"
        for path in (ROOT / "explorer" / "ui").rglob("*.py")
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []
