"""Peak memory and time of reading a large corpus file, on the command line and in the app (goal: under 600 MB).

Makes two files in a temporary folder (never in the repository): text-then-zeros (256 KiB of Austen's prose, then
NUL bytes) and real text (Austen's novels repeated), each --size-mb large. Reads each in a fresh process under
`/usr/bin/time -v`: through explorer.cli_corpus.load_corpus_for_cli (the command line), and through the main window
offscreen, MainWindow.open_corpus(path, show_dialogs=False), where a 5 ms timer also measures the UI thread's
longest stall during the read. With --before REF, the same files (cut to --before-mb) are read by that commit's
load_corpus_file (+ n_words, as its app counted them) and its main window, exported with `git archive` into the
temporary folder.
The files are deleted at the end unless --keep.

Usage: python bench/corpus_memory.py [--size-mb 1024] [--no-app] [--before REF --before-mb 256] [--keep]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AUSTEN = ROOT / "resources" / "corpora" / "austen-novels.txt.gz"
TEXT_BEFORE_ZEROS = 256 * 1024

CLI_PROBE = textwrap.dedent(
    """
    import json, sys, time
    from explorer.cli_corpus import load_corpus_for_cli
    from explorer.data.errors import CorpusError
    t = time.perf_counter()
    try:
        corpus = load_corpus_for_cli(sys.argv[1], None)
        out = {"words": corpus.n_words, "result": "ok"}
    except CorpusError as exc:
        out = {"words": 0, "result": "error: " + str(exc)}
    out["read_s"] = time.perf_counter() - t
    print("RESULT " + json.dumps(out), flush=True)
    """
)

APP_PROBE = textwrap.dedent(
    """
    import json, sys, time
    from PySide6.QtCore import QTimer
    from explorer.app import create_window
    app, window = create_window("cpu", warm=False)
    window.show()
    out = {"words": 0, "result": "", "max_gap_ms": 0.0}
    ticks = {"last": None}
    def tick():
        now = time.perf_counter()
        if ticks["last"] is not None:
            out["max_gap_ms"] = max(out["max_gap_ms"], (now - ticks["last"]) * 1000)
        ticks["last"] = now
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    t = 0.0
    def added(spec, name):
        out["result"] = "ok"
    def failed(text):
        out["result"] = "error: " + (text or "cancelled")
    window.state.corpusAdded.connect(added)
    def start():
        global t
        t = time.perf_counter()
        timer.start()
        load = window.open_corpus(sys.argv[1], show_dialogs=False)
        load.failed.connect(failed)
        def finished():
            def end():
                timer.stop()
                corpus = window.state.corpora.get(sys.argv[1]) if hasattr(window.state, "corpora") else None
                if corpus is not None:
                    out["words"] = corpus.n_words
                out["read_s"] = time.perf_counter() - t
                app.quit()
            QTimer.singleShot(100, end)  # let done() run (the status bar counts the words) and the UI settle
        load.worker.finished.connect(finished)
    QTimer.singleShot(1000, start)  # once the window is up and drawn: the stalls measured are the read's
    app.exec()
    print("RESULT " + json.dumps(out), flush=True)
    """
)

BEFORE_PROBE = textwrap.dedent(
    """
    import json, sys, time
    from explorer.data.corpus import load_corpus_file
    from explorer.data.errors import CorpusError
    t = time.perf_counter()
    try:
        corpus = load_corpus_file(sys.argv[1])
        out = {"words": corpus.n_words, "result": "ok"}
    except CorpusError as exc:
        out = {"words": 0, "result": "error: " + str(exc)}
    out["read_s"] = time.perf_counter() - t
    print("RESULT " + json.dumps(out), flush=True)
    """
)


def make_files(folder: Path, size: int) -> dict[str, Path]:
    """The two test files, `size` bytes each."""
    prose = gzip.decompress(AUSTEN.read_bytes())
    zeros, real = folder / "text-then-zeros.txt", folder / "real-text.txt"
    with open(zeros, "wb") as fh:
        fh.write(prose[:TEXT_BEFORE_ZEROS])
        block = bytes(1 << 20)
        left = size - TEXT_BEFORE_ZEROS
        while left > 0:
            fh.write(block[: min(left, len(block))])
            left -= len(block)
    with open(real, "wb") as fh:
        left = size
        while left > 0:
            fh.write(prose[: min(left, len(prose))])
            left -= len(prose)
    return {"text-then-zeros": zeros, "real text": real}


def measure(probe: str, path: Path, cwd: Path, env: dict[str, str]) -> dict:
    """Run `probe` on `path` in a fresh Python under /usr/bin/time -v: its result, peak RSS (MB) and wall time."""
    cmd = ["/usr/bin/time", "-v", sys.executable, "-c", probe, str(path)]
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    found = re.search(r"^RESULT (.*)$", proc.stdout, re.M)
    out = json.loads(found.group(1)) if found else {"words": 0, "result": f"crashed (exit {proc.returncode})"}
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", proc.stderr)
    out["peak_mb"] = round(int(rss.group(1)) / 1024, 1) if rss else float("nan")
    parts = [float(p) for p in wall.group(1).split(":")] if wall else [float("nan")]
    out["seconds"] = round(sum(p * 60 ** i for i, p in enumerate(reversed(parts))), 2)
    return out


def cut_copy(path: Path, size: int, folder: Path) -> Path:
    """The first `size` bytes of `path`, as a file in `folder`."""
    target = folder / f"{path.stem}-{size >> 20}MB{path.suffix}"
    with open(path, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(_Limited(src, size), dst, 1 << 20)
    return target


class _Limited:
    def __init__(self, fh, size: int) -> None:
        self.fh, self.left = fh, size

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(self.left if n < 0 else min(n, self.left))
        self.left -= len(data)
        return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="size of each test file in MiB (default 1024)")
    parser.add_argument("--no-app", action="store_true", help="measure the command line only")
    parser.add_argument("--before", metavar="REF", help="also read with the load_corpus_file of this git commit")
    parser.add_argument("--before-mb", type=int, default=256, help="file size (MiB) for --before (default 256)")
    parser.add_argument("--keep", action="store_true", help="keep the test files")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="smx-corpus-memory-"))
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT),
           "XDG_CONFIG_HOME": str(folder / "config"), "SME_CACHE_DIR": str(folder / "cache")}
    rows = []
    try:
        files = make_files(folder, args.size_mb << 20)
        for case, path in files.items():
            mb = path.stat().st_size / 2**20
            rows.append({"case": case, "path": "command line", "file_mib": mb, **measure(CLI_PROBE, path, ROOT, env)})
            if not args.no_app:
                rows.append({"case": case, "path": "app", "file_mib": mb, **measure(APP_PROBE, path, ROOT, env)})
        if args.before:
            old = folder / "before"
            old.mkdir()
            archive = subprocess.run(["git", "archive", args.before, "explorer", "resources"], cwd=ROOT,
                                     capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            old_env = {**env, "PYTHONPATH": str(old)}
            for case, path in files.items():
                small = cut_copy(path, args.before_mb << 20, folder)
                mb = small.stat().st_size / 2**20
                rows.append({"case": case, "path": f"before {args.before}: cli", "file_mib": mb,
                             **measure(BEFORE_PROBE, small, old, old_env)})
                if not args.no_app:
                    rows.append({"case": case, "path": f"before {args.before}: app", "file_mib": mb,
                                 **measure(APP_PROBE, small, old, old_env)})
                small.unlink()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    print(f"{'case':<16} {'path':<28} {'file MiB':>8} {'peak MB':>8} {'s':>7} {'words':>12} {'UI gap ms':>9}  result")
    for r in rows:
        gap = f"{r['max_gap_ms']:.0f}" if "max_gap_ms" in r else "-"
        print(f"{r['case']:<16} {r['path']:<28} {r['file_mib']:>8.0f} {r['peak_mb']:>8.0f} {r['seconds']:>7.1f} "
              f"{r['words']:>12,} {gap:>9}  {r['result'][:70]}")
    if args.keep:
        print(f"files kept in {folder}")
    now = [r for r in rows if not r["path"].startswith("before")]
    print(json.dumps({
        "bench": "corpus_memory", "size_mib": args.size_mb,
        "peak_mb": {f"{r['case']} / {r['path']}": r["peak_mb"] for r in rows},
        "seconds": {f"{r['case']} / {r['path']}": r["seconds"] for r in rows},
        "max_peak_mb": max((r["peak_mb"] for r in now), default=None),
        "max_ui_gap_ms": max((r.get("max_gap_ms", 0.0) for r in now), default=None),
        "under_600_mb": all(r["peak_mb"] < 600 for r in now),
    }))


if __name__ == "__main__":
    main()
