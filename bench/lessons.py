"""Run every lesson at its default size through the command line (`main.py lesson NAME`, each in its own process,
as a user would), and print a table: lesson, verdict, the deciding figure, seconds. Goals: each lesson at most
120 s, all of them at most 25 minutes on a 2-core CPU, every verdict "holds".

Usage: python bench/lessons.py [--out DIR] [--only NAME ...] [--quick] [--markdown]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", help="where the lesson folders go (default: a temporary folder)")
    ap.add_argument("--only", nargs="*", help="these lessons only")
    ap.add_argument("--quick", action="store_true", help="the seconds-long sizes (for a smoke test)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the README)")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    from explorer.lessons import all_lessons

    out = args.out or tempfile.mkdtemp(prefix="lessons-")
    names = args.only or [lesson.name for lesson in all_lessons()]
    rows = []
    t_all = time.perf_counter()
    for name in names:
        folder = os.path.join(out, name)
        t0 = time.perf_counter()
        cmd = [sys.executable, "main.py", "lesson", name, "--out", folder] + (["--quick"] if args.quick else [])
        done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=1800)
        seconds = time.perf_counter() - t0
        try:
            with open(os.path.join(folder, "verdict.json"), encoding="utf-8") as fh:
                saved = json.load(fh)
        except (OSError, ValueError):
            saved = {"holds": False, "evidence": (done.stderr.strip().splitlines() or ["no verdict"])[-1],
                     "seconds": seconds}
        rows.append({"lesson": name, "holds": bool(saved["holds"]), "evidence": saved["evidence"],
                     "run_s": float(saved.get("seconds", seconds)), "wall_s": seconds})
        print(f"{name:<24} {'holds' if saved['holds'] else 'DOES NOT HOLD':<14} run {rows[-1]['run_s']:6.1f} s, "
              f"with start-up and figures {seconds:6.1f} s", flush=True)
    total = time.perf_counter() - t_all
    print()
    if args.markdown:
        print("| lesson | verdict | the deciding figures | time |")
        print("|---|---|---|---|")
        for r in rows:
            evidence = r["evidence"].replace("|", "\\|")  # |V| would end a Markdown cell
            print(f"| `{r['lesson']}` | {'holds' if r['holds'] else 'does not hold'} | {evidence} | "
                  f"{r['wall_s']:.0f} s |")
    else:
        for r in rows:
            print(f"{r['lesson']}: {'holds' if r['holds'] else 'does not hold'}: {r['evidence']}")
    print(f"\n{sum(r['holds'] for r in rows)} of {len(rows)} hold; longest {max(r['wall_s'] for r in rows):.0f} s; "
          f"all {total / 60:.1f} min (goals: each <= 120 s, all <= 25 min)")
    print(json.dumps({"bench": "lessons", "quick": args.quick, "lessons": len(rows),
                      "holding": sum(r["holds"] for r in rows), "longest_s": round(max(r["wall_s"] for r in rows), 1),
                      "total_min": round(total / 60, 2),
                      "seconds": {r["lesson"]: round(r["wall_s"], 1) for r in rows}}))


if __name__ == "__main__":
    main()
