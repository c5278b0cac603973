"""Skip-gram with negative sampling: our Word2VecJob's words/s against gensim's Word2Vec at the same settings,
and the quality of both on the same footing.

Corpus: a text file read with the app's tokenizer, of which the first --max-words words are used (default: the
11.5 M-word corpus that ../shared/tools/build_bench_corpus.py writes to ~/.cache/smx-anchors/corpus/big.txt;
without it, Jane Austen's novels repeated to --max-words). gensim gets the same words in 10,000-word
"sentences" (its longest), so that windows cross line ends in both. Both time training only (vocabulary and
set-up excluded); words/s counts every corpus word, as gensim's "raw words" do. Our job runs with both engines:
"compiled" (numba kernels, one Hogwild thread per torch thread: 1 and 2) and "torch" (batched steps on 1 and 2 torch
threads); gensim with 1 and 2 workers; rounds alternating; with --repeats the best of each is kept, since on a
shared 2-core machine other work only ever slows a run down. On a CUDA device our job also runs there.

Quality, on the same footing: the vectors of each engine's 1-thread / 1-worker run scored on WordSim-353 (Spearman) and
on questions-words.txt (3CosAdd accuracy, questions within the vocabulary), both from gensim's test data; and
both trained with the app's default settings on the synthetic corpus, scored by class separation, neighbour
purity and analogy accuracy (explorer.analysis).

Needs gensim (pip install -e .[bench]). Prints a table, and a JSON object of the figures as its last line.

Usage: python bench/word2vec_speed.py [--corpus PATH] [--max-words 2000000] [--epochs 1] [--dim 100]
           [--window 5] [--negatives 5] [--min-count 5] [--sample 1e-3] [--batch-size 512] [--repeats 1]
           [--engines compiled,torch] [--baseline OLD_word2vec_job.py]
           (--baseline: an older copy of the job, timed at its own default batch size)
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
import torch

from explorer.analysis.evaluation import (
    analogy_accuracy,
    read_analogy_file,
    read_similarity_file,
    similarity_spearman,
)
from explorer.analysis.neighbours import class_separation, neighbour_purity
from explorer.data.builtin import load_builtin
from explorer.data.corpus import Corpus
from explorer.data.tokenize import word_tokens
from explorer.training.job import JobContext
from explorer.training.jobs.word2vec_job import Word2VecConfig, Word2VecJob

BIG_CORPUS = Path.home() / ".cache" / "smx-anchors" / "corpus" / "big.txt"
GENSIM_SENTENCE = 10_000


def read_words(path: Path | None, max_words: int) -> tuple[list[str], str]:
    """The first max_words words of a text file, or Austen repeated; and a line saying which."""
    if path is not None:
        words: list[str] = []
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                words.extend(word_tokens(line))
                if len(words) >= max_words:
                    break
        return words[:max_words], f"{path} (first {min(len(words), max_words):,} words)"
    austen = load_builtin("austen").words
    reps = -(-max_words // len(austen))
    return (austen * reps)[:max_words], f"Austen's novels repeated {reps}x, cut at {max_words:,} words"


def corpus_of(words: list[str], name: str) -> Corpus:
    """A Corpus whose words are given (the tokenizing is done once, outside the timings)."""
    corpus = Corpus(name=name, text="", source="bench")
    corpus.__dict__["words"] = words  # fills the cached property
    return corpus


def baseline_classes(baseline: str) -> tuple[type, type]:
    """The job and config classes of an older copy of word2vec_job.py (for before/after figures)."""
    spec = importlib.util.spec_from_file_location("explorer.training.jobs._baseline_word2vec_job", baseline)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Word2VecJob, module.Word2VecConfig


def train_ours(corpus: Corpus, settings: dict, device: str, threads: int, cls=Word2VecJob, cfg_cls=Word2VecConfig):
    """Train our job to the end; (seconds of training, the job)."""
    torch.set_num_threads(threads)
    names = set(cfg_cls.__dataclass_fields__)
    job = cls(cfg_cls(**{k: v for k, v in settings.items() if k in names}), device)
    job.setup(JobContext(corpora={job.config.corpus: corpus}))
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for step in range(job.total_steps):
        job.train_step(step)
    sync()
    return time.perf_counter() - t0, job


def train_gensim(words: list[str], settings: dict, workers: int):
    """Train gensim's skip-gram with the same settings; (seconds of training, the model)."""
    from gensim.models import Word2Vec as GensimWord2Vec

    sentences = [words[i:i + GENSIM_SENTENCE] for i in range(0, len(words), GENSIM_SENTENCE)]
    model = GensimWord2Vec(vector_size=settings["dim"], window=settings["window"], negative=settings["negatives"],
                           min_count=settings["min_count"], sample=settings["subsample"], sg=1, hs=0,
                           alpha=settings["lr"], min_alpha=settings["lr"] * 1e-4, workers=workers,
                           seed=settings.get("seed", 0) + 1)
    model.build_vocab(sentences)
    t0 = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=settings["epochs"])
    return time.perf_counter() - t0, model


