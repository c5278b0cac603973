"""Training speed of the tiny GPT through the app's job against a plain PyTorch loop, and attention's cost curve.

Part 1: the GptJob driven by the app's runner (explorer.training.runner.run_job), once with the UI's snapshot
settings (a snapshot with the probe's attention, the parameter vector and now and then a generated sample, at
most every 50 ms and at most 10% of the time) and once with the command line's (at most every second); a
validation loss every 25 steps in both; against a plain loop of the
same model, optimizer, batch size and batches (forward, cross-entropy, backward, AdamW step, loss read back).
Rounds alternate between the two; the medians of tokens per second are compared. Set-up (corpus, model) is
not timed. With --preset NAME the job is the pre-training job (PretrainJob, kind "gpt_pretrain") with that
model size's layers, heads, width, context, batch size and learning rate (--steps still sets the steps).

Part 2: forward + backward time of one layer against sequence length for full attention (as written, and the
fused kernel), local and low-rank attention, an LSTM and a causal convolution, and the log-log slopes fitted
over the longer half of the lengths (~2 for quadratic, ~1 for linear cost).

Usage: python bench/gpt_training.py [--corpus resources/corpora/austen-novels.txt.gz] [--steps 150] [--rounds 5]
                                    [--threads N] [--lengths 256,...,16384] [--quadratic-max 4096]
                                    [--skip-cost] [--preset tiny|small|medium|large]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch
import torch.nn.functional as F

from explorer.analysis.attention_cost import KINDS, fitted_slope, kind_label, measure_layer_cost
from explorer.data.corpus_spec import load_corpus_spec
from explorer.data.tasks import char_ids, char_lm_batch
from explorer.device import training_threads
from explorer.training.jobs.gpt_job import VAL_SHARE, GptConfig, GptJob, build_model
from explorer.training.jobs.pretrain_job import PRESETS, PretrainConfig, PretrainJob, apply_preset
from explorer.training.runner import FINISHED, run_job


def job_round(cfg: GptConfig, corpus, snapshot_interval: float) -> tuple[float, int]:
    """Tokens/s of one run of the job through the runner (after set-up and the first snapshot), and snapshots;
    the job is a PretrainJob for a PretrainConfig, else a GptJob."""
    job = PretrainJob(cfg) if isinstance(cfg, PretrainConfig) else GptJob(cfg)
    gen = run_job(job, corpora={job.config.corpus: corpus}, snapshot_interval=snapshot_interval)
    next(gen)  # set-up and the step-0 snapshot: not timed
    snaps = 0
    t0 = time.perf_counter()
    while True:
        try:
            tick = next(gen)
        except StopIteration as stop:
            final = stop.value
            break
        snaps += tick is not None and tick.snapshot is not None
    seconds = time.perf_counter() - t0
    if final.status != FINISHED:
        raise SystemExit(f"the job did not finish: {final.message}")
    return cfg.steps * job.items_per_step / seconds, snaps


def plain_round(cfg: GptConfig, train_ids: torch.Tensor, vocab: int) -> float:
    """Tokens/s of a plain PyTorch loop of the same model, optimizer and batches."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, vocab)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    t0 = time.perf_counter()
    for _ in range(cfg.steps):
        x, y = char_lm_batch(train_ids, cfg.batch_size, cfg.context, gen)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        float(loss.detach())
    return cfg.steps * cfg.batch_size * cfg.context / (time.perf_counter() - t0)


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=os.path.join(root, "resources", "corpora", "austen-novels.txt.gz"),
                    help="a text file (plain or gzip) or builtin:<name>")
    ap.add_argument("--steps", type=int, default=150, help="training steps per round")
    ap.add_argument("--rounds", type=int, default=5, help="rounds per side, alternating; medians reported")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = the app's choice: cores - 1)")
    ap.add_argument("--lengths", default="256,512,1024,2048,4096,8192,16384",
                    help="sequence lengths of the cost curve")
    ap.add_argument("--quadratic-max", type=int, default=4096,
                    help="longest length measured for full attention (as written its T x T matrices grow fast)")
    ap.add_argument("--cost-repeats", type=int, default=3)
    ap.add_argument("--skip-cost", action="store_true", help="only the training comparison")
    ap.add_argument("--preset", choices=tuple(PRESETS), default=None,
                    help="compare the pre-training job (PretrainJob) with this model size instead of the GptJob")
    args = ap.parse_args()
    torch.set_num_threads(args.threads or training_threads())
    corpus = load_corpus_spec(args.corpus)
    if args.preset:
        cfg = dataclasses.replace(apply_preset(PretrainConfig(corpus=args.corpus), args.preset), steps=args.steps)
    else:
        cfg = GptConfig(task="characters", corpus=args.corpus, steps=args.steps)
    tokenizer, ids = char_ids(corpus.text)
    train_ids = ids[: int(len(ids) * (1 - VAL_SHARE))]
    job_round(dataclasses.replace(cfg, steps=5), corpus, 0.05)  # warm-up of both paths, untimed
    plain_round(dataclasses.replace(cfg, steps=5), train_ids, len(tokenizer))
    job_rates, slow_rates, plain_rates, snaps, slow_snaps = [], [], [], [], []
    for _ in range(max(1, args.rounds)):
        rate, n = job_round(cfg, corpus, 0.05)  # the UI's setting (the runner's default)
        job_rates.append(rate)
        snaps.append(n)
        rate, n = job_round(cfg, corpus, 1.0)  # the command line's setting
        slow_rates.append(rate)
        slow_snaps.append(n)
        plain_rates.append(plain_round(cfg, train_ids, len(tokenizer)))
    job_rate, plain_rate = statistics.median(job_rates), statistics.median(plain_rates)
    slow_rate = statistics.median(slow_rates)
    n_params = sum(p.numel() for p in build_model(cfg, len(tokenizer)).parameters())
    model_name = f"pre-training job, preset {args.preset}:" if args.preset else "tiny GPT"
    print(f"corpus {corpus.name}: {len(ids):,} characters, {len(tokenizer)} distinct; {model_name} "
          f"{cfg.layers} layers, {cfg.heads} heads, width {cfg.width}, context {cfg.context}, {n_params:,} "
          f"parameters; batch {cfg.batch_size}; {args.rounds} rounds of {args.steps} steps; torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s)")
    print(f"{'path':<44}{'tokens/s':>12}{'steps/s':>10}")
    per_step = cfg.batch_size * cfg.context
    for name, rate in (("app job, snapshots every >= 50 ms (UI)", job_rate),
                       ("app job, snapshots every >= 1 s (CLI)", slow_rate), ("plain PyTorch loop", plain_rate)):
        print(f"{name:<44}{rate:>12,.0f}{rate / per_step:>10.2f}")
    print("rounds (tokens/s): job UI " + ", ".join(f"{r:,.0f}" for r in job_rates) + "; job CLI "
          + ", ".join(f"{r:,.0f}" for r in slow_rates) + "; plain " + ", ".join(f"{r:,.0f}" for r in plain_rates))
    print(f"snapshots per round: UI {snaps}, CLI {slow_snaps}")
    print(f"job / plain: {job_rate / plain_rate:.3f} with the UI's snapshot rate, {slow_rate / plain_rate:.3f} "
          f"with the command line's")
    figures = {"bench": "gpt_training", "preset": args.preset, "threads": torch.get_num_threads(),
               "params": n_params,
               "job_tokens_per_s": round(job_rate), "job_cli_tokens_per_s": round(slow_rate),
               "plain_tokens_per_s": round(plain_rate), "ratio": round(job_rate / plain_rate, 3),
               "ratio_cli": round(slow_rate / plain_rate, 3)}
    if not args.skip_cost:
        lengths = [int(n) for n in args.lengths.split(",")]
        print(f"\nforward + backward of one layer, width 64, 4 heads, batch 1, median of {args.cost_repeats} runs "
              "(ms); memory: largest intermediate tensor, analytic on CPU (MiB); slopes fitted over the longer half "
              f"of each row's lengths; full attention only up to {args.quadratic_max}")
        print(f"{'layer':<42}" + "".join(f"{n:>9}" for n in lengths) + f"{'slope':>7}{'memory':>8}")
        slopes = {}
        for kind in KINDS:
            mine = [n for n in lengths if n <= args.quadratic_max or not kind.startswith("full")]
            rows = measure_layer_cost(kind, mine, repeats=args.cost_repeats)
            slope = fitted_slope(mine, [r.seconds for r in rows])
            mem_slope = fitted_slope(mine, [r.memory_bytes for r in rows])
            slopes[kind] = round(slope, 2)
            pad = "".join(f"{'-':>9}" for _ in lengths[len(rows):])
            print(f"{kind_label(kind):<42}" + "".join(f"{r.seconds * 1e3:>9.2f}" for r in rows) + pad
                  + f"{slope:>7.2f}{mem_slope:>8.2f}")
            print(f"{'  memory (MiB)':<42}" + "".join(f"{r.memory_bytes / 2**20:>9.2f}" for r in rows) + pad)
        figures["time_slopes"] = slopes
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
