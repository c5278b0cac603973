"""`main.py export`: a recorded run's figures written without a window, in every format, and as an animation."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from explorer.training.jobs.conv_job import ConvConfig, ConvJob
from explorer.training.record import RunRecorder
from explorer.training.runner import run_job

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def conv_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "run"
    cfg = ConvConfig(layers=2, max_distance=5, seq_len=16, alphabet=4, steps=10, batch_size=8, channels=8)
    for _ in run_job(ConvJob(cfg, "cpu"), recorder=RunRecorder(folder, max_snapshots=4)):
        pass
    return folder


def _main(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300, check=False)


def test_export_all_in_every_format_with_no_display(conv_run, tmp_path):
    listing = _main("export", str(conv_run), "--list")
    assert listing.returncode == 0, listing.stderr
    names = [line.split()[0] for line in listing.stdout.splitlines() if not line.startswith("snapshots")]
    assert "erf" in names and "accuracy" in names
    for fmt in ("png", "svg", "pdf", "csv"):
        done = _main("export", str(conv_run), "--all", "--format", fmt, "--out", str(tmp_path / fmt))
        assert done.returncode == 0, done.stderr
        files = sorted((tmp_path / fmt).glob(f"*.{fmt}"))
        assert [f.stem for f in files] == sorted(names)
    png = Image.open(tmp_path / "png" / "accuracy.png")
    assert png.size[0] == 2 * 820  # --scale defaults to 2
    assert (tmp_path / "svg" / "erf.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert (tmp_path / "pdf" / "erf.pdf").read_bytes().startswith(b"%PDF")
    with open(tmp_path / "csv" / "accuracy.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["element", "name", "distance d", "accuracy"]
    assert any(row[0] == "reference line" for row in rows)


def test_a_gif_has_one_frame_per_snapshot_and_bad_requests_are_one_line(conv_run, tmp_path):
    done = _main("export", str(conv_run), "--figure", "erf", "--format", "gif", "--out", str(tmp_path / "erf.gif"))
    assert done.returncode == 0, done.stderr
    snapshots = len(list((conv_run / "snapshots").glob("*.npz")))
    assert Image.open(tmp_path / "erf.gif").n_frames == snapshots
    bad = _main("export", str(conv_run), "--figure", "nope", "--out", str(tmp_path))
    assert bad.returncode == 2 and bad.stderr.startswith("error:") and "erf" in bad.stderr
    missing = _main("export", str(tmp_path / "no-run"))
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    step = _main("export", str(conv_run), "--step", "999999", "--out", str(tmp_path))
    assert step.returncode == 2 and "snapshots at steps" in step.stderr