def ours_vectors(job) -> tuple[np.ndarray, dict[str, int], tuple[str, ...]]:
    return job.model.inp.weight.detach().cpu().numpy(), job.vocab.index, tuple(job.vocab.words)


def gensim_vectors(model) -> tuple[np.ndarray, dict[str, int], tuple[str, ...]]:
    return model.wv.vectors, model.wv.key_to_index, tuple(model.wv.index_to_key)


def word_scores(vectors, index, data: Path | None = None) -> dict[str, float]:
    """WordSim-353 Spearman and questions-words accuracy, from gensim's test data (or the folder `data` holding
    wordsim353.tsv and questions-words.txt)."""
    if data is None:
        import gensim

        data = Path(gensim.__file__).parent / "test" / "test_data"
    rho, pairs, _ = similarity_spearman(vectors, index, read_similarity_file(data / "wordsim353.tsv"))
    acc, used, _ = analogy_accuracy(vectors, index, read_analogy_file(data / "questions-words.txt"))
    return {"wordsim353": rho, "wordsim_pairs": pairs, "analogy": acc, "analogy_questions": used}


def synthetic_scores(vectors, index, words, corpus: Corpus) -> dict[str, float]:
    """Class separation, neighbour purity and analogy accuracy on the synthetic corpus's known structure."""
    classes = [corpus.word_classes.get(w, "") for w in words]
    return {"separation": class_separation(vectors, classes), "purity": neighbour_purity(vectors, classes),
            "analogy": analogy_accuracy(vectors, index, corpus.analogies)[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=str(BIG_CORPUS) if BIG_CORPUS.exists() else "",
                    help="text file (default: the bench corpus if built, else Austen repeated)")
    ap.add_argument("--max-words", type=int, default=2_000_000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--dim", type=int, default=100)
    ap.add_argument("--window", type=int, default=5)
    ap.add_argument("--negatives", type=int, default=5)
    ap.add_argument("--min-count", type=int, default=5)
    ap.add_argument("--sample", type=float, default=1e-3)
    ap.add_argument("--lr", type=float, default=0.025)
    ap.add_argument("--batch-size", type=int, default=Word2VecConfig.batch_size)
    ap.add_argument("--gpu-batch-size", type=int, default=8192)
    ap.add_argument("--threads", default="1,2", help="thread counts for our job on the CPU")
    ap.add_argument("--engines", default="compiled,torch", help="our engines to time on the CPU")
    ap.add_argument("--torch-threads", default="1", help="thread counts for the torch engine (2 threads on a "
                    "shared 2-core machine stalled: 3,235 words/s, 618 s for 2 M words)")
    ap.add_argument("--workers", default="1,2", help="gensim worker counts")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--baseline", default="", help="an older word2vec_job.py to time beside the current one")
    ap.add_argument("--skip-synthetic", action="store_true", help="leave out the synthetic-corpus quality runs")
    args = ap.parse_args()
    try:
        import gensim
    except ImportError:
        sys.exit("This bench compares against gensim: pip install -e .[bench]  (or pip install gensim)")

    words, source = read_words(Path(args.corpus) if args.corpus else None, args.max_words)
    corpus = corpus_of(words, "bench corpus")
    settings = dict(method="skip-gram", objective="negative sampling", dim=args.dim, window=args.window,
                    negatives=args.negatives, min_count=args.min_count, subsample=args.sample, lr=args.lr,
                    epochs=args.epochs, batch_size=args.batch_size, max_vocab=1_000_000, seed=0)
    n_words = len(words) * args.epochs
    load_before = os.getloadavg()
    print(f"corpus: {source}; {args.epochs} epoch(s); dim {args.dim}, window {args.window}, {args.negatives} "
          f"negatives, min count {args.min_count}, sample {args.sample:g}, lr {args.lr:g}; our batch "
          f"{args.batch_size}; torch {torch.__version__}, gensim {gensim.__version__}, {os.cpu_count()} CPU(s)")

    threads = [int(t) for t in args.threads.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    engines = [e for e in args.engines.split(",") if e]
    runs = [run for i in range(max(len(threads), len(workers)))
            for run in ([(engine, "cpu", threads[i]) for engine in engines
                         if engine != "torch" or str(threads[i]) in args.torch_threads.split(",")]
                        if i < len(threads) else [])
            + ([("gensim", "cpu", workers[i])] if i < len(workers) else [])]
    if args.baseline:
        runs.insert(0, ("before", "cpu", 1))
    if torch.cuda.is_available():
        runs += [("torch", "cuda", 1), ("torch, big batch", "cuda", 1)]
    best: dict[tuple, float] = {}
    kept: dict[tuple, object] = {}
    baseline = baseline_classes(args.baseline) if args.baseline else None
    for _ in range(args.repeats):
        for run in runs:
            who, device, threads = run
            if who == "gensim":
                seconds, model = train_gensim(words, settings, threads)
            elif who == "before":  # at the old code's own default batch size
                old_settings = {k: v for k, v in settings.items() if k != "batch_size"}
                seconds, model = train_ours(corpus, old_settings, device, threads, *baseline)
            else:
                batch = args.gpu_batch_size if who.endswith("big batch") else args.batch_size
                engine = "compiled" if who == "compiled" else "torch"
                seconds, model = train_ours(corpus, dict(settings, batch_size=batch, engine=engine), device, threads)
            rate = n_words / seconds
            if rate > best.get(run, 0.0):
                best[run] = rate
                kept[run] = model
            print(f"  {who:16s} {device:5s} {threads} thread(s)/worker(s): {seconds:7.1f} s  {rate:>11,.0f} words/s",
                  flush=True)
    load_after = os.getloadavg()

    quality = {}
    for who in (*engines, "gensim"):
        run = min((r for r in kept if r[0] == who and r[1] == "cpu"), key=lambda r: r[2])
        vectors, index, _ = (gensim_vectors if who == "gensim" else ours_vectors)(kept[run])
        quality[who] = word_scores(vectors, index)
    synthetic = {}
    if not args.skip_synthetic:
        syn = load_builtin("synthetic")
        defaults = {k: getattr(Word2VecConfig, k) for k in
                    ("dim", "window", "negatives", "min_count", "subsample", "lr", "epochs", "batch_size")}
        syn_settings = dict(defaults, method="skip-gram", objective="negative sampling", seed=0)
        for engine in engines:
            _, job = train_ours(syn, dict(syn_settings, engine=engine), "cpu", 1)
            synthetic[engine] = synthetic_scores(*ours_vectors(job), syn)
        _, model = train_gensim(syn.words, syn_settings, 1)
        synthetic["gensim"] = synthetic_scores(*gensim_vectors(model), syn)

    print()
    gensim_best = max(rate for (who, _, _), rate in best.items() if who == "gensim")
    ours_best = max(rate for (who, device, _), rate in best.items()
                    if who not in ("gensim", "before") and device == "cpu")
    one = {who: rate for (who, device, n), rate in best.items() if device == "cpu" and n == 1 and who != "before"}
    print(f"{'run':34s} {'words/s':>11s} {'vs best gensim':>15s}")
    for (who, device, n), rate in best.items():
        label = f"{who} ({device}, {n} {'worker(s)' if who == 'gensim' else 'thread(s)'})"
        print(f"{label:34s} {rate:>11,.0f} {rate / gensim_best:>15.2f}")
    print(f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} on {os.cpu_count()} CPU(s) "
          "(above ~0.5 other work shared the machine)")
    print()
    print(f"quality of the vectors of the fewest-thread runs above ({source}):")
    for who, q in quality.items():
        print(f"  {who:7s} WordSim-353 rho {q['wordsim353']:.3f} ({q['wordsim_pairs']} pairs)   questions-words "
              f"accuracy {q['analogy']:.3f} ({q['analogy_questions']:,} questions)")
    if synthetic:
        print("synthetic corpus, the app's default settings (skip-gram, negative sampling):")
        for who, q in synthetic.items():
            print(f"  {who:7s} class separation {q['separation']:.3f}   neighbour purity {q['purity']:.3f}   "
                  f"analogy accuracy {q['analogy']:.3f}")

    figures = {
        "bench": "word2vec_speed", "corpus_words": len(words), "epochs": args.epochs, "dim": args.dim,
        "words_per_s": round(ours_best), "gensim_words_per_s": round(gensim_best),
        "ratio": round(ours_best / gensim_best, 3),
        "one_thread": {who: round(rate) for who, rate in one.items()},
        "one_thread_ratio": round(max(r for w, r in one.items() if w != "gensim") / one["gensim"], 3)
        if "gensim" in one and len(one) > 1 else None,
        "runs": {f"{who}/{device}/{n}": round(rate) for (who, device, n), rate in best.items()},
        "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
        "wordsim353": {k: round(q["wordsim353"], 3) for k, q in quality.items()},
        "wordsim353_gap": round(quality[engines[0]]["wordsim353"] - quality["gensim"]["wordsim353"], 3),
        "analogy": {k: round(q["analogy"], 3) for k, q in quality.items()},
    }
    if ("before", "cpu", 1) in best:
        figures["before_words_per_s"] = round(best[("before", "cpu", 1)])
    if ("torch", "cuda", 1) in best:
        figures["cuda_words_per_s"] = round(best[("torch", "cuda", 1)])
        figures["cuda_big_batch_words_per_s"] = round(best[("torch, big batch", "cuda", 1)])
    if synthetic:
        figures["synthetic"] = {who: {k: round(v, 3) for k, v in q.items()} for who, q in synthetic.items()}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
