"""word2vec's torch engine on a GPU: words/s and quality at several batch sizes, against gensim's best CPU figure.

Skip-gram with negative sampling, the settings of bench/word2vec_speed.py (dim 100, window 5, 5 negatives, min
count 5, sample 1e-3, lr 0.025, 1 epoch of the first 2 M words of the bench corpus). Each batch size trains once
to the end with Word2VecJob on the device, timed from the first step to a synchronised last one (set-up
excluded, as in word2vec_speed.py); words/s counts every corpus word, as gensim's do. The vectors of each run are
scored on WordSim-353 (Spearman) and questions-words (3CosAdd). Then the best batch trains once more through the
runner that the app uses (snapshots with a PCA map at most every 0.1 s, capped at 10% of the time), which is the
rate the app shows. The goal (issue 16) is 10x gensim's best on this project's 2-core CPU machine: gensim 4.4.0,
2 workers, 411,784 words/s (python bench/word2vec_speed.py --repeats 2, README), so 4 M words/s.

A GPU machine has no gensim and no bench corpus: prepare them here, once, and carry the folder (about 12 MB):
    echo /.gpu_bench/ >> .git/info/exclude
    python bench/word2vec_gpu.py --prepare .gpu_bench
then, on the GPU machine (device `run`, carry [".gpu_bench"]):
    PYTHONUNBUFFERED=1 python3 bench/word2vec_gpu.py --data .gpu_bench 2>&1 | tee $OUT/word2vec_gpu.log

Without a GPU it runs on the CPU (to check the script; the figures then mean nothing for the goal).
Prints a table, and a JSON object of the figures as its last line.

Usage: python bench/word2vec_gpu.py [--data DIR] [--batch-sizes 512,4096,16384,65536] [--epochs 1]
           [--device cuda] [--compiled-threads N] [--prepare DIR]
           (--compiled-threads N: also the compiled CPU engine with N threads, on the same machine)
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch
from word2vec_speed import BIG_CORPUS, corpus_of, ours_vectors, read_words, train_ours, word_scores

from explorer.training.jobs.word2vec_job import Word2VecConfig, Word2VecJob
from explorer.training.runner import run_to_end

GENSIM_BEST_CPU = 411_784  # gensim 4.4.0, 2 workers, 2 M words of the bench corpus (README, word2vec_speed.py)
GOAL = 10 * GENSIM_BEST_CPU
WORDS_FILE, EVAL_FILES = "words.txt", ("wordsim353.tsv", "questions-words.txt")


def prepare(folder: Path, max_words: int) -> None:
    """Write the bench corpus's first max_words words and gensim's two evaluation files into folder."""
    import gensim

    folder.mkdir(parents=True, exist_ok=True)
    words, source = read_words(BIG_CORPUS if BIG_CORPUS.exists() else None, max_words)
    with open(folder / WORDS_FILE, "w", encoding="utf-8") as fh:
        for i in range(0, len(words), 1000):
            fh.write(" ".join(words[i:i + 1000]) + "\n")
    data = Path(gensim.__file__).parent / "test" / "test_data"
    for name in EVAL_FILES:
        shutil.copy(data / name, folder / name)
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"{folder}: {len(words):,} words of {source}, and {', '.join(EVAL_FILES)}; {size / 1e6:.1f} MB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="", help="a folder written by --prepare (default: the bench corpus and "
                    "gensim's test data, where they are)")
    ap.add_argument("--max-words", type=int, default=2_000_000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-sizes", default="512,4096,16384,65536")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--compiled-threads", type=int, default=0)
    ap.add_argument("--prepare", default="", help="write the data folder for a GPU machine and stop")
    args = ap.parse_args()
    if args.prepare:
        prepare(Path(args.prepare), args.max_words)
        return
    data = Path(args.data) if args.data else None
    corpus_path = data / WORDS_FILE if data else (BIG_CORPUS if BIG_CORPUS.exists() else None)
    words, source = read_words(corpus_path, args.max_words)
    corpus = corpus_of(words, "bench corpus")
    settings = dict(method="skip-gram", objective="negative sampling", dim=100, window=5, negatives=5, min_count=5,
                    subsample=1e-3, lr=0.025, epochs=args.epochs, max_vocab=1_000_000, seed=0, engine="torch")
    device = args.device
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else f"CPU ({os.cpu_count()} cores)"
    print(f"corpus: {source}; {args.epochs} epoch(s); dim 100, window 5, 5 negatives, min count 5, sample 1e-3; "
          f"device {device}: {name}; torch {torch.__version__}", flush=True)
    n_words = len(words) * args.epochs
    train_ours(corpus_of(words[:200_000], "warm-up"), dict(settings, batch_size=4096), device, 1)  # CUDA start

    rows = []
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        seconds, job = train_ours(corpus, dict(settings, batch_size=batch), device, 1)
        scores = word_scores(*ours_vectors(job)[:2], data)
        rows.append(dict(engine=f"torch/{device}", batch=batch, steps=job.total_steps, seconds=round(seconds, 2),
                         words_per_s=round(n_words / seconds), loss=round(job._last_loss, 4),
                         wordsim353=round(scores["wordsim353"], 3), analogy=round(scores["analogy"], 3)))
        print(f"  batch {batch:>7,}: {job.total_steps:>6,} steps  {seconds:7.2f} s  {n_words / seconds:>12,.0f} "
              f"words/s  WordSim-353 {scores['wordsim353']:.3f}  questions-words {scores['analogy']:.3f}", flush=True)
    if args.compiled_threads:
        torch.set_num_threads(args.compiled_threads)
        seconds, job = train_ours(corpus, dict(settings, batch_size=512, engine="compiled"), "cpu",
                                  args.compiled_threads)
        scores = word_scores(*ours_vectors(job)[:2], data)
        rows.append(dict(engine=f"compiled/cpu x{args.compiled_threads}", batch=0, steps=job.total_steps,
                         seconds=round(seconds, 2), words_per_s=round(n_words / seconds),
                         loss=round(job._last_loss, 4), wordsim353=round(scores["wordsim353"], 3),
                         analogy=round(scores["analogy"], 3)))
        print(f"  compiled, {args.compiled_threads} threads: {seconds:7.2f} s  {n_words / seconds:>12,.0f} words/s  "
              f"WordSim-353 {scores['wordsim353']:.3f}", flush=True)

    best = max((r for r in rows if r["engine"].startswith("torch")), key=lambda r: r["words_per_s"])
    job = Word2VecJob(Word2VecConfig(**dict(settings, batch_size=best["batch"])), device)
    t0 = time.perf_counter()
    ticks, final = run_to_end(job, corpora={job.config.corpus: corpus}, snapshot_interval=0.1)
    app_seconds = time.perf_counter() - t0  # set-up included, as a user waits for it
    shown = [t.throughput for t in ticks if t.throughput > 0]
    print(f"  through the app's runner at batch {best['batch']:,}: {final.status}, {len(ticks)} snapshots, "
          f"{n_words / app_seconds:,.0f} words/s with set-up, the app showed ~{shown[-1] if shown else 0:,.0f}")

    print()
    print(f"{'engine':22s} {'batch':>7s} {'words/s':>12s} {'vs gensim CPU':>14s} {'WordSim-353':>12s} {'analogy':>8s}")
    for r in rows:
        print(f"{r['engine']:22s} {r['batch']:>7,} {r['words_per_s']:>12,} {r['words_per_s'] / GENSIM_BEST_CPU:>14.2f} "
              f"{r['wordsim353']:>12.3f} {r['analogy']:>8.3f}")
    print(f"goal: {GOAL:,} words/s (10x gensim's best CPU figure, {GENSIM_BEST_CPU:,}); best here "
          f"{best['words_per_s']:,} at batch {best['batch']:,}: {'met' if best['words_per_s'] >= GOAL else 'not met'}")
    print(json.dumps({
        "bench": "word2vec_gpu", "device": name, "torch": torch.__version__, "corpus_words": len(words),
        "epochs": args.epochs, "runs": rows, "best_words_per_s": best["words_per_s"], "best_batch": best["batch"],
        "ratio_vs_gensim_cpu": round(best["words_per_s"] / GENSIM_BEST_CPU, 2), "goal_words_per_s": GOAL,
        "app_words_per_s": round(n_words / app_seconds), "app_status": final.status,
    }))


if __name__ == "__main__":
    main()
