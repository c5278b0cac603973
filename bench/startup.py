"""Time from launch to the main window on screen (goal: under 1.5 s). Runs main.py offscreen several times.

Usage: python bench/startup.py [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import textwrap

PROBE = textwrap.dedent(
    """
    import os, runpy, sys, time
    t0 = float(os.environ["SME_T0"])
    from PySide6 import QtCore, QtWidgets
    def check():
        app = QtWidgets.QApplication.instance()
        wins = [w for w in app.topLevelWidgets() if isinstance(w, QtWidgets.QMainWindow) and w.isVisible()]
        if wins:
            app.processEvents()
            print("SHOWN", time.time() - t0, "torch" in sys.modules, flush=True)
            wins[0].close()
            app.exit(0)
        else:
            QtCore.QTimer.singleShot(5, check)
    orig = QtWidgets.QApplication.__init__
    def init(self, *a, **k):
        orig(self, *a, **k)
        QtCore.QTimer.singleShot(0, check)
    QtWidgets.QApplication.__init__ = init
    sys.argv = ["main.py"]
    sys.path.insert(0, os.getcwd())
    runpy.run_path("main.py", run_name="__main__")
    """
)


def one_run(root: str) -> tuple[float, bool]:
    import tempfile
    import time

    # a first start: fresh settings, so the user's remembered tab does not change what start-up builds
    settings = os.path.join(tempfile.mkdtemp(prefix="smx-startup-"), "settings.ini")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", SME_T0=repr(time.time()), SME_SETTINGS=settings)
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=root, env=env, capture_output=True, text=True,
                         timeout=120)
    for line in out.stdout.splitlines():
        if line.startswith("SHOWN"):
            _, secs, torch_loaded = line.split()
            return float(secs), torch_loaded == "True"
    raise RuntimeError(f"the window never showed:\n{out.stdout}\n{out.stderr}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    times, torch_flags = [], []
    for i in range(args.runs):
        secs, torch_loaded = one_run(root)
        times.append(secs)
        torch_flags.append(torch_loaded)
        print(f"run {i + 1}: window shown after {secs:.3f} s (torch imported before show: {torch_loaded})")
    med = statistics.median(times)
    print(f"\nlaunch -> window shown: median {med:.3f} s, best {min(times):.3f} s, worst {max(times):.3f} s "
          f"(goal < 1.5 s)")
    print(json.dumps({"bench": "startup", "median_s": round(med, 3), "best_s": round(min(times), 3),
                      "worst_s": round(max(times), 3), "goal_s": 1.5,
                      "torch_before_show": any(torch_flags)}))


if __name__ == "__main__":
    main()
